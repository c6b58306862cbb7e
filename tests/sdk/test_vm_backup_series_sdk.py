"""The SDK's VmBackupSeries under Pulumi's mock monitor: what it registers, and the series uuid it derives."""

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


def series(name: str, **inputs: Any) -> zstack.VmBackupSeries:
    given: dict[str, Any] = {
        "root_volume_uuid": ROOT,
        "backup_storage_uuid": STORAGE,
        "name": "rel",
        "keep": 3,
    }
    return zstack.VmBackupSeries(name, **{**given, **inputs})


@pulumi.runtime.test
def test_registers_every_property_and_the_series_uuid_ignores_retention_and_triggers(
    mocks: RecordingMocks,
) -> Any:
    # Declared twice with other triggers and keep: the same series, so a release updates it in place.
    first = series("s", triggers=["1.0"])
    released = series("s", triggers=["1.1"], keep=5)
    other_vm = series("s", root_volume_uuid="20000000000040008000000000000041", triggers=["1.0"])
    other_name = series("t", triggers=["1.0"])

    def check(ids: list[str]) -> None:
        assert ids[0] == ids[1], "triggers and keep do not change the series' identity"
        assert len({ids[0], ids[2], ids[3]}) == 3, "the VM and the resource name do"
        inputs = mocks.registered["t"]
        declared = {"root_volume_uuid", "backup_storage_uuid", "name", "keep", "triggers", "series_uuid"}
        assert set(inputs) - {"__provider"} == declared, "unset properties are not sent"
        assert declared <= {p.name for p in VmBackupSeriesProperties.properties()}
        assert (inputs["keep"], inputs["triggers"], inputs["series_uuid"]) == (3, ["1.0"], ids[3])

    return pulumi.Output.all(
        first.series_uuid, released.series_uuid, other_vm.series_uuid, other_name.series_uuid
    ).apply(check)


def test_an_unknown_argument_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown argument\(s\) kept; valid ones: .*keep"):
        zstack.VmBackupSeries(
            "s", root_volume_uuid=ROOT, backup_storage_uuid=STORAGE, name="n", keep=1, kept=2
        )
