"""Deleting backups that later auto backups build on: pruning and replacement never break a kept backup.

Through the provider's own take and delete code (`take_backup`, `delete_group`, which every VmBackup and
VmBackupSeries delete, prune and replacement goes through), against the simulator over real HTTP. The
simulator keeps ZStack's incremental chains (each auto backup builds on the previous backup of the same
volume) and deletes as ZStack does: without `handleDependency` the bits of a backup go even when later
backups build on them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pulumi_zstack_provider import VmBackupProperties
from pulumi_zstack_provider._backup_group import (
    DEFAULT_CREATE_TIMEOUT,
    DEFAULT_DELETE_TIMEOUT,
    Limits,
    delete_group,
    live_groups,
    take_backup,
)
from pulumi_zstack_provider._resource import OperationContext
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as zseed

pytestmark = pytest.mark.integration

VOLUMES = {zseed.RUNNING_VM_ROOT_VOLUME_UUID, *zseed.RUNNING_VM_DATA_VOLUME_UUIDS}


def _request() -> VmBackupProperties:
    return VmBackupProperties.model_validate(
        {
            "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
            "backup_storage_uuid": zseed.IMAGESTORE_BS_UUID,
            "name": "pre-release",
            "max_poll_interval": "0.2s",
            "owner_stack": "acme/backups/prod",
            "owner_urn": "urn:pulumi:prod::backups::pulumi-python:dynamic:Resource$zstack:VmBackup::web",
        }
    )


def _take(ctx: OperationContext) -> str:
    group_uuid = uuid.uuid4().hex
    limits = Limits.start(None, DEFAULT_CREATE_TIMEOUT, "0.2s")
    take_backup(ctx, _request(), group_uuid, limits, subject=f"backup {group_uuid}", hint="")
    return group_uuid


def _delete(ctx: OperationContext, group_uuid: str) -> None:
    limits = Limits.start(None, DEFAULT_DELETE_TIMEOUT, "0.2s")
    delete_group(ctx, group_uuid, limits, subject=f"backup {group_uuid}", hint="")


def _records(simulator: RunningSimulator) -> dict[str, dict[str, Any]]:
    """What the storage really holds, soft-deleted backups included (the simulator's admin view)."""
    return {b["uuid"]: b for b in simulator.simulator.backups()}


def _missing_ancestors(records: dict[str, dict[str, Any]], backup: dict[str, Any]) -> list[str]:
    """The ancestors of `backup` whose bits are no longer on its backup storage."""
    storage = {r["backupStorageUuid"] for r in backup["backupStorageRefs"]}
    missing, parent = [], backup["parentUuid"]
    for _ in range(len(records) + 1):  # a chain is never longer than the records
        if parent is None:
            break
        ancestor = records.get(parent)
        if ancestor is None or not storage & {r["backupStorageUuid"] for r in ancestor["backupStorageRefs"]}:
            missing.append(parent)
        parent = ancestor["parentUuid"] if ancestor else None
    return missing


def _assert_complete_and_restorable(simulator: RunningSimulator, group_uuid: str) -> None:
    records = _records(simulator)
    members = [b for b in records.values() if b["groupUuid"] == group_uuid]
    assert {m["volumeUuid"] for m in members} == VOLUMES
    assert {m["status"] for m in members} == {"Ready"}
    for member in members:
        assert _missing_ancestors(records, member) == [], f"member {member['uuid']} lost bits it builds on"
        assert member["restorable"] is True


def test_deleting_the_oldest_auto_backups_keeps_every_kept_backup_restorable(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    groups = [_take(ctx) for _ in range(4)]
    records = _records(simulator)
    newest_root = next(b for b in records.values() if b["groupUuid"] == groups[3] and b["type"] == "Root")
    assert newest_root["mode"] == "auto"
    assert len(_missing_ancestors(records, newest_root)) == 0
    assert newest_root["parentUuid"] is not None, "the newest backup builds on the older ones"

    for group_uuid in groups[:2]:
        _delete(ctx, group_uuid)

    assert set(live_groups(ctx, groups)) == set(groups[2:]), "the deleted backups are gone for the provider"
    for kept in groups[2:]:
        _assert_complete_and_restorable(simulator, kept)
    # What is left of the deleted backups holds only bits the kept ones build on.
    leftovers = [b for b in _records(simulator).values() if b["groupUuid"] in groups[:2]]
    assert {b["status"] for b in leftovers} <= {"Deleted"}
    deletes = [r for r in simulator.simulator.requests() if r.method == "DELETE"]
    assert deletes
    assert all("handleDependency=true" in r.query for r in deletes)


def test_deleting_the_replaced_backup_keeps_its_replacement_restorable(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    # Create-before-delete: the new backup builds on the old one, which is deleted afterwards.
    old, new = _take(ctx), _take(ctx)
    records = _records(simulator)
    new_root = next(b for b in records.values() if b["groupUuid"] == new and b["type"] == "Root")
    assert records[new_root["parentUuid"]]["groupUuid"] == old

    _delete(ctx, old)

    assert set(live_groups(ctx, [old, new])) == {new}
    _assert_complete_and_restorable(simulator, new)


@pytest.mark.parametrize("order", ["oldest first", "newest first"])
def test_deleting_every_backup_of_a_chain_leaves_no_record(
    ctx: OperationContext, simulator: RunningSimulator, order: str
) -> None:
    # A series destroy deletes oldest first; whatever the order, the soft-deleted backups are purged with
    # the last live one, so nothing stays behind on the backup storage.
    groups = [_take(ctx) for _ in range(3)]
    for group_uuid in groups if order == "oldest first" else reversed(groups):
        _delete(ctx, group_uuid)
    assert _records(simulator) == {}
