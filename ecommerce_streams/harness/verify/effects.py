"""Every input of the notifications and analytics stages has its effect exactly once.

Both stages read order-events and derive with a pure function (``notify``, ``measure``),
so the verifier derives again what each committed order event must have caused and
looks for exactly that on the stage's output topic, by causation id. An input the
stage dead-lettered has no effect; an event id read twice on order-events is one input
(the stages drop the repeat; the duplicate itself is reported by the invariants).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from ecommerce_streams.harness.verify.history import History
from ecommerce_streams.harness.verify.records import Record
from ecommerce_streams.harness.verify.report import VerifyReport
from models.analytics import measure
from models.envelope import Envelope
from models.notification import notify
from models.stages import ANALYTICS, NOTIFICATIONS, Stage
from models.topics import TopicRole


@dataclass(frozen=True)
class Agent:
    """A stage whose effects can be derived again: its name, the roles it reads and writes."""

    stage: str
    reads: TopicRole
    writes: TopicRole
    derive: Callable[[Envelope], Iterable[Envelope]]

    @classmethod
    def of(cls, stage: Stage, derive: Callable[[Envelope], Iterable[Envelope]]) -> "Agent":
        """The checked form of a stage that reads one topic and writes one."""
        (reads,), (writes,) = stage.reads, stage.writes
        return cls(stage.name, reads, writes, derive)


AGENTS = (Agent.of(NOTIFICATIONS, notify), Agent.of(ANALYTICS, measure))
"""The stages checked effect by effect (the saga's own outputs are checked as invariants)."""

Output = tuple[Record, Envelope]
K = TypeVar("K")


def check_effects(history: History, report: VerifyReport) -> None:
    """Report every missing, repeated, altered or causeless effect of the checked agents.

    An agent is checked when both the topic it reads and the topic it writes were read.
    """
    for agent in AGENTS:
        if agent.reads in history.outputs and agent.writes in history.outputs:
            _check_agent(agent, history, report)


def _check_agent(agent: Agent, history: History, report: VerifyReport) -> None:
    by_cause = _grouped(history.outputs[agent.writes], lambda event: event.causation_id)
    set_aside = {letter.source for letter in history.letters if letter.letter.stage == agent.stage}
    seen: set[UUID] = set()
    for record, cause in history.outputs[agent.reads]:
        if cause.event_id in seen or record.position in set_aside:
            continue
        seen.add(cause.event_id)
        input_name = f"{record.where} (event {cause.event_id}, {cause.event_type} {cause.data.key})"
        expected = list(agent.derive(cause))
        report.effects[agent.stage] += len(expected)
        _compare(agent, input_name, expected, by_cause.pop(cause.event_id, []), report)
    for cause_id, outputs in by_cause.items():
        where = ", ".join(record.where for record, _ in outputs)
        report.violations.append(
            f"{agent.stage} output at {where} names cause {cause_id}, which is no committed "
            f"event on {agent.reads}"
        )


def _grouped(outputs: Sequence[Output], key: Callable[[Envelope], K]) -> dict[K, list[Output]]:
    """Output records grouped by one attribute of their event."""
    grouped: dict[K, list[Output]] = defaultdict(list)
    for record, envelope in outputs:
        grouped[key(envelope)].append((record, envelope))
    return grouped


def _compare(
    agent: Agent,
    input_name: str,
    expected: Sequence[Envelope],
    actual: Sequence[Output],
    report: VerifyReport,
) -> None:
    """One input's expected effects against those read on the agent's output topic."""
    found = _grouped(actual, lambda event: event.event_id)
    for effect in expected:
        what = f"{effect.event_type} {effect.data.key} ({effect.event_id})"
        copies = found.get(effect.event_id, [])
        if not copies:
            report.violations.append(
                f"{agent.stage} effect of {input_name} is missing: {what} is not on {agent.writes}"
            )
            continue
        if len(copies) > 1:
            where = ", ".join(record.where for record, _ in copies)
            report.violations.append(
                f"{agent.stage} effect of {input_name} appears {len(copies)} times: {what} at "
                f"{where}"
            )
        for record, envelope in copies:
            if envelope != effect:
                report.violations.append(
                    f"{agent.stage} effect of {input_name} at {record.where} differs from what "
                    f"{agent.stage} derives: {what}"
                )
    wanted = {effect.event_id for effect in expected}
    for record, envelope in actual:
        if envelope.event_id not in wanted:
            report.violations.append(
                f"{agent.stage} effect of {input_name} at {record.where} is not one it derives: "
                f"{envelope.event_type} {envelope.data.key} ({envelope.event_id})"
            )
