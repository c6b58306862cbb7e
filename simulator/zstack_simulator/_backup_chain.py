"""Incremental backup chains on an ImageStore backup storage, and what deleting one link does to them.

Modelled on ZStack's server classes `VolumeBackupKvmBackend` (which backup a new one builds on),
`VolumeBackupManagerImpl.doDeleteVolumeBackup` and `VolumeBackupUtils` (deletion and `handleDependency`):

* ZStack remembers, per volume, the last backup taken (`VolumeBackupHistoryVO`); a new `auto` backup on the
  storage that backup is on extends its image. A full backup (asked for, or because the chain already holds
  `incrementalBackup.maxNum` images) and a backup with no such last backup start a new chain.
* The image store names every image `zstore://<namespace>/<image id>`, the namespace being the base image's,
  so all backups of one chain share the first path segment: ZStack's "chain name".
* Deleting a backup deletes its bits, unless `handleDependency` is set and other live backups of its chain
  remain and it is not the top of the chain: then its refs stay, marked `Deleted`, and so does the backup.
  When nothing but such soft-deleted backups is left of a chain on a storage, deleting the last live one
  purges them too.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ._model import StateData, VolumeBackup, VolumeBackupHistory

ZSTORE = "zstore://"
DELETED = "Deleted"
# groupBackupByChain leaves out backups still Creating: they are in no chain yet.
_CHAINED_STATUSES = frozenset({"Ready", DELETED})


def chain_name(install_path: str | None) -> str:
    """ZStack's `getBackupChainName`: the namespace part of a `zstore://` install path."""
    return (install_path or "").removeprefix(ZSTORE).split("/")[0]


def image_path(namespace: str) -> str:
    """A new image in `namespace`, as the image store allocates one."""
    return f"{ZSTORE}{namespace}/{uuidlib.uuid4().hex}{uuidlib.uuid4().hex}"


@dataclass(frozen=True)
class BackupPlan:
    """What one CreateVmBackup takes: its mode, and for each volume the backup its image extends."""

    mode: Literal["auto", "full"]
    parents: Mapping[str, VolumeBackup] = field(default_factory=dict)
    """Volume uuid → the backup it builds on; a volume left out gets a base image."""


