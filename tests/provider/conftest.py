"""Fixtures of the provider tests that call resource code in this process, without the engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pulumi_zstack_provider import _backup_group, _ownership, _vm_backup, _vm_backup_series
from pulumi_zstack_provider._ownership import HandedOut

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
