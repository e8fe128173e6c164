"""The shop a load run buys from: priced products of uneven popularity, and its customers."""

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from ecommerce_streams.harness.load.profile import QTY_WEIGHTS, LoadProfile

WAREHOUSES = ("FR", "DE", "NL")
"""The country of the warehouse a sku ships from is its prefix (``FR-00042``)."""
POPULARITY_EXPONENT = 0.5
"""Zipf exponent of sku popularity: the n-th best seller is asked for n^-0.5 as often."""

_CENTS = ("0.99", "0.49", "0.95", "0.00")
_STREETS = ("High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Kingsway")
_CITIES = (
    ("10115", "Berlin"),
    ("75011", "Paris"),
    ("1012 AB", "Amsterdam"),
    ("28013", "Madrid"),
    ("00184", "Roma"),
    ("1050", "Bruxelles"),
    ("2100", "Kobenhavn"),
)


@dataclass(frozen=True)
class Product:
    """A sku the shop sells and its unit price."""

    sku: str
    unit_price: Decimal


@dataclass(frozen=True)
class Customer:
    """A shopper and where their parcels go."""

    customer_id: str
    address: str


@dataclass(frozen=True)
class Catalogue:
    """Products ranked by popularity, and the shop's customers."""

    products: tuple[Product, ...]
    cumulative_popularity: tuple[float, ...]
    customers: tuple[Customer, ...]

    @classmethod
    def of(cls, profile: LoadProfile) -> "Catalogue":
        """Build the seed's catalogue: prices and addresses never depend on the wall clock."""
        rng = random.Random(f"{profile.seed}/catalogue")
        products = tuple(
            Product(sku=f"{WAREHOUSES[n % len(WAREHOUSES)]}-{n:05d}", unit_price=_price(rng))
            for n in range(1, profile.skus + 1)
        )
        weights = [n**-POPULARITY_EXPONENT for n in range(1, profile.skus + 1)]
        customers = tuple(
            Customer(customer_id=f"cust-{n:05d}", address=_address(rng))
            for n in range(1, profile.customers + 1)
        )
        return cls(products, tuple(itertools.accumulate(weights)), customers)

    def pick_product(self, rng: random.Random) -> Product:
        """Draw one product, best sellers most often."""
        point = rng.random() * self.cumulative_popularity[-1]
        index = bisect.bisect_right(self.cumulative_popularity, point)
        return self.products[min(index, len(self.products) - 1)]

    def pick_basket(
        self, rng: random.Random, line_weights: list[float]
    ) -> list[tuple[Product, int]]:
        """Draw the distinct products of one order and how many units of each."""
        wanted = rng.choices(range(1, len(line_weights) + 1), weights=line_weights)[0]
        chosen: dict[str, Product] = {}
        while len(chosen) < wanted:
            product = self.pick_product(rng)
            chosen.setdefault(product.sku, product)
        quantities = rng.choices(list(QTY_WEIGHTS), weights=list(QTY_WEIGHTS.values()), k=wanted)
        return list(zip(chosen.values(), quantities, strict=True))

    def pick_customer(self, rng: random.Random) -> Customer:
        """Draw the customer placing an order."""
        return self.customers[rng.randrange(len(self.customers))]


def _price(rng: random.Random) -> Decimal:
    """A shelf price between about 3 and 300, ending the way shops end them."""
    whole = int(math.exp(rng.uniform(math.log(3), math.log(300))))
    return Decimal(whole) + Decimal(rng.choice(_CENTS))


def _address(rng: random.Random) -> str:
    """A plausible European street address."""
    postcode, city = rng.choice(_CITIES)
    return f"{rng.randint(1, 250)} {rng.choice(_STREETS)}, {postcode} {city}"
