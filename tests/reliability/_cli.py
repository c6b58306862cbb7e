"""What the CLI fault cases share: programs, running and killing the CLI, ZStack checked against state.

Every check reads both sides, ZStack's backups (through the simulator) and the stack's state (through
`pulumi stack export`), so a case proves what a user would find: nothing lost, duplicated or orphaned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
from zstack_simulator import Simulator, seed

from tests.fixtures.ownership import owner_tags as tags_on_root
from tests.fixtures.stack import ADMIN_PASSWORD, CLI_TIMEOUT_S, VM_BACKUP_TYPE, ZStackStack

T = TypeVar("T")

CREATE_PATH = "/zstack/v1/volumes/*/vm-backups"
JOB_PATH = "/zstack/v1/api-jobs/*"
QUERY_PATH = "/zstack/v1/volume-backups*"
CREATE_API = "CreateVmBackup"
ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
# Root volumes of the seeded VMs that ZStack backs up (Running or Paused).
BACKUP_ROOTS = (ROOT_VOLUME, seed.PAUSED_VM_ROOT_VOLUME_UUID, seed.ROOT_ONLY_VM_ROOT_VOLUME_UUID)
# Every poll loop of these tests waits at most this long, in steps of POLL_STEP_S.
WAIT_S = 60.0
POLL_STEP_S = 0.05
# 50 creates under a 10 % error rate take about 10 s on 2 cores; this bounds a hang, not the speed.
LARGE_UP_TIMEOUT_S = 300.0


def _backed_up_volumes() -> dict[str, frozenset[str]]:
    """Root volume uuid -> the volumes a VM backup taken through it covers (non-shareable root and data)."""
    data = seed.default_seed()
    by_vm: dict[str, set[str]] = {}
    for volume in data.volumes:
        if volume.vm_instance_uuid and not volume.is_shareable:
            by_vm.setdefault(volume.vm_instance_uuid, set()).add(volume.uuid)
    return {
        volume.uuid: frozenset(by_vm[volume.vm_instance_uuid])
        for volume in data.volumes
        if volume.type == "Root" and volume.vm_instance_uuid
    }


BACKED_UP = _backed_up_volumes()


# ------------------------------------------------------------------------------------------- helpers


def program(backups: Mapping[str, Mapping[str, object]]) -> str:
    """A program declaring one VmBackup per entry (resource name -> extra inputs) and exporting their ids."""
    lines = ["import pulumi", "import pulumi_zstack as zstack", "", "ids = {}"]
    for name, extra in backups.items():
        inputs: dict[str, object] = {
            "root_volume_uuid": ROOT_VOLUME,
            "backup_storage_uuid": seed.IMAGESTORE_BS_UUID,
            "name": name,
            "max_poll_interval": "1s",
            **extra,
        }
        arguments = ", ".join(f"{key}={value!r}" for key, value in inputs.items())
        lines.append(f"ids[{name!r}] = zstack.VmBackup({name!r}, {arguments}).id")
    lines.append("pulumi.export('ids', ids)")
    return "\n".join(lines) + "\n"


def nightly(**extra: object) -> str:
    """The program of most cases: one VmBackup `nightly` of the running VM."""
    return program({"nightly": extra})


def shown(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def live_groups(simulator: Simulator) -> dict[str, list[dict[str, Any]]]:
    """Backup groups with members not marked `Deleted` (Creating ones included): group uuid -> members."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for backup in simulator.backups():
        if backup.get("status") != "Deleted":
            groups.setdefault(str(backup.get("groupUuid")), []).append(backup)
    return groups


def create_jobs(simulator: Simulator) -> list[dict[str, Any]]:
    """The CreateVmBackup jobs ZStack accepted (and still keeps a record of)."""
    return [job for job in simulator.jobs() if job["api"] == CREATE_API]


def create_posts(stack: ZStackStack) -> list[int | None]:
    """The HTTP status ZStack answered to each CreateVmBackup request (None: no answer was sent)."""
    return [r.status for r in stack.requests() if r.api == CREATE_API]


def job_polls(stack: ZStackStack) -> list[int | None]:
    """The HTTP status ZStack answered to each job poll, oldest first (None: no answer was sent).

    Polls of the user-tag jobs that tag a new backup with its owner are left out: the cases look at the
    create or delete job. A poll that a fault answered before it reached a job is kept.
    """
    requests = stack.requests()
    tag_jobs = {r.job_uuid for r in requests if r.api == "CreateUserTag" and r.job_uuid}
    return [r.status for r in requests if r.api == "QueryJob" and r.job_uuid not in tag_jobs]


