"""EventBridge event patterns: their grammar, compiled into the shared matching engine.

The grammar is AWS's (event-ruler's): a JSON object whose fields hold an array of values and
match expressions, or a nested object, or ``$or``; reasons for refusing a pattern use
AWS's own wording. SNS filter policies are a dialect of the same grammar (see
``filter_policies``), so the parser here takes a ``PatternDialect``.

Where we had to choose (AWS documents neither):

- reasons omit Jackson's location suffix (`` at [Source: ...; line: 1, column: 9]``);
- a pattern that is not JSON is refused with Python's JSON error as the reason;
- a number is compared numerically within -5.0e9..5.0e9 at six decimals (what AWS
  documents); beyond that range exact values still match by equality but ranges never do;
- no wildcard complexity or ``$or`` combination limit is enforced for event patterns (AWS
  documents that both exist but not how they are computed).
"""

import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from models.routing.conditions import (
    AnyOf,
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    ExactValues,
    LeafMatcher,
    NumericDomain,
    NumericRange,
    ObjectMatcher,
    Prefix,
    Scalar,
    Suffix,
    ValueCondition,
    Wildcard,
    is_number,
)

#: Field names event-ruler reserves inside ``$or`` (operators, and some kept for the future).
RESERVED_NAMES = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)

EVENT_PATTERN_OPERATORS = frozenset(
    {
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
    }
)

_TOO_MANY_ELEMENTS = "Too many elements in numeric expression"
_ONE_KEY = "Only one key allowed in match expression"


class InvalidEventPattern(ValueError):
    """An event pattern EventBridge would refuse, with AWS's error type and message."""

    aws_type = "InvalidEventPatternException"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Event pattern is not valid. Reason: {reason}")


@dataclass(frozen=True)
class PatternDialect:
    """What one grammar of the pattern language allows, and how it reports a refusal."""

    operators: frozenset[str]
    domain: NumericDomain
    fail: Callable[[str], Exception]
    allows_nesting: bool = True
    nesting_refusal: str = ""
    #: SNS reads ``$or`` as a plain field name unless it is an array of two or more objects.
    lenient_or: bool = False
    anything_but_forms: frozenset[str] = frozenset(
        {"equals-ignore-case", "prefix", "suffix", "wildcard"}
    )

    @property
    def range_refusal(self) -> str:
        """The reason given for a number outside the domain."""
        limit = f"{self.domain.limit:.1E}".replace("E+0", "E").replace("E+", "E")
        return f"Value must be between -{limit} and {limit}, inclusive"


EVENT_BRIDGE = PatternDialect(
    operators=EVENT_PATTERN_OPERATORS,
    domain=NumericDomain(limit=5.0e9, decimals=6),
    fail=InvalidEventPattern,
)


def parse_document(source: str | Mapping[str, Any], dialect: PatternDialect) -> Mapping[str, Any]:
    """The pattern as a JSON object, decoding it first when it is a string."""
    document: object = source
    if isinstance(source, str):
        try:
            document = json.loads(source)
        except json.JSONDecodeError as error:
            raise dialect.fail(str(error)) from None
    if not isinstance(document, Mapping):
        raise dialect.fail("Filter is not an object")
    return document


def compile_tree(document: Mapping[str, Any], dialect: PatternDialect) -> ObjectMatcher:
    """The matcher for a pattern object, or ``dialect.fail`` with the first reason to refuse."""
    return _PatternParser(dialect).parse_object(document, inside_or=False)


def is_or_relationship(value: object) -> bool:
    """Whether SNS reads a ``$or`` value as OR: two or more objects, none using a reserved name."""
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(branch, Mapping) for branch in value)
        and not any(RESERVED_NAMES.intersection(branch) for branch in value)
    )


