"""Who owns each backup group, through the real Pulumi CLI: upgrades, components, failed prunes, timeouts,
adoption, retained backups, broken series members, slow tags, and the orphans command.

After every CLI step `check_ownership` compares ZStack with the state: each group the state holds is live,
complete and carries exactly one owner tag with the state's claim and the digest of its recorded inputs; no
group is referenced twice; every other live group is listed by `pulumi-zstack orphans`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import tarfile
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest
from pulumi_zstack_provider._ownership import stack_key
from zstack_simulator import seed

from tests.fixtures.ownership import (
    SERIES_TYPE,
    check_ownership,
    live_groups,
    owner_tags,
    root_of,
    run_orphans,
)
from tests.fixtures.stack import CLI_TIMEOUT_S, PROJECT, STACK, VM_BACKUP_TYPE, ZStackStack
from tests.reliability._cli import (
    CREATE_API,
    CREATE_PATH,
    assert_no_credentials_shown,
    create_jobs,
    shown,
    wait_for,
)

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
#: Release 0.1.0: its SDK derived each group uuid from organization/project/stack/name and the inputs, and
#: nothing was ever tagged.
RELEASE_0_1_0 = "83d64390c3c94ddfbbbf246c04fb051c23da1be0"
_RELEASE_0_1_0_NAMESPACE = uuid.UUID("5f0c2b8e-4c1f-4f7a-9d2e-7a1b3c9d0e42")
ORGANIZATION = "organization"  # what a file backend reports
QUALIFIED_STACK = f"{ORGANIZATION}/{PROJECT}/{STACK}"
TAG_PATH = "/zstack/v1/user-tags"


# ------------------------------------------------------------------------------------------------ programs


@dataclasses.dataclass
class Backup:
    """One VmBackup of a program: extra inputs and `pulumi.ResourceOptions` keywords (as source text)."""

    inputs: dict[str, object] = dataclasses.field(default_factory=dict)
    options: dict[str, str] = dataclasses.field(default_factory=dict)


def backups_program(backups: Mapping[str, Backup]) -> str:
    lines = ["import pulumi", "import pulumi_zstack as zstack", ""]
    for name, backup in backups.items():
        inputs: dict[str, object] = {
            "root_volume_uuid": ROOT_VOLUME,
            "backup_storage_uuid": seed.IMAGESTORE_BS_UUID,
            "name": name,
            "max_poll_interval": "1s",
            **backup.inputs,
        }
        arguments = ", ".join(f"{key}={value!r}" for key, value in inputs.items())
        if backup.options:
            options = ", ".join(f"{key}={value}" for key, value in backup.options.items())
            arguments += f", opts=pulumi.ResourceOptions({options})"
        lines.append(f"zstack.VmBackup({name!r}, {arguments})")
    return "\n".join(lines) + "\n"


def series_args(keep: int, release: str) -> str:
    return (
        f"root_volume_uuid={ROOT_VOLUME!r}, backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}, "
        f"name='release', keep={keep}, triggers=[{release!r}], max_poll_interval='1s'"
    )


def series_program(release: str, keep: int) -> str:
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"zstack.VmBackupSeries('series', {series_args(keep, release)})\n"
    )


# --------------------------------------------------------------------------------------------- CLI helpers


def up(stack: ZStackStack, *args: str) -> subprocess.CompletedProcess[str]:
    return stack.run(["up", "--skip-preview", *args])


def creates(stack: ZStackStack) -> int:
    """CreateVmBackup requests ZStack received since the last `forget_requests`."""
    return sum(r.api == CREATE_API for r in stack.requests())


def group_writes(stack: ZStackStack, old_group: str) -> list[str]:
    """Backup writes in order: "create" (a CreateVmBackup), "delete" (of `old_group`)."""
    order = []
    for request in stack.requests():
        if request.api == CREATE_API:
            order.append("create")
        elif request.method == "DELETE" and old_group in request.path:
            order.append("delete")
    return order


def urn(kind: str, name: str, parents: str = "") -> str:
    qualified = f"{parents}${kind}" if parents else kind
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{name}"


def backup_urn(name: str) -> str:
    return urn(VM_BACKUP_TYPE, name)


def timed_out_create(stack: ZStackStack, held: set[str]) -> str:
    """After an `up` whose create timed out: the group that create started (ZStack goes on making it)."""
    (started,) = set(live_groups(stack)) - held
    return started


def wait_for_creates_done(stack: ZStackStack) -> None:
    wait_for(
        "ZStack to finish every backup job",
        lambda: all(job["state"] == "done" for job in create_jobs(stack.simulator)),
    )


# --------------------------------------------------------------------------- 1. upgrade from release 0.1.0


@pytest.fixture
def release_0_1_0(tmp_path: Path) -> Path:
    """The provider and SDK packages of release 0.1.0, extracted from git."""
    archive = subprocess.run(
        [
            "git",
            "archive",
            "--format=tar",
            RELEASE_0_1_0,
            "provider/pulumi_zstack_provider",
            "sdk/pulumi_zstack",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    target = tmp_path / "release-0.1.0"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def run_release_0_1_0(stack: ZStackStack, old: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """One CLI call whose program and provider import release 0.1.0.

    PYTHONPATH entries come before the editable install's finder, which sits after PathFinder.
    """
    path = [str(old / "provider"), str(old / "sdk"), *filter(None, [stack.workspace.env.get("PYTHONPATH")])]
    env = {**stack.workspace.env, "PYTHONPATH": os.pathsep.join(path)}
    done = dataclasses.replace(stack.workspace, env=env).run(args, stack.directory, timeout=CLI_TIMEOUT_S)
    stack.transcript.append(done.stdout + done.stderr)
    return done


def id_of_release_0_1_0(name: str) -> str:
    """The group uuid release 0.1.0's SDK derived for a VmBackup of `backups_program` (settings left out)."""
    identity = {"root_volume_uuid": ROOT_VOLUME, "backup_storage_uuid": seed.IMAGESTORE_BS_UUID, "name": name}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return uuid.uuid5(_RELEASE_0_1_0_NAMESPACE, f"{QUALIFIED_STACK}/{name}\n{canonical}").hex


