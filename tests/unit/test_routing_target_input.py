"""What a target receives: the whole event, Input, InputPath and AWS's InputTransformer examples."""

import json

import pytest

from models.routing.target_input import (
    WHOLE_EVENT,
    Delivery,
    InvalidTargetInput,
    SelectedInput,
    compile_constant_input,
    compile_input_transformer,
    compile_json_path,
)

#: The EC2 event of AWS's input transformation examples.
EC2_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
#: AWS's example input paths.
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
DELIVERY = Delivery(
    "example", "arn:aws:events:us-east-2:123456789012:rule/example", "2015-11-11T21:29:55Z"
)


def transformed(template: str, paths: dict[str, str] = PATHS, event: object = EC2_EVENT) -> str:
    """The text a target receives through an input transformer."""
    assert isinstance(event, dict)
    return compile_input_transformer(paths, template).render(event, DELIVERY).decode()


def test_a_target_without_input_settings_receives_the_whole_event() -> None:
    assert json.loads(WHOLE_EVENT.render(EC2_EVENT, DELIVERY)) == EC2_EVENT


def test_input_sends_its_constant_json_text_whatever_the_event() -> None:
    constant = compile_constant_input('{"kind": "nightly-report"}')
    assert constant.render(EC2_EVENT, DELIVERY) == b'{"kind": "nightly-report"}'


def test_input_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidTargetInput, match="Input is not valid JSON"):
        compile_constant_input("nightly report")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", EC2_EVENT),
        ("$.detail", EC2_EVENT["detail"]),
        ("$.detail.state", "RUNNING"),
        ("$.resources[0]", "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"),
        ("$['detail-type']", "EC2 Instance State-change Notification"),
        ('$["detail"]["instance-id"]', "i-0123456789"),
    ],
)
def test_input_path_sends_the_part_of_the_event_it_selects(path: str, expected: object) -> None:
    selected = SelectedInput(compile_json_path(path)).render(EC2_EVENT, DELIVERY)
    assert json.loads(selected) == expected


def test_input_path_selecting_nothing_sends_null() -> None:
    for path in ("$.detail.missing", "$.resources[3]", "$.detail.state.deeper"):
        assert SelectedInput(compile_json_path(path)).render(EC2_EVENT, DELIVERY) == b"null"


@pytest.mark.parametrize("path", ["detail", "$detail", "$.", "$.a..b", "$.a[x]", "$.a[*]", "$.*"])
def test_a_json_path_outside_the_supported_subset_is_refused(path: str) -> None:
    with pytest.raises(InvalidTargetInput, match="not a valid JSONPath"):
        compile_json_path(path)


def test_awss_simple_string_example() -> None:
    output = transformed('"instance <instance> is in <state>"')
    assert output == '"instance i-0123456789 is in RUNNING"'


def test_awss_string_with_escaped_quotes_example() -> None:
    output = transformed('"instance \\"<instance>\\" is in <state>"')
    assert output == '"instance \\"i-0123456789\\" is in RUNNING"'


def test_awss_simple_json_example_quotes_string_values() -> None:
    output = transformed('{\n  "instance" : <instance>,\n  "state": <state>\n}')
    assert output == '{\n  "instance" : "i-0123456789",\n  "state": "RUNNING"\n}'


def test_awss_json_with_strings_and_variables_example() -> None:
    template = (
        '{"instance" : <instance>, "state": "<state>", '
        '"instanceStatus": "instance \\"<instance>\\" is in <state>"}'
    )
    assert json.loads(transformed(template)) == {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "instanceStatus": 'instance "i-0123456789" is in RUNNING',
    }


def test_awss_mix_of_variables_and_static_information_example() -> None:
    template = '{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}'
    assert json.loads(transformed(template)) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "Transformed": "Yes",
    }


