"""EventBridge event patterns: every operator and corner case AWS documents, and every refusal."""

from typing import Any

import pytest

from models.routing import EventPattern, InvalidEventPattern, compile_event_pattern

EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Compile ``pattern`` and match it against ``event``."""
    return compile_event_pattern(pattern).matches(event)


def reason(pattern: Any) -> str:
    """The reason AWS gives for refusing ``pattern``."""
    with pytest.raises(InvalidEventPattern) as refused:
        compile_event_pattern(pattern)
    assert refused.value.aws_type == "InvalidEventPatternException"
    assert str(refused.value) == f"Event pattern is not valid. Reason: {refused.value.reason}"
    return refused.value.reason


# Structure: AND over fields, OR over values, nesting, arrays.


def test_the_documented_ec2_termination_pattern_matches_the_documented_event() -> None:
    pattern = {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["terminated"]},
    }
    assert matches(pattern, EC2_EVENT)
    assert not matches({**pattern, "detail": {"state": ["running"]}}, EC2_EVENT)


def test_a_pattern_compiles_from_json_text_too() -> None:
    pattern = compile_event_pattern('{"source": ["aws.ec2"]}')
    assert isinstance(pattern, EventPattern)
    assert pattern.matches(EC2_EVENT)


def test_every_field_of_a_pattern_must_match() -> None:
    assert not matches({"source": ["aws.ec2"], "region": ["eu-west-1"]}, EC2_EVENT)


def test_any_value_of_a_field_may_match() -> None:
    assert matches({"region": ["eu-west-1", "us-west-1"]}, EC2_EVENT)


def test_fields_the_pattern_does_not_name_are_ignored() -> None:
    assert matches({"detail": {"state": ["terminated"]}}, EC2_EVENT)


def test_an_event_array_matches_when_it_shares_one_value_with_the_pattern() -> None:
    pattern = {"resources": ["arn:other", EC2_EVENT["resources"][0]]}
    assert matches(pattern, EC2_EVENT)
    assert not matches({"resources": ["arn:other"]}, EC2_EVENT)


def test_an_empty_event_array_matches_no_value_but_matches_exists_false() -> None:
    event = {"tags": []}
    assert not matches({"tags": [""]}, event)
    assert not matches({"tags": [{"exists": True}]}, event)
    assert matches({"tags": [{"exists": False}]}, event)


def test_nested_arrays_in_events_are_flattened() -> None:
    assert matches({"grid": [5]}, {"grid": [[1, 2], [3, [5]]]})


def test_a_nested_pattern_matches_one_element_of_an_array_of_objects_as_a_whole() -> None:
    event = {"lines": [{"sku": "MUG", "qty": 1}, {"sku": "TEE", "qty": 3}]}
    assert matches({"lines": {"sku": ["TEE"], "qty": [3]}}, event)
    assert not matches({"lines": {"sku": ["MUG"], "qty": [3]}}, event)


def test_a_leaf_test_on_an_object_field_matches_only_exists_false() -> None:
    event = {"detail": {"c-count": {"c1": 100}}}
    assert matches({"detail": {"c-count": [{"exists": False}]}}, event)
    assert not matches({"detail": {"c-count": [{"exists": True}]}}, event)
    assert not matches({"detail": {"c-count": [100]}}, event)


def test_a_nested_pattern_on_a_missing_or_scalar_field_matches_only_absence() -> None:
    absent = {"detail": {"state": [{"exists": False}]}}
    assert matches(absent, {"source": "x"})
    assert matches(absent, {"detail": "flat"})
    assert not matches({"detail": {"state": ["x"]}}, {"detail": "flat"})


def test_values_of_the_wrong_type_never_match() -> None:
    assert not matches({"n": ["5"]}, {"n": 5})
    assert not matches({"n": [5]}, {"n": "5"})
    assert not matches({"flag": [True]}, {"flag": "true"})
    assert not matches({"flag": [1]}, {"flag": True})
    assert not matches({"flag": [True]}, {"flag": 1})


# Exact values, null and empty.


def test_an_empty_string_matches_only_an_empty_string() -> None:
    assert matches({"LastName": [""]}, {"LastName": ""})
    assert not matches({"LastName": [""]}, {"LastName": None})
    assert not matches({"LastName": [""]}, {})


def test_null_matches_a_null_value() -> None:
    assert matches({"UserID": [None]}, {"UserID": None})
    assert not matches({"UserID": [None]}, {"UserID": ""})


def test_a_missing_field_does_not_match_null() -> None:
    assert not matches({"UserID": [None]}, {"other": 1})


def test_booleans_match_booleans() -> None:
    assert matches({"ok": [False]}, {"ok": False})
    assert not matches({"ok": [False]}, {"ok": True})


def test_exact_strings_are_case_sensitive() -> None:
    assert not matches({"Name": ["Alice"]}, {"Name": "alice"})


def test_a_number_matches_the_same_number_written_as_an_integer_or_a_float() -> None:
    assert matches({"Price": [300]}, {"Price": 300.0})
    assert matches({"Price": [300.0]}, {"Price": 300})
    assert matches({"Price": [3.0e2]}, {"Price": 300})


def test_a_number_does_not_match_its_string() -> None:
    assert not matches({"Price": [300]}, {"Price": "300"})
    assert not matches({"Price": ["300"]}, {"Price": 300})


def test_numbers_are_equal_to_six_decimals() -> None:
    assert matches({"x": [0.3]}, {"x": 0.1 + 0.2})
    assert matches({"x": [1.0000001]}, {"x": 1})
    assert not matches({"x": [1.000001]}, {"x": 1})


def test_a_number_beyond_the_numeric_range_still_matches_exactly() -> None:
    assert matches({"account": [123456789012]}, {"account": 123456789012})
    assert not matches({"account": [123456789012]}, {"account": 123456789013})


# prefix, suffix, equals-ignore-case.


def test_prefix_matches_the_start_of_a_string() -> None:
    pattern = {"time": [{"prefix": "2017-10-02"}]}
    assert matches(pattern, {"time": "2017-10-02T18:43:48Z"})
    assert not matches(pattern, {"time": "2017-10-03T18:43:48Z"})


def test_prefix_is_case_sensitive_and_ignores_numbers() -> None:
    assert not matches({"r": [{"prefix": "us-"}]}, {"r": "US-east"})
    assert not matches({"n": [{"prefix": "1"}]}, {"n": 12})


def test_prefix_ignoring_case_matches_any_casing() -> None:
    pattern = {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}
    assert matches(pattern, {"service": "eventbridge"})
    assert matches(pattern, {"service": "EVENTBRIDGE"})
    assert not matches(pattern, {"service": "sns"})


def test_suffix_matches_the_end_of_a_string() -> None:
    pattern = {"FileName": [{"suffix": ".png"}]}
    assert matches(pattern, {"FileName": "image.png"})
    assert not matches(pattern, {"FileName": "image.PNG"})


def test_suffix_ignoring_case_matches_any_casing() -> None:
    pattern = {"service": [{"suffix": {"equals-ignore-case": "tBridge"}}]}
    assert matches(pattern, {"service": "EVENTBRIDGE"})
    assert not matches(pattern, {"service": "bridges"})


def test_equals_ignore_case_matches_the_whole_string_in_any_casing() -> None:
    pattern = {"name": [{"equals-ignore-case": "alice"}]}
    assert matches(pattern, {"name": "ALICE"})
    assert not matches(pattern, {"name": "alicia"})
    assert not matches(pattern, {})


# wildcard.


def test_wildcard_matches_any_run_of_characters_including_none() -> None:
    pattern = {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}
    assert matches(pattern, {"EventBusArn": "arn:aws:events:us-east-1:123:event-bus/default"})
    assert matches(pattern, {"EventBusArn": "arn:aws:events:us-east-1::event-bus/"})
    assert not matches(pattern, {"EventBusArn": "arn:aws:events:eu-west-1:1:event-bus/x"})


def test_wildcard_matches_a_file_in_a_folder() -> None:
    pattern = {"key": [{"wildcard": "dir/*.png"}]}
    assert matches(pattern, {"key": "dir/a.png"})
    assert matches(pattern, {"key": "dir/sub/a.png"})
    assert not matches(pattern, {"key": "other/a.png"})


def test_wildcard_without_a_star_is_an_exact_match() -> None:
    assert matches({"k": [{"wildcard": "a.b"}]}, {"k": "a.b"})
    assert not matches({"k": [{"wildcard": "a.b"}]}, {"k": "axb"})


def test_wildcard_escapes_a_star_and_a_backslash() -> None:
    assert matches({"k": [{"wildcard": "a\\*b"}]}, {"k": "a*b"})
    assert not matches({"k": [{"wildcard": "a\\*b"}]}, {"k": "axb"})
    assert matches({"k": [{"wildcard": "a\\\\*"}]}, {"k": "a\\tail"})


def test_wildcard_spans_line_breaks() -> None:
    assert matches({"k": [{"wildcard": "a*b"}]}, {"k": "a\nb"})


# anything-but, in every form.


def test_anything_but_a_string_matches_every_other_value() -> None:
    pattern = {"state": [{"anything-but": "initializing"}]}
    assert matches(pattern, {"state": "running"})
    assert matches(pattern, {"state": "INITIALIZING"})
    assert not matches(pattern, {"state": "initializing"})


def test_anything_but_a_number_compares_numerically() -> None:
    pattern = {"x-limit": [{"anything-but": 123}]}
    assert matches(pattern, {"x-limit": 124})
    assert not matches(pattern, {"x-limit": 123.0})


def test_anything_but_a_list_of_strings_excludes_each() -> None:
    pattern = {"state": [{"anything-but": ["stopped", "overloaded"]}]}
    assert matches(pattern, {"state": "running"})
    assert not matches(pattern, {"state": "stopped"})
    assert not matches(pattern, {"state": "overloaded"})


def test_anything_but_a_list_of_numbers_excludes_each() -> None:
    pattern = {"x-limit": [{"anything-but": [100, 200, 300]}]}
    assert matches(pattern, {"x-limit": 150})
    assert not matches(pattern, {"x-limit": 300.0})


def test_anything_but_does_not_match_a_missing_field() -> None:
    assert not matches({"state": [{"anything-but": "initializing"}]}, {})
    assert not matches({"state": [{"anything-but": {"prefix": "init"}}]}, {})


def test_anything_but_matches_an_array_holding_one_value_it_does_not_exclude() -> None:
    pattern = {"interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert matches(pattern, {"interests": ["rugby", "baseball"]})
    assert not matches(pattern, {"interests": ["rugby", "tennis"]})


def test_anything_but_matches_values_of_another_type() -> None:
    assert matches({"state": [{"anything-but": "x"}]}, {"state": None})
    assert matches({"state": [{"anything-but": [1]}]}, {"state": "1"})


def test_anything_but_prefix_excludes_strings_with_the_prefix() -> None:
    pattern = {"Region": [{"anything-but": {"prefix": "us-"}}]}
    assert matches(pattern, {"Region": "eu-west-1"})
    assert not matches(pattern, {"Region": "us-east-1"})


def test_anything_but_a_list_of_prefixes_excludes_each() -> None:
    pattern = {"Region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}
    assert matches(pattern, {"Region": "ap-south-1"})
    assert not matches(pattern, {"Region": "eu-west-1"})


def test_anything_but_suffix_excludes_strings_with_the_suffix() -> None:
    pattern = {"FileName": [{"anything-but": {"suffix": ".png"}}]}
    assert matches(pattern, {"FileName": "a.txt"})
    assert not matches(pattern, {"FileName": "a.png"})


def test_anything_but_ignoring_case_excludes_every_casing() -> None:
    pattern = {"state": [{"anything-but": {"equals-ignore-case": ["initializing", "Stopped"]}}]}
    assert matches(pattern, {"state": "running"})
    assert not matches(pattern, {"state": "INITIALIZING"})
    assert not matches(pattern, {"state": "stopped"})


def test_anything_but_wildcard_excludes_strings_the_wildcard_matches() -> None:
    pattern = {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}
    assert matches(pattern, {"FilePath": "/usr/bin/tool"})
    assert not matches(pattern, {"FilePath": "/usr/lib/x.so"})


# numeric.


def test_numeric_range_with_both_bounds() -> None:
    pattern = {"c-count": [{"numeric": [">", 0, "<=", 5]}]}
    assert matches(pattern, {"c-count": 5})
    assert matches(pattern, {"c-count": 0.5})
    assert not matches(pattern, {"c-count": 0})
    assert not matches(pattern, {"c-count": 5.000001})


def test_numeric_single_comparisons() -> None:
    assert matches({"d": [{"numeric": ["<", 10]}]}, {"d": 9.99})
    assert not matches({"d": [{"numeric": ["<", 10]}]}, {"d": 10})
    assert matches({"d": [{"numeric": ["<=", 10]}]}, {"d": 10})
    assert matches({"d": [{"numeric": [">=", 10]}]}, {"d": 10})
    assert not matches({"d": [{"numeric": [">", 10]}]}, {"d": 10})
    assert matches({"d": [{"numeric": [">=", 10, "<", 20]}]}, {"d": 10})


def test_numeric_equals_matches_the_same_value_in_any_notation() -> None:
    pattern = {"x-limit": [{"numeric": ["=", 3.018e2]}]}
    assert matches(pattern, {"x-limit": 301.8})
    assert not matches(pattern, {"x-limit": 301.9})


def test_numeric_matches_only_json_numbers() -> None:
    pattern = {"n": [{"numeric": [">", 0]}]}
    assert not matches(pattern, {"n": "5"})
    assert not matches(pattern, {"n": True})
    assert not matches(pattern, {"n": None})
    assert not matches(pattern, {})


def test_numeric_never_matches_a_number_beyond_the_range() -> None:
    assert not matches({"n": [{"numeric": [">", 0]}]}, {"n": 6e9})
    assert matches({"n": [{"numeric": [">", 0]}]}, {"n": 5e9})


def test_numeric_matches_any_element_of_an_array() -> None:
    assert matches({"n": [{"numeric": [">", 10]}]}, {"n": [1, 2, 30]})


# cidr.


def test_cidr_matches_ipv4_addresses_in_the_block() -> None:
    pattern = {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}
    assert matches(pattern, {"sourceIPAddress": "10.0.0.255"})
    assert not matches(pattern, {"sourceIPAddress": "10.0.1.0"})


def test_cidr_matches_ipv6_addresses_in_the_block() -> None:
    pattern = {"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}
    assert matches(pattern, {"sourceIPAddress": "2001:db8::1"})
    assert not matches(pattern, {"sourceIPAddress": "2001:db9::1"})
    assert not matches(pattern, {"sourceIPAddress": "10.0.0.1"})


def test_cidr_ignores_host_bits_of_the_block_and_non_addresses() -> None:
    pattern = {"ip": [{"cidr": "10.0.0.7/24"}]}
    assert matches(pattern, {"ip": "10.0.0.9"})
    assert not matches(pattern, {"ip": "not-an-ip"})
    assert not matches(pattern, {"ip": 167772161})


# exists.


def test_exists_true_matches_a_present_field() -> None:
    assert matches({"ProductName": [{"exists": True}]}, {"ProductName": "Mug"})
    assert not matches({"ProductName": [{"exists": True}]}, {})


def test_exists_true_matches_null_and_empty_strings() -> None:
    assert matches({"p": [{"exists": True}]}, {"p": None})
    assert matches({"p": [{"exists": True}]}, {"p": ""})


def test_exists_false_matches_a_missing_field() -> None:
    assert matches({"detail": {"c-count": [{"exists": False}]}}, {"detail": {"state": "x"}})


def test_exists_false_does_not_match_null() -> None:
    assert not matches({"p": [{"exists": False}]}, {"p": None})


def test_exists_false_or_a_value_matches_either() -> None:
    pattern = {"p": [{"exists": False}, "x"]}
    assert matches(pattern, {})
    assert matches(pattern, {"p": "x"})
    assert not matches(pattern, {"p": "y"})


# $or.


def test_or_matches_when_any_branch_matches() -> None:
    pattern = {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}
    assert matches(pattern, {"Location": "New York", "Day": "Friday"})
    assert matches(pattern, {"Location": "Paris", "Day": "Monday"})
    assert not matches(pattern, {"Location": "Paris", "Day": "Friday"})


def test_or_combines_with_sibling_fields_by_and() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    }
    assert matches(pattern, {"source": "aws.cloudwatch", "namespace": "AWS/EC2"})
    assert not matches(pattern, {"source": "aws.s3", "namespace": "AWS/EC2"})


def test_or_nests_inside_a_branch_and_inside_a_nested_object() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {
                "metricType": ["MetricType"],
                "$or": [{"metricId": [1234, 4321]}, {"spaces": [1000, 2000, 3000]}],
            },
        ],
        "detail": {
            "$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d": [{"exists": True}]}]
        },
    }
    base = {"source": "aws.cloudwatch", "detail": {"c-count": 3}}
    assert matches(pattern, {**base, "metricName": "ReadLatency"})
    assert matches(pattern, {**base, "metricType": "MetricType", "spaces": 2000})
    assert not matches(pattern, {**base, "metricType": "MetricType", "metricId": 1})
    assert not matches(pattern, {**base, "metricName": "ReadLatency", "detail": {"c-count": 9}})


# Refusals, with AWS's reasons.

MIXED_LIST = (
    "Inside anything but list, either all values are number or string, mixed type is not supported"
)

REFUSALS: list[tuple[str, Any, str]] = [
    (
        "not_json",
        "{",
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    ),
    ("not_an_object", [], "Filter is not an object"),
    ("empty_object", {}, "Empty objects are not allowed"),
    ("empty_nested_object", {"detail": {}}, "Empty objects are not allowed"),
    ("scalar_field", {"source": "aws.ec2"}, '"source" must be an object or an array'),
    ("empty_array", {"source": []}, "Empty arrays are not allowed"),
    ("nested_array", {"a": [["x"]]}, "Match value must be String, number, true, false, or null"),
    ("empty_expression", {"a": [{}]}, "Match expression name not found"),
    ("unknown_operator", {"a": [{"regex": "x"}]}, "Unrecognized match type regex"),
    (
        "two_operators",
        {"a": [{"prefix": "x", "suffix": "y"}]},
        "Only one key allowed in match expression",
    ),
    ("prefix_number", {"a": [{"prefix": 1}]}, "prefix match pattern must be a string"),
    ("suffix_null", {"a": [{"suffix": None}]}, "suffix match pattern must be a string"),
    ("prefix_empty_object", {"a": [{"prefix": {}}]}, "Prefix expression name not found"),
    (
        "prefix_other_form",
        {"a": [{"prefix": {"wildcard": "x"}}]},
        "Unsupported prefix pattern: wildcard",
    ),
    ("suffix_other_form", {"a": [{"suffix": {"x": "y"}}]}, "Unsupported suffix pattern: x"),
    (
        "prefix_ignore_case_number",
        {"a": [{"prefix": {"equals-ignore-case": 1}}]},
        "equals-ignore-case match pattern must be a string",
    ),
    (
        "equals_ignore_case_list",
        {"a": [{"equals-ignore-case": ["x"]}]},
        "equals-ignore-case match pattern must be a string",
    ),
    ("wildcard_number", {"a": [{"wildcard": 5}]}, "wildcard match pattern must be a string"),
    (
        "wildcard_consecutive",
        {"a": [{"wildcard": "a**b"}]},
        "Consecutive wildcard characters at pos 2",
    ),
    ("wildcard_bad_escape", {"a": [{"wildcard": "é\\x"}]}, "Invalid escape character at pos 3"),
    (
        "wildcard_trailing_escape",
        {"a": [{"wildcard": "ab\\"}]},
        "Invalid escape character at pos 3",
    ),
    (
        "exists_string",
        {"a": [{"exists": "true"}]},
        "exists match pattern must be either true or false.",
    ),
    (
        "operand_judged_first",
        {"a": [{"prefix": 1, "x": 2}]},
        "prefix match pattern must be a string",
    ),
    ("numeric_not_array", {"a": [{"numeric": 5}]}, "Value of numeric must be an array."),
    ("numeric_empty", {"a": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
    (
        "numeric_starts_with_number",
        {"a": [{"numeric": [5, "<"]}]},
        "Invalid member in numeric match: 5",
    ),
    (
        "numeric_unknown_operator",
        {"a": [{"numeric": ["!=", 5]}]},
        "Unrecognized numeric range operator: !=",
    ),
    ("numeric_equals_string", {"a": [{"numeric": ["=", "5"]}]}, "Value of equals must be numeric"),
    ("numeric_less_missing", {"a": [{"numeric": ["<"]}]}, "Value of < must be numeric"),
    ("numeric_greater_boolean", {"a": [{"numeric": [">", True]}]}, "Value of > must be numeric"),
    (
        "numeric_equals_extra",
        {"a": [{"numeric": ["=", 5, "<", 6]}]},
        "Too many elements in numeric expression",
    ),
    ("numeric_bad_upper_token", {"a": [{"numeric": [">", 5, 6]}]}, "Bad value in numeric range: 6"),
    (
        "numeric_bad_upper_operator",
        {"a": [{"numeric": [">", 5, ">", 6]}]},
        "Bad numeric range operator: >",
    ),
    ("numeric_upper_missing", {"a": [{"numeric": [">", 5, "<"]}]}, "Value of < must be numeric"),
    (
        "numeric_too_many_terms",
        {"a": [{"numeric": [">", 5, "<", 6, "<"]}]},
        "Too many terms in numeric range expression",
    ),
    ("numeric_empty_range", {"a": [{"numeric": [">", 6, "<", 6]}]}, "Bottom must be less than top"),
    (
        "numeric_out_of_range",
        {"a": [{"numeric": [">", 5.1e9]}]},
        "Value must be between -5.0E9 and 5.0E9, inclusive",
    ),
    (
        "numeric_extra_key",
        {"a": [{"numeric": [">", 1], "x": 1}]},
        "Too many elements in numeric expression",
    ),
    (
        "anything_but_null",
        {"a": [{"anything-but": None}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        "anything_but_list_null",
        {"a": [{"anything-but": ["x", None]}]},
        "Inside anything but list, start|null|boolean is not supported.",
    ),
    (
        "anything_but_mixed_list",
        {"a": [{"anything-but": ["x", 1]}]},
        MIXED_LIST,
    ),
    (
        "anything_but_empty_list",
        {"a": [{"anything-but": []}]},
        MIXED_LIST,
    ),
    (
        "anything_but_out_of_range",
        {"a": [{"anything-but": [6e9]}]},
        "Value must be between -5.0E9 and 5.0E9, inclusive",
    ),
    (
        "anything_but_empty_form",
        {"a": [{"anything-but": {}}]},
        "Anything-But expression name not found",
    ),
    (
        "anything_but_numeric_form",
        {"a": [{"anything-but": {"numeric": [">", 1]}}]},
        "Unsupported anything-but pattern: numeric",
    ),
    (
        "anything_but_prefix_number",
        {"a": [{"anything-but": {"prefix": 1}}]},
        "prefix/suffix match pattern must be a string",
    ),
    (
        "anything_but_prefix_empty",
        {"a": [{"anything-but": {"prefix": ""}}]},
        "Null prefix/suffix not allowed",
    ),
    (
        "anything_but_suffix_empty_in_list",
        {"a": [{"anything-but": {"suffix": ["x", ""]}}]},
        "Null prefix/suffix not allowed",
    ),
    (
        "anything_but_ignore_case_number",
        {"a": [{"anything-but": {"equals-ignore-case": [1]}}]},
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    ),
    (
        "anything_but_wildcard_number",
        {"a": [{"anything-but": {"wildcard": 1}}]},
        "wildcard match pattern must be a string",
    ),
    (
        "anything_but_wildcard_consecutive",
        {"a": [{"anything-but": {"wildcard": ["**"]}}]},
        "Consecutive wildcard characters at pos 1",
    ),
    (
        "anything_but_form_null",
        {"a": [{"anything-but": {"prefix": None}}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    ("cidr_number", {"a": [{"cidr": 10}]}, "prefix match pattern must be a string"),
    ("cidr_without_slash", {"a": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
    ("cidr_two_slashes", {"a": [{"cidr": "10.0.0.0/8/8"}]}, "Malformed CIDR, one '/' required"),
    (
        "cidr_mask_not_integer",
        {"a": [{"cidr": "10.0.0.0/x"}]},
        "Malformed CIDR, mask bits must be an integer",
    ),
    (
        "cidr_mask_negative",
        {"a": [{"cidr": "10.0.0.0/-1"}]},
        "Malformed CIDR, mask bits must not be negative",
    ),
    ("cidr_bad_address", {"a": [{"cidr": "10.0.0.256/8"}]}, "Invalid IP address: 10.0.0.256"),
    ("cidr_ipv4_mask", {"a": [{"cidr": "10.0.0.0/32"}]}, "IPv4 mask bits must be < 32"),
    ("cidr_ipv6_mask", {"a": [{"cidr": "::1/128"}]}, "IPv6 mask bits must be < 128"),
    ("or_not_array", {"$or": {"a": ["x"]}}, "It must be an Array followed with $or."),
    (
        "or_with_a_value",
        {"$or": [{"a": ["x"]}, "b"]},
        "Only JSON object is allowed in array of $or relationship.",
    ),
    (
        "or_with_one_branch",
        {"$or": [{"a": ["x"]}]},
        "There must have at least 2 Objects in $or relationship.",
    ),
    ("or_empty_branch", {"$or": [{"a": ["x"]}, {}]}, "Empty objects are not allowed"),
    (
        "or_reserved_name",
        {"$or": [{"numeric": [123]}, {"prefix": ["abc"]}]},
        "numeric is Ruler reserved fieldName which cannot be used inside $or.",
    ),
    (
        "or_reserved_name_nested",
        {"$or": [{"a": {"exists": [True]}}, {"b": ["x"]}]},
        "exists is Ruler reserved fieldName which cannot be used inside $or.",
    ),
]


@pytest.mark.parametrize(
    ("pattern", "expected"), [(p, r) for _, p, r in REFUSALS], ids=[n for n, _, _ in REFUSALS]
)
def test_an_invalid_pattern_is_refused_with_aws_reason(pattern: Any, expected: str) -> None:
    assert reason(pattern) == expected


def test_a_refusal_carries_aws_error_type_and_message() -> None:
    with pytest.raises(InvalidEventPattern) as refused:
        compile_event_pattern({"detail": {"pipeline": {"slug": "some-pipeline"}}})
    assert refused.value.aws_type == "InvalidEventPatternException"
    assert (
        str(refused.value)
        == 'Event pattern is not valid. Reason: "slug" must be an object or an array'
    )


def test_reserved_names_are_allowed_outside_or() -> None:
    assert matches({"numeric": [5], "prefix": ["x"]}, {"numeric": 5, "prefix": "x"})


def test_numbers_at_the_range_limits_are_accepted() -> None:
    assert matches({"n": [{"numeric": [">=", -5.0e9, "<=", 5.0e9]}]}, {"n": -5.0e9})
