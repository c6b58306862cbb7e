"""One VM backup per VM listed in the stack config, applied from Git by the pipeline in this folder."""

import pulumi
import pulumi_zstack as zstack

config = pulumi.Config()
backup_storage = config.require("backupStorageUuid")

for vm in config.require_object("vms"):
    backup = zstack.VmBackup(
        vm["name"],
        root_volume_uuid=vm["rootVolumeUuid"],
        backup_storage_uuid=backup_storage,
        name=f"{vm['name']}-gitops",
        description="Managed by the zstack-backups pipeline; change it in Git, not in ZStack",
    )
    pulumi.export(vm["name"], backup.group_uuid)
