"""Quickstart: back up one ZStack VM.

Connection settings are stack config (`zstack:host`, `zstack:port`, `zstack:accountName`,
`zstack:accountPassword` as a secret, or `zstack:accessKeyId` and `zstack:accessKeySecret`) or the
`ZSTACK_*` environment variables. `scripts/demo` sets them for the bundled simulator.
"""

import pulumi
import pulumi_zstack as zstack

config = pulumi.Config()

backup = zstack.VmBackup(
    "quickstart",
    root_volume_uuid=config.require("rootVolumeUuid"),
    backup_storage_uuid=config.require("backupStorageUuid"),
    name=config.require("backupName"),
    description="Made by the pulumi-zstack quickstart",
)

pulumi.export("group_uuid", backup.group_uuid)
pulumi.export("vm_instance_uuid", backup.vm_instance_uuid)
pulumi.export("backup_name", backup.backup_name)
pulumi.export("status", backup.status)
pulumi.export("volume_backups", backup.members.apply(len))
pulumi.export("total_size_bytes", backup.total_size)
