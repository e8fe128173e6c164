"""The compiled matchers agree with a naive reference evaluator on generated rules and events.

The reference reads the pattern's JSON at every match, one operator at a time, comparing
numbers as decimals and wildcards with a hand-written matcher: slow and obvious. Generated
numbers have at most two decimals, so precision limits never come into play.
"""

import contextlib
import ipaddress
import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from models.routing import (
    FilterPolicyScope,
    InvalidEventPattern,
    InvalidFilterPolicy,
    MessageAttribute,
    compile_event_pattern,
    compile_filter_policy,
)

AGREE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MISSING = object()


# The reference evaluator.


def _is_number(value: object) -> bool:
    """A JSON number, not a boolean."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(rule_value: object, leaf: object) -> bool:
    """Exact equality of JSON values, numbers compared as decimals, types never mixed."""
    if _is_number(rule_value) and _is_number(leaf):
        return Decimal(repr(rule_value)) == Decimal(repr(leaf))
    return type(rule_value) is type(leaf) and rule_value == leaf


def _leaves(value: object) -> list[object]:
    """The scalars of a field: itself, or the elements of (nested) arrays."""
    if value is MISSING or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [leaf for element in value for leaf in _leaves(element)]
    return [value]


def _objects(value: object) -> list[dict[str, Any]]:
    """The objects of a field: itself, or the objects in (nested) arrays."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [found for element in value for found in _objects(element)]
    return []


