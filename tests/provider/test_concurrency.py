"""How many operations run at once: the limit on our own operations and the widening of the host's pool."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pulumi_zstack_provider import _concurrency
from pulumi_zstack_provider._concurrency import OperationSlots

PROBE = Path(__file__).with_name("_host_probe.py")


def run_in_threads(slots: OperationSlots, count: int) -> int:
    """Run `count` operations of 50 ms through `slots` at once; return how many ran at the same time."""
    inside, most, lock = 0, 0, threading.Lock()

    def operation() -> None:
        nonlocal inside, most
        with slots.slot():
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=operation) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads), "an operation never got a slot"
    return most


@pytest.mark.unit
def test_operations_beyond_the_limit_wait_their_turn_and_all_run() -> None:
    assert run_in_threads(OperationSlots(3), 12) <= 3


@pytest.mark.unit
def test_raising_the_limit_lets_waiting_operations_start() -> None:
    slots = OperationSlots(1)
    release, second_started = threading.Event(), threading.Event()

    def hold() -> None:
        with slots.slot():
            release.wait(10)

    def second() -> None:
        with slots.slot():
            second_started.set()

    holder = threading.Thread(target=hold)
    holder.start()
    waiter = threading.Thread(target=second)
    waiter.start()
    assert not second_started.wait(0.2)
    slots.resize(2)
    assert second_started.wait(5)
    release.set()
    holder.join(5)
    waiter.join(5)


@pytest.mark.unit
def test_outside_the_host_configure_warns_once_and_still_applies_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_concurrency, "_warned", False)
    monkeypatch.setattr(_concurrency, "_slots", OperationSlots(32))
    _concurrency.configure({"zstack:maxConcurrentOperations": "5"})
    _concurrency.configure({"zstack:maxConcurrentOperations": 6})
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("zstack: warning: cannot widen the Pulumi dynamic-provider host's worker pool")
    assert "4 at a time" in lines[0]
    assert _concurrency._slots.size == 6


@pytest.mark.unit
def test_an_invalid_limit_leaves_the_default_for_check_to_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_concurrency, "_warned", True)
    monkeypatch.setattr(_concurrency, "_slots", OperationSlots(1))
    _concurrency.configure({"zstack:maxConcurrentOperations": "lots"})
    assert _concurrency._slots.size == 32


@pytest.mark.protocol
def test_the_installed_pulumi_host_has_the_pool_the_provider_widens(tmp_path: Path) -> None:
    """Fails when a Pulumi upgrade changes `pulumi/dynamic/__main__.py` so that the hook no longer applies."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(PROBE), str(report)], capture_output=True, text=True, timeout=60, check=False
    )
    assert report.exists(), f"the probe reported nothing (exit {done.returncode}):\n{done.stderr[-2000:]}"
    seen = json.loads(report.read_text())
    assert "error" not in seen, f"the provider cannot find the host's worker pool: {seen['error']}"
    assert seen == {"before": 4, "after": 12, "ran_together": True}


@pytest.mark.unit
def test_checks_never_queue_behind_operations_waiting_for_a_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """More operations than the cap plus the host's threads arrive: a check still runs at once."""
    pool = ThreadPoolExecutor(max_workers=_concurrency.HOST_WORKERS)  # as the host makes it
    monkeypatch.setattr(_concurrency, "find_host_pool", lambda: pool)
    monkeypatch.setattr(_concurrency, "_slots", OperationSlots(2))
    _concurrency.configure({"zstack:maxConcurrentOperations": "2"})
    release = threading.Event()

    def create() -> None:  # holds its slot, like a create waiting for an hour-long job
        with _concurrency.operation_slot():
            release.wait(10)

    creates = []
    for _ in range(12):
        creates.append(pool.submit(create))
        time.sleep(0.01)  # the engine's calls arrive one after another
    try:
        check = pool.submit(lambda: "checked")
        assert check.result(timeout=5) == "checked", "a check waited for a ZStack job"
        assert not any(c.done() for c in creates)
    finally:
        release.set()
        for c in creates:
            c.result(timeout=10)
        pool.shutdown()
