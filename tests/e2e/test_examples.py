"""The programs in examples/ through the real CLI against the simulator: nightly backups, adopting a group.

Each example's `__main__.py` runs as the program of the `zstack_stack` fixture's project, with the stack
config the example documents (under that project's name).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from zstack_simulator import seed

from tests.fixtures.engine import REPO_ROOT
from tests.fixtures.ownership import check_ownership
from tests.fixtures.stack import PROJECT, ZStackStack, group_made_outside_pulumi

pytestmark = pytest.mark.e2e

EXAMPLES = REPO_ROOT / "examples"
# name -> root volume: the seed's VMs that may be backed up (running, paused, root volume only).
VMS = {
    "web-01": seed.RUNNING_VM_ROOT_VOLUME_UUID,
    "db-01": seed.PAUSED_VM_ROOT_VOLUME_UUID,
    "build-01": seed.ROOT_ONLY_VM_ROOT_VOLUME_UUID,
}


def _use_example(stack: ZStackStack, name: str) -> None:
    stack.write_program((EXAMPLES / name / "__main__.py").read_text())


def _set_object(stack: ZStackStack, key: str, values: dict[str, str]) -> None:
    for field, value in values.items():
        stack.run(["config", "set", "--path", f"{PROJECT}:{key}.{field}", value])


def _groups_by_root_volume(stack: ZStackStack) -> dict[str, str]:
    """Root volume uuid -> uuid of the live backup group that holds it."""
    return {
        str(b["volumeUuid"]): group
        for group, members in stack.live_groups().items()
        for b in members
        if b["volumeUuid"] in VMS.values()
    }


def test_nightly_backups_back_up_every_listed_vm_and_replace_them_the_next_night(
    zstack_stack: ZStackStack,
) -> None:
    _use_example(zstack_stack, "nightly-backups")
    zstack_stack.set_config(
        {f"{PROJECT}:backupStorageUuid": seed.IMAGESTORE_BS_UUID, f"{PROJECT}:night": "2026-11-29"}
    )
    for index, (name, volume) in enumerate(VMS.items()):
        _set_object(zstack_stack, f"vms[{index}]", {"name": name, "rootVolumeUuid": volume})

    assert zstack_stack.preview().summary == {"create": 4}, "the stack and one backup per VM"
    zstack_stack.up()

    first = _groups_by_root_volume(zstack_stack)
    outputs = zstack_stack.outputs()
    assert first == {VMS[name]: group for name, group in outputs["groups"].items()}
    assert sorted(outputs["groups"]) == sorted(VMS)
    assert all(size > 0 for size in outputs["sizes"].values())
    root_names = {
        str(b["volumeUuid"]): str(b["name"])
        for members in zstack_stack.live_groups().values()
        for b in members
        if b["volumeUuid"] in VMS.values()
    }
    for vm, volume in VMS.items():
        assert root_names[volume].startswith(f"{vm}-2026-11-29-"), "ZStack appends the time to the name"
    assert zstack_stack.preview().summary == {}, "the same night again changes nothing"

    zstack_stack.set_config({f"{PROJECT}:night": "2026-11-30"})
    zstack_stack.forget_requests()
    preview = zstack_stack.preview()
    assert [step["op"] for step in preview.steps()] == ["replace"] * 3
    zstack_stack.up()

    second = _groups_by_root_volume(zstack_stack)
    assert set(second) == set(VMS.values())
    assert not set(second.values()) & set(first.values()), "every VM has a new backup, last night's are gone"
    apis = sorted(r.api for r in zstack_stack.writes())
    assert apis == ["CreateUserTag"] * 3 + ["CreateVmBackup"] * 3 + ["DeleteVmBackup"] * 3


def test_adopt_existing_reads_one_group_and_takes_over_another(zstack_stack: ZStackStack) -> None:
    golden = group_made_outside_pulumi(zstack_stack, "golden")
    by_hand = group_made_outside_pulumi(zstack_stack, "made-by-hand")
    _use_example(zstack_stack, "adopt-existing")
    zstack_stack.set_config({f"{PROJECT}:goldenGroupUuid": golden})
    _set_object(
        zstack_stack,
        "adopt",
        {
            "groupUuid": by_hand,
            "rootVolumeUuid": seed.RUNNING_VM_ROOT_VOLUME_UUID,
            "backupStorageUuid": seed.IMAGESTORE_BS_UUID,
            "name": "made-by-hand",
        },
    )
    zstack_stack.forget_requests()

    zstack_stack.up()

    outputs = zstack_stack.outputs()
    assert outputs["golden_name"] == "golden"
    assert outputs["golden_volumes"] == 1 + len(seed.RUNNING_VM_DATA_VOLUME_UUIDS)
    assert outputs["adopted_group"] == by_hand
    assert outputs["adopted_status"] == "Ready"
    # Adopting makes no backup; it only tags the adopted group with its new owner, the one resource that
    # may delete it. Reading one with `get` writes nothing.
    assert [(r.api, r.status) for r in zstack_stack.writes()] == [("CreateUserTag", 202)]
    found = check_ownership(zstack_stack)  # the adopted group: one owner tag, the state's claim
    assert [tag.urn for tag in found.owner_tags(by_hand)] == [
        urn for urn, outputs in found.backups.items() if outputs["group_uuid"] == by_hand
    ]
    assert found.owner_tags(golden) == []
    assert zstack_stack.preview().summary == {}

    zstack_stack.destroy()

    assert set(zstack_stack.live_groups()) == {golden}, "destroy deletes the adopted group, not the read one"


def test_every_example_has_the_pulumi_new_python_layout() -> None:
    for name in ("gitops", "nightly-backups", "adopt-existing", "pre-release", "restore-drill"):
        project = (EXAMPLES / name / "Pulumi.yaml").read_text()
        assert "toolchain: pip" in project, name
        assert "virtualenv: venv" in project, name
        assert "pulumi-zstack" in (EXAMPLES / name / "requirements.txt").read_text(), name
        assert Path(EXAMPLES / name / "__main__.py").is_file(), name
