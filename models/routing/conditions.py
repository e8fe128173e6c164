"""The one matching engine: compiled value conditions and the tree matcher over JSON documents.

Both grammars (EventBridge event patterns, SNS filter policies) compile into these objects;
nothing here knows either grammar's syntax. A compiled pattern is an ``ObjectMatcher``: an
AND over its ``FieldTest``s and its ``$or`` groups. A field test either descends into a
nested object (``ObjectMatcher``) or tests the field's leaf values (``LeafMatcher``): an OR
over exact values (looked up in sets) and over the remaining ``ValueCondition``s.

Semantics, as AWS documents them for both services:

- a field's *leaf values* are the field itself when it is a string, number, boolean or null,
  every such element when it is an array (nested arrays flattened, objects skipped), and
  nothing when it is missing, an object or an empty array;
- a missing field matches only ``exists: false``; null is a present value (``[null]`` and
  ``exists: true`` match it, ``exists: false`` does not);
- a leaf test matches when any leaf value satisfies any of its conditions, so ``anything-but``
  matches an array holding at least one value it does not exclude, and never a missing field;
- a nested object test on an array of objects matches when one element matches it as a
  whole (fields from different elements are never combined); on a missing field, a scalar
  or an array without objects it is tested against the empty object, so only absence tests
  inside it can match.

Our choice, not documented by AWS: ``exists: false`` under an array of objects is decided
per element (AWS's engine looks for the path anywhere in the flattened event).
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

#: A JSON leaf value as the decoded event holds it.
Scalar = str | int | float | bool | None

_EMPTY_OBJECT: Final[Mapping[str, Any]] = {}
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class NumericDomain:
    """The numbers a grammar compares numerically: a magnitude limit and significant decimals."""

    limit: float
    decimals: int

    def quantize(self, number: float) -> int | None:
        """``number`` in units of the last significant decimal, or None outside the limit."""
        if -self.limit <= number <= self.limit:
            return round(number * float(10**self.decimals))
        return None


def is_number(value: object) -> TypeGuard[int | float]:
    """True for a JSON number (an int or float that is not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class ValueCondition:
    """A test on one leaf value; the base class matches nothing."""

    __slots__ = ()

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` satisfies this condition."""
        return False


class ExactValues(ValueCondition):
    """Equal to one of a set of strings, numbers (compared numerically), booleans or null."""

    __slots__ = ("booleans", "domain", "exact_numbers", "null", "numbers", "strings")

    def __init__(self, values: Iterable[Scalar], domain: NumericDomain) -> None:
        values = tuple(values)
        self.domain = domain
        self.strings = frozenset(v for v in values if isinstance(v, str))
        self.booleans = frozenset(v for v in values if isinstance(v, bool))
        self.null = any(v is None for v in values)
        numbers = [v for v in values if is_number(v)]
        quantized = [domain.quantize(v) for v in numbers]
        self.numbers = frozenset(q for q in quantized if q is not None)
        # Numbers beyond the domain (account ids, say) are still matched, by plain equality.
        self.exact_numbers = frozenset(
            n for n, q in zip(numbers, quantized, strict=True) if q is None
        )

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` is one of the values."""
        if isinstance(value, str):
            return value in self.strings
        if isinstance(value, bool):
            return value in self.booleans
        if value is None:
            return self.null
        quantized = self.domain.quantize(value)
        if quantized is None:
            return value in self.exact_numbers
        return quantized in self.numbers


class _StringEnd(ValueCondition):
    """A string with ``text`` at one end (optionally ignoring case); subclasses say which."""

    __slots__ = ("ignore_case", "text")

    def __init__(self, text: str, *, ignore_case: bool = False) -> None:
        self.ignore_case = ignore_case
        self.text = text.casefold() if ignore_case else text

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` is a string with the text at this end."""
        if not isinstance(value, str):
            return False
        return self.found_in(value.casefold() if self.ignore_case else value)

    def found_in(self, string: str) -> bool:
        """Whether ``string`` has the text at this end."""
        raise NotImplementedError


class Prefix(_StringEnd):
    """A string starting with ``text`` (optionally ignoring case)."""

    __slots__ = ()

    def found_in(self, string: str) -> bool:
        """Whether ``string`` starts with the text."""
        return string.startswith(self.text)


class Suffix(_StringEnd):
    """A string ending with ``text`` (optionally ignoring case)."""

    __slots__ = ()

    def found_in(self, string: str) -> bool:
        """Whether ``string`` ends with the text."""
        return string.endswith(self.text)


class EqualsIgnoreCase(ValueCondition):
    """A string equal to one of ``texts`` regardless of case."""

    __slots__ = ("texts",)

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = frozenset(text.casefold() for text in texts)

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` is a string equal to one of the texts, ignoring case."""
        return isinstance(value, str) and value.casefold() in self.texts


class Wildcard(ValueCondition):
    """A string matching a pattern where ``*`` stands for any run of characters."""

    __slots__ = ("regex",)

    def __init__(self, parts: Sequence[str]) -> None:
        """``parts`` are the literal texts between the wildcards, escapes already resolved."""
        self.regex = re.compile(".*".join(re.escape(part) for part in parts), re.DOTALL)

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` is a string the pattern matches entirely."""
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


class NumericRange(ValueCondition):
    """A number within optional lower and upper bounds, compared at the domain's precision."""

    __slots__ = ("domain", "lower", "lower_inclusive", "upper", "upper_inclusive")

    def __init__(
        self,
        domain: NumericDomain,
        lower: float | None = None,
        *,
        lower_inclusive: bool = False,
        upper: float | None = None,
        upper_inclusive: bool = False,
    ) -> None:
        self.domain = domain
        self.lower = None if lower is None else domain.quantize(lower)
        self.upper = None if upper is None else domain.quantize(upper)
        self.lower_inclusive = lower_inclusive
        self.upper_inclusive = upper_inclusive

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` is a number inside the range."""
        if not is_number(value):
            return False
        quantized = self.domain.quantize(value)
        if quantized is None:
            return False
        if self.lower is not None and (
            quantized < self.lower or (quantized == self.lower and not self.lower_inclusive)
        ):
            return False
        return self.upper is None or (
            quantized < self.upper or (quantized == self.upper and self.upper_inclusive)
        )


class Cidr(ValueCondition):
    """A string holding an IPv4 or IPv6 address inside a network."""

    __slots__ = ("network",)

    def __init__(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
        self.network = network

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` is an address of the same family inside the network."""
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network


class AnyOf(ValueCondition):
    """Satisfied when one of several conditions is."""

    __slots__ = ("conditions",)

    def __init__(self, conditions: Iterable[ValueCondition]) -> None:
        self.conditions = tuple(conditions)

    def matches(self, value: Scalar) -> bool:
        """Whether any of the conditions matches ``value``."""
        return any(condition.matches(value) for condition in self.conditions)


class AnythingBut(ValueCondition):
    """Any present value the excluded condition does not match."""

    __slots__ = ("excluded",)

    def __init__(self, excluded: ValueCondition) -> None:
        self.excluded = excluded

    def matches(self, value: Scalar) -> bool:
        """Whether ``value`` is not excluded."""
        return not self.excluded.matches(value)


def leaf_values(field: object) -> list[Scalar]:
    """The leaf values of a field: itself, an array's scalars (flattened), or none."""
    if isinstance(field, list):
        found: list[Scalar] = []
        for element in field:
            if isinstance(element, list):
                found += leaf_values(element)
            elif not isinstance(element, dict):
                found.append(element)
        return found
    if isinstance(field, str | int | float | bool) or field is None:
        return [field]
    return []  # missing, an object, or anything JSON does not hold


def object_elements(field: object) -> list[Mapping[str, Any]]:
    """The objects a nested test looks into: the field, or an array's objects (flattened)."""
    if isinstance(field, dict):
        return [field]
    if isinstance(field, list):
        found: list[Mapping[str, Any]] = []
        for element in field:
            found += object_elements(element) if isinstance(element, list | dict) else []
        return found
    return []


class LeafMatcher:
    """The test of one field's leaf values: an OR of exact values, conditions and existence."""

    __slots__ = ("conditions", "exact", "strings", "when_absent", "when_present")

    def __init__(
        self,
        exact: ExactValues,
        conditions: Iterable[ValueCondition] = (),
        *,
        when_absent: bool = False,
        when_present: bool = False,
    ) -> None:
        """``when_absent``/``when_present`` come from ``exists: false``/``exists: true``."""
        self.exact = exact
        self.strings = exact.strings
        self.conditions = tuple(conditions)
        self.when_absent = when_absent
        self.when_present = when_present

    def matches_field(self, field: object) -> bool:
        """Whether the field (``_MISSING`` when absent) satisfies the test."""
        if type(field) is str and field in self.strings:
            return True
        values = leaf_values(field)
        if not values:
            return self.when_absent
        if self.when_present:
            return True
        exact = self.exact
        for value in values:
            if exact.matches(value):
                return True
            for condition in self.conditions:
                if condition.matches(value):
                    return True
        return False


class ObjectMatcher:
    """An AND over field tests and ``$or`` groups, each group an OR over object matchers."""

    __slots__ = ("alternatives", "fields", "leaves", "nested")

    def __init__(
        self,
        fields: Iterable[tuple[str, "LeafMatcher | ObjectMatcher"]],
        alternatives: Iterable[Sequence["ObjectMatcher"]] = (),
    ) -> None:
        self.fields = tuple(fields)
        self.leaves = tuple((k, t) for k, t in self.fields if isinstance(t, LeafMatcher))
        self.nested = tuple((k, t) for k, t in self.fields if isinstance(t, ObjectMatcher))
        self.alternatives = tuple(tuple(group) for group in alternatives)

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names this matcher tests directly (not those inside ``$or``)."""
        return tuple(name for name, _ in self.fields)

    def matches(self, document: Mapping[str, Any]) -> bool:
        """Whether the JSON object ``document`` satisfies every test."""
        get = document.get
        for name, leaf in self.leaves:
            if not leaf.matches_field(get(name, _MISSING)):
                return False
        for name, nested in self.nested:
            elements = object_elements(get(name, _MISSING))
            if not elements:
                if not nested.matches(_EMPTY_OBJECT):
                    return False
            elif not any(nested.matches(element) for element in elements):
                return False
        return all(any(branch.matches(document) for branch in group) for group in self.alternatives)
