"""Every private Faust, mode and aiokafka hook our exactly-once layer overrides still exists.

A Faust upgrade that renames, removes or re-signs one of these would silently switch a
repair off; this test fails instead, naming the hook.
"""

import inspect

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.consumer.subscription_state import TopicPartitionState
from aiokafka.producer.message_accumulator import MessageAccumulator
from aiokafka.producer.sender import BaseHandler, Sender, TxnOffsetCommitHandler
from aiokafka.producer.transaction_manager import TransactionManager
from aiokafka.protocol.commit import OffsetFetchRequest
from faust.stores import rocksdb as rocksdb_store
from faust.tables.recovery import Recovery
from faust.transport import consumer as faust_consumer
from faust.transport import producer as faust_producer
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Worker as ModeWorker

from ecommerce_streams.exactly_once.confirmed_commits import HeldSender
from ecommerce_streams.exactly_once.consumer import GatedConsumer, RepairedConsumerThread
from ecommerce_streams.exactly_once.group_fencing import (
    FencedTxnOffsetCommitHandler,
    GroupFencedSender,
)
from ecommerce_streams.exactly_once.local_state import FreshPartitionStore
from ecommerce_streams.exactly_once.offset_fetch import LoadAwareCoordinator
from ecommerce_streams.exactly_once.producer import SettlingProducer
from ecommerce_streams.exactly_once.table_recovery import CompleteRecovery
from ecommerce_streams.exactly_once.transactions import SourceTransactionManager
from ecommerce_streams.exactly_once.watchdog import StopNotingWorker
from ecommerce_streams.exactly_once.write_cache import CachedTable

OVERRIDES = [
    (SettlingProducer, faust_aiokafka.Producer, "send_soon"),
    (SettlingProducer, faust_aiokafka.Producer, "_settings_extra"),
    (SettlingProducer, faust_aiokafka.Producer, "commit_transactions"),
    (SettlingProducer, faust_aiokafka.Producer, "_new_producer"),
    (GroupFencedSender, Sender, "_do_txn_offset_commit"),
    (HeldSender, Sender, "_maybe_do_transactional_request"),
    (FencedTxnOffsetCommitHandler, TxnOffsetCommitHandler, "create_request"),
    (FencedTxnOffsetCommitHandler, TxnOffsetCommitHandler, "handle_response"),
    (CachedTable, faust.Table, "on_key_set"),
    (CachedTable, faust.Table, "on_key_del"),
    (SourceTransactionManager, faust_consumer.TransactionManager, "send"),
    (SourceTransactionManager, faust_consumer.TransactionManager, "commit"),
    (SourceTransactionManager, faust_consumer.TransactionManager, "_start_transactions"),
    (SourceTransactionManager, faust_consumer.TransactionManager, "_tps_to_transactional_ids"),
    (SourceTransactionManager, faust_consumer.TransactionManager, "on_rebalance"),
    (SourceTransactionManager, faust_consumer.TransactionManager, "on_partitions_revoked"),
    (RepairedConsumerThread, faust_aiokafka.AIOKafkaConsumerThread, "_highwaters"),
    (RepairedConsumerThread, faust_aiokafka.AIOKafkaConsumerThread, "_create_worker_consumer"),
    (RepairedConsumerThread, faust_aiokafka.AIOKafkaConsumerThread, "verify_event_path"),
    (RepairedConsumerThread, faust_aiokafka.AIOKafkaConsumerThread, "on_start"),
    (LoadAwareCoordinator, GroupCoordinator, "_send_req"),
    (GatedConsumer, faust_aiokafka.Consumer, "_new_consumer_thread"),
    (GatedConsumer, faust_aiokafka.Consumer, "commit"),
    (GatedConsumer, faust_aiokafka.Consumer, "wait_empty"),
    (GatedConsumer, faust_aiokafka.Consumer, "on_partitions_revoked"),
    (GatedConsumer, faust_aiokafka.Consumer, "perform_seek"),
    (GatedConsumer, faust_aiokafka.Consumer, "_filter_tps_with_pending_acks"),
    (GatedConsumer, faust_aiokafka.Consumer, "_filter_committable_offsets"),
    (GatedConsumer, faust_aiokafka.Consumer, "_commit_offsets"),
    (GatedConsumer, faust_aiokafka.Consumer, "wait_first"),
    (StopNotingWorker, ModeWorker, "_schedule_shutdown"),
    (FreshPartitionStore, rocksdb_store.Store, "revoke_partitions"),
    (FreshPartitionStore, rocksdb_store.Store, "__getitem__"),
    (FreshPartitionStore, rocksdb_store.Store, "__setitem__"),
    (FreshPartitionStore, rocksdb_store.Store, "__delitem__"),
    (FreshPartitionStore, rocksdb_store.Store, "__contains__"),
    (CompleteRecovery, Recovery, "_build_offsets"),
]

