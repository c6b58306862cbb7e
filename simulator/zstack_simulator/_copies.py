"""Offsite copies: SyncVmBackupFromImageStoreBackupStorage, and a scheduler job's copy to its remote store.

A copy is a second `backupStorageRefs` entry of each member, with the same install path as the source copy
(server class `VolumeBackupManagerImpl.doSync`). Deleting with `backupStorageUuids=[dst]` removes only it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import ApiError, PlainTextError, mandatory, not_found_error
from ._inventory import volume_backup_inventory
from ._model import BackupStorage, BackupStorageRef, Job, StateData, VolumeBackup

SYNC_VM_BACKUP = "SyncVmBackupFromImageStoreBackupStorage"
# @DefaultTimeout(timeunit = HOURS, value = 24) on APISyncVmBackupFromImageStoreBackupStorageMsg.
SYNC_VM_BACKUP_TIMEOUT_MS = 24 * 3600 * 1000
_BODY_KEY = "syncVmBackupFromImageStoreBackupStorage"
_SYNC_MSG = "org.zstack.header.storage.volume.backup.APISyncVmBackupFromImageStoreBackupStorageMsg"
_IMAGESTORE = "ImageStoreBackupStorage"


def _member_missing(backup: VolumeBackup, storage_uuid: str) -> ApiError:
    return ApiError(
        "SYS.1006", f"volume backup[uuid:{backup.uuid}] not found in backup storage[uuid:{storage_uuid}]"
    )


class Copies:
    """Copies of VM backup groups from one ImageStore backup storage to another."""

    def __init__(self, data: StateData) -> None:
        self._data = data

    def _storage(self, uuid: str) -> BackupStorage | None:
        return next((b for b in self._data.backup_storages if b.uuid == uuid), None)

    def _backup(self, uuid: str) -> VolumeBackup | None:
        return next((b for b in self._data.volume_backups if b.uuid == uuid), None)

    # ----------------------------------------------------------------- the API

    def prepare(self, group_uuid: str, body: Any) -> dict[str, Any]:
        """REST-layer checks: the body must carry the action's key (400 otherwise)."""
        arguments = body.get(_BODY_KEY) if isinstance(body, dict) else None
        if not isinstance(arguments, dict):
            raise PlainTextError(
                400,
                f"the body doesn't contain action mapping to the URL[/v1/vm-backups/{group_uuid}/actions]",
            )
        # Path variables win over body fields.
        return {"params": dict(arguments) | {"groupUuid": group_uuid}}

    def start(self, job: Job, now: float) -> None:
        """The interceptor's checks, then a `Creating` ref on the destination for each member."""
        params = job.params["params"]
        for name in ("srcBackupStorageUuid", "dstBackupStorageUuid"):
            if params.get(name) is None:
                raise mandatory(name, _SYNC_MSG)
        source_uuid, destination_uuid = (
            str(params["srcBackupStorageUuid"]),
            str(params["dstBackupStorageUuid"]),
        )
        storages: list[BackupStorage] = []
        for name, uuid in (("srcBackupStorageUuid", source_uuid), ("dstBackupStorageUuid", destination_uuid)):
            storage = self._storage(uuid)
            if storage is None:
                raise not_found_error(name, uuid, "BackupStorageVO")
            storages.append(storage)
        destination = storages[1]
        # VolumeBackupApiInterceptor checks the destination's state (twice), never the source's.
        if destination.state != "Enabled":
            raise ApiError(
                "SYS.1006",
                f"current backup storage state[{destination.state}] doesn't allow to proceed "
                f"message[{_SYNC_MSG}], allowed states are [Enabled]",
            )
        self._check_imagestore(storages)
        members = self._verified_group(str(params["groupUuid"]))
        added, revived, failure = self._plan(members, source_uuid, destination_uuid, now)
        job.params.update(added=added, revived=revived, memberError=failure.error if failure else None)

    def finish(self, job: Job, now: float) -> dict[str, Any]:
        params = job.params["params"]
        destination = str(params["dstBackupStorageUuid"])
        if job.inject_error is not None:
            # The push flow's rollback removes the refs it created.
            self._drop_refs(job.params["added"], destination)
            error = job.inject_error
            raise ApiError(error["code"], error.get("details"), error.get("description"))
        synced = self._complete(job.params["added"] + job.params["revived"], destination, now)
        failure = job.params["memberError"]
        if failure is not None:
            raise ApiError(failure["code"], failure.get("details"), failure.get("description"))
        return {"inventories": [volume_backup_inventory(b) for b in synced]}

    # ----------------------------------------------------------------- a scheduler job's copy after a backup

    def copy_members(
        self, backup_uuids: Iterable[str], source_uuid: str, destination_uuid: str, now: float
    ) -> ApiError | None:
        """`SyncBackupFromImageStoreBackupStorageMsg` per member, done at once; returns the first error."""
        storages = [self._storage(source_uuid), self._storage(destination_uuid)]
        if any(s is not None and s.state == "Disabled" for s in storages):
            return ApiError(
                "SYS.1006",
                f"One of the backup storage[uuids: {destination_uuid}, {source_uuid}] is in the state of "
                "Disabled, can not do sync operation",
            )
        try:
            self._check_imagestore([s for s in storages if s is not None])
        except ApiError as exc:
            return exc
        members = [b for b in (self._backup(u) for u in backup_uuids) if b is not None]
        added, revived, failure = self._plan(members, source_uuid, destination_uuid, now)
        self._complete(added + revived, destination_uuid, now)
        return failure

    # ----------------------------------------------------------------- shared steps

    @staticmethod
    def _check_imagestore(storages: Iterable[BackupStorage]) -> None:
        # INFERRED: the bits move by PushBitsBetweenImageStoreMsg, which only ImageStore storages serve.
        for storage in storages:
            if storage.type != _IMAGESTORE:
                raise ApiError(
                    "SYS.1006", f"Unexpected backup storage[type:{storage.type},uuid:{storage.uuid}]"
                )

    def _verified_group(self, group_uuid: str) -> list[VolumeBackup]:
        """`VolumeBackupManagerImpl.verifyGroupUuid`, whose messages name the first member, not the group."""
        members = [b for b in self._data.volume_backups if b.group_uuid == group_uuid]
        if not members:
            raise ApiError("SYS.1003", f"No volume backups found with group uuid: {group_uuid}")
        roots = sum(1 for b in members if b.type == "Root")
        if roots == 0:
            raise ApiError("SYS.1006", f"Root volume missing within group uuid: {members[0].uuid}")
        if roots > 1:
            raise ApiError("SYS.1006", f"Multiple root volumes found within group uuid: {members[0].uuid}")
        return members

    def _plan(
        self, members: Iterable[VolumeBackup], source_uuid: str, destination_uuid: str, now: float
    ) -> tuple[list[str], list[str], ApiError | None]:
        """Members are copied one after the other; the first one that cannot be stops the rest."""
        added: list[str] = []
        revived: list[str] = []
        for backup in members:
            source = next(
                (r for r in backup.backup_storage_refs if r.backup_storage_uuid == source_uuid), None
            )
            # INFERRED: a copy still being written has no bits to push yet.
            if source is None or source.status == "Creating":
                return added, revived, _member_missing(backup, source_uuid)
            if any(r.backup_storage_uuid == destination_uuid for r in backup.backup_storage_refs):
                revived.append(backup.uuid)
                continue
            backup.backup_storage_refs.append(
                BackupStorageRef(
                    backup_storage_uuid=destination_uuid,
                    install_path=source.install_path,
                    status="Creating",
                    create_date=now,
                    last_op_date=now,
                )
            )
            added.append(backup.uuid)
        return added, revived, None

    def _complete(self, backup_uuids: Iterable[str], destination_uuid: str, now: float) -> list[VolumeBackup]:
        """The destination refs become Ready, and so does a member that showed `Deleted`."""
        done: list[VolumeBackup] = []
        for backup in (self._backup(u) for u in backup_uuids):
            ref = (
                None
                if backup is None
                else next(
                    (r for r in backup.backup_storage_refs if r.backup_storage_uuid == destination_uuid), None
                )
            )
            if backup is None or ref is None:
                continue  # deleted while the copy ran
            ref.status, ref.last_op_date = "Ready", now
            if backup.status != "Ready":
                backup.status, backup.last_op_date = "Ready", now
            done.append(backup)
        return done

    def _drop_refs(self, backup_uuids: Iterable[str], destination_uuid: str) -> None:
        for backup in (self._backup(u) for u in backup_uuids):
            if backup is not None:
                backup.backup_storage_refs = [
                    r for r in backup.backup_storage_refs if r.backup_storage_uuid != destination_uuid
                ]
