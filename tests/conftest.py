"""Shared fixtures: the simulator and the real Pulumi engine are loaded as plugins."""

# Report hooks live in plugins loaded here, not in sub-directory conftests: with worker processes
# (pytest-xdist) only this conftest is loaded where the summary is printed.
pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.engine",
    "tests.fixtures.stack",
    "tests.fixtures.fault_cases",
    "tests.fixtures.lifecycle",
    "tests.fixtures.native",
]
