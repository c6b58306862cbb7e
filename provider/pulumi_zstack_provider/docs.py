"""Write the reference pages of every resource: ``python -m pulumi_zstack_provider.docs DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

from ._docs import render_reference
from ._schema import ResourceModel
from ._vm_backup import VmBackupProperties
from ._vm_backup_series import VmBackupSeriesProperties
from ._vm_from_backup import VmFromBackupProperties

PAGES: dict[str, tuple[type[ResourceModel], str, str]] = {
    "vm_backup.md": (
        VmBackupProperties,
        "VmBackup",
        "`pulumi_zstack.VmBackup` backs up every non-shareable root and data volume of a VM with ZStack's "
        "`CreateVmBackup`. Its id is the backup group's UUID. ZStack has no update API for backups, so every "
        "ZStack-side input, and `triggers`, replaces the backup when it changes: the new backup is made "
        "first, under a new group UUID, and the old one is deleted once it is Ready.",
    ),
    "vm_backup_series.md": (
        VmBackupSeriesProperties,
        "VmBackupSeries",
        "`pulumi_zstack.VmBackupSeries` keeps the newest `keep` backups of one VM, each a `CreateVmBackup` "
        "group. Create takes the first backup; a change of `triggers` takes a new one and then deletes the "
        "oldest beyond `keep` (an update, not a replacement). Its id is a UUID of the series, which is not "
        "a ZStack object. Changing a ZStack-side input replaces the whole series, the new one made first.",
    ),
    "vm_from_backup.md": (
        VmFromBackupProperties,
        "VmFromBackup",
        "`pulumi_zstack.VmFromBackup` is a new VM made from a VM backup group with ZStack's "
        "`CreateVmFromVmBackup`: one volume per member of the group, one NIC per L3 network. Its id is the "
        "VM's UUID, derived from the resource's URN and inputs, so an interrupted create resumes the same VM "
        "instead of making a second one. Create waits until the VM is in the state its `strategy` promises "
        "(`Running` by default). Every ZStack-side input, `group_uuid` included, replaces the VM: the new VM "
        "is made first, then the old one is destroyed and expunged. Refresh drops a VM destroyed outside "
        "Pulumi, and a VM found in another state than its strategy promises (stopped, say) is made again at "
        "the next `up`. Data volumes of a removed VM stay in ZStack, detached (ZStack's "
        "`dataVolume.deleteOnVmDestroy` is false by default).",
    ),
}


def render_all() -> dict[str, str]:
    return {
        name: render_reference(model, title, intro) + "\n" for name, (model, title, intro) in PAGES.items()
    }


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path("docs/reference")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (target / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
