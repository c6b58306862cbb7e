"""Runs Pulumi's real dynamic-provider host (`python -m pulumi.dynamic`) with a probe thread beside it.

The probe widens the host's worker pool as the provider's configure does, then runs more tasks than the
host's original four on that pool, which all must be running at the same time to pass a barrier. It
writes what it saw as JSON to the file named by argv[1] and ends the process.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
import time
from pathlib import Path

from pulumi_zstack_provider import _concurrency

REPORT = Path(sys.argv[1])
WIDENED = 12


def probe() -> None:
    report: dict[str, object] = {}
    deadline = time.monotonic() + 30
    while True:
        try:
            pool = _concurrency.find_host_pool()
            break
        except _concurrency.HostPoolNotFound as error:  # the host may not have built its server yet
            if time.monotonic() > deadline:
                report["error"] = str(error)
                REPORT.write_text(json.dumps(report))
                os._exit(0)
            time.sleep(0.02)
    report["before"] = pool._max_workers
    report["after"] = _concurrency.widen_host_pool(WIDENED)
    together = threading.Barrier(WIDENED, timeout=10)
    tasks = [pool.submit(together.wait) for _ in range(WIDENED)]
    report["ran_together"] = all(task.exception(timeout=15) is None for task in tasks)
    REPORT.write_text(json.dumps(report))
    os._exit(0)


threading.Thread(target=probe, daemon=True).start()
sys.argv = [sys.argv[0]]
runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