def test_awss_reserved_variables_in_json_example() -> None:
    template = (
        '{"instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, '
        '"ruleName" : <aws.events.rule-name>, "originalEvent" : <aws.events.event>}'
    )
    output = json.loads(transformed(template))
    assert output["ruleArn"] == "arn:aws:events:us-east-2:123456789012:rule/example"
    assert output["ruleName"] == "example"
    assert output["originalEvent"] == {k: v for k, v in EC2_EVENT.items() if k != "detail"}


def test_aws_events_event_json_is_the_whole_event_and_ingestion_time_a_string() -> None:
    template = '{"event": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>}'
    assert json.loads(transformed(template)) == {"event": EC2_EVENT, "at": "2015-11-11T21:29:55Z"}


def test_awss_reserved_variables_in_a_string_example() -> None:
    assert transformed('"<aws.events.rule-name> triggered"') == '"example triggered"'


def test_the_api_references_plain_text_templates_get_raw_values() -> None:
    paths = {"instance": "$.detail.instance-id", "status": "$.detail.state"}
    assert transformed("<instance> is in state <status>", paths) == (
        "i-0123456789 is in state RUNNING"
    )
    assert transformed('<instance> is in state "<status>"', paths) == (
        'i-0123456789 is in state "RUNNING"'
    )


def test_the_api_references_json_template_with_variables_in_quotes_or_out() -> None:
    paths = {"instance": "$.detail.instance-id", "status": "$.detail.state"}
    template = '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}'
    assert json.loads(transformed(template, paths)) == {
        "myInstance": "i-0123456789",
        "myStatus": 'i-0123456789 is in state "RUNNING"',
    }


def test_an_object_inside_a_string_loses_its_inner_quotes() -> None:
    assert transformed('"Detail is <detail>"', {"detail": "$.detail"}) == (
        '"Detail is {instance-id: i-0123456789, state: RUNNING}"'
    )


def test_an_object_outside_a_string_is_sent_as_json() -> None:
    output = transformed('{"detail": <detail>}', {"detail": "$.detail"})
    assert json.loads(output) == {"detail": EC2_EVENT["detail"]}


def test_numbers_and_booleans_keep_their_json_form() -> None:
    event = {**EC2_EVENT, "detail": {"total": 612.5, "paid": True}}
    paths = {"total": "$.detail.total", "paid": "$.detail.paid"}
    output = transformed(
        '{"total": <total>, "paid": <paid>, "text": "<total>/<paid>"}', paths, event
    )
    assert json.loads(output) == {"total": 612.5, "paid": True, "text": "612.5/true"}


def test_a_missing_path_gives_null_outside_a_string_and_nothing_inside() -> None:
    output = transformed('{"reason": <reason>, "text": "why: <reason>."}', {"reason": "$.nope"})
    assert json.loads(output) == {"reason": None, "text": "why: ."}


def test_a_placeholder_naming_no_variable_is_left_as_written() -> None:
    assert transformed('"a <b> c <state>"') == '"a <b> c RUNNING"'


def test_a_placeholder_cannot_be_an_object_key() -> None:
    with pytest.raises(InvalidTargetInput, match="cannot be used as an object key"):
        compile_input_transformer(PATHS, '{<instance>: "up"}')


def test_a_json_template_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidTargetInput, match="not valid JSON"):
        compile_input_transformer(PATHS, '{"instance": <instance>')


@pytest.mark.parametrize(
    ("paths", "template", "reason"),
    [
        ({}, "", "1 to 8192 characters"),
        ({}, "x" * 8193, "1 to 8192 characters"),
        ({f"v{n}": "$.id" for n in range(101)}, "x", "at most 100 entries"),
        ({"AWS.mine": "$.id"}, "x", "invalid variable name"),
        ({"has space": "$.id"}, "x", "invalid variable name"),
        ({"ok": "detail"}, "x", "not a valid JSONPath"),
    ],
)
def test_input_transformer_limits_are_awss(
    paths: dict[str, str], template: str, reason: str
) -> None:
    with pytest.raises(InvalidTargetInput, match=reason):
        compile_input_transformer(paths, template)
