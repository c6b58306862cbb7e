"""Write the reference pages of every resource: ``python -m pulumi_zstack_provider.docs DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

from ._docs import render_reference
from ._vm_backup import VmBackupProperties

PAGES = {
    "vm_backup.md": (
        VmBackupProperties,
        "VmBackup",
        "`pulumi_zstack.VmBackup` backs up every non-shareable root and data volume of a VM with ZStack's "
        "`CreateVmBackup`. Its id is the backup group's UUID. ZStack has no update API for backups, so every "
        "ZStack-side input replaces the backup when it changes.",
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
