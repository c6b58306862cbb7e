"""VmBackupSeries create, update, read and delete against the simulator over real HTTP, without the engine."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pulumi_zstack_provider import VmBackupSeriesProperties, ZStackError
from pulumi_zstack_provider._ownership import OwnerTag
from pulumi_zstack_provider._resource import OperationContext
from pulumi_zstack_provider._vm_backup_series import VmBackupSeriesResource
from pulumi_zstack_provider.providers import VmBackupSeriesProvider
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as zseed

from tests.provider.conftest import StartRun

pytestmark = pytest.mark.integration

RESOURCE = VmBackupSeriesResource()
STACK = "organization/backups/dev"
URN = "urn:pulumi:dev::backups::pulumi-python:dynamic/zstack:VmBackupSeries::pre-release"


def props(**overrides: Any) -> VmBackupSeriesProperties:
    """A declaration as the SDK sends it: the user's inputs and the resource's owner."""
    values = {
        "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
        "backup_storage_uuid": zseed.IMAGESTORE_BS_UUID,
        "name": "pre-release",
        "keep": 1,
        "triggers": ["1.0"],
        "owner_stack": STACK,
        "owner_urn": URN,
        "max_poll_interval": "0.2s",
        **overrides,
    }
    return VmBackupSeriesProperties.model_validate(values)


def live_groups(simulator: RunningSimulator) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for backup in simulator.simulator.backups():
        if backup.get("status") != "Deleted":
            groups.setdefault(backup["groupUuid"], []).append(backup)
    return groups


def holders(simulator: RunningSimulator, group_uuid: str) -> list[tuple[str, str]]:
    """(URN, claim) of every owner tag on the group's root volume backup."""
    root = next(m for m in live_groups(simulator)[group_uuid] if m["type"] == "Root")
    tags = (OwnerTag.parse(tag) for tag in root["userTags"])
    return [(tag.urn, tag.claim) for tag in tags if tag is not None]


def created_posts(simulator: RunningSimulator) -> int:
    return sum(1 for r in simulator.simulator.requests() if r.api == "CreateVmBackup" and r.method == "POST")


