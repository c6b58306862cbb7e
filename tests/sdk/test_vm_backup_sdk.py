"""The SDK's VmBackup under Pulumi's mock monitor: what it registers, and the group uuid it derives."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pulumi
import pulumi_zstack as zstack
import pytest
from pulumi_zstack_provider import Role, VmBackupProperties
from pulumi_zstack_provider._ids import DERIVED_NAMESPACE as _GROUP_UUID_NAMESPACE

pytestmark = pytest.mark.unit

ROOT = "20000000000040008000000000000011"
STORAGE = "30000000000040008000000000000001"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.registered[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="proj", stack="dev", preview=False)
    return recording


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


@pulumi.runtime.test
def test_group_uuid_is_stable_for_the_same_declaration_and_differs_otherwise(mocks: RecordingMocks) -> Any:
    same_a = zstack.VmBackup("a", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n")
    same_b = zstack.VmBackup(
        "a2", args=zstack.VmBackupArgs(root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n")
    )
    renamed_input = zstack.VmBackup("a3", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="other")
    timeout_only = zstack.VmBackup(
        "a4", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", create_timeout="2h"
    )

    def check(_: Any) -> None:
        registered = mocks.registered
        a, a2, a3, a4 = (registered[n]["group_uuid"] for n in ("a", "a2", "a3", "a4"))
        assert len({a, a2, a3}) == 3  # resource name and inputs both count
        a4_same_inputs = zstack_group_uuid_for("a4", name="n")
        assert a4 == a4_same_inputs  # a setting does not change the backup's identity

    return pulumi.Output.all(same_a.urn, same_b.urn, renamed_input.urn, timeout_only.urn).apply(check)


def zstack_group_uuid_for(resource_name: str, **inputs: Any) -> str:
    identity = {"root_volume_uuid": ROOT, "backup_storage_uuid": STORAGE, **inputs}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    scope = f"{pulumi.get_organization()}/proj/dev/{resource_name}"
    return uuid.uuid5(_GROUP_UUID_NAMESPACE, f"{scope}\n{canonical}").hex


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
