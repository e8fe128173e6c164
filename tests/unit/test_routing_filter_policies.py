"""SNS filter policies: attribute and body scopes, every operator, the limits and the refusals."""

import json
from typing import Any

import pytest

from models.routing import (
    FilterPolicy,
    FilterPolicyScope,
    InvalidFilterPolicy,
    MessageAttribute,
    compile_filter_policy,
)

BODY = FilterPolicyScope.MESSAGE_BODY

#: The attributes of AWS's example message (customer transactions).
EXAMPLE_ATTRIBUTES = {
    "customer_interests": MessageAttribute("String.Array", '["soccer", "rugby", "hockey"]'),
    "store": MessageAttribute("String", "example_corp"),
    "event": MessageAttribute("String", "order_placed"),
    "price_usd": MessageAttribute("Number", "210.75"),
}


def string(value: str) -> dict[str, MessageAttribute]:
    """One String attribute named ``a``."""
    return {"a": MessageAttribute("String", value)}


def number(value: str) -> dict[str, MessageAttribute]:
    """One Number attribute named ``a``."""
    return {"a": MessageAttribute("Number", value)}


def array(*values: Any) -> dict[str, MessageAttribute]:
    """One String.Array attribute named ``a``."""
    return {"a": MessageAttribute("String.Array", json.dumps(values))}


def passes(policy: dict[str, Any], attributes: dict[str, MessageAttribute]) -> bool:
    """Compile an attribute policy and apply it to ``attributes``."""
    return compile_filter_policy(policy).matches_attributes(attributes)


def body_passes(policy: dict[str, Any], body: dict[str, Any]) -> bool:
    """Compile a body policy and apply it to the decoded ``body``."""
    return compile_filter_policy(policy, BODY).matches_body(body)


def refusal(policy: Any, scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES) -> str:
    """The message SNS gives for refusing ``policy``."""
    with pytest.raises(InvalidFilterPolicy) as refused:
        compile_filter_policy(policy, scope)
    assert refused.value.aws_type == "InvalidParameterException"
    return str(refused.value)


# AWS's example policies.


def test_the_documented_accepting_policy_accepts_the_example_message() -> None:
    policy = {
        "store": ["example_corp"],
        "event": [{"anything-but": "order_cancelled"}],
        "customer_interests": ["rugby", "football", "baseball"],
        "price_usd": [{"numeric": [">=", 100]}],
    }
    assert passes(policy, EXAMPLE_ATTRIBUTES)


def test_the_documented_rejecting_policy_rejects_the_example_message() -> None:
    policy = {
        "store": ["example_corp"],
        "event": ["order_cancelled"],
        "encrypted": [False],
        "customer_interests": ["basketball", "baseball"],
    }
    assert not passes(policy, EXAMPLE_ATTRIBUTES)


def test_a_policy_compiles_from_json_text() -> None:
    policy = compile_filter_policy('{"store": ["example_corp"]}')
    assert isinstance(policy, FilterPolicy)
    assert policy.scope is FilterPolicyScope.MESSAGE_ATTRIBUTES
    assert policy.matches_attributes(EXAMPLE_ATTRIBUTES)


def test_the_scope_may_be_given_as_its_aws_name() -> None:
    assert compile_filter_policy({"a": ["x"]}, "MessageBody").scope is BODY  # type: ignore[arg-type]


def test_the_empty_policy_accepts_everything() -> None:
    assert compile_filter_policy({}).matches_attributes({})
    assert compile_filter_policy("{}", BODY).matches("not json", {})


# Attribute types.


def test_a_string_attribute_matches_exactly_and_case_sensitively() -> None:
    assert passes({"a": ["rugby", "tennis"]}, string("tennis"))
    assert not passes({"a": ["rugby"]}, string("Rugby"))
    assert not passes({"a": ["rugby"]}, string("baseball"))


def test_a_number_attribute_compares_numerically() -> None:
    assert passes({"a": [{"numeric": ["=", 301.5]}]}, number("3.015e2"))
    assert passes({"a": [300]}, number("300.0"))
    assert passes({"a": [300.0]}, number("300"))


def test_a_number_attribute_does_not_match_its_digits_as_a_string() -> None:
    assert not passes({"a": ["300"]}, number("300"))
    assert not passes({"a": [300]}, string("300"))


def test_numbers_are_equal_to_five_decimals() -> None:
    assert passes({"a": [1.000001]}, number("1"))
    assert not passes({"a": [1.00001]}, number("1"))


