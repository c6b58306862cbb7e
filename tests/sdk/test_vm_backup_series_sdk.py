"""The SDK's VmBackupSeries under Pulumi's mock monitor: what it registers, and the owner it names."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_zstack as zstack
import pytest
from pulumi_zstack_provider import VmBackupSeriesProperties

from tests.sdk._mocks import RecordingMocks

pytestmark = pytest.mark.unit

ROOT = "20000000000040008000000000000011"
STORAGE = "30000000000040008000000000000001"
TYPE = "pulumi-python:dynamic/zstack:VmBackupSeries"


def series(name: str, **inputs: Any) -> zstack.VmBackupSeries:
    given: dict[str, Any] = {
        "root_volume_uuid": ROOT,
        "backup_storage_uuid": STORAGE,
        "name": "rel",
        "keep": 3,
    }
    return zstack.VmBackupSeries(name, **{**given, **inputs})


@pulumi.runtime.test
def test_registers_every_declared_property_and_its_owner_and_no_series_uuid(mocks: RecordingMocks) -> Any:
    declared = series("s", triggers=["1.0"])

    def check(urn: str) -> None:
        inputs = mocks.registered["s"]
        assert inputs["owner_urn"] == urn
        given = {"root_volume_uuid", "backup_storage_uuid", "name", "keep", "triggers"}
        assert set(inputs) - {"__provider"} == given | {"owner_stack", "owner_urn"}, "unset ones are not sent"
        assert given <= {p.name for p in VmBackupSeriesProperties.properties()}
        assert (inputs["keep"], inputs["triggers"]) == (3, ["1.0"])
        assert inputs["owner_stack"] == f"{pulumi.get_organization()}/proj/dev"
        assert inputs["owner_urn"] == f"urn:pulumi:dev::proj::{TYPE}::s"

    return declared.urn.apply(check)


def test_an_unknown_argument_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown argument\(s\) kept; valid ones: .*keep"):
        zstack.VmBackupSeries(
            "s", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", keep=1, kept=2
        )
