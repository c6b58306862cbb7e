"""Pulumi YAML programs through the zstack plugin, end to end through the real CLI against the simulator.

The plugin is installed the way users install a release: `scripts/build-plugin`'s tarball (the plugin
directory with the pulumi-zstack wheel bundled), unpacked, named by path in the `packages:` of Pulumi.yaml.
`pulumi install` makes the plugin's own venv from the bundled wheel and the package index; the engine then
starts the plugin through the Python language host for every command. The program is examples/yaml's,
with its config in the stack config; ZStack is compared with the exported state after each step
(`check_yaml_ownership`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from zstack_simulator import seed

from tests.fixtures.engine import REPO_ROOT, PulumiWorkspace, isolated_env
from tests.fixtures.fault_cases import CASE_MARK
from tests.fixtures.ownership import Ownership, assert_ownership, listed_orphans, live_groups, run_orphans
from tests.fixtures.simulator import ServeSimulator
from tests.fixtures.stack import STACK, ZStackStack, group_made_outside_pulumi, new_stack
from tests.reliability._cli import (
    CREATE_PATH,
    QUERY_PATH,
    create_jobs,
    create_posts,
    descendants,
    finish_cli,
    start_cli,
    wait_for,
)

# One worker installs the plugin once and runs every case with it.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("yaml-plugin")]

EXAMPLE = REPO_ROOT / "examples" / "yaml"
EXAMPLE_PLUGIN_LINE = "  zstack: ../../plugin\n"
PROJECT = "zstack-yaml"
VM_BACKUP = "zstack:index:VmBackup"
SERIES = "zstack:index:VmBackupSeries"
ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
BACKUP_STORAGE = seed.IMAGESTORE_BS_UUID
BUILD_TIMEOUT_S = 300.0
# Creating the plugin's venv and installing pulumi-zstack's dependencies into it.
INSTALL_TIMEOUT_S = 600.0


# ------------------------------------------------------------------------------------ the plugin


@pytest.fixture(scope="session")
def plugin_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scripts/build-plugin's tarball, as a release ships it."""
    out = tmp_path_factory.mktemp("plugin-release")
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build-plugin"), str(out)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def installed_plugin(
    plugin_release: Path, pulumi_yaml_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The release unpacked, and `pulumi install` run in a project that names it: the plugin directory."""
    unpacked = tmp_path_factory.mktemp("plugins")
    with tarfile.open(plugin_release) as archive:
        archive.extractall(unpacked, filter="data")
    plugin = unpacked / "zstack"
    project = tmp_path_factory.mktemp("first-project")
    (project / "Pulumi.yaml").write_text(_with_plugin((EXAMPLE / "Pulumi.yaml").read_text(), plugin))
    home, backend = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("backend")
    done = subprocess.run(
        [str(pulumi_yaml_bin / "pulumi"), "--non-interactive", "install"],
        cwd=project,
        env=isolated_env(pulumi_yaml_bin, home, backend),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert (plugin / "venv" / "bin" / "python").is_file(), "pulumi install made the plugin's venv"
    return plugin


def _with_plugin(pulumi_yaml: str, plugin: Path) -> str:
    """examples/yaml's Pulumi.yaml with its `packages:` naming `plugin` instead of the checkout's."""
    assert EXAMPLE_PLUGIN_LINE in pulumi_yaml
    return pulumi_yaml.replace(EXAMPLE_PLUGIN_LINE, f"  zstack: {plugin}\n")


# ------------------------------------------------------------------------------------ stacks


def _yaml_stack(
    workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    directory: Path,
    pulumi_yaml: str,
    *,
    stack: ZStackStack | None = None,
) -> ZStackStack:
    """A YAML project with stack `e2e` against a fresh simulator, or the simulator of `stack`."""
    made = new_stack(
        workspace,
        serve_simulator,
        directory,
        pulumi_yaml=pulumi_yaml,
        zstack=stack.zstack if stack else None,
    )
    made.set_config(
        {
            f"{PROJECT}:rootVolumeUuid": ROOT_VOLUME,
            f"{PROJECT}:backupStorageUuid": BACKUP_STORAGE,
            f"{PROJECT}:appVersion": "2.4.0",
            f"{PROJECT}:baselineRevision": "1",
        }
    )
    return made


@pytest.fixture
def yaml_stack(
    pulumi_yaml_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    installed_plugin: Path,
    tmp_path: Path,
) -> ZStackStack:
    """examples/yaml as a project whose stack config points at a fresh simulator."""
    program = _with_plugin((EXAMPLE / "Pulumi.yaml").read_text(), installed_plugin)
    return _yaml_stack(pulumi_yaml_workspace, serve_simulator, tmp_path / "project", program)


def _one_backup_program(plugin: Path, **properties: str) -> str:
    """A Pulumi YAML program with one VmBackup `nightly` of the running VM (`properties` added)."""
    extra = "".join(f"      {key}: {value}\n" for key, value in properties.items())
    return (
        f"name: {PROJECT}\n"
        "runtime: yaml\n"
        "packages:\n"
        f"  zstack: {plugin}\n"
        "resources:\n"
        "  nightly:\n"
        f"    type: {VM_BACKUP}\n"
        "    properties:\n"
        f'      rootVolumeUuid: "{ROOT_VOLUME}"\n'
        f'      backupStorageUuid: "{BACKUP_STORAGE}"\n'
        "      name: nightly\n"
        f"{extra}"
        "outputs:\n"
        "  group: ${nightly.groupUuid}\n"
    )


def _model_names(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A native resource's outputs under the Python models' names (`groupUuid` -> `group_uuid`)."""
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): value for key, value in outputs.items()}


