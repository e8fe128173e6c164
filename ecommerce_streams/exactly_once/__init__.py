"""Exactly-once processing on top of Faust: the one place where commit ordering lives.

Faust's ``processing_guarantee="exactly_once"`` runs one transactional producer per
assigned partition (``transactional_id = "{app id}-{topic group}-{partition}"``) and
commits consumer offsets inside those transactions. Read against its code
(``faust/transport/consumer.py``, ``faust/transport/drivers/aiokafka.py``), sixteen
gaps break the guarantee or liveness (one of them in aiokafka), and another lies in the
broker; each is closed here by a small subclass, never a fork:

1. **Outputs join the wrong transaction** (faust-streaming #177, #323). ``send`` picks
   the producer of the *destination* partition, so ``ReserveStock`` emitted while
   processing ``orders`` partition 3 for a sku on partition 5 commits with partition
   5's offsets, and sends to topics the app does not consume leave outside any
   transaction. :class:`SourceTransactionManager` picks the producer of the partition
   the current event came from, so every output commits with its input's offset.
2. **Table changelogs are committed late or never.** Tables write their changelog with
   ``send_soon`` into a buffer drained by a background task; the EOS commit does not
   wait for it, so a changelog record can land in the *next* transaction (or be lost
   with the process). :class:`SettlingProducer` tracks every buffered record and the
   commit waits until each one is acknowledged before sending offsets.
3. **Commits race with processing.** The commit timer fires while an agent is half way
   through an event: that event's outputs already sit in the transaction, its offset
   does not, so a crash after the commit replays it and duplicates its outputs.
   :class:`ProcessingGate` makes commits and units of work take turns: an agent
   processes and acknowledges each event inside :func:`unit_of_work`, and
   :class:`GatedConsumer` commits only between units.
4. **Failures are logged, not fatal.** Faust only crashes on ``ProducerFenced``; any
   other error in begin/commit is logged and processing continues on a broken
   transaction, while the local RocksDB state is already ahead of what Kafka
   committed. Here any error in a unit of work or a commit *poisons* the gate (no
   further commit can happen) and crashes the worker. Local state is trusted after a
   crash only if it holds nothing uncommitted: with the write cache, the table stores
   write a transaction's changes once it has committed, with the changelog offset they
   reach (:func:`keeps_local_state`, ``kept-local-state``), and a restart restores only
   the changelog written after that offset; otherwise :func:`discard_local_state` wipes
   it at start-up and the tables are restored from their read-committed changelogs.
5. **Recovery can restore nothing.** Faust reads a changelog's end from the consumer's
   cached last stable offset, unknown (-1) until the partition was fetched once, so a
   fresh worker can declare its tables restored while they are empty.
   :class:`RepairedConsumerThread` asks the broker for the last stable offsets instead.
6. **Recovery can restore part of a partition** and serve it: it ends on the fetch
   position, not on applied records, drops fetched records on a rebalance, and keeps
   stale start offsets. :class:`~ecommerce_streams.exactly_once.table_recovery.CompleteRecovery`
   restores active partitions with its own read-committed consumer before Faust does,
   each once the transactions open in it when it began have ended: up to the stable
   offset alone, it missed a commit whose markers a broker skipped (gap 16) and which
   the previous owner sealed a moment later.
7. **Revoked partitions keep their files**, which can hold writes of a transaction
   that was then aborted. :class:`FreshPartitionStore` deletes them on revocation.
8. **The revocation commit commits nothing.** On a rebalance Faust forgets the
   acknowledged offsets of every revoked partition (all of them, with eager
   rebalancing) *before* its revocation commit, which then finds nothing to commit.
   The transactions stay open across the rebalance, and the seek back to the
   committed offsets processes their events a second time: dead letters, which no
   event id deduplicates, come out twice. Faust also holds a partition's commit at
   the first hole in its acknowledged offsets. :class:`GatedConsumer` commits, per
   partition, the offset after the last event a unit of work finished (units run in
   offset order, so that is exact), at revocation too.
9. **A partition can be committed past records nobody processed.** After recovery
   Faust fetches stream partitions before seeking them and then clears the streams'
   queues, so the first records of a partition without a committed offset were never
   processed, and the next commit went past them. :meth:`GatedConsumer.perform_seek`
   seeks every stream partition to where processing stands with the flow stopped.
10. **A message two agents read is committed when the first finishes.** The
    notifications and analytics agents both read order-events (they are now stages of
    one agent); the processed offset moved with whichever finished first, so a commit
    could pass records the other had not processed (lost analytics records).
    :func:`settle_ack` counts a message as processed only when Faust reports the last
    of its readers' acks.
11. **A revocation can wait forever.** Faust empties the streams' queues, then waits
    until every message handed to a stream is acknowledged: a message one agent
    processed and the other still had queued never is. :meth:`GatedConsumer.wait_empty`
    waits for the units in flight only and forgets the rest, which were never counted
    as processed and are fetched again after the seek; an event that waited at the gate
    while the rebalance began is not processed (:func:`process_event`).
12. **A seek can hit a partition a newer rebalance took away** (``IllegalStateError``,
    then a poisoned transaction): such a partition is skipped; the newer rebalance
    seeks it. aiokafka's seek to committed offsets meets the same when a rebalance
    lands while it fetches them: it is made again on the new assignment.
13. **Faust's slow-processing check crashes the worker** by reading the position of a
    partition that has none yet (an aiokafka assertion): :class:`RepairedConsumerThread`
    skips such partitions.
14. **A wedged worker never exits.** Faust commits while a revocation waits, which
    looked like progress to the watchdog, and a worker that ignored SIGTERM ran on.
    :class:`Watchdog` counts only processed events and restore steps as progress of a
    rebalance and bounds the time from a stop request to the exit.

15. **A broker restart can leave records of a transaction nobody will abort.** A
    broker that stops while a transaction is under way can lose the partitions that
    transaction added while their records are already in the logs; the next owner's
    ``InitProducerId`` aborts nothing there, and its first commit marker in such a
    partition commits the old records too (markers match by producer id): effects of
    events whose offsets were never committed. :class:`SourceTransactionManager` has
    every fresh producer add all partitions it may write to and abort once first.

16. **A broker restart can commit a transaction in some partitions only.** A broker
    restarted while a transaction is in PREPARE_COMMIT sends its markers once it has
    loaded the transaction log and skips every partition whose leader its metadata
    does not know yet, as if deleted ("Couldn't find leader endpoint ... likely deleted
    already"): the rest commits, those records stay open until the next owner's abort
    (gap 15) closes them as aborted, and a transaction the producer begins meanwhile
    ties them to its own outcome (markers match by producer id): aborted when the broker
    goes away under it, while the rest of the commit stands. So the producer reads that
    a marker of the commit showed in every partition it wrote and in the group's offsets
    partition, and holds the next transaction's requests to its coordinator until then
    (events are processed meanwhile, their records wait in the producer); where one never
    shows, no other transaction follows and the next commit stops the worker
    (``confirmed_commits.py``, ``confirmed-commits``). Each
    commit is noted on disk, and a restarted producer commits, before its gap 15 abort,
    what its previous epoch left open before that epoch's last commit, if the broker
    shows that commit committed
    where its markers landed (``leftovers.py``, ``sealed-leftovers``).

17. **A coordinator still loading its offsets answers "nothing committed".** After a
    broker restart, OffsetFetch v2+ answers a group whose ``__consumer_offsets``
    partition is not loaded yet with a group-level ``COORDINATOR_LOAD_IN_PROGRESS`` and
    no partitions; aiokafka 0.14 reads only partition errors, so the seek after the
    rebalance sent every partition back to its first record and the worker derived
    everything again. :class:`~ecommerce_streams.exactly_once.offset_fetch.LoadAwareCoordinator`
    raises the group's error, which aiokafka retries.

The commit, in order (``GatedConsumer.commit``; the same numbers mark the steps in
the code):

1. close the gate to new units and wait for the units in flight (``gate.py``);
2. send the cached table changes, one record per changed key (``outbox.py``,
   ``write_cache.py``), then wait until every record of the transactions is
   acknowledged, Faust-buffered ones too (``producer.py``);
3. offsets to commit: per partition, after the last event every reader processed
   (``consumer.py``, ``units.py``);
4. per transactional producer, all at once: send its partitions' offsets while step
   2's records are acknowledged and, once they are, read where its partitions' logs end
   while the offsets go out; commit, note the commit on disk, see its markers in every
   partition (gap 16), begin the next
   (``transactions.py``, ``producer.py``, ``confirmed_commits.py``); any failure
   poisons the gate and crashes the worker;
5. only then write the committed changes to the local stores, each partition's in one
   RocksDB batch with the offset of its last changelog record (``outbox.py``,
   ``local_state.py``): the files never hold an uncommitted write;
6. open the gate.

A unit of work is the next event of an agent's input with the events already queued
behind it (``units.py``, speed-up ``batched-units``): one gate turn for all of them, each
still applied, acknowledged and counted as processed on its own, so a commit (step 1)
waits for the batch in flight, never for half an event. A fetched message reaches the
agents' input queues in the fetch loop's own turn when nothing can hold it up
(``consumer.py``, speed-up ``direct-delivery``); Faust races each one against a
rebalance with four tasks. Offsets are committed without the text table of them Faust
formats for a log line no worker writes (speed-up ``untabled-offsets``).

What a commit round costs: the round trips of its transactions, which run at once
(speed-up ``concurrent-commits``); with one producer per worker (speed-up
``worker-transactions``, below) a round is one transaction whatever the partitions.
A table change adds its changelog partition to the transaction as it is made, with the
event's derived records (aiokafka's AddPartitionsToTxn), and the offsets go out while
the changelog records are acknowledged (speed-up ``overlapped-commits``): a round is the
records' produce, beside AddOffsetsToTxn and TxnOffsetCommit, then EndTxn; three round
trips where it was five. A transaction's first AddPartitionsToTxn, refused while the
previous commit's markers are written, is retried after 5 ms, not aiokafka's fixed 20 ms
(speed-up ``quick-add-retries``). With the opt-in speed-up ``linger-until-commit`` the records
wait in the producer until the commit sends them in one request: sent whenever the
producer's linger runs out, a request still in flight at the commit holds the commit's
records back by its round trip.

When it commits: as soon as every agent has drained its input (``units.py`` asks,
``GatedConsumer`` commits), after ``ES_COMMIT_MAX_EVENTS`` events if the input never
drains, and at the latest after ``ES_COMMIT_INTERVAL_SECONDS`` (Faust's timer). A
lightly loaded hop therefore costs about one commit round trip, and a loaded worker
batches by itself.

What a record costs: derived events go straight to the aiokafka producer of their
transaction (``outbox.py``), not through Faust's ``Topic.send`` and buffer; a table
key changed many times between commits writes one changelog record; and only events
that can arrive twice (from shops, or redriven dead letters) are checked against the
``seen`` table, since the agents' own outputs commit with their inputs (an order
recognises repeats of the shop's order and payment events by the ids its own state
keeps, so those need no ``seen`` record either). A topic two
agents read would need the check too (a commit waits for the slower reader while the
faster one's effects commit past it); the saga has none, as notifications and
analytics run in one agent.

Where the rest lives: ``repairs.py`` (switching repairs and speed-ups off),
``transport.py`` (how Faust gets our classes), ``local_state.py`` (RocksDB that never
outlives what Kafka committed), ``watchdog.py`` (a worker that cannot progress exits),
``leftovers.py`` (what a committed transaction left open, committed again),
``confirmed_commits.py`` (a commit's markers seen before the next transaction),
``log_reading.py`` (partitions' batches and markers read from their leaders).

Zombies are fenced by the per-partition transactional id: a worker that takes over a
partition initialises the same id, which aborts the previous owner's open
transaction and makes its next commit fail with ``ProducerFenced`` (a crash, above).

With ``worker-transactions`` every partition of a worker commits in the one transaction
of the worker's producer (transactional id ``{app id}-worker-{ES_WORKER_NAME}``), as
Kafka Streams' ``exactly_once_v2`` does, and the consumer group fences zombies instead
(KIP-447, ``group_fencing.py``): the offsets go out with the worker's generation and
member id (TxnOffsetCommit v3), which the coordinator refuses once a rebalance has left
the worker behind, so its transaction cannot commit; and a new owner reads only stable
offsets (OffsetFetch v7, ``require_stable``), waiting while the old owner's transaction
holds offsets of the partition. A restarted worker takes its transactional id back,
which aborts what its previous run left open; a fresh producer still aborts once in
every partition it may write to (gap 15, ``forgotten.py``), each changelog partition
included. A worker removed for good never takes its id back, so after each rebalance the
group's first worker adopts the ids of workers gone from the group and aborts what they
left open (gap 18, ``orphans.py``).
"""

from ecommerce_streams.exactly_once.gate import ProcessingGate, TransactionPoisoned, gate_of
from ecommerce_streams.exactly_once.local_state import (
    FreshPartitionStore,
    discard_local_state,
    keeps_local_state,
    written_recently,
)
from ecommerce_streams.exactly_once.repairs import Repair, parse_repairs, repaired
from ecommerce_streams.exactly_once.transport import ExactlyOnceTransport
from ecommerce_streams.exactly_once.units import (
    batches_unit_of_work,
    process_event,
    process_events,
    waiting_events,
)
from ecommerce_streams.exactly_once.watchdog import StopNotingWorker, Watchdog, exit_when_stuck
from ecommerce_streams.exactly_once.write_cache import CachedTable

__all__ = [
    "CachedTable",
    "ExactlyOnceTransport",
    "FreshPartitionStore",
    "ProcessingGate",
    "Repair",
    "StopNotingWorker",
    "TransactionPoisoned",
    "Watchdog",
    "batches_unit_of_work",
    "discard_local_state",
    "exit_when_stuck",
    "gate_of",
    "keeps_local_state",
    "parse_repairs",
    "process_event",
    "process_events",
    "repaired",
    "waiting_events",
    "written_recently",
]
