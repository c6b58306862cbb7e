"""A failed operation reads as ZStack's message and the setting to fix, not as a Python traceback.

The program also holds a second dynamic provider that fails: it shares the provider process with
VmBackup and must keep its own traceback (`--continue-on-error`, so that its failure cannot stop the
engine before VmBackup's create starts). `PULUMI_ZSTACK_DEBUG=1` brings VmBackup's traceback back.
"""

from __future__ import annotations

import dataclasses

import pytest
from zstack_simulator import seed

from tests.fixtures.stack import ZStackStack

pytestmark = pytest.mark.e2e

PROGRAM = """
    import pulumi
    import pulumi_zstack as zstack
    from pulumi.dynamic import Resource, ResourceProvider


    class BrokenProvider(ResourceProvider):
        def create(self, props):
            raise RuntimeError("the other provider failed")


    class Broken(Resource):
        def __init__(self, name):
            super().__init__(BrokenProvider(), name, {})


    Broken("other")
    zstack.VmBackup(
        "nightly",
        root_volume_uuid=ROOT_VOLUME,
        backup_storage_uuid=BACKUP_STORAGE,
        name="nightly",
    )
"""
TRACEBACK = "Traceback (most recent call last)"
# What ZStack says, and the advice naming the settings to fix.
ZSTACK_MESSAGE = "wrong account name or password"
ADVICE = "`zstack:accountName` / `zstack:accountPassword`"


def _diagnostics(shown: str) -> dict[str, list[str]]:
    """The CLI's "Diagnostics:" section: resource header (`type (name)`) -> its non-empty lines."""
    section = shown.split("\nDiagnostics:\n", 1)[1].split("\nResources:\n", 1)[0]
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in section.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.endswith(":"):
            current = blocks.setdefault(line.strip().removesuffix(":"), [])
        elif line.strip():
            current.append(line.strip())
    return blocks


def _program() -> str:
    return PROGRAM.replace("ROOT_VOLUME", repr(seed.RUNNING_VM_ROOT_VOLUME_UUID)).replace(
        "BACKUP_STORAGE", repr(seed.IMAGESTORE_BS_UUID)
    )


@pytest.fixture
def refused_stack(zstack_stack: ZStackStack) -> ZStackStack:
    """A stack whose password ZStack refuses; the password is a common word, as some are.

    It comes from ZSTACK_ACCOUNT_PASSWORD: the engine itself shows a secret config value as `[secret]`
    wherever it appears in output, which would hide the word whatever the provider does.
    """
    zstack_stack.write_program(_program())
    zstack_stack.remove_config("zstack:accountPassword")
    env = {**zstack_stack.workspace.env, "ZSTACK_ACCOUNT_PASSWORD": "wrong"}
    return dataclasses.replace(zstack_stack, workspace=dataclasses.replace(zstack_stack.workspace, env=env))


def test_our_failure_is_one_line_and_the_other_provider_keeps_its_traceback(
    refused_stack: ZStackStack,
) -> None:
    up = refused_stack.run(["up", "--skip-preview", "--continue-on-error"], check=False)

    shown = up.stdout + up.stderr
    assert up.returncode != 0
    diagnostics = _diagnostics(shown)
    ours = diagnostics["pulumi-python:dynamic/zstack:VmBackup (nightly)"]
    assert len(ours) == 1, ours
    assert ours[0].startswith("error: ZStack refused login as account 'admin'")
    assert ZSTACK_MESSAGE in ours[0], "a short password does not mask ordinary words"
    assert ADVICE in ours[0], "the message names the settings to fix"
    other = diagnostics["pulumi-python:dynamic:Resource (other)"]
    assert other[0] == f"error: {TRACEBACK}:"
    assert other[-1] == "RuntimeError: the other provider failed"
    assert "ProviderError" not in shown
    assert "warning" not in shown, "no warning about the hook or the engine set-up"


def test_pulumi_zstack_debug_shows_the_full_traceback(refused_stack: ZStackStack) -> None:
    env = {**refused_stack.workspace.env, "PULUMI_ZSTACK_DEBUG": "1"}
    debug_stack = dataclasses.replace(
        refused_stack, workspace=dataclasses.replace(refused_stack.workspace, env=env)
    )

    up = debug_stack.run(["up", "--skip-preview", "--continue-on-error"], check=False)

    assert up.returncode != 0
    ours = _diagnostics(up.stdout + up.stderr)["pulumi-python:dynamic/zstack:VmBackup (nightly)"]
    assert ours[0] == f"error: {TRACEBACK}:"
    assert ours[-1].startswith("pulumi_zstack_provider._core.ProviderError: ZStack refused login")
    assert ZSTACK_MESSAGE in ours[-1]
