"""The SDK's VmBackup under Pulumi's mock monitor: what it registers, and the owner it tells the provider.

The provider chooses every id itself, from the owner the SDK registers (`owner_stack`, `owner_urn`): the SDK
derives no group uuid.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_zstack as zstack
import pytest
from pulumi_zstack_provider import Role, VmBackupProperties

from tests.sdk._mocks import RecordingMocks, use_mocks

pytestmark = pytest.mark.unit

ROOT = "20000000000040008000000000000011"
STORAGE = "30000000000040008000000000000001"
TYPE = "pulumi-python:dynamic/zstack:VmBackup"
#: Inputs the SDK sets itself; a program cannot give them.
SDK_SET = {"owner_stack", "owner_urn"}


@pulumi.runtime.test
def test_registers_declared_inputs_and_its_owner_and_no_group_uuid(mocks: RecordingMocks) -> Any:
    backup = zstack.VmBackup("nightly", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="nightly")

    def check(urn: str) -> None:
        inputs = mocks.registered["nightly"]
        assert inputs["owner_urn"] == urn
        assert inputs["root_volume_uuid"] == ROOT
        assert inputs["name"] == "nightly"
        assert "__provider" in inputs
        assert inputs["owner_stack"] == f"{pulumi.get_organization()}/proj/dev"
        assert inputs["owner_urn"] == f"urn:pulumi:dev::proj::{TYPE}::nightly"
        assert "group_uuid" not in inputs, "the provider chooses the group's id at create"

    return backup.urn.apply(check)


def declared_owner(
    resource_name: str = "nightly",
    args: zstack.VmBackupArgs | None = None,
    *,
    project: str = "proj",
    stack: str = "dev",
    organization: str | None = None,
    **inputs: Any,
) -> tuple[str, str]:
    """(owner_stack, owner_urn) the SDK registers for one VmBackup, declared alone in a fresh program."""
    if args is None and not inputs:
        inputs = {"root_volume_uuid": ROOT, "backup_storage_uuid": STORAGE, "name": "n"}
    mocks = use_mocks(project, stack, organization)

    @pulumi.runtime.test
    def program() -> Any:
        return zstack.VmBackup(resource_name, args, **inputs).urn

    program()
    registered = mocks.registered[resource_name]
    assert "group_uuid" not in registered
    return str(registered["owner_stack"]), str(registered["owner_urn"])


def test_the_same_declaration_gets_the_same_owner_in_every_run() -> None:
    first = declared_owner()
    assert declared_owner() == first
    as_args = zstack.VmBackupArgs(root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n")
    assert declared_owner(args=as_args) == first, "keywords and VmBackupArgs declare the same backup"
    with_setting = declared_owner(
        root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", create_timeout="2h"
    )
    assert with_setting == first, "a setting does not change the owner"
    other_input = declared_owner(root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="other")
    assert other_input == first, "the owner names the resource; the provider tells its inputs apart"


@pytest.mark.parametrize(
    ("what", "declaration"),
    [
        ("resource name", {"resource_name": "weekly"}),
        ("stack", {"stack": "prod"}),
        ("project", {"project": "other"}),
        ("organization", {"organization": "another-org"}),
    ],
)
def test_another_name_stack_project_or_organization_gets_another_owner(
    what: str, declaration: dict[str, Any]
) -> None:
    assert declared_owner(**declaration) != declared_owner(), f"a different {what}"


class Group(pulumi.ComponentResource):
    def __init__(self, type_token: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token, name, None, opts)


@pulumi.runtime.test
def test_under_components_the_owner_urn_names_the_parent_chain(mocks: RecordingMocks) -> Any:
    # Two components may each declare a backup of the same name: their URNs, so their ids, differ.
    outer = Group("my:app:Outer", "outer")
    inner = Group("my:app:Inner", "inner", pulumi.ResourceOptions(parent=outer))
    nested = zstack.VmBackup(
        "nightly",
        root_volume_uuid=ROOT,
        backup_storage_uuid=STORAGE,
        name="n",
        opts=pulumi.ResourceOptions(parent=inner),
    )
    series = zstack.VmBackupSeries(
        "releases",
        root_volume_uuid=ROOT,
        backup_storage_uuid=STORAGE,
        name="r",
        keep=2,
        opts=pulumi.ResourceOptions(parent=outer),
    )

    def check(urns: list[str]) -> None:
        assert [mocks.registered[n]["owner_urn"] for n in ("nightly", "releases")] == urns
        assert mocks.registered["nightly"]["owner_urn"] == (
            f"urn:pulumi:dev::proj::my:app:Outer$my:app:Inner${TYPE}::nightly"
        )
        assert mocks.registered["releases"]["owner_urn"] == (
            "urn:pulumi:dev::proj::my:app:Outer$pulumi-python:dynamic/zstack:VmBackupSeries::releases"
        )
        assert mocks.registered["nightly"]["owner_stack"] == f"{pulumi.get_organization()}/proj/dev"
        assert "group_uuid" not in mocks.registered["nightly"]
        assert "series_uuid" not in mocks.registered["releases"]

    return pulumi.Output.all(nested.urn, series.urn).apply(check)


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


@pytest.mark.parametrize("name", sorted(SDK_SET))
def test_a_program_cannot_give_the_owner_itself(mocks: RecordingMocks, name: str) -> None:
    with pytest.raises(TypeError, match=rf"unknown argument\(s\) {name}"):
        zstack.VmBackup("forged", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", **{name: "x"})


def test_sdk_declares_every_schema_property_as_a_typed_output() -> None:
    annotations = zstack.VmBackup.__annotations__
    for spec in VmBackupProperties.properties():
        if spec.name not in SDK_SET:
            assert str(annotations.get(spec.name, "")).startswith("pulumi.Output["), spec.name
    args = {f.name for f in dataclasses.fields(zstack.VmBackupArgs)}
    assert args == {p.name for p in VmBackupProperties.properties_with(Role.INPUT, Role.SETTING)} - SDK_SET