def test_backups_made_by_release_0_1_0_upgrade_without_changes_and_every_way_of_retaking_replaces_them(
    zstack_stack: ZStackStack, release_0_1_0: Path
) -> None:
    stack = zstack_stack
    program = {
        "by-option": Backup(options={"replacement_trigger": "'r1'"}),
        "by-replace": Backup(),
        "by-triggers": Backup(),
        "by-delete-first": Backup(),
    }
    stack.write_program(backups_program(program))
    run_release_0_1_0(stack, release_0_1_0, ["up", "--skip-preview"])

    legacy = check_ownership(stack)
    for name in program:
        assert legacy.id_of(name) == id_of_release_0_1_0(name), "release 0.1.0 made the group"
        assert "owner_claim" not in legacy.backups[backup_urn(name)], "release 0.1.0 kept no claim"
        assert root_of(legacy.groups[legacy.id_of(name)])["userTags"] == [], "release 0.1.0 tagged nothing"
    assert legacy.orphans == {}

    stack.run(["preview", "--expect-no-changes"])
    check_ownership(stack)
    stack.refresh()
    refreshed = check_ownership(stack).backups
    # Refresh adds what 0.2.0 reads of every group: the stores that hold it.
    added = {"backup_storage_uuids", "copies", "copy_pending"}
    as_before = {urn: {k: v for k, v in o.items() if k not in added} for urn, o in refreshed.items()}
    assert as_before == legacy.backups, "refresh finds the 0.1.0 backups as they were"
    stores = [o["backup_storage_uuids"] for o in refreshed.values()]
    assert stores == [[seed.IMAGESTORE_BS_UUID]] * len(program)
    stack.run(["preview", "--expect-no-changes"])
    check_ownership(stack)

    def retake(name: str, *args: str, expected: list[str]) -> None:
        before = check_ownership(stack)
        old = before.id_of(name)
        stack.forget_requests()
        done = up(stack, *args)
        assert "1 replaced" in shown(done)
        after = check_ownership(stack)
        new = after.id_of(name)
        assert new != old, f"{name}: a new backup replaced the 0.1.0 one"
        assert old not in after.groups, f"{name}: the 0.1.0 group was deleted"
        assert creates(stack) == 1, f"{name}: exactly one new backup"
        assert group_writes(stack, old) == expected
        assert new.startswith(stack_key(QUALIFIED_STACK)), "the new group is under the stack's ids"
        for other in set(program) - {name}:
            assert after.id_of(other) == before.id_of(other), "the other backups are untouched"

    program["by-option"] = Backup(options={"replacement_trigger": "'r2'"})
    stack.write_program(backups_program(program))
    retake("by-option", expected=["create", "delete"])

    retake("by-replace", "--replace", backup_urn("by-replace"), expected=["create", "delete"])

    program["by-triggers"] = Backup(inputs={"triggers": ["1.0"]})
    stack.write_program(backups_program(program))
    retake("by-triggers", expected=["create", "delete"])

    program["by-delete-first"] = Backup(
        inputs={"triggers": ["1.0"]}, options={"delete_before_replace": "True"}
    )
    stack.write_program(backups_program(program))
    retake("by-delete-first", expected=["delete", "create"])

    assert check_ownership(stack).orphans == {}


