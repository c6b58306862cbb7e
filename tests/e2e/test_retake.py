"""Taking a backup again and again, through the real Pulumi CLI: forced replacements, `triggers`, series.

After every step each test compares what ZStack holds with what the state points to: no group the state
names may be gone, and no group may live that the state does not name.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from zstack_simulator import seed

from tests.fixtures.stack import VM_BACKUP_TYPE, ZStackStack
from tests.reliability._cli import (
    CREATE_PATH,
    assert_consistent,
    create_jobs,
    dynamic_providers_under,
    finish_cli,
    owner_tags,
    shown,
    start_cli,
    wait_for,
)

pytestmark = pytest.mark.e2e

SERIES_TYPE = "pulumi-python:dynamic/zstack:VmBackupSeries"
ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
DELETE_GROUP_API = "DeleteVmBackup"


def backup_program(*, triggers: object = None, options: str = "") -> str:
    extra = f", triggers={triggers!r}" if triggers is not None else ""
    opts = f", opts=pulumi.ResourceOptions({options})" if options else ""
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"backup = zstack.VmBackup('nightly', root_volume_uuid={ROOT_VOLUME!r}, "
        f"backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}, name='nightly'{extra}{opts})\n"
        "pulumi.export('group_uuid', backup.group_uuid)\n"
    )


def series_program(*, version: str, keep: int, name: str = "pre-release", options: str = "") -> str:
    opts = f", opts=pulumi.ResourceOptions({options})" if options else ""
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"series = zstack.VmBackupSeries('pre-release', root_volume_uuid={ROOT_VOLUME!r}, "
        f"backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}, name={name!r}, keep={keep}, "
        f"triggers=[{version!r}]{opts})\n"
        "pulumi.export('group_uuids', series.group_uuids)\n"
        "pulumi.export('latest_group_uuid', series.latest_group_uuid)\n"
    )


def the_backup(stack: ZStackStack) -> str:
    """assert_consistent, plus: exactly one VmBackup, whose group is the only one ZStack holds."""
    held = assert_consistent(stack, stack.simulator)
    assert len(held) == 1, f"expected one backup group in state and ZStack, found {sorted(held)}"
    return next(iter(held))


def urn_of(stack: ZStackStack, resource_type: str = VM_BACKUP_TYPE) -> str:
    (resource,) = stack.resources(resource_type)
    return str(resource["urn"])


def group_write_order(stack: ZStackStack, old_group: str) -> list[str]:
    """Backup writes ZStack received, in order: "create" (a CreateVmBackup), "delete" (of `old_group`)."""
    order = []
    for request in stack.writes():
        if request.api == "CreateVmBackup":
            order.append("create")
        elif request.method == "DELETE" and old_group in request.path:
            order.append("delete")
    return order


def series_state(stack: ZStackStack) -> dict[str, Any]:
    """The series' outputs, after checking that ZStack holds exactly the groups the state lists."""
    deployment = stack.export()["deployment"]
    assert not deployment.get("pending_operations")
    (series,) = [r for r in deployment.get("resources") or [] if r["type"] == SERIES_TYPE]
    outputs: dict[str, Any] = series["outputs"]
    listed = outputs["group_uuids"]
    assert len(set(listed)) == len(listed)
    live = stack.live_groups()
    assert set(live) == set(listed), (
        f"ZStack holds {sorted(live)} but the series lists {sorted(listed)}: "
        f"orphans {sorted(set(live) - set(listed))}, lost {sorted(set(listed) - set(live))}"
    )
    for group_uuid in listed:
        members = live[group_uuid]
        assert {m["status"] for m in members} == {"Ready"}
        assert [m["type"] for m in members].count("Root") == 1
        assert owner_tags(members) == [(series["urn"], outputs["owner_claim"])], "tagged as the series'"
    assert [b["group_uuid"] for b in outputs["backups"]] == listed
    assert outputs["latest_group_uuid"] == listed[0]
    return outputs


# ----------------------------------------------------------------------------- forced replacement of VmBackup


