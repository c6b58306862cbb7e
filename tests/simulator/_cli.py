"""Start `zstack-simulator` as a subprocess and wait, bounded, until it answers."""

from __future__ import annotations

import queue
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_SECONDS = 15.0


@dataclass
class Cli:
    process: subprocess.Popen[str]
    facts: dict[str, str] = field(repr=False)
    """What it printed, credentials included: kept out of reprs."""

    @property
    def base_url(self) -> str:
        return self.facts["base-url"]


def executable() -> str:
    found = shutil.which("zstack-simulator", path=str(Path(sys.executable).parent)) or shutil.which(
        "zstack-simulator"
    )
    assert found is not None, "the zstack-simulator console script is not installed"
    return found


def _pump(stream: object, lines: queue.Queue[str | None]) -> None:
    assert hasattr(stream, "readline")
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))
    lines.put(None)


def read_facts(process: subprocess.Popen[str], deadline: float) -> dict[str, str]:
    """The `key: value` lines printed before `ready`."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    facts: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if line is None or line == "ready":
            return facts
        key, _, value = line.partition(": ")
        facts[key] = value
    raise AssertionError("zstack-simulator printed no `ready` line in time")


def wait_until_answering(base_url: str, deadline: float, ca_bundle: str | None = None) -> httpx.Response:
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return httpx.get(f"{base_url}/zstack/v1/api-jobs/{'0' * 32}", verify=verify, timeout=1.0)
        except httpx.TransportError as exc:
            last = exc
            time.sleep(0.01)
    raise AssertionError(f"zstack-simulator did not answer in time: {last!r}")


@contextmanager
def run_cli(*args: str) -> Iterator[Cli]:
    process = subprocess.Popen(
        [executable(), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + READY_SECONDS
        facts = read_facts(process, deadline)
        cli = Cli(process, facts)
        wait_until_answering(cli.base_url, deadline, facts.get("ca-bundle"))
        yield cli
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