# ------------------------------------------------------------------- 2. one name at two places in the tree

COMPONENT_PROGRAM = """
import pulumi
import pulumi_zstack as zstack


class Releases(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Releases", name, None, opts)
        zstack.VmBackupSeries("series", {nested}, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({{}})


zstack.VmBackupSeries("series", {top})
Releases("app")
"""


def test_series_of_one_name_top_level_and_inside_a_component_never_share_backups(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    top_urn = urn(SERIES_TYPE, "series")
    nested_urn = urn(SERIES_TYPE, "series", parents="test:index:Releases")
    for release in ("1", "2", "3"):
        stack.write_program(
            COMPONENT_PROGRAM.format(top=series_args(1, release), nested=series_args(3, release))
        )
        up(stack)
        found = check_ownership(stack)
        assert set(found.series) == {top_urn, nested_urn}
        for series_urn, outputs in found.series.items():
            assert outputs["backups"][0]["triggers"] == [release]
            for group_uuid in outputs["group_uuids"]:
                assert [t.urn for t in found.owner_tags(group_uuid)] == [series_urn], "each lists its own"

    top = found.series[top_urn]["group_uuids"]
    nested = found.series[nested_urn]["group_uuids"]
    assert len(top) == 1
    assert len(nested) == 3
    assert not set(top) & set(nested), "the two series share a backup"
    assert set(found.groups) == set(top) | set(nested), "every live group is listed by one series"
    assert found.orphans == {}


# --------------------------------------------------------------------------------------- 3. a failed prune


def test_a_failed_prune_keeps_the_new_backup_in_state_and_the_next_release_prunes_it(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    series_urn = urn(SERIES_TYPE, "series")
    for release in ("1", "2"):
        stack.write_program(series_program(release, keep=2))
        up(stack)
        found = check_ownership(stack)
    second, first = found.series[series_urn]["group_uuids"]
    fault = stack.simulator.faults.fail_member_delete(target=root_of(found.groups[first])["uuid"])

    stack.write_program(series_program("3", keep=2))
    done = up(stack)

    assert [line for line in shown(done).splitlines() if "warning" in line and "could not be deleted" in line]
    found = check_ownership(stack)
    outputs = found.series[series_urn]
    assert outputs["backups"][0]["triggers"] == ["3"], "the release 3 backup reached the state, labelled 3"
    third = outputs["group_uuids"][0]
    assert outputs["group_uuids"] == [third, second]
    assert outputs["prune_pending"] == [first]
    assert first in found.groups, "the group that failed to delete is still in ZStack"

    planned = stack.preview()
    assert [s["op"] for s in planned.steps(SERIES_TYPE)] == ["update"], "the pending prune shows as an update"
    check_ownership(stack)

    assert stack.simulator.faults.remove(fault.id)
    stack.write_program(series_program("4", keep=2))
    stack.forget_requests()
    up(stack)

    found = check_ownership(stack)
    outputs = found.series[series_urn]
    assert creates(stack) == 1, "release 4 took exactly one backup"
    assert outputs["backups"][0]["triggers"] == ["4"]
    assert outputs["group_uuids"][1:] == [third]
    assert not outputs.get("prune_pending")
    assert first not in found.groups, "the pending group was pruned"
    assert second not in found.groups, "the oldest kept one was pruned"
    assert found.orphans == {}


# --------------------------------------------------------------------- 4. a timed-out replacement reverted


def test_a_timed_out_replacement_reverted_is_never_resumed_by_a_later_release(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    name = "nightly"
    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.0"]})}))
    up(stack)
    first = check_ownership(stack).id_of(name)

    stack.simulator.faults.job_duration(seconds=10.0, method="POST", path=CREATE_PATH, count=1)
    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.1"], "create_timeout": "2s"})}))
    failed = stack.run(["up", "--skip-preview"], check=False)
    assert failed.returncode != 0, "the replacement timed out"
    found = check_ownership(stack)
    assert found.id_of(name) == first
    timed_out = timed_out_create(stack, {first})
    assert found.orphans[timed_out]["owner_urn"] is None, "listed by the orphans command, with no owner tag"

    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.0"]})}))
    stack.run(["preview", "--expect-no-changes"])
    check_ownership(stack)

    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["2.0"]})}))
    stack.forget_requests()
    up(stack)
    found = check_ownership(stack)
    new = found.id_of(name)
    assert new not in (first, timed_out), "2.0 took a new backup, not the one started for 1.1"
    assert creates(stack) == 1
    assert first not in found.groups
    assert timed_out not in found.groups or timed_out in found.orphans

    wait_for_creates_done(stack)
    stack.destroy()
    assert live_groups(stack) == {}, "destroy deleted the backup and swept the 1.1 attempt"
    check_ownership(stack)


