"""The SDK's VmBackup under Pulumi's mock monitor: what it registers, and the group uuid it derives."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_zstack as zstack
import pytest
from pulumi_zstack_provider import Role, VmBackupProperties

from tests.sdk._mocks import RecordingMocks

pytestmark = pytest.mark.unit

ROOT = "20000000000040008000000000000011"
STORAGE = "30000000000040008000000000000001"


@pulumi.runtime.test
def test_registers_declared_inputs_and_a_derived_group_uuid(mocks: RecordingMocks) -> Any:
    backup = zstack.VmBackup("nightly", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="nightly")

    def check(group_uuid: str) -> None:
        inputs = mocks.registered["nightly"]
        assert inputs["root_volume_uuid"] == ROOT
        assert inputs["name"] == "nightly"
        assert "__provider" in inputs
        assert len(group_uuid) == 32
        assert inputs["group_uuid"] == group_uuid

    return backup.group_uuid.apply(check)


def declared_group_uuid(
    resource_name: str = "nightly",
    args: zstack.VmBackupArgs | None = None,
    *,
    project: str = "proj",
    stack: str = "dev",
    **inputs: Any,
) -> str:
    """The group uuid the SDK registers for one VmBackup, declared alone in a fresh program of that stack."""
    if args is None and not inputs:
        inputs = {"root_volume_uuid": ROOT, "backup_storage_uuid": STORAGE, "name": "n"}
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)

    @pulumi.runtime.test
    def program() -> Any:
        return zstack.VmBackup(resource_name, args, **inputs).urn

    program()
    return str(mocks.registered[resource_name]["group_uuid"])


def test_the_same_declaration_gets_the_same_group_uuid_in_every_run() -> None:
    first = declared_group_uuid()
    assert len(first) == 32
    assert declared_group_uuid() == first
    as_args = zstack.VmBackupArgs(root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n")
    assert declared_group_uuid(args=as_args) == first, "keywords and VmBackupArgs declare the same backup"
    with_setting = declared_group_uuid(
        root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", create_timeout="2h"
    )
    assert with_setting == first, "a setting does not change the backup's identity"


@pytest.mark.parametrize(
    ("what", "declaration"),
    [
        ("resource name", {"resource_name": "weekly"}),
        ("stack", {"stack": "prod"}),
        ("project", {"project": "other"}),
        ("input", {"root_volume_uuid": ROOT, "backup_storage_uuid": STORAGE, "name": "other"}),
    ],
)
def test_another_name_stack_project_or_input_gets_another_group_uuid(
    what: str, declaration: dict[str, Any]
) -> None:
    assert declared_group_uuid(**declaration) != declared_group_uuid(), f"a different {what}"


@pulumi.runtime.test
def test_an_explicit_group_uuid_is_kept(mocks: RecordingMocks) -> Any:
    backup = zstack.VmBackup(
        "adopt", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", group_uuid="a" * 32
    )
    return backup.urn.apply(lambda _: assert_equal(mocks.registered["adopt"]["group_uuid"], "a" * 32))


def assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def test_unknown_argument_is_refused_naming_it(mocks: RecordingMocks) -> None:
    with pytest.raises(TypeError, match="colour"):
        zstack.VmBackup("bad", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", colour="blue")


def test_sdk_declares_every_schema_property_as_a_typed_output() -> None:
    annotations = zstack.VmBackup.__annotations__
    for spec in VmBackupProperties.properties():
        assert str(annotations.get(spec.name, "")).startswith("pulumi.Output["), spec.name
    args = {f.name for f in dataclasses.fields(zstack.VmBackupArgs)}
    assert args == {p.name for p in VmBackupProperties.properties_with(Role.INPUT, Role.SETTING)}