def _token_text(value: object) -> str:
    """How the JSON parser AWS uses prints a token in its messages."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "["
    if isinstance(value, Mapping):
        return "{"
    return json.dumps(value)


class _PatternParser:
    """Walks a pattern document once, building the engine's matchers."""

    def __init__(self, dialect: PatternDialect) -> None:
        self.dialect = dialect
        self.fail = dialect.fail

    def parse_object(self, document: Mapping[str, Any], *, inside_or: bool) -> ObjectMatcher:
        """An object of fields, nested objects and ``$or`` groups."""
        if not document:
            raise self.fail("Empty objects are not allowed")
        fields: list[tuple[str, LeafMatcher | ObjectMatcher]] = []
        alternatives: list[list[ObjectMatcher]] = []
        for name, value in document.items():
            if name == "$or" and (not self.dialect.lenient_or or is_or_relationship(value)):
                alternatives.append(self.parse_or(value))
                continue
            if inside_or and name in RESERVED_NAMES:
                raise self.fail(
                    f"{name} is Ruler reserved fieldName which cannot be used inside $or."
                )
            if isinstance(value, Mapping):
                if not self.dialect.allows_nesting:
                    raise self.fail(self.dialect.nesting_refusal)
                fields.append((name, self.parse_object(value, inside_or=inside_or)))
            elif isinstance(value, list):
                fields.append((name, self.parse_values(value)))
            else:
                raise self.fail(f'"{name}" must be an object or an array')
        return ObjectMatcher(fields, alternatives)

    def parse_or(self, value: object) -> list[ObjectMatcher]:
        """The branches of a ``$or``: at least two objects."""
        if not isinstance(value, list):
            raise self.fail("It must be an Array followed with $or.")
        branches = []
        for branch in value:
            if not isinstance(branch, Mapping):
                raise self.fail("Only JSON object is allowed in array of $or relationship.")
            branches.append(self.parse_object(branch, inside_or=True))
        if len(branches) < 2:
            raise self.fail("There must have at least 2 Objects in $or relationship.")
        return branches

    def parse_values(self, values: list[Any]) -> LeafMatcher:
        """A field's array: exact values and match expressions, any of which may match."""
        if not values:
            raise self.fail("Empty arrays are not allowed")
        exact: list[Scalar] = []
        conditions: list[ValueCondition] = []
        existence: set[bool] = set()
        for value in values:
            if isinstance(value, Mapping):
                parsed = self.parse_expression(value)
                if isinstance(parsed, bool):
                    existence.add(parsed)
                else:
                    conditions.append(parsed)
            elif isinstance(value, str | int | float | bool) or value is None:
                exact.append(value)
            else:
                raise self.fail("Match value must be String, number, true, false, or null")
        return LeafMatcher(
            ExactValues(exact, self.dialect.domain),
            conditions,
            when_absent=False in existence,
            when_present=True in existence,
        )

    def parse_expression(self, expression: Mapping[str, Any]) -> ValueCondition | bool:
        """One ``{operator: operand}`` object; ``exists`` yields its boolean."""
        if not expression:
            raise self.fail("Match expression name not found")
        operator, operand = next(iter(expression.items()))
        if operator not in self.dialect.operators:
            raise self.fail(f"Unrecognized match type {operator}")
        # Like AWS, judge the operand first, then refuse a second key.
        parsed = self.parse_operand(operator, operand)
        if len(expression) > 1:
            many = operator in ("numeric", "anything-but")
            raise self.fail(_TOO_MANY_ELEMENTS if many else _ONE_KEY)
        return parsed

    def parse_operand(self, operator: str, operand: Any) -> ValueCondition | bool:
        """The condition one operator and its operand stand for."""
        if operator == "exists":
            if not isinstance(operand, bool):
                raise self.fail("exists match pattern must be either true or false.")
            return operand
        if operator == "numeric":
            return self.parse_numeric(operand)
        if operator == "anything-but":
            return self.parse_anything_but(operand)
        if operator in ("prefix", "suffix") and isinstance(operand, Mapping):
            return self.parse_affix_ignoring_case(operator, operand)
        if operator == "cidr":
            # event-ruler reports a non-string CIDR with the prefix message.
            return Cidr(self.parse_cidr(self.string(operand, "prefix")))
        text = self.string(operand, operator)
        if operator == "prefix":
            return Prefix(text)
        if operator == "suffix":
            return Suffix(text)
        if operator == "equals-ignore-case":
            return EqualsIgnoreCase([text])
        return Wildcard(self.parse_wildcard(text))

    def string(self, operand: object, operator: str) -> str:
        """The operand of a string operator, or the refusal naming it."""
        if not isinstance(operand, str):
            raise self.fail(f"{operator} match pattern must be a string")
        return operand

    def parse_affix_ignoring_case(
        self, operator: str, operand: Mapping[str, Any]
    ) -> ValueCondition:
        """``{"prefix": {"equals-ignore-case": ...}}`` and its suffix twin."""
        kind = operator.capitalize()
        if not operand:
            raise self.fail(f"{kind} expression name not found")
        inner, text = next(iter(operand.items()))
        if inner != "equals-ignore-case":
            raise self.fail(f"Unsupported {operator} pattern: {inner}")
        text = self.string(text, "equals-ignore-case")
        if len(operand) > 1:
            raise self.fail(_ONE_KEY)
        return (
            Prefix(text, ignore_case=True)
            if operator == "prefix"
            else Suffix(text, ignore_case=True)
        )

    def number(self, value: object, refusal: str) -> float:
        """A numeric operand inside the domain."""
        if not is_number(value):
            raise self.fail(refusal)
        if self.dialect.domain.quantize(value) is None:
            raise self.fail(self.dialect.range_refusal)
        return value

    def parse_numeric(self, operand: object) -> NumericRange:
        """``["=", n]``, ``["<", n]`` ... or ``[">"|">=", low, "<"|"<=", high]``."""
        if not isinstance(operand, list):
            raise self.fail("Value of numeric must be an array.")
        if not operand or not isinstance(operand[0], str):
            raise self.fail(
                f"Invalid member in numeric match: {_token_text(operand[0]) if operand else ']'}"
            )
        operator, rest = operand[0], operand[1:]
        if operator not in ("=", "<", "<=", ">", ">="):
            raise self.fail(f"Unrecognized numeric range operator: {operator}")
        name = "equals" if operator == "=" else operator
        value = self.number(rest[0] if rest else None, f"Value of {name} must be numeric")
        domain = self.dialect.domain
        if operator in ("=", "<", "<="):
            if len(rest) > 1:
                raise self.fail(_TOO_MANY_ELEMENTS)
            if operator == "=":
                return NumericRange(
                    domain, value, lower_inclusive=True, upper=value, upper_inclusive=True
                )
            return NumericRange(domain, upper=value, upper_inclusive=operator == "<=")
        lower_inclusive = operator == ">="
        if len(rest) == 1:
            return NumericRange(domain, value, lower_inclusive=lower_inclusive)
        upper_operator = rest[1]
        if not isinstance(upper_operator, str):
            raise self.fail(f"Bad value in numeric range: {_token_text(upper_operator)}")
        if upper_operator not in ("<", "<="):
            raise self.fail(f"Bad numeric range operator: {upper_operator}")
        upper = self.number(
            rest[2] if len(rest) > 2 else None, f"Value of {upper_operator} must be numeric"
        )
        if len(rest) > 3:
            raise self.fail("Too many terms in numeric range expression")
        if value >= upper:
            raise self.fail("Bottom must be less than top")
        return NumericRange(
            domain,
            value,
            lower_inclusive=lower_inclusive,
            upper=upper,
            upper_inclusive=upper_operator == "<=",
        )

    def parse_anything_but(self, operand: object) -> AnythingBut:
        """Every form: a value, a list, or an object naming an inner operator."""
        if isinstance(operand, Mapping):
            return AnythingBut(self.parse_anything_but_form(operand))
        if isinstance(operand, list):
            if any(not isinstance(v, str) and not is_number(v) for v in operand):
                raise self.fail("Inside anything but list, start|null|boolean is not supported.")
            strings = [v for v in operand if isinstance(v, str)]
            if not operand or (strings and len(strings) < len(operand)):
                raise self.fail(
                    "Inside anything but list, either all values are number or string, "
                    "mixed type is not supported"
                )
            values = operand
        elif isinstance(operand, str) or is_number(operand):
            values = [operand]
        else:
            raise self.fail("Value of anything-but must be an array or single string/number value.")
        for value in values:
            if is_number(value):
                self.number(value, "")
        return AnythingBut(ExactValues(values, self.dialect.domain))

    def parse_anything_but_form(self, operand: Mapping[str, Any]) -> ValueCondition:
        """``{"prefix": ...}`` and the other forms inside anything-but, each a string or list."""
        if not operand:
            raise self.fail("Anything-But expression name not found")
        form, value = next(iter(operand.items()))
        if form not in self.dialect.anything_but_forms:
            raise self.fail(f"Unsupported anything-but pattern: {form}")
        if not isinstance(value, str | list) and not is_number(value):
            raise self.fail("Value of anything-but must be an array or single string/number value.")
        texts = value if isinstance(value, list) else [value]
        if any(not isinstance(text, str) for text in texts):
            raise self.fail(
                {
                    "equals-ignore-case": "Inside anything-but/equals-ignore-case list, "
                    "number|start|null|boolean is not supported.",
                    "wildcard": "wildcard match pattern must be a string",
                }.get(form, "prefix/suffix match pattern must be a string")
            )
        if form in ("prefix", "suffix") and "" in texts:
            raise self.fail("Null prefix/suffix not allowed")
        if len(operand) > 1:
            raise self.fail(_TOO_MANY_ELEMENTS)
        if form == "equals-ignore-case":
            return EqualsIgnoreCase(texts)
        if form == "prefix":
            return AnyOf(Prefix(text) for text in texts)
        if form == "suffix":
            return AnyOf(Suffix(text) for text in texts)
        return AnyOf(Wildcard(self.parse_wildcard(text)) for text in texts)

    def parse_wildcard(self, text: str) -> list[str]:
        """The literal parts between unescaped ``*``; ``\\*`` and ``\\\\`` are literals."""
        parts: list[str] = []
        current: list[str] = []
        index = 0
        while index < len(text):
            char = text[index]
            # AWS counts positions in bytes of the quoted value.
            position = 1 + len(text[:index].encode())
            if char == "*":
                if text[index + 1 : index + 2] == "*":
                    raise self.fail(f"Consecutive wildcard characters at pos {position}")
                parts.append("".join(current))
                current = []
            elif char == "\\":
                if text[index + 1 : index + 2] not in ("*", "\\"):
                    raise self.fail(f"Invalid escape character at pos {position}")
                index += 1
                current.append(text[index])
            else:
                current.append(char)
            index += 1
        parts.append("".join(current))
        return parts

    def parse_cidr(self, text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """A CIDR block, refused with event-ruler's reasons (which also refuse /32 and /128)."""
        address, slash, bits = text.partition("/")
        if not slash or "/" in bits:
            raise self.fail("Malformed CIDR, one '/' required")
        try:
            mask = int(bits)
        except ValueError:
            raise self.fail("Malformed CIDR, mask bits must be an integer") from None
        if mask < 0:
            raise self.fail("Malformed CIDR, mask bits must not be negative")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise self.fail(f"Invalid IP address: {address}") from None
        if ip.version == 4 and mask > 31:
            raise self.fail("IPv4 mask bits must be < 32")
        if ip.version == 6 and mask > 127:
            raise self.fail("IPv6 mask bits must be < 128")
        return ipaddress.ip_network(f"{address}/{mask}", strict=False)


class EventPattern:
    """A compiled EventBridge event pattern."""

    __slots__ = ("matcher", "source")

    def __init__(self, source: Mapping[str, Any], matcher: ObjectMatcher) -> None:
        self.source = source
        self.matcher = matcher

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the (decoded) event matches the pattern."""
        return self.matcher.matches(event)


def compile_event_pattern(pattern: str | Mapping[str, Any]) -> EventPattern:
    """Compile an event pattern (JSON text or decoded), or raise ``InvalidEventPattern``."""
    document = parse_document(pattern, EVENT_BRIDGE)
    return EventPattern(document, compile_tree(document, EVENT_BRIDGE))
