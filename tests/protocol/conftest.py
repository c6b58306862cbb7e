"""Run the real dynamic provider host (`python -u -m pulumi.dynamic`) and call it the way the engine does.

* `start_provider`: a factory `start_provider() -> DynamicProvider` that starts one provider process (venv
  python, a fresh temp dir as cwd, `PULUMI_PROJECT=proto`, no `ZSTACK_*` variables inherited) and returns a
  typed gRPC client for it. Every process is stopped at the end of the test.
* `provider`: a provider process already configured for the `simulator` fixture (account login).
* `simulator_config(running, ...)`: the stack config (`zstack:*` keys) that points at a running simulator.

The host configures a provider object once per distinct `__provider` blob and keeps it for the life of the
process, so every test (and every configuration) gets its own process.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi_zstack_provider import VmBackupProvider
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.fixtures.provider_process import CheckOutcome, ProviderCallFailed, ProviderProcess

PROVIDER_KEY = "__provider"
PROJECT = "proto"
URN = f"urn:pulumi:stack::{PROJECT}::pulumi-python:dynamic/zstack:VmBackup::nightly"
CALL_TIMEOUT_S = 60.0
#: Stack config keys a user sets with `pulumi config set --secret`.
SECRET_CONFIG_KEYS = frozenset({"zstack:accountPassword", "zstack:accessKeySecret", "zstack:sessionId"})


@dataclass(frozen=True)
class DiffOutcome:
    changes: str
    """`DIFF_UNKNOWN`, `DIFF_NONE` or `DIFF_SOME`."""
    replaces: list[str]
    delete_before_replace: bool


@dataclass(frozen=True)
class CreateOutcome:
    id: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class ReadOutcome:
    id: str
    properties: dict[str, Any]
    inputs: dict[str, Any] | None
    """None when the provider returned no inputs (the engine then keeps the old ones)."""


def _serialize(props: Mapping[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


class DynamicProvider:
    """Engine-side calls to one `pulumi.dynamic` provider process; property dicts are plain Python.

    Every call adds `__provider` (the pickled `VmBackupProvider`) to the properties it sends unless the
    caller supplies one, and returns properties as the engine would store them, `__provider` included.
    """

    def __init__(self, channel: grpc.Channel, stderr_file: Path) -> None:
        self._stub = provider_pb2_grpc.ResourceProviderStub(channel)
        self._stderr_file = stderr_file
        self.provider_blob = serialize_provider(VmBackupProvider())

    def stderr(self) -> str:
        """Everything the provider process wrote to stderr so far (what the engine would log)."""
        return self._stderr_file.read_text(encoding="utf-8", errors="replace")

    def _with_provider(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {PROVIDER_KEY: self.provider_blob, **props}

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            raise ProviderCallFailed(method, error.code(), error.details() or "") from None

    def configure(
        self, config: Mapping[str, str], *, secret_keys: Collection[str] = SECRET_CONFIG_KEYS
    ) -> None:
        """Send the stack config; values under `secret_keys` go as Pulumi secrets (the host unwraps them)."""
        args = {k: rpc.wrap_rpc_secret(v) if k in secret_keys else v for k, v in config.items()}
        self._call("Configure", provider_pb2.ConfigureRequest(variables=dict(config), args=_serialize(args)))

    def check(self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> CheckOutcome:
        request = provider_pb2.CheckRequest(
            urn=URN, olds=_serialize(olds or {}), news=_serialize(self._with_provider(news))
        )
        response = self._call("Check", request)
        return CheckOutcome(
            inputs=rpc.deserialize_properties(response.inputs, True),
            failures=[(f.property, f.reason) for f in response.failures],
        )

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffOutcome:
        request = provider_pb2.DiffRequest(
            id=id_,
            urn=URN,
            olds=_serialize(self._with_provider(olds)),
            news=_serialize(self._with_provider(news)),
        )
        response = self._call("Diff", request)
        return DiffOutcome(
            changes=provider_pb2.DiffResponse.DiffChanges.Name(response.changes),
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
        )

    def create(self, inputs: Mapping[str, Any]) -> CreateOutcome:
        request = provider_pb2.CreateRequest(urn=URN, properties=_serialize(self._with_provider(inputs)))
        response = self._call("Create", request)
        return CreateOutcome(response.id, rpc.deserialize_properties(response.properties))

    def read(self, id_: str, properties: Mapping[str, Any], inputs: Mapping[str, Any]) -> ReadOutcome:
        request = provider_pb2.ReadRequest(
            id=id_,
            urn=URN,
            properties=_serialize(self._with_provider(properties)),
            inputs=_serialize(self._with_provider(inputs)),
        )
        response = self._call("Read", request)
        return ReadOutcome(
            id=response.id,
            properties=rpc.deserialize_properties(response.properties),
            inputs=rpc.deserialize_properties(response.inputs) if response.HasField("inputs") else None,
        )

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=URN,
            olds=_serialize(self._with_provider(olds)),
            news=_serialize(self._with_provider(news)),
        )
        properties: dict[str, Any] = rpc.deserialize_properties(self._call("Update", request).properties)
        return properties

    def delete(self, id_: str, properties: Mapping[str, Any]) -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=URN, properties=_serialize(self._with_provider(properties))
        )
        self._call("Delete", request)


def _provider_process(workdir: Path) -> ProviderProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSTACK_")}
    env["PULUMI_PROJECT"] = PROJECT
    command = [sys.executable, "-u", "-m", "pulumi.dynamic"]
    return ProviderProcess(command, workdir, env, "`python -m pulumi.dynamic`")


StartProvider = Callable[[], DynamicProvider]


@pytest.fixture
def start_provider(tmp_path: Path) -> Iterator[StartProvider]:
    with ExitStack() as stack:
        started = 0

        def start() -> DynamicProvider:
            nonlocal started
            started += 1
            process = _provider_process(tmp_path / f"provider-{started}")
            stack.callback(process.stop)
            return DynamicProvider(process.connect(), process.stderr_file)

        yield start


def simulator_config(
    running: RunningSimulator,
    *,
    account_name: str = s.ADMIN_ACCOUNT_NAME,
    account_password: str = s.ADMIN_PASSWORD,
) -> dict[str, str]:
    """Stack config for `running`, logging in with an account (strings, as the engine sends them)."""
    return {
        "zstack:host": running.host,
        "zstack:port": str(running.port),
        "zstack:accountName": account_name,
        "zstack:accountPassword": account_password,
    }


@pytest.fixture
def provider(start_provider: StartProvider, simulator: RunningSimulator) -> DynamicProvider:
    started = start_provider()
    started.configure(simulator_config(simulator))
    return started
