"""The SDK's VmBackupSchedule under Pulumi's mock monitor: what it registers and which arguments it takes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_zstack as zstack
import pytest
from pulumi_zstack_provider import Role, VmBackupScheduleProperties

from tests.sdk._mocks import RecordingMocks

pytestmark = pytest.mark.unit

ROOT = "20000000000040008000000000000011"
STORAGE = "30000000000040008000000000000001"


def test_the_arguments_are_the_resources_inputs_and_settings() -> None:
    arguments = {f.name for f in dataclasses.fields(zstack.VmBackupScheduleArgs)}
    declared = {p.name for p in VmBackupScheduleProperties.properties_with(Role.INPUT, Role.SETTING)}
    assert arguments == declared - {"owner_stack", "owner_urn"}


@pulumi.runtime.test
def test_registers_the_declared_inputs_and_who_owns_the_schedule(mocks: RecordingMocks) -> Any:
    schedule = zstack.VmBackupSchedule(
        "web-01",
        root_volume_uuid=ROOT,
        backup_storage_uuids=[STORAGE],
        name="web-01 nightly",
        cron="0 0 2 * * ?",
        retention_count=7,
        enabled=False,
    )

    def check(_: Any) -> None:
        inputs = mocks.registered["web-01"]
        assert inputs["owner_stack"] == f"{pulumi.get_organization()}/proj/dev"
        assert (
            inputs["owner_urn"]
            == "urn:pulumi:dev::proj::pulumi-python:dynamic/zstack:VmBackupSchedule::web-01"
        )
        assert (inputs["cron"], inputs["retention_count"], inputs["enabled"]) == ("0 0 2 * * ?", 7, False)
        assert "interval_seconds" not in inputs, "unset arguments are not sent"

    return schedule.job_uuid.apply(check)


def test_an_unknown_argument_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown argument\(s\) retention; valid ones: .*retention_count"):
        zstack.VmBackupSchedule(
            "s",
            root_volume_uuid=ROOT,
            backup_storage_uuids=[STORAGE],
            name="n",
            cron="0 0 2 * * ?",
            retention=3,
        )
