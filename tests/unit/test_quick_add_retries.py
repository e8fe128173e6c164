"""A transaction's first partitions, refused while the last commit's markers are written,
are retried after the producers' short backoff, not aiokafka's fixed 20 ms.

Set ES_TEST_EXACTLY_ONCE_REPAIRS=-quick-add-retries to see the test fail.
"""

import types

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import ConcurrentTransactions
from aiokafka.producer import sender as aiokafka_sender
from aiokafka.producer.sender import AddPartitionsToTxnHandler

from ecommerce_streams.exactly_once.producer import TRANSACTION_RETRY_BACKOFF_MS, SettlingProducer
from tests.unit.exactly_once_app import flowing_app


def test_a_transactions_first_partitions_refused_during_the_markers_are_retried_quickly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aiokafka_sender, "BACKOFF_OVERRIDE", 0.02)  # aiokafka's own
    producer = flowing_app().producer
    assert isinstance(producer, SettlingProducer)
    producer._settings_extra()  # as each transactional producer is made
    sender = types.SimpleNamespace(
        _txn_manager=types.SimpleNamespace(txn_partitions=set()),
        _retry_backoff=TRANSACTION_RETRY_BACKOFF_MS / 1000,
    )
    handler = AddPartitionsToTxnHandler(sender, {TopicPartition("order-events", 3)})
    refused = types.SimpleNamespace(errors=[("order-events", [(3, ConcurrentTransactions.errno)])])

    assert handler.handle_response(refused) == TRANSACTION_RETRY_BACKOFF_MS / 1000