def test_create_takes_the_first_backup_and_tags_it_as_the_series(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    series_uuid, outputs = RESOURCE.create(ctx, props(user_tags=["team::ops"]))

    (group_uuid,) = live_groups(simulator)
    assert outputs["series_uuid"] == series_uuid
    assert outputs["group_uuids"] == [group_uuid]
    assert outputs["latest_group_uuid"] == group_uuid
    assert outputs["takes"] == 1
    assert outputs["prune_pending"] is None
    (entry,) = outputs["backups"]
    assert (entry["take"], entry["triggers"], entry["status"]) == (1, ["1.0"], "Ready")
    assert entry["volume_uuids"] == sorted(
        [zseed.RUNNING_VM_ROOT_VOLUME_UUID, *zseed.RUNNING_VM_DATA_VOLUME_UUIDS]
    )
    assert holders(simulator, group_uuid) == [(URN, outputs["owner_claim"])]
    assert all("team::ops" in m["userTags"] for m in live_groups(simulator)[group_uuid])


def test_an_interrupted_first_create_is_resumed_and_a_replacement_gets_another_series(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    refused = simulator.simulator.faults.error_503(
        code="SYS.1007", method="POST", path="/zstack/v1/user-tags"
    )
    with pytest.raises(ZStackError, match="tags it"):
        RESOURCE.create(ctx, props())
    simulator.simulator.faults.remove(refused.id)
    (made,) = live_groups(simulator)

    series_uuid, outputs = RESOURCE.create(ctx, props())
    assert outputs["group_uuids"] == [made], "the backup the interrupted create made, not a second one"
    assert created_posts(simulator) == 1

    new_run()  # `pulumi up --replace`: a new series, made before the old one is deleted
    replacement_uuid, replacement = RESOURCE.create(ctx, props())
    assert replacement_uuid != series_uuid
    assert replacement["group_uuids"] != [made]
    RESOURCE.delete(ctx, series_uuid, outputs)
    assert list(live_groups(simulator)) == replacement["group_uuids"]


def test_new_triggers_take_a_backup_and_prune_the_oldest_beyond_keep(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    series_uuid, first = RESOURCE.create(ctx, props())
    new_run()

    outputs = RESOURCE.update(ctx, series_uuid, first, props(triggers=["1.1"]))

    (newest,) = live_groups(simulator)
    assert first["group_uuids"] != [newest]
    assert outputs["group_uuids"] == [newest]
    assert (outputs["takes"], outputs["backups"][0]["take"], outputs["backups"][0]["triggers"]) == (
        2,
        2,
        ["1.1"],
    )
    assert outputs["prune_pending"] is None
    assert outputs["owner_claim"] == first["owner_claim"]
    assert holders(simulator, newest) == [(URN, first["owner_claim"])]


def test_a_failed_prune_keeps_the_new_backup_and_the_next_update_finishes_the_prune(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun, caplog: pytest.LogCaptureFixture
) -> None:
    series_uuid, first = RESOURCE.create(ctx, props())
    (oldest,) = first["group_uuids"]
    new_run()
    refused = simulator.simulator.faults.fail_member_delete()

    with caplog.at_level(logging.WARNING, logger="pulumi_zstack"):
        outputs = RESOURCE.update(ctx, series_uuid, first, props(triggers=["1.1"]))

    newest = outputs["latest_group_uuid"]
    assert newest != oldest
    assert outputs["group_uuids"] == [newest], "the backup just taken is in the state"
    assert outputs["takes"] == 2
    assert outputs["prune_pending"] == [oldest]
    assert set(live_groups(simulator)) == {oldest, newest}
    assert f"backup group {oldest} could not be deleted" in caplog.text
    assert "prune_pending" in caplog.text
    state = {**outputs, "__provider": "blob"}
    declared = {**props(triggers=["1.1"]).model_dump(), "__provider": "blob"}
    pending = VmBackupSeriesProvider().diff(series_uuid, state, declared)
    assert (pending.changes, pending.replaces) == (True, []), "a preview shows the prune still to do"

    simulator.simulator.faults.remove(refused.id)
    new_run()
    finished = RESOURCE.update(ctx, series_uuid, outputs, props(triggers=["1.1"]))

    assert finished["prune_pending"] is None
    assert finished["group_uuids"] == [newest]
    assert finished["takes"] == 2, "finishing the prune takes no backup"
    assert list(live_groups(simulator)) == [newest]
    done = VmBackupSeriesProvider().diff(series_uuid, {**finished, "__provider": "blob"}, declared)
    assert (done.changes, done.replaces) == (False, [])


def test_refresh_drops_a_backup_that_lost_a_volume_backup_and_the_next_update_deletes_it(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    series_uuid, first = RESOURCE.create(ctx, props(keep=2))
    new_run()
    state = RESOURCE.update(ctx, series_uuid, first, props(keep=2, triggers=["1.1"]))
    newest, broken = state["group_uuids"]
    data_member = next(m for m in live_groups(simulator)[broken] if m["type"] == "Data")
    simulator.simulator.delete_backup(data_member["uuid"])

    outcome = RESOURCE.read(ctx, series_uuid, state)

    assert outcome is not None
    assert outcome.outputs["group_uuids"] == [newest]
    assert outcome.outputs["missing_group_uuids"] == [broken]
    assert outcome.outputs["prune_pending"] == [broken]
    refreshed = {**outcome.inputs, **outcome.outputs}
    new_run()
    updated = RESOURCE.update(ctx, series_uuid, refreshed, props(keep=2, triggers=["1.1"]))
    assert updated["prune_pending"] is None
    assert list(live_groups(simulator)) == [newest]


def test_delete_removes_every_backup_of_the_series(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    series_uuid, first = RESOURCE.create(ctx, props(keep=2))
    new_run()
    state = RESOURCE.update(ctx, series_uuid, first, props(keep=2, triggers=["1.1"]))
    assert len(live_groups(simulator)) == 2

    new_run()
    RESOURCE.delete(ctx, series_uuid, state)
    assert live_groups(simulator) == {}
    RESOURCE.delete(ctx, series_uuid, state)
