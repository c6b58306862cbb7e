"""Backups made outside Pulumi (in the ZStack UI, by a script, by another tool), in a stack.

Two ways, both keyed by the backup group's uuid (a VmBackup's id is its ZStack `groupUuid`):

- `VmBackup.get(name, group_uuid)` only reads the group: its inputs and outputs become available to the
  program, and `pulumi destroy` leaves it alone in ZStack. Here: a "golden" backup that operations keep.
- `VmBackup(name, group_uuid=..., ...)` adopts the group: the stack now manages it, `pulumi up` makes no
  new backup, and `pulumi destroy` deletes it. Its inputs must describe the group (same root volume,
  backup storage and name); see Pulumi.example.yaml.
"""

import pulumi
import pulumi_zstack as zstack

config = pulumi.Config()

golden = zstack.VmBackup.get("golden", config.require("goldenGroupUuid"))
pulumi.export("golden_name", golden.name)
pulumi.export("golden_volumes", golden.members.apply(len))

adopt = config.require_object("adopt")
adopted = zstack.VmBackup(
    "adopted",
    group_uuid=adopt["groupUuid"],
    root_volume_uuid=adopt["rootVolumeUuid"],
    backup_storage_uuid=adopt["backupStorageUuid"],
    name=adopt["name"],
    opts=pulumi.ResourceOptions(protect=config.get_bool("protect") or False),
)
pulumi.export("adopted_group", adopted.group_uuid)
pulumi.export("adopted_status", adopted.status)