@pytest.mark.parametrize("how", ["--replace", "--target-replace", "replacement_trigger"])
def test_a_forced_replacement_takes_a_new_backup_then_deletes_the_old_one(
    zstack_stack: ZStackStack, how: str
) -> None:
    options = "replacement_trigger='release-1'" if how == "replacement_trigger" else ""
    zstack_stack.write_program(backup_program(options=options))
    zstack_stack.up()
    first = the_backup(zstack_stack)
    zstack_stack.forget_requests()

    if how == "replacement_trigger":
        zstack_stack.write_program(backup_program(options="replacement_trigger='release-2'"))
        replaced = zstack_stack.up()
    else:
        replaced = zstack_stack.run(["up", "--skip-preview", how, urn_of(zstack_stack)])

    assert "1 replaced" in shown(replaced)
    second = the_backup(zstack_stack)
    assert second != first, "the replacement took a new backup instead of adopting the one it replaces"
    assert group_write_order(zstack_stack, first) == ["create", "delete"], "made first, then the old deleted"
    assert zstack_stack.outputs()["group_uuid"] == second

    if how == "--replace":  # again: each forced replacement takes a backup of its own
        taken = {str(m["uuid"]) for m in zstack_stack.simulator.backups()}
        zstack_stack.run(["up", "--skip-preview", "--replace", urn_of(zstack_stack)])
        third = the_backup(zstack_stack)
        assert third != second
        assert not {str(m["uuid"]) for m in zstack_stack.live_groups()[third]} & taken, "new volume backups"
    assert zstack_stack.preview().summary == {}, "nothing changed since"


