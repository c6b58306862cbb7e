"""The dynamic provider classes the SDK pickles into state.

Their import path (``pulumi_zstack_provider.providers.<Name>``) is part of every stack's state: keep it.
"""

from __future__ import annotations

from ._provider import SchemaProvider
from ._vm_backup import VmBackupResource
from ._vm_backup_schedule import VmBackupScheduleResource
from ._vm_backup_series import VmBackupSeriesResource
from ._vm_from_backup import VmFromBackupResource


class VmBackupProvider(SchemaProvider):
    """Creates, reads and deletes ZStack VM backups (CreateVmBackup groups)."""

    definition = VmBackupResource()


class VmBackupSeriesProvider(SchemaProvider):
    """Takes, rotates and deletes a series of ZStack VM backups."""

    definition = VmBackupSeriesResource()


class VmBackupScheduleProvider(SchemaProvider):
    """Creates, updates and deletes a ZStack backup schedule (a vmBackup scheduler job and its triggers)."""

    definition = VmBackupScheduleResource()


class VmFromBackupProvider(SchemaProvider):
    """Restores, reads and removes a ZStack VM made from a VM backup group (CreateVmFromVmBackup)."""

    definition = VmFromBackupResource()


__all__ = ["VmBackupProvider", "VmBackupScheduleProvider", "VmBackupSeriesProvider", "VmFromBackupProvider"]
