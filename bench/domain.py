"""What the saga's own code costs per source event: decode, decide, encode, every hop, in memory.

A worker's CPU per source event is the domain code plus Faust plus the Kafka client.
This runs the first alone: a seeded load's source messages go through :func:`judge`
of every stage that reads them, as a worker applies them, and each derived event is
encoded and fed to the stages reading its topic, until the saga settles. Tables are
dicts of decoded values (a worker's stores add their codec), duplicates are found by a
set of applied ids (a worker's ``seen`` table). No broker, no Faust, one core.
"""

import contextlib
import gc
import statistics
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from bench.machine import machine_info
from ecommerce_streams.harness.load import LoadProfile, generate
from ecommerce_streams.settings import Settings
from ecommerce_streams.worker.garbage_collection import collect_young_every, freeze_what_exists
from models.envelope import Envelope, InvalidEvent, decode_event, encode_event
from models.stages import STAGES, Stage, Tables, judge
from models.topics import TopicRole

PASSES = 5
UNIT = 100
"""Source messages taken at a time; what they cause is applied before the next ones,
as a worker's internal hops follow its source topics by about one unit of work."""

Message = tuple[TopicRole, bytes, bytes | None]


def source_messages(orders: int) -> list[Message]:
    """The seeded load's messages (duplicates and malformed ones included), as sent."""
    return [(m.topic_role, m.key, m.value) for m in generate(LoadProfile(orders=orders))]


@dataclass
class SagaRun:
    """What a run applied: every input's bytes, how many events it derived and how long
    encoding them took, the tables it left."""

    source_messages: int
    inputs: list[bytes | None] = field(default_factory=list)
    derived_events: int = 0
    encoding_seconds: float = 0.0
    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """How many source messages, agent inputs and derived events, for the results file."""
        return {
            "source_messages": self.source_messages,
            "agent_inputs": len(self.inputs),
            "derived_events": self.derived_events,
        }


def run_saga(messages: list[Message]) -> SagaRun:
    """Apply every message and every event derived from it."""
    run = SagaRun(len(messages), tables={n: {} for stage in STAGES for n in stage.tables})
    readers = {role: [s for s in STAGES if role in s.reads] for role in TopicRole}
    applied: set[tuple[str, UUID]] = set()
    for start in range(0, len(messages), UNIT):
        pending: deque[Message] = deque(messages[start : start + UNIT])
        while pending:
            role, key, value = pending.popleft()
            for stage in readers[role]:
                run.inputs.append(value)
                for envelope in _apply(stage, run.tables, key, value, applied):
                    started = time.perf_counter()
                    raw = encode_event(envelope)
                    run.encoding_seconds += time.perf_counter() - started
                    run.derived_events += 1
                    pending.append((envelope.data.topic, key_of(envelope), raw))
    return run


def key_of(envelope: Envelope) -> bytes:
    """The Kafka key a derived event is published under."""
    return envelope.data.key.encode()


def _apply(
    stage: Stage,
    tables: dict[str, dict[Any, Any]],
    key: bytes,
    value: bytes | None,
    applied: set[tuple[str, UUID]],
) -> tuple[Envelope, ...]:
    own: Tables = {name: tables[name] for name in stage.tables}
    verdict = judge(stage, own, key, value, lambda i: (stage.name, i) in applied)
    if verdict.event is not None and not verdict.duplicate and verdict.set_aside is None:
        applied.add((stage.name, verdict.event.event_id))
    return verdict.derived


def decode_inputs(run: SagaRun) -> float:
    """Decode every input of a run once more; the seconds it took."""
    started = time.perf_counter()
    for value in run.inputs:
        with contextlib.suppress(InvalidEvent):
            decode_event(value or b"")
    return time.perf_counter() - started


@contextlib.contextmanager
def collector_as_in_a_worker() -> Iterator[None]:
    """Python's garbage collector set as a worker sets it by default, then as it was."""
    threshold = gc.get_threshold()
    collect_young_every(Settings.model_fields["gc_young_allocations"].default)
    freeze_what_exists()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def measure_domain(orders: int, passes: int = PASSES) -> dict[str, Any]:
    """Median µs per source message of the in-memory saga, and of its codecs alone.

    The garbage collector runs as in a worker (``ES_GC_YOUNG_ALLOCATIONS``, what exists
    before the first pass frozen): the saga allocates as much as it computes.
    """
    messages = source_messages(orders)
    whole, coded = [], []
    run = SagaRun(0)
    with collector_as_in_a_worker():
        for _ in range(passes):
            started = time.perf_counter()
            run = run_saga(messages)
            whole.append(time.perf_counter() - started)
            coded.append(decode_inputs(run) + run.encoding_seconds)
    per_message = 1e6 / len(messages)
    return {
        "machine": machine_info("none"),
        "orders": orders,
        "passes": passes,
        **run.counts(),
        "us_per_source_message": round(statistics.median(whole) * per_message, 1),
        "codec_us_per_source_message": round(statistics.median(coded) * per_message, 1),
    }


def render_domain(result: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    whole, codec = result["us_per_source_message"], result["codec_us_per_source_message"]
    inputs = result["agent_inputs"] / result["source_messages"]
    return "\n".join(
        [
            "# The saga's own code per source event, in memory",
            "",
            f"{result['orders']:,} orders of the seeded load ({result['source_messages']:,} "
            f"source messages, {inputs:.1f} agent inputs and "
            f"{result['derived_events'] / result['source_messages']:.1f} derived events each), "
            f"median of {result['passes']} passes, one core (`python -m bench domain`), the "
            "garbage collector set as in a worker. Tables are dicts of decoded values.",
            "",
            "| part | µs per source message |",
            "|---|---:|",
            f"| decode every input, encode every derived event | {codec} |",
            f"| deduplicate and decide (the rest) | {round(whole - codec, 1)} |",
            f"| **the saga's own code** | **{whole}** |",
            "",
        ]
    )
