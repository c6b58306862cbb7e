"""A restore drill: restore the newest backup of a VmBackupSeries and prove that it boots.

The backup group comes from the stack that keeps the series (a StackReference to its `latest_backup`
output), or from the `groupUuid` config. The VM is restored into an isolated network, so that it never
answers for the production VM, and `pulumi up` succeeds only once ZStack reports it `Running`. The drill is
then destroyed again (`examples/gitops/pipeline.sh drill` does all of it):

    pulumi up --yes && pulumi stack output state && pulumi destroy --yes

A backup that cannot be restored (a volume backup deleted, not Ready, or missing on its storage) fails
`pulumi up` with a message naming the group.
"""

import pulumi
import pulumi_zstack as zstack

config = pulumi.Config()

group_uuid: pulumi.Input[str]
if config.get("groupUuid"):
    group_uuid = config.require("groupUuid")
else:
    backups = pulumi.StackReference(config.require("backupsStack"))
    group_uuid = backups.require_output(config.get("backupsOutput") or "latest_backup")

drill = zstack.VmFromBackup(
    "restore-drill",
    group_uuid=group_uuid,
    name="restore-drill",
    description="Restore drill: proves the newest backup boots; destroyed when the drill ends",
    instance_offering_uuid=config.require("instanceOfferingUuid"),
    l3_network_uuids=[config.require("l3NetworkUuid")],
    strategy="InstantStart",
    create_timeout=config.get("restoreTimeout") or "60m",
)

pulumi.export("restored_group", drill.group_uuid)
pulumi.export("restored_vm", drill.id)
pulumi.export("state", drill.state)
pulumi.export("ip", drill.nics.apply(lambda nics: nics[0]["ip"] if nics else None))
pulumi.export("root_volume", drill.root_volume_uuid)
pulumi.export("data_volumes", drill.data_volume_uuids)