def _wildcard(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` (``*`` = any run), by plain recursion."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return any(_wildcard(pattern[1:], text[cut:]) for cut in range(len(text) + 1))
    return bool(text) and text[0] == pattern[0] and _wildcard(pattern[1:], text[1:])


def _numeric(spec: list[Any], leaf: object) -> bool:
    """Whether ``leaf`` is a number satisfying every (operator, bound) pair."""
    if not _is_number(leaf):
        return False
    number = Decimal(repr(leaf))
    for operator, bound in zip(spec[::2], spec[1::2], strict=True):
        limit = Decimal(repr(bound))
        holds = {
            "=": number == limit,
            "<": number < limit,
            "<=": number <= limit,
            ">": number > limit,
            ">=": number >= limit,
        }[operator]
        if not holds:
            return False
    return True


def _affix(spec: Any, leaf: object, at_start: bool) -> bool:
    """Prefix or suffix, plain or ``{"equals-ignore-case": ...}``."""
    if not isinstance(leaf, str):
        return False
    if isinstance(spec, dict):
        spec, leaf = spec["equals-ignore-case"].lower(), leaf.lower()
    return leaf.startswith(spec) if at_start else leaf.endswith(spec)


def _anything_but_excludes(spec: Any, leaf: object) -> bool:
    """Whether anything-but's operand excludes ``leaf``."""
    if not isinstance(spec, dict):
        values = spec if isinstance(spec, list) else [spec]
        return any(_same(value, leaf) for value in values)
    ((form, operand),) = spec.items()
    texts = operand if isinstance(operand, list) else [operand]
    if not isinstance(leaf, str):
        return False
    if form == "equals-ignore-case":
        return leaf.lower() in [text.lower() for text in texts]
    if form == "prefix":
        return any(leaf.startswith(text) for text in texts)
    if form == "suffix":
        return any(leaf.endswith(text) for text in texts)
    return any(_wildcard(text, leaf) for text in texts)


def _value_matches(item: Any, leaf: object) -> bool:
    """One entry of a field's array against one leaf value."""
    if not isinstance(item, dict):
        return _same(item, leaf)
    ((operator, operand),) = item.items()
    if operator == "prefix":
        return _affix(operand, leaf, at_start=True)
    if operator == "suffix":
        return _affix(operand, leaf, at_start=False)
    if operator == "equals-ignore-case":
        return isinstance(leaf, str) and leaf.lower() == operand.lower()
    if operator == "wildcard":
        return isinstance(leaf, str) and _wildcard(operand, leaf)
    if operator == "anything-but":
        return not _anything_but_excludes(operand, leaf)
    if operator == "numeric":
        return _numeric(operand, leaf)
    if operator == "cidr":
        try:
            address = ipaddress.ip_address(leaf)  # type: ignore[arg-type]
        except ValueError:
            return False
        network = ipaddress.ip_network(operand, strict=False)
        return address.version == network.version and address in network
    raise AssertionError(f"the generator made an unknown operator {operator}")


def reference_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether ``event`` matches ``pattern``, read straight from the pattern's JSON."""
    for key, spec in pattern.items():
        if key == "$or":
            if not any(reference_matches(branch, event) for branch in spec):
                return False
            continue
        value = event.get(key, MISSING)
        if isinstance(spec, dict):
            objects = _objects(value) or [{}]
            if not any(reference_matches(spec, found) for found in objects):
                return False
            continue
        leaves = _leaves(value)
        existence = [item["exists"] for item in spec if isinstance(item, dict) and "exists" in item]
        if bool(leaves) in existence:
            continue
        others = [item for item in spec if not (isinstance(item, dict) and "exists" in item)]
        if not any(_value_matches(item, leaf) for item in others for leaf in leaves):
            return False
    return True


# Generators.

KEYS = st.sampled_from(["a", "b", "c"])
TEXTS = st.sampled_from(["", "a", "A", "ab", "aB", "ba", "abc", "10.0.0.1", "10.0.1.9", "::1"])
NONEMPTY = TEXTS.filter(bool)
NUMBERS = st.sampled_from([-3, -1, 0, 1, 2, 3, 0.5, 1.25, -2.5, 2.0])
SCALARS = TEXTS | NUMBERS | st.booleans() | st.none()
WILDCARDS = st.sampled_from(["*", "a*", "*b", "a*b", "*a*", "ab", "a*b*c", ""])
CIDRS = st.sampled_from(["10.0.0.0/24", "10.0.0.0/8", "::/1", "10.0.1.0/30"])


@st.composite
def numeric_specs(draw: st.DrawFn) -> list[Any]:
    """A valid ``numeric`` operand: one comparison or a lower and upper bound."""
    low, high = sorted(draw(st.lists(NUMBERS, min_size=2, max_size=2, unique=True)))
    if draw(st.booleans()):
        return [draw(st.sampled_from(["=", "<", "<=", ">", ">="])), low]
    return [draw(st.sampled_from([">", ">="])), low, draw(st.sampled_from(["<", "<="])), high]


def one_or_list(texts: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """A string, or a short list of them."""
    return texts | st.lists(texts, min_size=1, max_size=3)


def anything_but_operands(forms: list[str]) -> st.SearchStrategy[Any]:
    """Every valid anything-but operand among ``forms``."""
    inner = {
        "prefix": one_or_list(NONEMPTY),
        "suffix": one_or_list(NONEMPTY),
        "equals-ignore-case": one_or_list(TEXTS),
        "wildcard": one_or_list(WILDCARDS),
    }
    return (
        TEXTS
        | NUMBERS
        | st.lists(TEXTS, min_size=1, max_size=3)
        | st.lists(NUMBERS, min_size=1, max_size=3)
        | st.one_of([inner[form].map(lambda operand, f=form: {f: operand}) for form in forms])
    )


def match_items(sns: bool) -> st.SearchStrategy[Any]:
    """One entry of a field's array: a value or a match expression."""
    ignoring_case = TEXTS.map(lambda text: {"equals-ignore-case": text})
    forms = ["prefix", "suffix", "equals-ignore-case"] + ([] if sns else ["wildcard"])
    expressions = [
        st.builds(lambda t: {"prefix": t}, TEXTS | ignoring_case),
        st.builds(lambda t: {"suffix": t}, TEXTS | ignoring_case),
        st.builds(lambda t: {"equals-ignore-case": t}, TEXTS),
        st.builds(lambda o: {"anything-but": o}, anything_but_operands(forms)),
        st.builds(lambda n: {"numeric": n}, numeric_specs()),
        st.builds(lambda e: {"exists": e}, st.booleans()),
        st.builds(lambda c: {"cidr": c}, CIDRS),
    ]
    if not sns:
        expressions.append(st.builds(lambda w: {"wildcard": w}, WILDCARDS))
    return SCALARS | st.one_of(expressions)


def patterns(*, sns: bool = False, nested: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Valid patterns: fields of value arrays, nested objects (if ``nested``) and ``$or``."""
    leaf = st.lists(match_items(sns), min_size=1, max_size=4)

    def extend(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        fields = st.dictionaries(KEYS, leaf | inner if nested else leaf, min_size=1, max_size=2)
        alternatives = st.lists(inner, min_size=2, max_size=3)
        return st.builds(lambda f, o: {**f, "$or": o} if o else f, fields, st.none() | alternatives)

    return st.recursive(st.dictionaries(KEYS, leaf, min_size=1, max_size=2), extend, max_leaves=3)


def objects_of(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects whose fields, each maybe absent, are the keys the patterns use."""
    return st.fixed_dictionaries({}, optional={key: values for key in ("a", "b", "c")})


json_values = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | objects_of(inner), max_leaves=8
)
#: Events always have ``a`` and ``b`` (so patterns get past them) and maybe ``c``.
events = st.fixed_dictionaries({"a": json_values, "b": json_values}, optional={"c": json_values})


# Properties.


@AGREE
@given(pattern=patterns(), event=events)
def test_an_event_pattern_agrees_with_the_reference(
    pattern: dict[str, Any], event: dict[str, Any]
) -> None:
    assert compile_event_pattern(pattern).matches(event) == reference_matches(pattern, event)


@settings(AGREE, max_examples=2000)
@given(item=match_items(sns=False), value=SCALARS | st.lists(SCALARS, max_size=3))
def test_every_match_expression_agrees_with_the_reference_on_one_field(
    item: Any, value: Any
) -> None:
    pattern, event = {"a": [item]}, {"a": value}
    assert compile_event_pattern(pattern).matches(event) == reference_matches(pattern, event)


@AGREE
@given(pattern=patterns(), event=events)
def test_an_event_pattern_compiled_from_text_agrees_with_one_compiled_from_a_dict(
    pattern: dict[str, Any], event: dict[str, Any]
) -> None:
    from_text = compile_event_pattern(json.dumps(pattern))
    assert from_text.matches(event) == compile_event_pattern(pattern).matches(event)


@AGREE
@given(policy=patterns(sns=True), body=events)
def test_a_body_policy_agrees_with_the_reference(
    policy: dict[str, Any], body: dict[str, Any]
) -> None:
    try:
        compiled = compile_filter_policy(policy, FilterPolicyScope.MESSAGE_BODY)
    except InvalidFilterPolicy as refused:
        assume("5 keys" not in str(refused) and "too complex" not in str(refused))
        raise
    assert compiled.matches(json.dumps(body), {}) == reference_matches(policy, body)


attribute_values = st.one_of(
    TEXTS.map(lambda text: MessageAttribute("String", text)),
    NUMBERS.map(lambda number: MessageAttribute("Number", repr(number))),
    st.lists(SCALARS, max_size=3).map(lambda v: MessageAttribute("String.Array", json.dumps(v))),
    st.just(MessageAttribute("Binary", "AAEC")),
)


def attribute_document(attributes: dict[str, MessageAttribute]) -> dict[str, Any]:
    """The JSON object SNS filters for these attributes (Binary left out)."""
    document: dict[str, Any] = {}
    for name, attribute in attributes.items():
        if attribute.data_type == "String":
            document[name] = attribute.string_value
        elif attribute.data_type in ("Number", "String.Array"):
            document[name] = json.loads(attribute.string_value)
    return document


@AGREE
@given(
    policy=patterns(sns=True, nested=False),
    attributes=st.dictionaries(KEYS, attribute_values, max_size=3),
)
def test_an_attribute_policy_agrees_with_the_reference(
    policy: dict[str, Any], attributes: dict[str, MessageAttribute]
) -> None:
    try:
        compiled = compile_filter_policy(policy)
    except InvalidFilterPolicy as refused:
        assume("5 keys" not in str(refused) and "too complex" not in str(refused))
        raise
    expected = reference_matches(policy, attribute_document(attributes))
    assert compiled.matches("", attributes) == expected


any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["a", "$or", "prefix", "numeric", "anything-but", "exists", "cidr"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@AGREE
@given(document=any_json)
def test_compiling_any_json_either_succeeds_or_raises_the_grammar_error(document: Any) -> None:
    with contextlib.suppress(InvalidEventPattern):
        compile_event_pattern(document)
    for scope in FilterPolicyScope:
        with contextlib.suppress(InvalidFilterPolicy):
            compile_filter_policy(document, scope)
