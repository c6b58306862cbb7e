"""Manage ZStack Cloud VM backups as code with Pulumi.

    import pulumi_zstack as zstack

    backup = zstack.VmBackup("nightly", root_volume_uuid="...", backup_storage_uuid="...", name="nightly")
    series = zstack.VmBackupSeries("pre-release", root_volume_uuid="...", backup_storage_uuid="...",
                                   name="pre-release", keep=3, triggers=[app_version])
    policy = zstack.VmBackupSchedule("nightly", root_volume_uuid="...", backup_storage_uuids=["..."],
                                     name="nightly", cron="0 0 2 * * ?", retention_count=7)
    drill = zstack.VmFromBackup("drill", group_uuid=series.latest_group_uuid, name="drill",
                                instance_offering_uuid="...", l3_network_uuids=["..."])

Connection settings come from stack config (``zstack:host``, ``zstack:accountName``,
``zstack:accountPassword``, ``zstack:accessKeyId``, ``zstack:accessKeySecret``, ...) or the ``ZSTACK_*``
environment variables of the official Terraform provider.
"""

from ._vm_backup import VmBackup, VmBackupArgs
from ._vm_backup_schedule import VmBackupSchedule, VmBackupScheduleArgs
from ._vm_backup_series import VmBackupSeries, VmBackupSeriesArgs
from ._vm_from_backup import VmFromBackup, VmFromBackupArgs

__all__ = [
    "VmBackup",
    "VmBackupArgs",
    "VmBackupSchedule",
    "VmBackupScheduleArgs",
    "VmBackupSeries",
    "VmBackupSeriesArgs",
    "VmFromBackup",
    "VmFromBackupArgs",
]