#: Private members we read or call without overriding them: (class, name).
USED = [
    (faust_producer.ProducerBuffer, "_send_pending"),
    (faust_aiokafka.Producer, "_transaction_producers"),
    (faust_aiokafka.Producer, "_trn_locks"),
    (faust.Table, "_sensor_on_set"),
    (faust.Table, "_sensor_on_del"),
    (faust.Table, "partition_for_key"),
    (faust.Stream, "_set_current_event"),
    (AIOKafkaProducer, "_message_accumulator"),
    (MessageAccumulator, "flush_for_commit"),
    (AIOKafkaConsumer, "_fetch_max_wait_ms"),
    (faust_aiokafka.AIOKafkaConsumerThread, "_ensure_consumer"),
    (faust_consumer.Consumer, "_unacked_messages"),
    (faust_consumer.Consumer, "_read_offset"),
    (faust_consumer.Consumer, "_committed_offset"),
    (faust_consumer.Consumer, "_acked"),
    (faust_consumer.Consumer, "_acked_index"),
    (faust_consumer.Consumer, "_gap"),
    (faust_consumer.Consumer, "_should_commit"),
    (faust_consumer.Consumer, "_is_changelog_tp"),
    (faust_consumer.Consumer, "commit_and_end_transactions"),
    (faust_consumer.Consumer, "callback"),
    (faust_aiokafka.Consumer, "_seek"),
    (faust_aiokafka.Consumer, "seek_to_committed"),
    (rocksdb_store.Store, "_dbs"),
    (rocksdb_store.Store, "_key_index"),
    (rocksdb_store.Store, "_db_for_partition"),
    (rocksdb_store.Store, "partition_path"),
    (rocksdb_store.Store, "offset_key"),
    (rocksdb_store.Store, "_encode_key"),
    (rocksdb_store.Store, "_decode_key"),
    (rocksdb_store.Store, "_decode_value"),
    (TopicPartitionState, "has_valid_position"),
    (AIOKafkaConsumer, "_coordinator"),
    (AIOKafkaClient, "_bootstrap_servers"),
    (GroupCoordinator, "_do_fetch_commit_offsets"),
    (GroupCoordinator, "coordinator_dead"),
    (GroupCoordinator, "generation"),
    (GroupCoordinator, "member_id"),
    (GroupCoordinator, "_group_instance_id"),
    (AIOKafkaProducer, "_sender"),
    (Sender, "_txn_manager"),
    (TransactionManager, "notify_task_waiter"),
    (Sender, "_find_coordinator"),
    (BaseHandler, "_default_backoff"),
    (OffsetFetchRequest, "_consumer_group"),
    (OffsetFetchRequest, "_partitions"),
]


def source_of(klass: type) -> str:
    """The class's source, or nothing for classes without Python source."""
    try:
        return inspect.getsource(klass)
    except (OSError, TypeError):
        return ""


def parameters(function: object) -> list[str]:
    """Parameter names of a function, in order."""
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ours", "base", "name"), OVERRIDES, ids=lambda v: getattr(v, "__name__", v)
)
def test_each_overridden_hook_exists_upstream_with_the_same_parameters(
    ours: type, base: type, name: str
) -> None:
    assert name in vars(ours), f"{ours.__name__} no longer overrides {name}"
    upstream = getattr(base, name, None)
    assert upstream is not None, f"{base.__module__}.{base.__name__}.{name} is gone"
    assert parameters(vars(ours)[name]) == parameters(upstream), (
        f"{base.__name__}.{name} changed its signature"
    )


@pytest.mark.parametrize(("owner", "name"), USED, ids=lambda v: getattr(v, "__name__", v))
def test_each_private_member_we_use_still_exists_upstream(owner: type, name: str) -> None:
    sources = "".join(source_of(klass) for klass in owner.__mro__ if klass is not object)
    assert hasattr(owner, name) or f"self.{name} =" in sources or f"{name}:" in sources, (
        f"{owner.__module__}.{owner.__name__}.{name} is gone"
    )
