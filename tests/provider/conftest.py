"""Fixtures of the provider tests that call resource code in this process, without the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pulumi_zstack_provider import _backup_group, _ownership, _vm_backup, _vm_backup_series
from pulumi_zstack_provider._client import ConnectionSettings, ZStackClient
from pulumi_zstack_provider._ownership import HandedOut
from pulumi_zstack_provider._resource import OperationContext
from zstack_simulator import RunningSimulator, seed

StartRun = Callable[[], None]


@pytest.fixture(autouse=True)
def new_run(monkeypatch: pytest.MonkeyPatch) -> StartRun:
    """Start what a new provider process would: call it between a create and a delete of a later `pulumi` run.

    A provider process never deletes a group it handed to the engine itself; each test starts as a new
    process, and tests that play several runs start one for each.
    """

    def start() -> None:
        run = HandedOut()
        for module in (_ownership, _backup_group, _vm_backup, _vm_backup_series):
            monkeypatch.setattr(module, "handed_out", run)

    start()
    return start


@pytest.fixture
def ctx(simulator: RunningSimulator) -> Iterator[OperationContext]:
    """An operation context logged in to the `simulator` fixture, as the provider makes one per operation."""
    config = {
        "zstack:host": simulator.host,
        "zstack:port": str(simulator.port),
        "zstack:accountName": seed.ADMIN_ACCOUNT_NAME,
        "zstack:accountPassword": seed.ADMIN_PASSWORD,
    }
    with ZStackClient(ConnectionSettings.resolve(config, {})) as client:
        yield OperationContext(client)
