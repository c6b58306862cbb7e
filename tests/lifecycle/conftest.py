"""The model checkers' figures: how many sequences, operations and provider calls ran, printed after the run.

A test's tally travels in its report (``user_properties``), so the line prints also when the tests ran in
worker processes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from pulumi_zstack_provider import _provider

FIGURE = "lifecycle"


@pytest.fixture(autouse=True)
def own_provider_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model configures the provider's process-wide runtime: tests that run after it must not inherit
    its ZStack configuration (a check would then find `zstack:host` without any being set)."""
    monkeypatch.setattr(_provider, "_runtime", _provider._Runtime())


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


_LINES: list[str] = []


@pytest.fixture
def lifecycle_tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    tally = Tally()
    yield tally
    request.node.user_properties.append((FIGURE, f"{request.node.name}: {tally.line()}"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        _LINES.extend(str(value) for key, value in report.user_properties if key == FIGURE)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _LINES:
        terminalreporter.write_line(line)
