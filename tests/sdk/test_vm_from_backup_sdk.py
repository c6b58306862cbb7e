"""The SDK's VmFromBackup under Pulumi's mock monitor: what it registers and what a program can read."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_zstack as zstack
import pytest
from pulumi_zstack_provider import VmFromBackupProperties

from tests.sdk._mocks import RecordingMocks

pytestmark = pytest.mark.unit

GROUP = "4b2a8c1e9f3d4e5a8b7c6d5e4f3a2b1c"
OFFERING = "e0000000000040008000000000000007"
NETWORK = "e0000000000040008000000000000008"


@pulumi.runtime.test
def test_registers_the_declared_inputs_and_who_owns_the_vm(mocks: RecordingMocks) -> Any:
    vm = zstack.VmFromBackup(
        "drill", group_uuid=GROUP, name="drill", instance_offering_uuid=OFFERING, l3_network_uuids=[NETWORK]
    )

    def check(_: Any) -> None:
        inputs = mocks.registered["drill"]
        assert {
            k: inputs[k] for k in ("group_uuid", "name", "instance_offering_uuid", "l3_network_uuids")
        } == {
            "group_uuid": GROUP,
            "name": "drill",
            "instance_offering_uuid": OFFERING,
            "l3_network_uuids": [NETWORK],
        }
        assert inputs["owner_stack"].endswith("/proj/dev")
        assert inputs["owner_urn"] == "urn:pulumi:dev::proj::pulumi-python:dynamic/zstack:VmFromBackup::drill"

    return vm.group_uuid.apply(check)


def test_every_property_is_a_typed_attribute_and_every_input_an_argument() -> None:
    hints = zstack.VmFromBackup.__annotations__
    arguments = {f for f in zstack.VmFromBackupArgs.__dataclass_fields__}
    for prop in VmFromBackupProperties.properties():
        assert str(hints.get(prop.name, "")).startswith("pulumi.Output["), prop.name
        if prop.is_user_supplied and prop.name not in {"owner_stack", "owner_urn"}:
            assert prop.name in arguments, prop.name
    assert arguments <= {p.name for p in VmFromBackupProperties.properties()}


def test_an_unknown_argument_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown argument\(s\) group; valid ones: group_uuid"):
        zstack.VmFromBackup("drill", group=GROUP, name="drill")