class BackupChains:
    """The chains of every volume's backups in one simulator's data (call under the simulator's lock)."""

    def __init__(self, data: StateData) -> None:
        self._data = data

    def _backup(self, backup_uuid: str | None) -> VolumeBackup | None:
        return next((b for b in self._data.volume_backups if b.uuid == backup_uuid), None)

    # ------------------------------------------------------------------ taking backups

    def plan(
        self, volume_uuids: Collection[str], storage_uuid: str, *, full: bool, max_incremental: int
    ) -> BackupPlan:
        """The flows "clean-backup-histories" and "compute-backup-mode" of a CreateVmBackup.

        The volumes' histories are cleared whatever happens next, so a backup that fails leaves the next
        one to start new chains. One chain at its limit makes the whole VM backup full.
        """
        parents = {v: last for v in volume_uuids if (last := self._last_backup(v, storage_uuid)) is not None}
        self._data.volume_backup_histories = [
            h for h in self._data.volume_backup_histories if h.volume_uuid not in volume_uuids
        ]
        if full or any(self.length(parent) >= max_incremental for parent in parents.values()):
            return BackupPlan("full")
        return BackupPlan("auto", parents)

    def _last_backup(self, volume_uuid: str, storage_uuid: str) -> VolumeBackup | None:
        # getAndClearBackupsInfo joins the history with the last backup's ref on this storage, whatever the
        # status of either: a soft-deleted last backup is still extended. A deleted row takes its history
        # with it (foreign key with cascade), so a history naming a missing backup counts as none.
        history = next((h for h in self._data.volume_backup_histories if h.volume_uuid == volume_uuid), None)
        last = self._backup(history.last_backup_uuid) if history else None
        if last is None or not any(r.backup_storage_uuid == storage_uuid for r in last.backup_storage_refs):
            return None
        return last

    def namespace_for(self, parent: VolumeBackup | None, storage_uuid: str) -> str:
        """The chain a new image goes into: its parent's, or a new one for a base image."""
        if parent is not None:
            for ref in parent.backup_storage_refs:
                if ref.backup_storage_uuid == storage_uuid:
                    return chain_name(ref.install_path)
        return uuidlib.uuid4().hex

    def record(self, backup: VolumeBackup) -> None:
        """A backup that became Ready is the one the volume's next auto backup extends."""
        self._data.volume_backup_histories = [
            h for h in self._data.volume_backup_histories if h.volume_uuid != backup.volume_uuid
        ]
        self._data.volume_backup_histories.append(
            VolumeBackupHistory(volume_uuid=backup.volume_uuid, last_backup_uuid=backup.uuid)
        )

    def _ancestry(self, backup: VolumeBackup) -> Iterator[VolumeBackup | None]:
        """`backup`, then each image it builds on, down to the base; None where a link's record is gone."""
        by_uuid = {b.uuid: b for b in self._data.volume_backups}
        seen: set[str] = set()
        node: VolumeBackup | None = backup
        while node is not None and node.uuid not in seen:
            seen.add(node.uuid)
            yield node
            if node.parent_uuid is None:
                return
            node = by_uuid.get(node.parent_uuid)
        yield None

    def length(self, backup: VolumeBackup) -> int:
        """How many images the chain ending in `backup` holds, its base included."""
        return sum(1 for node in self._ancestry(backup) if node is not None)

    def restorable(self, backup: VolumeBackup) -> bool:
        """Whether some storage still holds the bits of `backup` and of every image it builds on."""
        return any(self._bits_complete(backup, r.backup_storage_uuid) for r in backup.backup_storage_refs)

    def _bits_complete(self, backup: VolumeBackup, storage_uuid: str) -> bool:
        # A ref marked Deleted still has its bits; only a deleted ref took them away.
        return all(
            node is not None and any(r.backup_storage_uuid == storage_uuid for r in node.backup_storage_refs)
            for node in self._ancestry(backup)
        )

    # ------------------------------------------------------------------ deleting backups

    def _chains_of_volume(self, volume_uuid: str) -> dict[str, list[str]]:
        """`groupBackupByChain`: chain name → backup uuids, the volume's last backup first, then newest
        first (records are kept in creation order, which breaks ties between equal dates)."""
        history = next((h for h in self._data.volume_backup_histories if h.volume_uuid == volume_uuid), None)
        last = history.last_backup_uuid if history else None
        chained = [
            (position, b)
            for position, b in enumerate(self._data.volume_backups)
            if b.volume_uuid == volume_uuid and b.status in _CHAINED_STATUSES
        ]
        chained.sort(key=lambda item: (item[1].uuid != last, -item[1].create_date, -item[0]))
        chains: dict[str, list[str]] = {}
        for _, backup in chained:
            for ref in backup.backup_storage_refs:
                chains.setdefault(chain_name(ref.install_path), []).append(backup.uuid)
        return chains

    def delete(
        self, backup: VolumeBackup, storage_uuids: Iterable[str], *, handle_dependency: bool, now: float
    ) -> None:
        """`doDeleteVolumeBackup` on the given storages (all of them when none is given)."""
        if not backup.backup_storage_refs:
            self._data.volume_backups.remove(backup)
            return
        wanted = set(storage_uuids)
        chains = self._chains_of_volume(backup.volume_uuid)
        targeted = [r for r in backup.backup_storage_refs if not wanted or r.backup_storage_uuid in wanted]
        # updateBackupStatus: the targeted refs, and the backup once no ref is left live, become Deleted
        # before any bits go.
        for ref in targeted:
            ref.status, ref.last_op_date = DELETED, now
        if all(r.status == DELETED for r in backup.backup_storage_refs):
            backup.status, backup.last_op_date = DELETED, now
        purges: dict[str, list[str]] = {}
        for ref in targeted:
            chain = chains.get(chain_name(ref.install_path), [])
            storage = ref.backup_storage_uuid
            others = {
                other.uuid: other_ref.status
                for other in self._data.volume_backups
                if other.uuid in chain and other.uuid != backup.uuid
                for other_ref in other.backup_storage_refs
                if other_ref.backup_storage_uuid == storage
            }
            whole_chain_deleted = all(status == DELETED for status in others.values())
            if whole_chain_deleted:
                for other_uuid in others:
                    purges.setdefault(other_uuid, []).append(storage)
            if not handle_dependency or not chain or chain[0] == backup.uuid or whole_chain_deleted:
                backup.backup_storage_refs.remove(ref)  # the bits go, and the ref with them
        if not backup.backup_storage_refs:
            self._data.volume_backups.remove(backup)
        # The server sends these as VolumeBackupDeletionMsg, whose handleDependency is false.
        for other_uuid, storages in purges.items():
            other = self._backup(other_uuid)
            if other is not None:
                self.delete(other, storages, handle_dependency=False, now=now)
