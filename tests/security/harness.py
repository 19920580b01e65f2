"""What the attack harness counts (see tests/security/conftest.py), and its summary line."""

from __future__ import annotations

from collections import Counter

import pytest

#: Each attack kind, and what a failed case of that kind is counted as.
KINDS = {
    "forgery": "forged accepted",
    "loss": "records lost",
    "secret": "secrets leaked",
    "crash": "crashes",
}
#: The report property that carries a case's verdict: "held", a value of KINDS, "hangs" or
#: "skipped".
VERDICT = "attack verdict"


class Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, report: pytest.TestReport) -> None:
        for key, verdict in report.user_properties:
            if key != VERDICT:
                continue
            if verdict == "skipped":
                self.counts["skipped"] += 1
            else:
                self.counts["tried"] += 1
                self.counts[str(verdict)] += 1

    def line(self) -> str | None:
        if not self.counts["tried"]:
            return None
        figures = ["tried", "held", *KINDS.values(), "hangs"]
        line = ", ".join(f"{self.counts[name]} {name}" for name in figures)
        if self.counts["skipped"]:
            line += f" ({self.counts['skipped']} skipped)"
        return f"attack harness: {line}"
