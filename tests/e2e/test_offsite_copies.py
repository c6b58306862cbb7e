"""Offsite copies (`copy_to_backup_storage_uuids`) through the real Pulumi CLI against the ZStack simulator.

Each test checks what the user sees (outputs, previews, the exit status of `up`) and what ZStack holds: on
which backup storages each member of each group has a Ready copy, and that nothing is left on either store
after destroy.
"""

from __future__ import annotations

from typing import Any

import pytest
from zstack_simulator import seed

from tests.fixtures.ownership import SERIES_TYPE, check_ownership
from tests.fixtures.stack import VM_BACKUP_TYPE, ZStackStack

pytestmark = pytest.mark.e2e

ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
SOURCE = seed.IMAGESTORE_BS_UUID
OFFSITE = seed.REMOTE_IMAGESTORE_BS_UUID
BOTH = sorted([SOURCE, OFFSITE])
SYNC_PATH = "/zstack/v1/vm-backups/*/actions"


def backup_program(copies: list[str] | None) -> str:
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"backup = zstack.VmBackup('nightly', root_volume_uuid={ROOT_VOLUME!r}, "
        f"backup_storage_uuid={SOURCE!r}, name='nightly', copy_to_backup_storage_uuids={copies!r})\n"
        "pulumi.export('group_uuid', backup.group_uuid)\n"
        "pulumi.export('stores', backup.backup_storage_uuids)\n"
        "pulumi.export('copy_pending', backup.copy_pending)\n"
    )


def series_program(version: str) -> str:
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"series = zstack.VmBackupSeries('pre-release', root_volume_uuid={ROOT_VOLUME!r}, "
        f"backup_storage_uuid={SOURCE!r}, name='pre-release', keep=2, triggers=[{version!r}], "
        f"copy_to_backup_storage_uuids=[{OFFSITE!r}])\n"
        "pulumi.export('backups', series.backups)\n"
    )


def stores_by_group(stack: ZStackStack) -> dict[str, list[str]]:
    """Each live group ZStack holds -> the stores where every one of its members has a Ready copy."""
    found: dict[str, list[str]] = {}
    for group, members in stack.live_groups().items():
        stores = [
            {r["backupStorageUuid"] for r in m.get("backupStorageRefs") or [] if r.get("status") == "Ready"}
            for m in members
        ]
        found[group] = sorted(set.intersection(*stores))
    return found


def outputs_of(stack: ZStackStack, resource_type: str) -> dict[str, Any]:
    (resource,) = stack.resources(resource_type)
    return dict(resource["outputs"])


def assert_nothing_left(stack: ZStackStack) -> None:
    left = [
        (b["uuid"], [r["backupStorageUuid"] for r in b.get("backupStorageRefs") or []])
        for b in stack.simulator.backups()
    ]
    assert left == [], f"volume backups left after destroy (uuid, stores): {left}"


