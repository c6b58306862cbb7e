"""Benchmark: time from launching `zstack-simulator` to its first successful answer (prints figures).

Run from the repository root: `python tests/simulator/bench_startup.py [runs]`. It asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from zstack_simulator import Settings, Simulator, serve

LIMIT_SECONDS = 20.0


def _command() -> list[str]:
    script = shutil.which("zstack-simulator", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "zstack_simulator"]


def console_start() -> float:
    """Seconds from spawn to the first answered request (the URL comes from the printed `base-url:` line)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*_command(), "--port", "0", "--fast"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        base_url = ""
        for _ in range(20):
            line = process.stdout.readline()
            if line.startswith("base-url: "):
                base_url = line.split(": ", 1)[1].strip()
                break
        if not base_url:
            raise RuntimeError("no base-url line printed")
        deadline = started + LIMIT_SECONDS
        while time.perf_counter() < deadline:
            try:
                httpx.get(f"{base_url}/zstack/v1/api-jobs/{'0' * 32}", timeout=1.0)
                return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.005)
        raise RuntimeError("the simulator did not answer in time")
    finally:
        process.terminate()
        process.wait(timeout=10)


def in_process_start() -> float:
    started = time.perf_counter()
    with serve(Simulator(Settings.fast())) as running:
        httpx.get(f"{running.base_url}/_simulator/health", timeout=5.0)
        return time.perf_counter() - started


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for name, measure in (("console command", console_start), ("in-process serve()", in_process_start)):
        figures = [measure() for _ in range(runs)]
        print(
            f"{name}: start-up to first answer over {runs} runs: "
            f"min {min(figures) * 1000:.0f} ms, median {statistics.median(figures) * 1000:.0f} ms, "
            f"max {max(figures) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
