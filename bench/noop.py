"""The yardstick: a dynamic resource that does nothing but sleep as long as a backup job takes.

It is importable (pickled by reference, like VmBackup's provider), and its provider widens the host's
worker pool exactly as VmBackup's does, so that a comparison shows our own overhead and nothing else.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import ConfigureRequest, CreateResult, ReadResult, Resource, ResourceProvider
from pulumi_zstack_provider._concurrency import HOST_WORKERS, widen_host_pool

#: Set by the benchmark to the `zstack:maxConcurrentOperations` of the run it compares with.
WORKERS_VARIABLE = "BENCH_NOOP_CONCURRENCY"


class SleepProvider(ResourceProvider):
    def configure(self, req: ConfigureRequest) -> None:
        widen_host_pool(int(os.environ.get(WORKERS_VARIABLE, "32")) + HOST_WORKERS)

    def create(self, props: dict[str, Any]) -> CreateResult:
        time.sleep(float(props["seconds"]))
        return CreateResult(uuid.uuid4().hex, props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)


class Sleeper(Resource, module="bench", name="Sleeper"):
    """`inputs` are carried, never read: they make the no-op as large on the wire and in state as the
    resource it stands for."""

    def __init__(
        self,
        name: str,
        seconds: float,
        inputs: Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(SleepProvider(), name, {**(inputs or {}), "seconds": seconds}, opts)