def check_yaml_ownership(stack: ZStackStack) -> Ownership:
    """`check_ownership` for a stack of the plugin's resources: ZStack against the exported state."""
    deployment = stack.export()["deployment"]
    assert not deployment.get("pending_operations"), deployment.get("pending_operations")
    resources = deployment.get("resources") or []
    backups = {str(r["urn"]): _model_names(r["outputs"]) for r in resources if r["type"] == VM_BACKUP}
    ids = {str(r["urn"]): str(r["id"]) for r in resources if r["type"] == VM_BACKUP}
    series = {str(r["urn"]): _model_names(r["outputs"]) for r in resources if r["type"] == SERIES}
    return assert_ownership(backups, ids, series, live_groups(stack), listed_orphans(stack))


def _shown(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


# ------------------------------------------------------------------------------------ the example


def test_the_yaml_example_previews_ups_refreshes_takes_again_and_destroys(yaml_stack: ZStackStack) -> None:
    run = yaml_stack.run
    run(["install"])

    preview = yaml_stack.preview()

    assert preview.summary == {"create": 4}, "the stack, the series, the backup and the schedule"
    assert yaml_stack.writes() == [], "a preview sends ZStack nothing"

    yaml_stack.up()

    outputs = yaml_stack.outputs()
    ownership = check_yaml_ownership(yaml_stack)
    assert set(ownership.groups) == {outputs["baselineBackup"], outputs["latestBackup"]}
    assert outputs["keptBackups"] == [outputs["latestBackup"]]
    assert ownership.orphans == {}
    (job,) = yaml_stack.simulator.scheduler_jobs()
    assert job["uuid"] == outputs["scheduleJob"]
    run(["preview", "--expect-no-changes"])

    # Deleted outside Pulumi: refresh shows it and drops it from the state; the next up takes it again.
    baseline = outputs["baselineBackup"]
    assert yaml_stack.simulator.delete_backup_group(baseline) > 0
    refreshed = run(["refresh", "--skip-preview", "--diff"])
    assert re.search(rf"- {VM_BACKUP}: \(delete\)\s+\[id={baseline}\]", refreshed.stdout), refreshed.stdout
    assert "- 1 deleted" in refreshed.stdout
    assert [r["id"] for r in yaml_stack.resources(VM_BACKUP)] == []
    yaml_stack.up()
    retaken = yaml_stack.outputs()["baselineBackup"]
    assert retaken in check_yaml_ownership(yaml_stack).groups

    # A new revision takes the baseline again: the new group first, then the old one deleted.
    yaml_stack.set_config({f"{PROJECT}:baselineRevision": "2"})
    yaml_stack.forget_requests()
    steps = yaml_stack.preview().steps(VM_BACKUP)
    assert [(s["op"], s.get("replaceReasons")) for s in steps] == [("replace", ["triggers"])]
    yaml_stack.up()
    writes = [r.api for r in yaml_stack.writes()]
    assert writes.index("CreateVmBackup") < writes.index("DeleteVmBackup"), writes
    third = yaml_stack.outputs()["baselineBackup"]
    assert third != retaken
    assert retaken not in live_groups(yaml_stack)
    check_yaml_ownership(yaml_stack)

    # A new release adds a backup to the series.
    yaml_stack.set_config({f"{PROJECT}:appVersion": "2.5.0"})
    yaml_stack.up()
    kept = yaml_stack.outputs()["keptBackups"]
    assert len(kept) == 2
    assert check_yaml_ownership(yaml_stack).orphans == {}

    yaml_stack.destroy()

    assert live_groups(yaml_stack) == {}
    assert yaml_stack.simulator.scheduler_jobs() == []
    assert yaml_stack.export()["deployment"].get("resources") in (None, [])


# ------------------------------------------------------------------------------------ create faults


@pytest.fixture
def fault_case(request: pytest.FixtureRequest) -> None:
    """A line in the fault matrix printed at the end of the run."""
    request.node.user_properties.append((CASE_MARK, True))


@pytest.fixture
def one_backup_stack(
    pulumi_yaml_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    installed_plugin: Path,
    tmp_path: Path,
) -> ZStackStack:
    """A project with one VmBackup, `nightly`, whose stack config points at a fresh simulator."""
    return _yaml_stack(
        pulumi_yaml_workspace, serve_simulator, tmp_path / "project", _one_backup_program(installed_plugin)
    )


def _exactly_one_group(stack: ZStackStack) -> str:
    """The stack holds one VmBackup, ZStack one live group, and they are the same, owned by it."""
    ownership = check_yaml_ownership(stack)
    assert len(ownership.groups) == 1, f"expected one backup group, ZStack holds {sorted(ownership.groups)}"
    (group,) = ownership.groups
    assert ownership.id_of("nightly") == group
    assert stack.outputs() == {"group": group}
    assert ownership.orphans == {}
    return group


@pytest.mark.usefixtures("fault_case")
def test_lost_answer_of_the_create_is_recovered_without_a_second_backup(
    one_backup_stack: ZStackStack,
) -> None:
    sim = one_backup_stack.simulator
    fault = sim.faults.lose_response(method="POST", path=CREATE_PATH, count=1)

    one_backup_stack.up()

    assert fault.fired == 1

    _exactly_one_group(one_backup_stack)
    assert create_posts(one_backup_stack) == [None], "the create is not sent again: ZStack already runs it"
    assert len(create_jobs(sim)) == 1


@pytest.mark.usefixtures("fault_case")
def test_bursts_of_503_on_queries_and_on_the_create_are_retried(one_backup_stack: ZStackStack) -> None:
    sim = one_backup_stack.simulator
    sim.faults.error_503(method="GET", path=QUERY_PATH, count=3)
    sim.faults.error_503(method="POST", path=CREATE_PATH, count=3)

    one_backup_stack.up()

    _exactly_one_group(one_backup_stack)
    assert [rule.fired for rule in sim.faults.rules()] == [3, 3]
    assert create_posts(one_backup_stack) == [503, 503, 503, 202]
    assert len(create_jobs(sim)) == 1


def _plugins_under(root: int, plugin: Path) -> list[int]:
    """The zstack plugin processes (`<venv>/bin/python <plugin directory> ...`) started under `root`."""
    python = str(plugin / "venv" / "bin" / "python")
    found = []
    for pid in descendants(root):
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # exited meanwhile
        if [arg.decode() for arg in argv[:2]] == [python, str(plugin)]:
            found.append(pid)
    return found


@pytest.mark.usefixtures("fault_case")
def test_plugin_killed_during_the_create_then_up_resumes_the_same_group(
    one_backup_stack: ZStackStack, installed_plugin: Path
) -> None:
    sim = one_backup_stack.simulator
    # Long enough to kill the plugin while the job runs; the job then finishes on its own.
    sim.faults.job_duration(seconds=6.0, method="POST", path=CREATE_PATH, count=1)

    cli = start_cli(one_backup_stack, ["up", "--skip-preview"])
    try:
        wait_for("the create job", lambda: [j for j in create_jobs(sim) if j["state"] != "done"])
        for pid in wait_for("the plugin process", lambda: _plugins_under(cli.pid, installed_plugin)):
            os.kill(pid, signal.SIGKILL)
    finally:
        interrupted = finish_cli(one_backup_stack, cli)

    assert interrupted.returncode != 0
    (running_group,) = live_groups(one_backup_stack)
    assert one_backup_stack.resources(VM_BACKUP) == [], "the interrupted create did not reach the state"

    one_backup_stack.up()

    assert _exactly_one_group(one_backup_stack) == running_group, "the interrupted backup was resumed"
    assert len(create_jobs(sim)) == 1, "ZStack received one create in all"


# ------------------------------------------------------------------------------------ import


def test_import_of_a_group_made_outside_pulumi_then_previews_no_changes(
    one_backup_stack: ZStackStack, installed_plugin: Path
) -> None:
    group = group_made_outside_pulumi(one_backup_stack, "nightly")
    one_backup_stack.forget_requests()

    one_backup_stack.run(["import", VM_BACKUP, "nightly", group, "--generate-code=false"])

    assert one_backup_stack.writes() == [], "an import only reads ZStack"
    assert [r["id"] for r in one_backup_stack.resources(VM_BACKUP)] == [group]
    one_backup_stack.run(["preview", "--expect-no-changes"])
    one_backup_stack.up()  # records the program's outputs; no resource changes
    assert one_backup_stack.writes() == []
    assert _exactly_one_group(one_backup_stack) == group


# ------------------------------------------------------------------------------------ side by side


PYTHON_PROGRAM = f"""
import pulumi
import pulumi_zstack as zstack

backup = zstack.VmBackup(
    "nightly", root_volume_uuid="{ROOT_VOLUME}", backup_storage_uuid="{BACKUP_STORAGE}", name="nightly"
)
pulumi.export("group", backup.group_uuid)
"""


def _orphans_of(stack: ZStackStack, stack_name: str) -> list[dict[str, Any]]:
    """What `pulumi-zstack orphans --json --stack STACK_NAME` lists, run in `stack`'s project."""
    done = run_orphans(stack, "--json", "--stack", stack_name)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_a_python_stack_and_a_yaml_stack_on_one_zstack_never_touch_each_others_backups(
    pulumi_workspace: PulumiWorkspace,
    pulumi_yaml_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    installed_plugin: Path,
    tmp_path: Path,
) -> None:
    python_stack = new_stack(pulumi_workspace, serve_simulator, tmp_path / "python")
    python_stack.write_program(PYTHON_PROGRAM)
    yaml_stack = _yaml_stack(
        pulumi_yaml_workspace,
        serve_simulator,
        tmp_path / "yaml",
        _one_backup_program(installed_plugin, triggers='["1"]'),
        stack=python_stack,
    )
    python_stack.up()
    yaml_stack.up()
    python_group = python_stack.outputs()["group"]
    yaml_group = yaml_stack.outputs()["group"]
    assert python_group != yaml_group
    assert set(live_groups(python_stack)) == {python_group, yaml_group}
    assert _orphans_of(python_stack, STACK) == []
    assert _orphans_of(yaml_stack, STACK) == []

    python_members = live_groups(python_stack)[python_group]

    # The YAML stack takes its backup again; then it loses track of the new one, which is its orphan alone.
    (yaml_stack.directory / "Pulumi.yaml").write_text(_one_backup_program(installed_plugin, triggers='["2"]'))
    python_stack.forget_requests()
    yaml_stack.up()
    retaken = yaml_stack.outputs()["group"]
    (urn,) = [r["urn"] for r in yaml_stack.resources(VM_BACKUP)]
    yaml_stack.run(["state", "delete", urn, "--yes"])

    assert [o["group_uuid"] for o in _orphans_of(yaml_stack, STACK)] == [retaken]
    assert _orphans_of(python_stack, STACK) == []
    deleted = run_orphans(yaml_stack, "--stack", STACK, "--delete", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    yaml_stack.destroy()

    assert not [r for r in python_stack.writes() if python_group in r.path], "the YAML stack wrote to it"
    assert live_groups(python_stack) == {python_group: python_members}, "its members and tags unchanged"
    assert _orphans_of(python_stack, STACK) == []
    assert _orphans_of(yaml_stack, STACK) == []
    python_stack.run(["preview", "--expect-no-changes"])
