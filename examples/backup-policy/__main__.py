"""A backup policy for a fleet, run by ZStack itself: every night at 02:00, keep 7 backups here and 30 days
of copies on a remote backup storage.

Unlike examples/nightly-backups, no pipeline has to run each night: `pulumi up` declares one ZStack backup
schedule per VM (a scheduler job and its cron trigger), and ZStack takes, copies and prunes the backups.
Changing the policy here (the time, the retention, pausing with `enabled=False`) updates the schedules in
place. Stack config (see Pulumi.example.yaml):

    vms                       list of {name, rootVolumeUuid}: the VMs to back up
    backupStorageUuid         an Enabled ImageStore backup storage, for the nightly backups
    remoteBackupStorageUuid   a second ImageStore backup storage, for the offsite copies
"""

import pulumi
import pulumi_zstack as zstack

config = pulumi.Config()
local_storage = config.require("backupStorageUuid")
remote_storage = config.require("remoteBackupStorageUuid")

schedules = {
    vm["name"]: zstack.VmBackupSchedule(
        f"{vm['name']}-policy",
        root_volume_uuid=vm["rootVolumeUuid"],
        backup_storage_uuids=[local_storage],
        name=f"{vm['name']} nightly",
        description=f"Nightly backup of {vm['name']}: 7 kept here, 30 days offsite",
        cron="0 0 2 * * ?",
        retention_count=7,
        remote_backup_storage_uuid=remote_storage,
        remote_retention_days=30,
    )
    for vm in config.require_object("vms")
}

pulumi.export("jobs", {name: schedule.job_uuid for name, schedule in schedules.items()})
pulumi.export("backups", {name: schedule.backup_group_uuids for name, schedule in schedules.items()})
