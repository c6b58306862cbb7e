"""One result line per fault case at the end of the run: name, outcome, duration and any figures.

A test module opts in with an autouse fixture that appends ``(CASE_MARK, True)`` to each test's
``user_properties``; a test adds a figure to its line by appending ``("figure", "50 backups in 31 s")``.
"""

from __future__ import annotations

import dataclasses

import pytest

#: A user property that makes a test's reports count as a fault case (the hooks see every test).
CASE_MARK = "fault_case"


@dataclasses.dataclass
class _Case:
    name: str
    outcome: str = "passed"
    seconds: float = 0.0
    figures: list[str] = dataclasses.field(default_factory=list)


# nodeid -> case, in the order the cases ran
_cases: dict[str, _Case] = {}


def _outcome(report: pytest.TestReport) -> str | None:
    if hasattr(report, "wasxfail"):
        return "xfailed (known defect)" if report.skipped else "XPASS"
    if report.failed and str(report.longrepr).startswith("[XPASS(strict)]"):
        return "XPASS(strict): the defect is fixed, remove the xfail marker"
    if report.failed:
        return "failed" if report.when == "call" else f"error in {report.when}"
    if report.skipped:
        return "skipped"
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not dict(report.user_properties).get(CASE_MARK):
        return
    case = _cases.setdefault(report.nodeid, _Case(report.nodeid.rsplit("::", 1)[-1]))
    case.seconds += report.duration
    outcome = _outcome(report)
    if outcome is not None and case.outcome == "passed":
        case.outcome = outcome
    case.figures = [str(value) for key, value in report.user_properties if key == "figure"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _cases:
        return
    terminalreporter.write_sep("-", "fault matrix: case, outcome, duration")
    for case in _cases.values():
        figures = f" ({'; '.join(case.figures)})" if case.figures else ""
        terminalreporter.write_line(f"{case.name}: {case.outcome} in {case.seconds:.1f} s{figures}")
