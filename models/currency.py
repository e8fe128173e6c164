"""Currencies a shop can charge in: the circulating ISO 4217 codes."""

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# Circulating national and regional currencies of ISO 4217 (list one) as of 2026.
# Left out on purpose: fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW, XSU, XUA),
# precious metals (XAU, XAG, XPD, XPT), bond-market units (XBA..XBD), the SDR (XDR),
# the testing and "no currency" codes (XTS, XXX), and withdrawn codes such as
# ANG (now XCG), BGN and HRK (now EUR), CUC, SLL (now SLE) and ZWL (now ZWG).
_CODES = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR
    PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
    SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
    UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
CURRENCIES: frozenset[str] = frozenset(_CODES.split())


def _circulating(code: str) -> str:
    """Reject a code that is not a circulating ISO 4217 currency."""
    if code not in CURRENCIES:
        raise ValueError(f"{code!r} is not a circulating ISO 4217 currency code")
    return code


Currency = Annotated[
    str,
    StringConstraints(strict=True, min_length=3, max_length=3, pattern=r"^[A-Z]{3}$"),
    AfterValidator(_circulating),
]
"""An uppercase three-letter ISO 4217 currency code, e.g. ``EUR``."""