def test_a_string_array_matches_when_one_element_matches() -> None:
    assert passes({"a": ["rugby"]}, array("soccer", "rugby"))
    assert not passes({"a": ["golf"]}, array("soccer", "rugby"))
    assert passes({"a": [{"numeric": [">", 10]}]}, array(1, 20))


def test_an_empty_string_array_matches_only_exists_false() -> None:
    assert not passes({"a": [{"exists": True}]}, array())
    assert passes({"a": [{"exists": False}]}, array())


def test_a_string_array_that_is_not_a_json_array_is_ignored() -> None:
    broken = {"a": MessageAttribute("String.Array", "rugby")}
    assert not passes({"a": ["rugby"]}, broken)
    assert passes({"a": [{"exists": False}]}, broken)


def test_a_binary_attribute_never_matches() -> None:
    binary = {"a": MessageAttribute("Binary", "cnVnYnk=")}
    assert not passes({"a": ["cnVnYnk="]}, binary)
    assert not passes({"a": [{"exists": True}]}, binary)
    assert passes({"a": [{"exists": False}]}, binary)


def test_custom_string_and_number_types_are_read_as_their_base_type() -> None:
    assert passes({"a": ["x"]}, {"a": MessageAttribute("String.custom", "x")})
    assert passes({"a": [5]}, {"a": MessageAttribute("Number.int", "5")})


def test_attributes_the_policy_does_not_name_are_ignored() -> None:
    assert passes({"store": ["example_corp"]}, EXAMPLE_ATTRIBUTES)


def test_a_missing_attribute_fails_every_test_but_exists_false() -> None:
    assert not passes({"a": ["x"]}, {})
    assert not passes({"a": [{"anything-but": "x"}]}, {})
    assert not passes({"a": [{"prefix": ""}]}, {})
    assert passes({"a": [{"exists": False}]}, {})


# Operators.


def test_anything_but_strings_matches_other_strings_and_arrays_with_another_value() -> None:
    policy = {"a": [{"anything-but": ["rugby", "tennis"]}]}
    assert passes(policy, string("baseball"))
    assert passes(policy, array("rugby", "baseball"))
    assert not passes(policy, string("rugby"))


def test_anything_but_numbers_matches_other_numbers() -> None:
    policy = {"a": [{"anything-but": [100, 500]}]}
    assert passes(policy, number("101"))
    assert passes(policy, number("100.1"))
    assert passes(policy, array(100, 50))
    assert not passes(policy, number("100"))


def test_anything_but_prefix_excludes_strings_with_the_prefix() -> None:
    policy = {"a": [{"anything-but": {"prefix": "order-"}}]}
    assert passes(policy, string("invoice-1"))
    assert not passes(policy, string("order-1"))


def test_anything_but_suffix_and_ignoring_case() -> None:
    assert not passes({"a": [{"anything-but": {"suffix": ".png"}}]}, string("a.png"))
    assert not passes({"a": [{"anything-but": {"equals-ignore-case": "x"}}]}, string("X"))
    assert passes({"a": [{"anything-but": {"equals-ignore-case": "x"}}]}, string("y"))


def test_prefix_and_suffix_match_string_ends() -> None:
    assert passes({"a": [{"prefix": "bas"}]}, string("basketball"))
    assert not passes({"a": [{"prefix": "bas"}]}, string("rugby"))
    assert passes({"a": [{"suffix": "ball"}]}, string("baseball"))
    assert not passes({"a": [{"suffix": "ball"}]}, string("rugby"))


def test_prefix_and_suffix_ignoring_case() -> None:
    assert passes({"a": [{"prefix": {"equals-ignore-case": "BAS"}}]}, string("basket"))
    assert passes({"a": [{"suffix": {"equals-ignore-case": "BALL"}}]}, string("baseball"))


def test_equals_ignore_case_matches_any_casing() -> None:
    assert passes({"a": [{"equals-ignore-case": "RUGBY"}]}, string("rugby"))
    assert not passes({"a": [{"equals-ignore-case": "RUGBY"}]}, string("rugby7"))


def test_numeric_ranges_and_equality() -> None:
    assert passes({"a": [{"numeric": ["<", 0]}]}, number("-0.5"))
    assert passes({"a": [{"numeric": [">", 0, "<=", 150]}]}, number("150"))
    assert not passes({"a": [{"numeric": [">", 0, "<=", 150]}]}, number("150.00001"))
    assert not passes({"a": [{"numeric": [">", 0]}]}, string("5"))


def test_cidr_matches_addresses_in_the_block() -> None:
    assert passes({"a": [{"cidr": "10.0.0.0/24"}]}, string("10.0.0.7"))
    assert not passes({"a": [{"cidr": "10.0.0.0/24"}]}, string("10.0.1.7"))
    assert passes({"a": [{"cidr": "2001:db8::/32"}]}, string("2001:db8::7"))