# ------------------------------------------------------- 5. a timed-out diffed replacement, then --replace


def test_a_timed_out_replacement_is_resumed_by_up_replace_and_leaves_no_orphan(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    name = "nightly"
    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.0"]})}))
    up(stack)
    first = check_ownership(stack).id_of(name)

    stack.simulator.faults.job_duration(seconds=6.0, method="POST", path=CREATE_PATH, count=1)
    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.1"], "create_timeout": "2s"})}))
    assert stack.run(["up", "--skip-preview"], check=False).returncode != 0
    check_ownership(stack)
    timed_out = timed_out_create(stack, {first})

    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.1"], "create_timeout": "1m"})}))
    stack.forget_requests()
    up(stack, "--replace", backup_urn(name))

    found = check_ownership(stack)
    assert found.id_of(name) == timed_out, "the timed-out backup was resumed"
    assert creates(stack) == 0, "no second CreateVmBackup for it"
    assert set(found.groups) == {timed_out}
    assert found.orphans == {}


# --------------------------------------------------------------------------------------------- 6. adoption


def test_adopting_a_group_moves_its_owner_tag_replace_keeps_it_and_destroy_deletes_it(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    stack.write_program(backups_program({"original": Backup()}))
    up(stack)
    group = check_ownership(stack).id_of("original")

    stack.run(["state", "delete", backup_urn("original"), "--yes"])
    found = check_ownership(stack)
    assert found.orphans[group]["owner_urn"] == backup_urn("original")

    program = {"adopter": Backup(inputs={"group_uuid": group})}
    stack.write_program(backups_program(program))
    stack.forget_requests()
    up(stack)
    found = check_ownership(stack)
    assert creates(stack) == 0, "adoption takes no backup"
    assert found.id_of("adopter") == group
    assert [t.urn for t in found.owner_tags(group)] == [backup_urn("adopter")], "the tag names the adopter"

    stack.forget_requests()
    replaced = up(stack, "--replace", backup_urn("adopter"))
    found = check_ownership(stack)
    assert found.id_of("adopter") == group, "replacing an adopted backup keeps its group"
    assert creates(stack) == 0
    assert "keeps the adopted backup group" in shown(replaced)

    program["retained"] = Backup(options={"retain_on_delete": "True"})
    stack.write_program(backups_program(program))
    up(stack)
    retained = check_ownership(stack).id_of("retained")
    del program["retained"]
    stack.write_program(backups_program(program))
    up(stack)
    found = check_ownership(stack)
    assert found.orphans[retained]["owner_urn"] == backup_urn("retained"), "kept by retain_on_delete"

    program["readopter"] = Backup(inputs={"group_uuid": retained})
    stack.write_program(backups_program(program))
    stack.forget_requests()
    up(stack)
    found = check_ownership(stack)
    assert creates(stack) == 0
    assert found.id_of("readopter") == retained
    assert [t.urn for t in found.owner_tags(retained)] == [backup_urn("readopter")]
    assert found.orphans == {}

    stack.destroy()
    assert live_groups(stack) == {}, "destroy deleted both adopted groups"
    check_ownership(stack)


# ------------------------------------------------------------------- 7. retain_on_delete and many replaces


def test_retained_backups_of_seventeen_forced_replacements_are_all_kept_and_tagged(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    name = "kept"
    stack.write_program(backups_program({name: Backup(options={"retain_on_delete": "True"})}))
    up(stack)
    found = check_ownership(stack)
    for _ in range(17):
        up(stack, "--replace", backup_urn(name))
        found = check_ownership(stack)

    assert len(found.groups) == 18, "each forced replacement kept the backup it replaced"
    assert len(create_jobs(stack.simulator)) == 18
    assert set(found.orphans) == set(found.groups) - {found.id_of(name)}
    for members in found.groups.values():
        assert [t.urn for t in owner_tags(members)] == [backup_urn(name)], "each kept group is tagged"


# ------------------------------------------------------------------- 8. a series backup broken out of band


def test_a_series_backup_that_lost_its_root_shows_as_a_change_after_refresh_and_up_deletes_the_rest(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    series_urn = urn(SERIES_TYPE, "series")
    for release in ("1", "2"):
        stack.write_program(series_program(release, keep=2))
        up(stack)
        found = check_ownership(stack)
    newest, oldest = found.series[series_urn]["group_uuids"]
    assert stack.simulator.delete_backup(root_of(found.groups[newest])["uuid"])

    stack.refresh()
    found = check_ownership(stack)
    outputs = found.series[series_urn]
    assert newest in (outputs.get("missing_group_uuids") or [])
    assert outputs["group_uuids"] == [oldest]
    assert outputs["prune_pending"] == [newest]

    quiet = stack.run(["preview", "--expect-no-changes"], check=False)
    assert quiet.returncode != 0, "the broken backup left to delete is a change"
    check_ownership(stack)

    up(stack)
    found = check_ownership(stack)
    assert newest not in found.groups, "up deleted what was left of the broken backup"
    assert found.series[series_urn]["group_uuids"] == [oldest]
    assert not found.series[series_urn].get("prune_pending")
    assert found.orphans == {}


# -------------------------------------------------------------------- 9. a backup done near create_timeout


def test_a_backup_finished_near_its_create_timeout_is_tagged_on_a_deadline_of_its_own(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    faults = stack.simulator.faults
    faults.job_duration(seconds=3.0, method="POST", path=CREATE_PATH, count=1)
    slow_tag = faults.job_duration(seconds=6.0, method="POST", path=TAG_PATH)
    stack.write_program(backups_program({"nightly": Backup(inputs={"create_timeout": "5s"})}))

    up(stack)

    found = check_ownership(stack)
    assert len(found.groups) == 1
    assert found.orphans == {}
    (fired,) = [rule.fired for rule in faults.rules() if rule.id == slow_tag.id]
    assert fired == 1, "the owner tag's job ran longer than what was left of create_timeout"


# --------------------------------------------------------------------------------- 10. the orphans command


def test_orphans_command_lists_deletes_only_with_yes_and_never_shows_the_password(
    zstack_stack: ZStackStack, tmp_path: Path
) -> None:
    stack = zstack_stack
    name = "nightly"
    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.0"]})}))
    up(stack)
    first = check_ownership(stack).id_of(name)
    stack.simulator.faults.job_duration(seconds=4.0, method="POST", path=CREATE_PATH, count=1)
    stack.write_program(backups_program({name: Backup(inputs={"triggers": ["1.1"], "create_timeout": "1s"})}))
    assert stack.run(["up", "--skip-preview"], check=False).returncode != 0
    orphan = timed_out_create(stack, {first})
    wait_for_creates_done(stack)
    check_ownership(stack)

    listed = run_orphans(stack)
    assert listed.returncode == 0
    assert orphan in listed.stdout
    assert "no owner tag" in listed.stdout
    assert first not in listed.stdout

    unconfirmed = run_orphans(stack, "--delete")
    assert unconfirmed.returncode == 1, "no TTY and no --yes: nothing is confirmed"
    assert "Nothing deleted" in unconfirmed.stdout
    assert orphan in check_ownership(stack).orphans

    deleted = run_orphans(stack, "--delete", "--yes")
    assert deleted.returncode == 0
    assert f"Deleted backup group {orphan}" in deleted.stdout
    found = check_ownership(stack)
    assert found.orphans == {}
    assert set(found.groups) == {first}

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = run_orphans(stack, "--cwd", str(stack.directory), "--stack", STACK, cwd=elsewhere)
    assert again.returncode == 0
    assert f"No orphans for stack {QUALIFIED_STACK}" in again.stdout
    assert_no_credentials_shown(stack)
