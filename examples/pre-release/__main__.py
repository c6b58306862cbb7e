"""Before every release of an application, back up its VM; keep the backups of the last three releases.

The release pipeline sets the version it is about to deploy and runs `pulumi up`:

    pulumi config set appVersion 2.4.0
    pulumi up --yes

A new version takes a new backup (an update of the series, shown as `~ update` in the preview, with
`triggers` as the changed input) and then deletes the oldest backups beyond `keep`. Running `pulumi up`
again for the same version changes nothing. Roll back with the backup of the release before: it is
`backups[1]` in the stack outputs.
"""

import pulumi
import pulumi_zstack as zstack

config = pulumi.Config()
app_version = config.require("appVersion")

series = zstack.VmBackupSeries(
    "pre-release",
    root_volume_uuid=config.require("rootVolumeUuid"),
    backup_storage_uuid=config.require("backupStorageUuid"),
    name="pre-release",
    description="Taken by the release pipeline before deploying a new version",
    keep=3,
    triggers=[app_version],
)

pulumi.export("latest_backup", series.latest_group_uuid)
pulumi.export("kept_backups", series.group_uuids)
pulumi.export(
    "backups_by_version",
    series.backups.apply(lambda backups: {str(b["triggers"][0]): b["group_uuid"] for b in backups}),
)