def test_exists_true_and_false() -> None:
    assert passes({"a": [{"exists": True}]}, string("x"))
    assert not passes({"a": [{"exists": True}]}, {})
    assert not passes({"a": [{"exists": False}]}, string("x"))


def test_keys_are_anded_and_values_ored() -> None:
    policy = {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}
    assert passes(policy, EXAMPLE_ATTRIBUTES)
    assert not passes({**policy, "price_usd": [{"numeric": [">", 300]}]}, EXAMPLE_ATTRIBUTES)


def test_or_across_attributes() -> None:
    policy = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    }
    base = {"source": MessageAttribute("String", "aws.cloudwatch")}
    assert passes(policy, {**base, "namespace": MessageAttribute("String", "AWS/EC2")})
    assert not passes(policy, {**base, "namespace": MessageAttribute("String", "AWS/S3")})


def test_or_with_reserved_names_is_a_plain_attribute_name() -> None:
    # AWS's example: numeric and prefix are reserved, so "$or" is an attribute whose values
    # are (invalid) match expressions.
    policy = {"$or": [{"numeric": 123}, {"prefix": "abc"}]}
    assert refusal(policy) == "Invalid parameter: FilterPolicy: Value of numeric must be an array."
    plain = {"$or": ["x"]}
    assert passes(plain, {"$or": MessageAttribute("String", "x")})


# MessageBody scope.


def test_a_body_policy_matches_nested_properties() -> None:
    policy = {"store": ["example_corp"], "order": {"price_usd": [{"numeric": [">=", 100]}]}}
    assert body_passes(policy, {"store": "example_corp", "order": {"price_usd": 210.75}})
    assert not body_passes(policy, {"store": "example_corp", "order": {"price_usd": 99}})


def test_a_body_policy_matches_an_element_of_an_array_of_objects() -> None:
    policy = {"lines": {"sku": ["MUG"], "qty": [{"numeric": [">", 1]}]}}
    assert body_passes(policy, {"lines": [{"sku": "TEE", "qty": 5}, {"sku": "MUG", "qty": 2}]})
    assert not body_passes(policy, {"lines": [{"sku": "TEE", "qty": 5}, {"sku": "MUG", "qty": 1}]})


def test_a_body_policy_with_or_at_two_levels() -> None:
    policy = {
        "$or": [
            {"order": {"$or": [{"state": ["placed"]}, {"total": [{"numeric": [">", 100]}]}]}},
            {"vip": [True]},
        ]
    }
    assert body_passes(policy, {"order": {"total": 120}})
    assert body_passes(policy, {"vip": True})
    assert not body_passes(policy, {"order": {"state": "cancelled", "total": 5}})


def test_a_body_null_matches_null_and_exists_true_but_not_exists_false() -> None:
    assert body_passes({"a": [None]}, {"a": None})
    assert not body_passes({"a": [None]}, {})
    assert body_passes({"a": [{"exists": True}]}, {"a": None})
    assert not body_passes({"a": [{"exists": False}]}, {"a": None})


def test_matches_reads_the_body_in_body_scope() -> None:
    policy = compile_filter_policy({"a": ["x"]}, BODY)
    assert policy.matches('{"a": "x"}', {})
    assert not policy.matches('{"a": "y"}', {"a": MessageAttribute("String", "x")})


def test_a_body_that_is_not_a_json_object_never_matches() -> None:
    policy = compile_filter_policy({"a": [{"exists": False}]}, BODY)
    assert not policy.matches("plain text", {})
    assert not policy.matches("[1, 2]", {})
    assert policy.matches("{}", {})


def test_matches_reads_the_attributes_in_attribute_scope() -> None:
    policy = compile_filter_policy({"a": ["x"]})
    assert policy.matches('{"a": "y"}', string("x"))


# Limits and refusals.


def test_five_keys_are_allowed_and_six_refused() -> None:
    five = {f"k{n}": ["v"] for n in range(5)}
    compile_filter_policy(five)
    assert (
        refusal({**five, "k5": ["v"]})
        == "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
    )


def test_keys_inside_or_count_toward_the_limit() -> None:
    policy = {"a": ["v"], "b": ["v"], "$or": [{"c": ["v"], "d": ["v"]}, {"e": ["v"], "f": ["v"]}]}
    assert refusal(policy).endswith("Filter policy can not have more than 5 keys")