def test_a_backup_with_a_copy_is_stable_and_a_lost_copy_is_made_again_in_place(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(backup_program([OFFSITE]))
    zstack_stack.up()
    outputs = zstack_stack.outputs()
    group = outputs["group_uuid"]
    assert (outputs["stores"], outputs.get("copy_pending")) == (BOTH, None)
    assert stores_by_group(zstack_stack) == {group: BOTH}
    zstack_stack.run(["preview", "--expect-no-changes"])
    check_ownership(zstack_stack)

    assert zstack_stack.simulator.delete_backup_copy(group, OFFSITE) == 3
    zstack_stack.refresh()
    refreshed = outputs_of(zstack_stack, VM_BACKUP_TYPE)
    assert (refreshed["copy_pending"], refreshed["backup_storage_uuids"]) == ([OFFSITE], [SOURCE])
    preview = zstack_stack.preview()
    assert [step["op"] for step in preview.steps()] == ["update"]
    done = zstack_stack.run(["preview", "--expect-no-changes"], check=False)
    assert done.returncode != 0, "the drift check passed although the offsite copy is gone"

    # The update that makes the copy again fails once: the state keeps the backup, the copy still pending.
    fault = zstack_stack.simulator.faults.fail_job(method="PUT", path=SYNC_PATH, count=1)
    failed = zstack_stack.run(["up", "--skip-preview"], check=False)
    assert fault.fired == 1
    assert failed.returncode != 0, "the up succeeded although the offsite copy failed"
    assert f"to backup storage {OFFSITE} failed" in failed.stdout + failed.stderr
    assert outputs_of(zstack_stack, VM_BACKUP_TYPE)["copy_pending"] == [OFFSITE]

    zstack_stack.up()
    assert zstack_stack.outputs()["group_uuid"] == group
    assert stores_by_group(zstack_stack) == {group: BOTH}
    zstack_stack.run(["preview", "--expect-no-changes"])

    zstack_stack.destroy()
    assert_nothing_left(zstack_stack)


def test_changing_the_copy_stores_updates_the_same_backup(zstack_stack: ZStackStack) -> None:
    zstack_stack.write_program(backup_program(None))
    zstack_stack.up()
    group = zstack_stack.outputs()["group_uuid"]
    assert stores_by_group(zstack_stack) == {group: [SOURCE]}

    zstack_stack.write_program(backup_program([OFFSITE]))
    assert [s["op"] for s in zstack_stack.preview().steps()] == ["update"]
    zstack_stack.up()
    assert zstack_stack.outputs()["group_uuid"] == group
    assert stores_by_group(zstack_stack) == {group: BOTH}

    zstack_stack.write_program(backup_program(None))
    assert [s["op"] for s in zstack_stack.preview().steps()] == ["update"]
    zstack_stack.up()
    assert (zstack_stack.outputs()["group_uuid"], zstack_stack.outputs()["stores"]) == (group, [SOURCE])
    copies = {
        r["backupStorageUuid"] for b in zstack_stack.simulator.backups() for r in b["backupStorageRefs"]
    }
    assert copies == {SOURCE}, "the copy on the store no longer listed was not deleted"
    check_ownership(zstack_stack)


def test_a_failed_copy_fails_the_up_keeps_the_backup_and_the_next_up_makes_the_copy(
    zstack_stack: ZStackStack,
) -> None:
    fault = zstack_stack.simulator.faults.fail_job(method="PUT", path=SYNC_PATH, count=1)
    zstack_stack.write_program(backup_program([OFFSITE]))
    failed = zstack_stack.run(["up", "--skip-preview"], check=False)

    assert failed.returncode != 0, "the up succeeded although the offsite copy failed"
    (group,) = zstack_stack.live_groups()
    shown = failed.stdout + failed.stderr
    assert f"the copy of backup group {group} to backup storage {OFFSITE} failed" in shown, shown
    assert fault.fired == 1
    outputs = outputs_of(zstack_stack, VM_BACKUP_TYPE)
    assert (outputs["group_uuid"], outputs["copy_pending"]) == (group, [OFFSITE])
    assert stores_by_group(zstack_stack) == {group: [SOURCE]}
    assert [s["op"] for s in zstack_stack.preview().steps()] == ["update"]

    zstack_stack.up()
    assert zstack_stack.outputs()["group_uuid"] == group
    assert stores_by_group(zstack_stack) == {group: BOTH}, (
        "the next up did not make the copy, or made a group"
    )
    zstack_stack.run(["preview", "--expect-no-changes"])
    check_ownership(zstack_stack)


def test_a_series_with_a_copy_store_keeps_every_kept_backup_on_both_stores(zstack_stack: ZStackStack) -> None:
    kept_after = {"1.0": [["1.0"]], "1.1": [["1.1"], ["1.0"]], "1.2": [["1.2"], ["1.1"]]}
    for version, expected in kept_after.items():
        zstack_stack.write_program(series_program(version))
        zstack_stack.up()
        kept = zstack_stack.outputs()["backups"]
        assert [b["triggers"] for b in kept] == expected
        held = {b["group_uuid"]: b["backup_storage_uuids"] for b in kept}
        assert stores_by_group(zstack_stack) == held == dict.fromkeys(held, BOTH)
        check_ownership(zstack_stack)
    assert len(held) == 2, f"a series that keeps 2 holds {len(held)} backups after three releases"
    assert outputs_of(zstack_stack, SERIES_TYPE).get("copy_pending") is None
    zstack_stack.run(["preview", "--expect-no-changes"])

    zstack_stack.destroy()
    assert_nothing_left(zstack_stack)


@pytest.mark.parametrize(
    ("copies", "reason"),
    [
        ([SOURCE], f"copy_to_backup_storage_uuids must not list backup_storage_uuid ({SOURCE})"),
        ([OFFSITE, OFFSITE], f"copy_to_backup_storage_uuids lists {OFFSITE} more than once"),
        (["offsite"], "copy_to_backup_storage_uuids.0 must be a ZStack UUID"),
    ],
)
def test_bad_copy_stores_fail_the_preview_without_a_request(
    zstack_stack: ZStackStack, copies: list[str], reason: str
) -> None:
    zstack_stack.write_program(backup_program(copies))
    zstack_stack.forget_requests()

    done = zstack_stack.run(["preview"], check=False)

    assert done.returncode != 0
    assert reason in done.stdout + done.stderr
    assert zstack_stack.requests() == [], "a preview with invalid inputs reached ZStack"


def test_a_series_release_whose_copy_fails_keeps_its_new_backup_and_the_next_up_copies_it(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(series_program("1.0"))
    zstack_stack.up()
    fault = zstack_stack.simulator.faults.fail_job(method="PUT", path=SYNC_PATH, count=1)
    zstack_stack.write_program(series_program("1.1"))

    failed = zstack_stack.run(["up", "--skip-preview"], check=False)

    assert fault.fired == 1
    assert failed.returncode != 0, "the release succeeded although its offsite copy failed"
    state = outputs_of(zstack_stack, SERIES_TYPE)
    newest = state["backups"][0]
    assert newest["triggers"] == ["1.1"], "the backup taken for the release was lost from the state"
    assert state["copy_pending"] == [{"group_uuid": newest["group_uuid"], "backup_storage_uuid": OFFSITE}]
    assert stores_by_group(zstack_stack)[newest["group_uuid"]] == [SOURCE]
    assert [s["op"] for s in zstack_stack.preview().steps(SERIES_TYPE)] == ["update"]

    zstack_stack.up()
    kept = zstack_stack.outputs()["backups"]
    assert [b["group_uuid"] for b in kept] == [b["group_uuid"] for b in state["backups"]]
    assert stores_by_group(zstack_stack) == dict.fromkeys((b["group_uuid"] for b in kept), BOTH)
    zstack_stack.run(["preview", "--expect-no-changes"])
    check_ownership(zstack_stack)
