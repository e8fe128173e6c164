"""The verifier's verdict: what it counted, what it found broken, and a readable rendering."""

from collections import Counter
from dataclasses import dataclass, field

DEFAULT_RENDER_LIMIT = 50


@dataclass
class VerifyReport:
    """Counts of what was read and decided, and each broken invariant as a sentence."""

    inputs: Counter[str] = field(default_factory=Counter)
    input_duplicates: int = 0
    malformed_inputs: int = 0
    orders: int = 0
    confirmed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    cancelled: int = 0
    without_terminal: int = 0
    refunds: int = 0
    outputs: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    effects: Counter[str] = field(default_factory=Counter)
    routed: Counter[str] = field(default_factory=Counter)
    units_received: int = 0
    units_committed: int = 0
    expected_stock: dict[str, int] = field(default_factory=dict)
    settled: bool = True
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every invariant held."""
        return not self.violations

    def render(self, *, limit: int | None = DEFAULT_RENDER_LIMIT) -> str:
        """A multi-line report: a table of counts, the violations, then OK or FAILED."""
        rows = [
            ("input messages", self.inputs.total(), _breakdown(self.inputs)),
            ("duplicates in input", self.input_duplicates, ""),
            ("malformed input", self.malformed_inputs, ""),
            ("orders placed", self.orders, ""),
            ("  confirmed", self.confirmed, ""),
            ("  rejected", self.rejected.total(), _breakdown(self.rejected)),
            ("  cancelled", self.cancelled, ""),
            ("  without a terminal event", self.without_terminal, ""),
            ("refunds requested", self.refunds, ""),
            ("derived messages", self.outputs.total(), _breakdown(self.outputs)),
            ("dead letters", self.dead_letters.total(), _breakdown(self.dead_letters)),
            ("agent effects checked", self.effects.total(), _breakdown(self.effects)),
            ("routed deliveries checked", self.routed.total(), _breakdown(self.routed)),
            ("stock units received", self.units_received, ""),
            ("stock units committed", self.units_committed, ""),
            ("stock units left (expected)", sum(self.expected_stock.values()), ""),
        ]
        width = max(len(label) for label, _, _ in rows)
        lines = ["ecommerce-streams verification"]
        for label, count, detail in rows:
            suffix = f"   {detail}" if detail else ""
            lines.append(f"  {label:<{width}}  {count:>10,}{suffix}")
        if not self.settled:
            lines.append("  (outputs had not settled when the timeout passed)")
        lines += _section("Warnings", self.warnings, limit)
        lines += _section("Violations", self.violations, limit)
        n = len(self.violations)
        lines.append("OK" if self.ok else f"FAILED ({n} violation{'s' if n != 1 else ''})")
        return "\n".join(lines)


def _breakdown(counts: Counter[str]) -> str:
    """``a 3 · b 1``, largest first."""
    return " · ".join(f"{name} {count:,}" for name, count in counts.most_common() if count)


def _section(title: str, items: list[str], limit: int | None) -> list[str]:
    """A titled, numbered list, cut after ``limit`` items."""
    if not items:
        return []
    shown = items if limit is None else items[:limit]
    lines = [f"{title} ({len(items)}):"]
    lines += [f"  {n}. {item}" for n, item in enumerate(shown, start=1)]
    if len(shown) < len(items):
        lines.append(f"  ... and {len(items) - len(shown)} more")
    return lines