def test_only_top_level_keys_count_in_a_body_policy() -> None:
    policy = {
        "state": ["SUCCESS"],
        "severity": [{"exists": True}],
        "message": [{"exists": True}],
        "finding": {
            "standard_control": [{"exists": True}],
            "region": [{"exists": True}],
            "account": [{"exists": True}],
        },
    }
    assert body_passes(
        policy,
        {
            "state": "SUCCESS",
            "severity": 1,
            "message": "m",
            "finding": {"standard_control": 1, "region": "r", "account": "a"},
        },
    )


def test_150_combinations_are_allowed_and_151_refused() -> None:
    compile_filter_policy({"a": [str(n) for n in range(150)]})
    compile_filter_policy({"a": [str(n) for n in range(10)], "b": [str(n) for n in range(15)]})
    assert (
        refusal({"a": [str(n) for n in range(151)]})
        == "Invalid parameter: FilterPolicy: Filter policy is too complex"
    )


def test_combinations_multiply_each_array_length_by_its_depth_in_a_body_policy() -> None:
    # AWS's example: 3 x 4 x 2 x 3 = 72.
    policy = {
        "key_a": {"key_b": {"key_c": ["one", "two", "three", "four"]}},
        "key_d": {"key_e": ["one", "two", "three"]},
    }
    compile_filter_policy(policy, BODY)
    deep = {"a": {"b": {"c": {"d": {"e": [str(n) for n in range(31)]}}}}}
    assert refusal(deep, BODY).endswith("Filter policy is too complex")
    compile_filter_policy({"a": {"b": {"c": {"d": {"e": [str(n) for n in range(30)]}}}}}, BODY)


def test_combinations_of_or_branches_add_up() -> None:
    # AWS's nested $or example: 1 x 2 + 1 x 1 x 2 + 1 x 1 x 3 = 7 combinations.
    tens = [str(n) for n in range(10)]
    within = {"a": tens, "$or": [{"b": tens[:5]}, {"c": tens[:5]}]}  # 10 x (5 + 5) = 100
    compile_filter_policy(within)
    over = {"a": tens, "$or": [{"b": tens[:8]}, {"c": tens[:8]}]}  # 10 x (8 + 8) = 160
    assert refusal(over).endswith("Filter policy is too complex")


def test_nesting_is_refused_in_attribute_scope_with_aws_text() -> None:
    assert refusal({"a": {"b": ["x"]}}) == (
        "Invalid parameter: "
        "Filter policy scope MessageAttributes does not support nested filter policy"
    )


def test_numbers_beyond_a_billion_are_refused() -> None:
    assert refusal({"a": [{"numeric": [">", 1.5e9]}]}) == (
        "Invalid parameter: FilterPolicy: Value must be between -1.0E9 and 1.0E9, inclusive"
    )
    compile_filter_policy({"a": [{"numeric": [">=", -1e9, "<=", 1e9]}]})


def test_wildcard_is_not_an_sns_operator() -> None:
    assert refusal({"a": [{"wildcard": "x*"}]}) == (
        "Invalid parameter: FilterPolicy: Unrecognized match type wildcard"
    )
    assert refusal({"a": [{"anything-but": {"wildcard": "x*"}}]}).endswith(
        "Unsupported anything-but pattern: wildcard"
    )


SNS_REFUSALS: list[tuple[str, Any, str]] = [
    ("scalar_value", {"a": "x"}, '"a" must be an object or an array'),
    ("empty_array", {"a": []}, "Empty arrays are not allowed"),
    ("nested_array", {"a": [["x"]]}, "Match value must be String, number, true, false, or null"),
    (
        "two_operators",
        {"a": [{"prefix": "x", "suffix": "y"}]},
        "Only one key allowed in match expression",
    ),
    ("unknown_operator", {"a": [{"contains": "x"}]}, "Unrecognized match type contains"),
    ("prefix_number", {"a": [{"prefix": 5}]}, "prefix match pattern must be a string"),
    (
        "exists_string",
        {"a": [{"exists": "yes"}]},
        "exists match pattern must be either true or false.",
    ),
    ("numeric_empty", {"a": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
    ("numeric_not_a_number", {"a": [{"numeric": [">", "5"]}]}, "Value of > must be numeric"),
    (
        "anything_but_boolean",
        {"a": [{"anything-but": True}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    ("not_an_object", "[1]", "Filter is not an object"),
]


@pytest.mark.parametrize(
    ("policy", "reason"), [(p, r) for _, p, r in SNS_REFUSALS], ids=[n for n, _, _ in SNS_REFUSALS]
)
def test_an_invalid_policy_is_refused_with_aws_reason(policy: Any, reason: str) -> None:
    assert refusal(policy) == f"Invalid parameter: FilterPolicy: {reason}"