def wait_for(what: str, condition: Callable[[], T], timeout: float = WAIT_S) -> T:
    """Call `condition` until it returns something truthy, at most `timeout` seconds; return that."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_STEP_S)


def assert_consistent(stack: ZStackStack, simulator: Simulator) -> dict[str, list[dict[str, Any]]]:
    """Check that ZStack and the stack's state agree; return state id -> that group's live members.

    * nothing lost: every VmBackup in state names a group that ZStack holds, and the members the state
      records are exactly the ones ZStack holds (any others are listed in `missing_members`);
    * nothing duplicated: no two resources share a group, and no group holds two backups of one volume
      (a second CreateVmBackup with the same group uuid adds a second set to the group);
    * nothing orphaned: every group ZStack holds is in state (so no resource made two groups), and no
      operation is left pending;
    * every member is Ready and the group has exactly one root backup, so ZStack can restore it;
    * owned: the root's owner tags all name the resource's URN and the claim in its state, so that no
      later create resumes the group and only that resource deletes it.
    """
    deployment = stack.export()["deployment"]
    pending = deployment.get("pending_operations") or []
    assert not pending, f"the state has pending operations: {pending}"
    resources = [r for r in deployment.get("resources") or [] if r.get("type") == VM_BACKUP_TYPE]
    ids = [str(r["id"]) for r in resources]
    assert len(set(ids)) == len(ids), f"two resources in state track one backup group: {sorted(ids)}"

    groups = live_groups(simulator)
    assert not set(groups) - set(ids), (
        f"ZStack holds backup groups that are not in state (orphans): {sorted(set(groups) - set(ids))}"
    )
    assert not set(ids) - set(groups), (
        f"the state tracks backup groups that ZStack no longer holds (lost): {sorted(set(ids) - set(groups))}"
    )
    for resource in resources:
        group_uuid, outputs = str(resource["id"]), resource["outputs"]
        members = groups[group_uuid]
        volumes = [str(m["volumeUuid"]) for m in members]
        assert len(volumes) == len(set(volumes)), (
            f"group {group_uuid} holds two backups of one volume: two sets in one group ({sorted(volumes)})"
        )
        assert [m["type"] for m in members].count("Root") == 1, (
            f"group {group_uuid} has no single root backup"
        )
        assert {m["status"] for m in members} == {"Ready"}, f"group {group_uuid} is not Ready: {members}"
        # A set: a tag job slower than the provider's wait after a failed poll is written twice; it still
        # names one holder (test_a_lost_poll_of_the_tag_job_writes_the_tag_once covers the usual case).
        assert set(owner_tags(members)) == {(resource["urn"], outputs.get("owner_claim"))}, (
            f"group {group_uuid} is not tagged as held by {resource['urn']} alone: {owner_tags(members)}"
        )
        assert outputs["group_uuid"] == group_uuid
        recorded = {str(m["uuid"]) for m in outputs.get("members") or []}
        assert recorded == {str(m["uuid"]) for m in members}, (
            f"the state of {resource['urn']} records other members than ZStack holds"
        )
        missing = set(outputs.get("missing_members") or [])
        assert not missing & set(volumes)
        assert set(volumes) | missing == BACKED_UP[outputs["root_volume_uuid"]], (
            f"group {group_uuid} does not cover the VM's volumes"
        )
    return {group_uuid: groups[group_uuid] for group_uuid in ids}


def owner_tags(members: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(URN, claim) of each owner tag on the root volume backup among a group's `members`."""
    return [(tag.urn, tag.claim) for tag in tags_on_root(members)]


def assert_no_credentials_shown(stack: ZStackStack) -> None:
    """Error paths are where secrets leak: no CLI output of the case shows the password or a session id."""
    secrets = [ADMIN_PASSWORD, *stack.simulator.issued_session_ids]
    output = "".join(stack.transcript)
    assert not [s for s in secrets if s in output], "a credential appears in the CLI output"


def single_group(stack: ZStackStack) -> tuple[str, list[dict[str, Any]]]:
    """assert_consistent, plus: the state holds exactly one VmBackup. Returns its group and members."""
    held = assert_consistent(stack, stack.simulator)
    assert len(held) == 1, f"expected one backup group in state and ZStack, found {sorted(held)}"
    assert_no_credentials_shown(stack)
    return next(iter(held.items()))


def figure(request: pytest.FixtureRequest, text: str) -> None:
    request.node.user_properties.append(("figure", text))


# ------------------------------------------------------------------------------------ killing the provider


def descendants(root: int) -> list[int]:
    """Pids of every live descendant of `root`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # The command name in parentheses may contain spaces; the parent pid is the 2nd field after it.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def dynamic_providers_under(root: int) -> list[int]:
    """The `python -m pulumi.dynamic` processes started (indirectly) by process `root`."""
    return [pid for pid in descendants(root) if "-m pulumi.dynamic" in _command_line(pid)]


def start_cli(stack: ZStackStack, args: Iterable[str]) -> subprocess.Popen[str]:
    workspace = stack.workspace
    return subprocess.Popen(
        [str(workspace.bin_dir / "pulumi"), "--non-interactive", *args],
        cwd=stack.directory,
        env=dict(workspace.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_tree(cli: subprocess.Popen[str]) -> None:
    """SIGKILL a CLI started with `start_cli` and every process it started."""
    started = descendants(cli.pid)  # before the CLI dies: its children are then re-parented
    cli.kill()
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def finish_cli(
    stack: ZStackStack, cli: subprocess.Popen[str], timeout: float = CLI_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Wait for a CLI started with `start_cli`, bounded; a hung CLI is killed with its children."""
    try:
        out, err = cli.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(cli)
        out, err = cli.communicate()
        pytest.fail(f"the CLI did not finish within {timeout:.0f} s:\n{out}\n{err}")
    stack.transcript.append(out + err)
    return subprocess.CompletedProcess(cli.args, cli.returncode, out, err)
