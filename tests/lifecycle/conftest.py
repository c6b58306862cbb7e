"""The model checker's figures: how many sequences, steps and provider calls ran, printed after the run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest


@dataclasses.dataclass
class Tally:
    sequences: int = 0
    steps: int = 0
    calls: int = 0
    outcomes: dict[str, int] = dataclasses.field(default_factory=dict)

    def line(self) -> str:
        ended = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.outcomes.items()))
        return (
            f"lifecycle model checker: {self.sequences} sequences, {self.steps} operations ({ended}), "
            f"{self.calls} provider calls"
        )


_RUNS: list[Tally] = []


@pytest.fixture
def lifecycle_tally() -> Iterator[Tally]:
    tally = Tally()
    yield tally
    _RUNS.append(tally)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for tally in _RUNS:
        terminalreporter.write_line(tally.line())
