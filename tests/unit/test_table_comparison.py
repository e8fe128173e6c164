"""Comparing two versions' tables names every key that differs, and only those."""

from ecommerce_streams.operations.table_comparison import compare_states


def test_the_same_documents_written_differently_are_not_a_difference() -> None:
    baseline = {(0, b'"SKU-1"'): b'{"sku":"SKU-1","on_hand":4,"reserved":1}'}
    candidate = {(0, b'"SKU-1"'): b'{"reserved": 1, "sku": "SKU-1", "on_hand": 4}'}

    assert compare_states("stock", baseline, candidate) == []


def test_a_key_missing_from_one_version_is_reported_with_the_side_that_has_it() -> None:
    baseline = {
        (0, b'"ord-1"'): b'{"status":"confirmed"}',
        (0, b'"ord-2"'): b'{"status":"pending"}',
    }
    candidate = {
        (0, b'"ord-1"'): b'{"status":"confirmed"}',
        (0, b'"ord-3"'): b'{"status":"pending"}',
    }

    described = [str(d) for d in compare_states("orders", baseline, candidate)]

    assert described == [
        'orders ord-2 [0]: only in the baseline: {"status":"pending"}',
        'orders ord-3 [0]: only in the candidate: {"status":"pending"}',
    ]


def test_a_changed_value_is_reported_field_by_field_baseline_first() -> None:
    baseline = {
        (0, b'"ord-1"'): b'{"order_id":"ord-1","status":"rejected","reason":"out_of_stock"}'
    }
    candidate = {(0, b'"ord-1"'): b'{"order_id":"ord-1","status":"confirmed","reason":null}'}

    [difference] = compare_states("orders", baseline, candidate)

    assert str(difference) == (
        'orders ord-1 [0]: reason "out_of_stock" != null; status "rejected" != "confirmed"'
    )


def test_the_dedup_table_is_compared_by_key_only() -> None:
    baseline = {(0, b'"orders/e-1"'): b"1700000000.5", (0, b'"orders/e-2"'): b"1700000001.0"}
    candidate = {(0, b'"orders/e-1"'): b"1700000099.0"}

    described = [str(d) for d in compare_states("seen", baseline, candidate)]

    assert described == ["seen orders/e-2 [0]: only in the baseline: 1700000001.0"]


def test_a_key_kept_per_partition_is_compared_partition_by_partition() -> None:
    baseline = {(0, b'"revenue@0"'): b'{"total":"5.00"}', (1, b'"revenue@0"'): b'{"total":"7.00"}'}
    candidate = {(0, b'"revenue@0"'): b'{"total":"5.00"}', (1, b'"revenue@0"'): b'{"total":"9.00"}'}

    described = [str(d) for d in compare_states("windows", baseline, candidate)]

    assert described == ['windows revenue@0 [1]: total "7.00" != "9.00"']
