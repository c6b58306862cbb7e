"""Helpers for the bad-input, secrets and TLS cases: programs, stacks on any simulator, state comparisons.

Built on `tests.fixtures.stack` (the per-test Pulumi project and stack); nothing here prints a credential.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import socket
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from zstack_simulator import Settings, TlsMaterial, seed

from tests.fixtures.engine import PulumiWorkspace, write_project
from tests.fixtures.fault_cases import CASE_MARK
from tests.fixtures.simulator import ServeSimulator
from tests.fixtures.stack import (
    ADMIN_PASSWORD,
    PROJECT,
    STACK,
    VM_BACKUP_TYPE,
    RecordingSimulator,
    ZStackStack,
)

ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
BACKUP_STORAGE = seed.IMAGESTORE_BS_UUID
DEFAULT_PROVIDER_TYPE = "pulumi:providers:pulumi-python"
# The key Pulumi uses to mark a secret value in state.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"

_HEADER = (
    "import pulumi\n"
    "import pulumi.dynamic\n"
    "import pulumi_zstack as zstack\n"
    "from pulumi_zstack_provider.providers import VmBackupProvider\n\n"
)


def backup_inputs(**inputs: object) -> dict[str, object]:
    """Valid inputs of a backup of the running VM, with `inputs` replacing or adding to them.

    A value of `None` removes that input.
    """
    given: dict[str, object] = {
        "root_volume_uuid": ROOT_VOLUME,
        "backup_storage_uuid": BACKUP_STORAGE,
        "name": "nightly",
        **inputs,
    }
    return {key: value for key, value in given.items() if value is not None}


def vm_backup(resource: str = "nightly", /, **inputs: object) -> str:
    """A `zstack.VmBackup(resource, ...)` statement (see `backup_inputs`)."""
    arguments = "".join(f", {key}={value!r}" for key, value in backup_inputs(**inputs).items())
    return f"{resource} = zstack.VmBackup({resource!r}{arguments})\n"


def raw_resource(resource: str, props: Mapping[str, object]) -> str:
    """A plain dynamic resource driven by `VmBackupProvider`, bypassing the SDK's argument checks."""
    return (
        'class RawBackup(pulumi.dynamic.Resource, module="zstack", name="RawBackup"):\n'
        "    pass\n\n"
        f"{resource} = RawBackup(VmBackupProvider(), {resource!r}, {dict(props)!r})\n"
    )


def program(*statements: str) -> str:
    """A program made of `statements`, with pulumi, pulumi_zstack and the provider class imported."""
    return _HEADER + "".join(statements)


def cli_text(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def list_case(request: pytest.FixtureRequest) -> None:
    """Give this test a line in the case summary printed at the end of the run (see conftest.py)."""
    request.node.user_properties.append((CASE_MARK, True))


def note(request: pytest.FixtureRequest, outcome: str) -> None:
    """One line for this case: printed, and added to the case summary at the end of the run."""
    request.node.user_properties.append(("figure", outcome))
    print(f"{request.node.name}: {outcome}")


# ----------------------------------------------------------------------------------------- stacks


def start_stack(
    workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    directory: Path,
    *,
    tls: TlsMaterial | bool | None = None,
    plain: Mapping[str, str] | None = None,
) -> ZStackStack:
    """A stack like the `zstack_stack` fixture's, on a simulator served with `tls`.

    The connection config points at the simulator with account/password auth (`zstack:scheme` is https
    when `tls` is given); `plain` adds to it or overrides it.
    """
    running = serve_simulator(RecordingSimulator(Settings.fast()), tls=tls)
    # ZSTACK_* variables are the provider's fallbacks; a developer's must not reach the test stack.
    env = {key: value for key, value in workspace.env.items() if not key.startswith("ZSTACK_")}
    stack = ZStackStack(
        dataclasses.replace(workspace, env=env),
        write_project(directory, PROJECT, {"__main__.py": "\n"}),
        running,
    )
    stack.run(["stack", "init", STACK])
    config = {
        "zstack:host": running.host,
        "zstack:port": str(running.port),
        "zstack:accountName": seed.ADMIN_ACCOUNT_NAME,
    }
    if tls:
        config["zstack:scheme"] = "https"
    stack.set_config({**config, **(plain or {})})
    stack.set_secret("zstack:accountPassword", ADMIN_PASSWORD)
    return stack


@contextmanager
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port that refuses connections for as long as the generator is not closed.

    The socket is bound but never listens, so no other process can take the port meanwhile.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


# ----------------------------------------------------------------------------------------- state


def resources(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(document["deployment"].get("resources") or [])


def backups_in(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in resources(document) if r["type"] == VM_BACKUP_TYPE]


def lasting_state(document: Mapping[str, Any], *, drop_types: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The deployment minus what every `pulumi up` rewrites, even one that changes nothing.

    That is the manifest (time of the last write), and the stack config the engine records as the default
    dynamic provider's inputs: a failed `up` after `pulumi config set` still stores the new config there.
    Resources of `drop_types` are left out.
    """
    deployment = json.loads(json.dumps(document["deployment"]))
    deployment.pop("manifest", None)
    kept = []
    for resource in deployment.get("resources") or []:
        if resource["type"] in drop_types:
            continue
        if resource["type"] == DEFAULT_PROVIDER_TYPE:
            for key in ("inputs", "outputs", "modified"):
                resource.pop(key, None)
        kept.append(resource)
    deployment["resources"] = kept
    return dict(deployment)


# ----------------------------------------------------------------------------------------- secrets


def secret_free(value: Any) -> Any:
    """`value` with every Pulumi secret (decrypted by `--show-secrets` or not) replaced by `[secret]`."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value:
            return "[secret]"
        return {key: secret_free(item) for key, item in value.items()}
    if isinstance(value, list):
        return [secret_free(item) for item in value]
    return value


def found_in(text: str | bytes, secrets: Mapping[str, str]) -> list[str]:
    """The labels (never the values) of the `secrets` that occur in `text`."""
    if isinstance(text, bytes):
        return [label for label, secret in secrets.items() if secret.encode() in text]
    return [label for label, secret in secrets.items() if secret in text]


def locations(value: Any, secrets: Mapping[str, str], path: str = "") -> list[tuple[str, str]]:
    """(label, JSON path) of every string in `value` that holds one of `secrets`."""
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in locations(item, secrets, f"{path}/{key}")]
    if isinstance(value, list):
        return [hit for i, item in enumerate(value) for hit in locations(item, secrets, f"{path}/{i}")]
    if isinstance(value, str):
        return [(label, path) for label in found_in(value, secrets)]
    return []


def provider_blobs(document: Mapping[str, Any]) -> list[bytes]:
    """The decoded `__provider` of every VmBackup, inputs and outputs, secret or not."""
    blobs = []
    for resource in backups_in(document):
        for side in ("inputs", "outputs"):
            blob = resource[side]["__provider"]
            if isinstance(blob, dict):
                if "plaintext" not in blob:
                    continue  # still encrypted: only --show-secrets can tell what it holds
                blob = json.loads(blob["plaintext"])
            try:
                blobs.append(base64.b64decode(blob, validate=True))
            except binascii.Error:
                pytest.fail(f"__provider of {resource['urn']} is not base64")
    return blobs


def files_holding(directories: list[Path], secrets: Mapping[str, str]) -> list[tuple[str, str]]:
    """(label, file) for every file under `directories` whose bytes contain one of `secrets`."""
    hits = []
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink():
                hits += [(label, str(path)) for label in found_in(path.read_bytes(), secrets)]
    return hits
