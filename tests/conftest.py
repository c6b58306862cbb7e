"""Shared fixtures: the simulator and the real Pulumi engine are loaded as plugins."""

pytest_plugins = ["tests.fixtures.simulator", "tests.fixtures.engine", "tests.fixtures.stack"]
