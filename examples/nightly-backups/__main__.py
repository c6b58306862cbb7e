"""Nightly backups of the VMs listed in the stack config.

A scheduled job (cron, or a pipeline like examples/gitops) runs, each night:

    pulumi config set night "$(date -u +%F)"
    pulumi up --yes

The night is part of each backup's name, so a new night replaces every VM's backup: the new one is made
first, then last night's is deleted. Stack config (see Pulumi.example.yaml):

    vms                 list of {name, rootVolumeUuid}: the VMs to back up
    backupStorageUuid   an Enabled ImageStore backup storage
    night               the date of this run; set by the scheduled job
"""

import pulumi
import pulumi_zstack as zstack

config = pulumi.Config()
night = config.require("night")
backup_storage = config.require("backupStorageUuid")

backups = {
    vm["name"]: zstack.VmBackup(
        f"{vm['name']}-nightly",
        root_volume_uuid=vm["rootVolumeUuid"],
        backup_storage_uuid=backup_storage,
        name=f"{vm['name']}-{night}",
        description=f"Nightly backup of {vm['name']} for {night}",
    )
    for vm in config.require_object("vms")
}

pulumi.export("night", night)
pulumi.export("groups", {name: backup.group_uuid for name, backup in backups.items()})
pulumi.export("sizes", {name: backup.total_size for name, backup in backups.items()})
