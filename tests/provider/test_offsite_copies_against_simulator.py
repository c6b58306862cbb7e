"""Offsite copies of VmBackup and VmBackupSeries against the simulator over real HTTP, without the engine."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pulumi_zstack_provider import VmBackupProperties, VmBackupSeriesProperties
from pulumi_zstack_provider._backup_group import copy_sync_body
from pulumi_zstack_provider._resource import IncompleteOperation, OperationContext
from pulumi_zstack_provider._vm_backup import VmBackupResource
from pulumi_zstack_provider._vm_backup_series import VmBackupSeriesResource
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as zseed

from tests.provider.conftest import StartRun

pytestmark = pytest.mark.integration

BACKUP = VmBackupResource()
SERIES = VmBackupSeriesResource()
STACK = "organization/backups/dev"
SOURCE = zseed.IMAGESTORE_BS_UUID
OFFSITE = zseed.REMOTE_IMAGESTORE_BS_UUID
BOTH = sorted([SOURCE, OFFSITE])
SYNC = "SyncVmBackupFromImageStoreBackupStorage"
SYNC_PATH = "/zstack/v1/vm-backups/*/actions"
COMMON = {
    "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
    "backup_storage_uuid": SOURCE,
    "owner_stack": STACK,
    "max_poll_interval": "0.2s",
}


def backup(**overrides: Any) -> VmBackupProperties:
    urn = "urn:pulumi:dev::backups::pulumi-python:dynamic/zstack:VmBackup::nightly"
    values = {**COMMON, "name": "nightly", "owner_urn": urn, "copy_to_backup_storage_uuids": [OFFSITE]}
    return VmBackupProperties.model_validate({**values, **overrides})


def series(**overrides: Any) -> VmBackupSeriesProperties:
    urn = "urn:pulumi:dev::backups::pulumi-python:dynamic/zstack:VmBackupSeries::pre-release"
    values = {
        **COMMON,
        "name": "pre-release",
        "owner_urn": urn,
        "keep": 1,
        "triggers": ["1.0"],
        "copy_to_backup_storage_uuids": [OFFSITE],
    }
    return VmBackupSeriesProperties.model_validate({**values, **overrides})


def stores_by_group(simulator: RunningSimulator) -> dict[str, list[str]]:
    """Every group ZStack holds (members not `Deleted`) -> the stores where each member has a Ready copy."""
    refs: dict[str, list[set[str]]] = {}
    for member in simulator.simulator.backups():
        if member.get("status") != "Deleted":
            ready = {r["backupStorageUuid"] for r in member["backupStorageRefs"] if r["status"] == "Ready"}
            refs.setdefault(member["groupUuid"], []).append(ready)
    return {group: sorted(set.intersection(*stores)) for group, stores in refs.items()}


def syncs(simulator: RunningSimulator) -> int:
    return sum(1 for job in simulator.simulator.jobs() if job["api"] == SYNC)


def test_create_copies_the_backup_and_reports_where_it_lives(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    group, outputs = BACKUP.create(ctx, backup())

    assert stores_by_group(simulator) == {group: BOTH}
    assert outputs["backup_storage_uuids"] == BOTH
    assert outputs["copies"] == [{"backup_storage_uuid": OFFSITE, "complete": True}]
    assert outputs["copy_pending"] is None
    read = BACKUP.read(ctx, group, outputs)
    assert read is not None
    assert read.outputs["copy_pending"] is None
    assert read.inputs["backup_storage_uuid"] == SOURCE  # the copy store is not mistaken for drift


def test_a_failed_copy_hands_the_backup_over_with_the_copy_pending_and_the_update_makes_it(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    fault = simulator.simulator.faults.fail_job(method="PUT", path=SYNC_PATH, count=1)

    with pytest.raises(IncompleteOperation) as failed:
        BACKUP.create(ctx, backup())
    assert fault.fired == 1

    (group,) = stores_by_group(simulator)
    assert f"the copy of backup group {group} to backup storage {OFFSITE} failed" in str(failed.value)
    assert failed.value.resource_id == group
    kept = failed.value.outputs
    assert (kept["group_uuid"], kept["copy_pending"]) == (group, [OFFSITE])
    assert kept["owner_claim"], "the backup was handed over without its owner claim"
    assert BACKUP.pending_update(kept)

    new_run()
    updated = BACKUP.update(ctx, group, kept, backup())
    assert stores_by_group(simulator) == {group: BOTH}
    assert (updated["copy_pending"], updated["owner_claim"]) == (None, kept["owner_claim"])
    assert not BACKUP.pending_update(updated)


def test_a_copy_already_made_is_not_made_again_and_one_in_progress_is_waited_for(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    group, outputs = BACKUP.create(ctx, backup(copy_to_backup_storage_uuids=None))
    ctx.run_job(
        "PUT",
        f"/vm-backups/{group}/actions",
        body=copy_sync_body(SOURCE, OFFSITE),
        deadline=1e12,
        operation="copy",
    )
    assert syncs(simulator) == 1

    updated = BACKUP.update(ctx, group, outputs, backup())
    assert syncs(simulator) == 1, "a copy already Ready on the destination was copied again"
    assert updated["backup_storage_uuids"] == BOTH

    # A sync still running (an earlier, interrupted run): the update waits for it instead of sending another.
    simulator.simulator.delete_backup_copy(group, OFFSITE)
    simulator.simulator.faults.job_duration(seconds=1.5, method="PUT", path=SYNC_PATH, count=1)
    running = threading.Thread(
        target=lambda: ctx.client.run_job(
            "PUT",
            f"/vm-backups/{group}/actions",
            body=copy_sync_body(SOURCE, OFFSITE),
            deadline=1e12,
            operation="copy",
        )
    )
    running.start()
    try:
        while syncs(simulator) < 2:
            threading.Event().wait(0.05)
        refreshed = BACKUP.read(ctx, group, {**outputs, "copy_to_backup_storage_uuids": [OFFSITE]})
        assert refreshed is not None
        assert refreshed.outputs["copy_pending"] == [OFFSITE]
        BACKUP.update(ctx, group, {**outputs, **refreshed.outputs}, backup())
    finally:
        running.join()
    assert syncs(simulator) == 2
    assert stores_by_group(simulator) == {group: BOTH}


def test_a_lost_answer_to_the_sync_is_recovered_without_a_second_copy(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    fault = simulator.simulator.faults.lose_response(method="PUT", path=SYNC_PATH, count=1)

    group, outputs = BACKUP.create(ctx, backup())
    assert fault.fired == 1

    assert syncs(simulator) == 1
    assert stores_by_group(simulator) == {group: BOTH}
    assert outputs["copy_pending"] is None


def test_a_store_removed_from_the_list_loses_its_copy_and_delete_leaves_nothing_anywhere(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    group, outputs = BACKUP.create(ctx, backup())
    new_run()

    updated = BACKUP.update(ctx, group, outputs, backup(copy_to_backup_storage_uuids=None))
    assert stores_by_group(simulator) == {group: [SOURCE]}
    assert (updated["backup_storage_uuids"], updated["copies"]) == ([SOURCE], None)

    again = BACKUP.update(ctx, group, updated, backup())
    assert stores_by_group(simulator) == {group: BOTH}
    BACKUP.delete(ctx, group, again)
    assert simulator.simulator.backups() == []


def test_a_series_copies_each_take_and_pruning_deletes_every_copy(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    series_uuid, first = SERIES.create(ctx, series())
    assert [b["backup_storage_uuids"] for b in first["backups"]] == [BOTH]
    new_run()

    second = SERIES.update(ctx, series_uuid, first, series(triggers=["1.1"]))

    (kept,) = second["backups"]
    assert kept["backup_storage_uuids"] == BOTH
    assert second["copy_pending"] is None
    assert stores_by_group(simulator) == {kept["group_uuid"]: BOTH}
    # The pruned backup, which the kept one builds on, stays `Deleted` on both stores until it is purged.
    pruned = [b for b in simulator.simulator.backups() if b["groupUuid"] != kept["group_uuid"]]
    assert {b["status"] for b in pruned} <= {"Deleted"}

    new_run()
    SERIES.delete(ctx, series_uuid, second)
    assert simulator.simulator.backups() == []


def test_a_series_whose_copy_failed_keeps_the_new_take_and_shows_the_copy_pending(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    series_uuid, first = SERIES.create(ctx, series())
    new_run()
    fault = simulator.simulator.faults.fail_job(method="PUT", path=SYNC_PATH, count=1)

    with pytest.raises(IncompleteOperation) as failed:
        SERIES.update(ctx, series_uuid, first, series(triggers=["1.1"]))
    assert fault.fired == 1

    kept = failed.value.outputs
    (entry,) = kept["backups"]
    assert entry["triggers"] == ["1.1"]
    assert kept["copy_pending"] == [{"group_uuid": entry["group_uuid"], "backup_storage_uuid": OFFSITE}]
    assert entry["group_uuid"] in str(failed.value)
    assert SERIES.pending_update(kept)
    assert stores_by_group(simulator) == {entry["group_uuid"]: [SOURCE]}, "the prune did not run"

    new_run()
    finished = SERIES.update(ctx, series_uuid, kept, series(triggers=["1.1"]))
    assert finished["copy_pending"] is None
    assert finished["group_uuids"] == [entry["group_uuid"]]
    assert stores_by_group(simulator) == {entry["group_uuid"]: BOTH}


def test_refresh_of_a_series_notices_a_lost_copy(ctx: OperationContext, simulator: RunningSimulator) -> None:
    series_uuid, first = SERIES.create(ctx, series())
    group = first["latest_group_uuid"]
    simulator.simulator.delete_backup_copy(group, OFFSITE)

    read = SERIES.read(ctx, series_uuid, first)

    assert read is not None
    assert read.outputs["copy_pending"] == [{"group_uuid": group, "backup_storage_uuid": OFFSITE}]
    assert read.outputs["backups"][0]["backup_storage_uuids"] == [SOURCE]
    assert SERIES.pending_update({**first, **read.outputs})
