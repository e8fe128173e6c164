"""schemas diff: what changed in an event's schema, said the way a reviewer reads it."""

import copy

from models.events import OrderPlaced
from models.schemas.diff import differences
from models.schemas.json_schema import event_schema

BEFORE = event_schema(OrderPlaced)


def changed(edit: dict[str, object]) -> dict[str, object]:
    after = copy.deepcopy(BEFORE)
    after["properties"]["data"]["properties"].update(edit)  # type: ignore[index]
    return after


def test_the_same_schema_has_no_differences() -> None:
    assert differences(BEFORE, copy.deepcopy(BEFORE)) == []


def test_an_added_optional_field_is_named_with_its_path() -> None:
    after = changed({"wrapping": {"type": "string", "maxLength": 200}})

    assert differences(BEFORE, after) == ["+ data.wrapping (optional)"]


def test_an_added_required_field_says_so() -> None:
    after = changed({"coupon": {"type": "string"}})
    after["properties"]["data"]["required"].append("coupon")  # type: ignore[index]

    assert differences(BEFORE, after) == ["+ data.coupon (required)"]


def test_a_removed_field_and_a_field_no_longer_required_are_listed() -> None:
    after = copy.deepcopy(BEFORE)
    data = after["properties"]["data"]
    del data["properties"]["shipping_address"]
    data["required"] = [r for r in data["required"] if r not in ("shipping_address", "total")]

    assert differences(BEFORE, after) == ["- data.shipping_address", "data.total: now optional"]


def test_a_changed_constraint_shows_before_and_after() -> None:
    after = copy.deepcopy(BEFORE)
    after["properties"]["data"]["properties"]["order_id"]["maxLength"] = 32

    assert differences(BEFORE, after) == ["data.order_id: maxLength 64 -> 32"]


def test_a_change_inside_a_definition_is_named_after_it() -> None:
    after = copy.deepcopy(BEFORE)
    after["definitions"]["OrderLine"]["properties"]["qty"]["maximum"] = 10

    [change] = differences(BEFORE, after)
    assert change.startswith("#OrderLine.qty: maximum ")
