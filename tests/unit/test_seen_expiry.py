"""Which dedup entries the purge deletes: expired as stored and as the table reads them now."""

from tables.seen import expired_keys

HORIZON = 100.0


def test_an_entry_first_seen_before_the_horizon_is_expired() -> None:
    stored = [("orders/a", 40.0), ("orders/b", 160.0)]
    now = dict(stored)

    assert expired_keys(stored, now.get, HORIZON) == ["orders/a"]


def test_an_entry_written_again_in_the_open_transaction_is_kept() -> None:
    # the store still holds the old first-seen; the table reads this transaction's write
    stored = [("orders/a", 40.0)]

    assert expired_keys(stored, {"orders/a": 150.0}.get, HORIZON) == []


def test_an_entry_deleted_in_the_open_transaction_is_deleted_again_harmlessly() -> None:
    stored = [("orders/a", 40.0)]

    assert expired_keys(stored, {}.get, HORIZON) == ["orders/a"]