def test_a_triggers_change_is_previewed_as_a_replace_and_applied_create_before_delete(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(backup_program(triggers=["1.0"]))
    zstack_stack.up()
    first = the_backup(zstack_stack)
    zstack_stack.write_program(backup_program(triggers=["1.1"]))
    zstack_stack.forget_requests()

    planned = zstack_stack.preview()

    assert [(step["op"], step.get("replaceReasons")) for step in planned.steps()] == [
        ("replace", ["triggers"])
    ]
    assert zstack_stack.writes() == [], "a preview never writes to ZStack"
    assert the_backup(zstack_stack) == first

    zstack_stack.up()

    second = the_backup(zstack_stack)
    assert second != first
    assert group_write_order(zstack_stack, first) == ["create", "delete"]
    (resource,) = zstack_stack.resources()
    assert owner_tags(zstack_stack.live_groups()[second]) == [
        (resource["urn"], resource["outputs"]["owner_claim"])
    ], "tagged as the resource's"
    assert resource["outputs"]["triggers"] == ["1.1"]
    assert zstack_stack.preview().summary == {}


def test_delete_before_replace_is_honoured_when_the_user_asks_for_it(zstack_stack: ZStackStack) -> None:
    zstack_stack.write_program(backup_program(triggers=[1], options="delete_before_replace=True"))
    zstack_stack.up()
    first = the_backup(zstack_stack)
    zstack_stack.write_program(backup_program(triggers=[2], options="delete_before_replace=True"))
    zstack_stack.forget_requests()

    zstack_stack.up()

    assert the_backup(zstack_stack) != first
    assert group_write_order(zstack_stack, first) == ["delete", "create"]


def test_provider_killed_during_a_replacement_then_up_resumes_that_backup(zstack_stack: ZStackStack) -> None:
    sim = zstack_stack.simulator
    zstack_stack.write_program(backup_program(triggers=["1.0"]))
    zstack_stack.up()
    first = the_backup(zstack_stack)
    zstack_stack.write_program(backup_program(triggers=["1.1"]))
    sim.faults.job_duration(seconds=6.0, method="POST", path=CREATE_PATH, count=1)

    cli = start_cli(zstack_stack, ["up", "--skip-preview"])
    try:
        wait_for(
            "the replacement's backup job", lambda: [j for j in create_jobs(sim) if j["state"] != "done"]
        )
        for pid in wait_for("the dynamic provider", lambda: dynamic_providers_under(cli.pid)):
            os.kill(pid, signal.SIGKILL)
    finally:
        interrupted = finish_cli(zstack_stack, cli)
    assert interrupted.returncode != 0
    (in_progress,) = set(zstack_stack.live_groups()) - {first}
    assert [r["id"] for r in zstack_stack.resources()] == [first], "the state still points to the old backup"

    zstack_stack.up()

    assert the_backup(zstack_stack) == in_progress, "the interrupted replacement was resumed, not made again"
    assert len(create_jobs(sim)) == 2, "one create for the first backup, one for its replacement"


# ------------------------------------------------------------------------------------------ VmBackupSeries


def test_series_keeps_the_newest_backups_over_releases_and_destroy_leaves_nothing(
    zstack_stack: ZStackStack,
) -> None:
    taken: list[str] = []
    for release in ("1.0", "1.1", "1.2"):
        zstack_stack.write_program(series_program(version=release, keep=2))
        done = zstack_stack.up()
        assert ("created" if release == "1.0" else "1 updated") in shown(done)
        outputs = series_state(zstack_stack)
        taken.append(outputs["latest_group_uuid"])
        assert outputs["backups"][0]["triggers"] == [release]

    assert len(set(taken)) == 3, "each release took its own backup"
    outputs = series_state(zstack_stack)
    assert outputs["group_uuids"] == [taken[2], taken[1]], "the two newest are kept, newest first"
    assert [b["take"] for b in outputs["backups"]] == [3, 2], "the second and third backups of the series"
    assert [b["triggers"] for b in outputs["backups"]] == [["1.2"], ["1.1"]]
    assert all(b["total_size"] > 0 and b["status"] == "Ready" for b in outputs["backups"])
    assert zstack_stack.outputs()["group_uuids"] == outputs["group_uuids"]
    assert zstack_stack.preview().summary == {}, "an unchanged release takes no backup"

    zstack_stack.destroy()

    assert zstack_stack.live_groups() == {}
    assert zstack_stack.resources(SERIES_TYPE) == []


def test_series_keep_lowered_prunes_and_raised_keeps_what_exists(zstack_stack: ZStackStack) -> None:
    for release in ("1", "2", "3"):
        zstack_stack.write_program(series_program(version=release, keep=3))
        zstack_stack.up()
    three = series_state(zstack_stack)["group_uuids"]
    zstack_stack.forget_requests()

    zstack_stack.write_program(series_program(version="3", keep=1))
    zstack_stack.up()

    assert series_state(zstack_stack)["group_uuids"] == three[:1], "lowering keep deleted the oldest two"
    assert not [r for r in zstack_stack.writes() if r.api == "CreateVmBackup"], "no backup taken for keep"

    zstack_stack.write_program(series_program(version="3", keep=5))
    zstack_stack.up()
    assert series_state(zstack_stack)["group_uuids"] == three[:1], "raising keep keeps what exists"
    zstack_stack.write_program(series_program(version="4", keep=5))
    zstack_stack.up()
    assert len(series_state(zstack_stack)["group_uuids"]) == 2


def test_series_prune_that_fails_keeps_the_new_backup_and_the_next_up_finishes_it(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(series_program(version="1", keep=1))
    zstack_stack.up()
    (oldest,) = series_state(zstack_stack)["group_uuids"]
    refused = zstack_stack.simulator.faults.fail_member_delete()
    zstack_stack.write_program(series_program(version="2", keep=1))

    released = zstack_stack.up()

    assert "1 updated" in shown(released), "the release's backup is in the stack"
    assert f"backup group {oldest} could not be deleted" in shown(released)
    (series,) = zstack_stack.resources(SERIES_TYPE)
    newest = series["outputs"]["latest_group_uuid"]
    assert series["outputs"]["group_uuids"] == [newest] != [oldest]
    assert series["outputs"]["prune_pending"] == [oldest]
    assert set(zstack_stack.live_groups()) == {oldest, newest}
    assert zstack_stack.preview().summary == {"update": 1}, "the prune still to do shows in a preview"

    zstack_stack.simulator.faults.remove(refused.id)
    zstack_stack.forget_requests()
    zstack_stack.up()

    assert series_state(zstack_stack)["group_uuids"] == [newest]
    assert not [r for r in zstack_stack.writes() if r.api == "CreateVmBackup"], "no backup taken to prune"
    assert zstack_stack.preview().summary == {}


def test_series_refresh_drops_and_reports_backups_deleted_outside_pulumi(zstack_stack: ZStackStack) -> None:
    for release in ("1", "2", "3"):
        zstack_stack.write_program(series_program(version=release, keep=3))
        zstack_stack.up()
    newest, middle, oldest = series_state(zstack_stack)["group_uuids"]
    assert zstack_stack.simulator.delete_backup_group(middle) > 0

    zstack_stack.refresh()

    outputs = series_state(zstack_stack)
    assert outputs["group_uuids"] == [newest, oldest]
    assert outputs["missing_group_uuids"] == [middle]
    assert zstack_stack.preview().summary == {}, "a dropped backup is not taken again by itself"

    for group_uuid in (newest, oldest):
        zstack_stack.simulator.delete_backup_group(group_uuid)
    zstack_stack.refresh()
    assert zstack_stack.resources(SERIES_TYPE) == [], "a series with no backup left is gone"
    assert [s["op"] for s in zstack_stack.preview().steps(SERIES_TYPE)] == ["create"]


def test_series_zstack_side_change_replaces_the_whole_series_new_one_first(zstack_stack: ZStackStack) -> None:
    for release in ("1", "2"):
        zstack_stack.write_program(series_program(version=release, keep=2))
        zstack_stack.up()
    old = series_state(zstack_stack)
    zstack_stack.write_program(series_program(version="2", keep=2, name="renamed"))
    zstack_stack.forget_requests()

    planned = zstack_stack.preview()
    assert [(s["op"], s.get("replaceReasons")) for s in planned.steps(SERIES_TYPE)] == [("replace", ["name"])]
    zstack_stack.up()

    new = series_state(zstack_stack)
    assert len(new["group_uuids"]) == 1
    assert not set(new["group_uuids"]) & set(old["group_uuids"])
    (resource,) = zstack_stack.resources(SERIES_TYPE)
    assert resource["id"] != old["series_uuid"]
    writes = [("create" if r.api == "CreateVmBackup" else "delete") for r in zstack_stack.writes()]
    assert writes[0] == "create", writes
    assert writes.count("create") == 1, writes


def test_series_retain_on_delete_keeps_every_backup(zstack_stack: ZStackStack) -> None:
    for release in ("1", "2"):
        zstack_stack.write_program(series_program(version=release, keep=2, options="retain_on_delete=True"))
        zstack_stack.up()
    kept = series_state(zstack_stack)["group_uuids"]

    zstack_stack.destroy()

    assert sorted(zstack_stack.live_groups()) == sorted(kept)
    assert zstack_stack.resources(SERIES_TYPE) == []


def test_series_provider_killed_mid_update_then_up_takes_one_backup_and_prunes(
    zstack_stack: ZStackStack,
) -> None:
    sim = zstack_stack.simulator
    for release in ("1", "2"):
        zstack_stack.write_program(series_program(version=release, keep=2))
        zstack_stack.up()
    before = series_state(zstack_stack)["group_uuids"]
    zstack_stack.write_program(series_program(version="3", keep=2))
    sim.faults.job_duration(seconds=6.0, method="POST", path=CREATE_PATH, count=1)

    cli = start_cli(zstack_stack, ["up", "--skip-preview"])
    try:
        wait_for("the update's backup job", lambda: [j for j in create_jobs(sim) if j["state"] != "done"])
        for pid in wait_for("the dynamic provider", lambda: dynamic_providers_under(cli.pid)):
            os.kill(pid, signal.SIGKILL)
    finally:
        interrupted = finish_cli(zstack_stack, cli)
    assert interrupted.returncode != 0
    (in_progress,) = set(zstack_stack.live_groups()) - set(before)
    (resource,) = zstack_stack.resources(SERIES_TYPE)
    assert resource["outputs"]["group_uuids"] == before, "the interrupted update did not reach the state"

    zstack_stack.up()

    after = series_state(zstack_stack)["group_uuids"]
    assert after == [in_progress, before[0]], "the interrupted backup was resumed, then the oldest pruned"
    assert len(create_jobs(sim)) == 3, "three releases, three creates: no duplicate"


def test_pre_release_example_keeps_the_backups_of_the_last_three_versions(zstack_stack: ZStackStack) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "pre-release" / "__main__.py"
    zstack_stack.write_program(example.read_text())
    zstack_stack.set_config({"rootVolumeUuid": ROOT_VOLUME, "backupStorageUuid": seed.IMAGESTORE_BS_UUID})
    for version in ("2.0.0", "2.1.0", "2.2.0", "2.3.0"):
        zstack_stack.set_config({"appVersion": version})
        zstack_stack.up()
        series_state(zstack_stack)
    assert zstack_stack.preview().summary == {}, "the same version again takes no backup"

    outputs = zstack_stack.outputs()
    kept = series_state(zstack_stack)["group_uuids"]
    assert outputs["kept_backups"] == kept
    assert len(kept) == 3
    by_version = outputs["backups_by_version"]
    assert [by_version[v] for v in ("2.3.0", "2.2.0", "2.1.0")] == kept, "the newest three, newest first"
    assert "2.0.0" not in by_version
    assert outputs["latest_backup"] == kept[0]
