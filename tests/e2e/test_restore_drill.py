"""The restore drill (examples/restore-drill, run by `examples/gitops/pipeline.sh drill`) over a series.

The examples are copied as a user's repository holds them. The pre-release example keeps a VmBackupSeries
in stack `production`; the drill reads its `latest_backup` through a StackReference, restores it into the
isolated network, and must pass, leaving no VM behind. With the newest backup's root volume backup deleted
out of band, the drill fails with a message naming that backup group, and still leaves no VM behind.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from zstack_simulator import RunningSimulator, Settings, seed

from tests.fixtures.engine import REPO_ROOT, PulumiWorkspace, make_sharing_venv
from tests.fixtures.simulator import ServeSimulator
from tests.fixtures.stack import ADMIN_PASSWORD, RecordingSimulator

pytestmark = pytest.mark.e2e

EXAMPLES = REPO_ROOT / "examples"
SCRIPT_TIMEOUT_S = 180.0
SEED_VM_PREFIX = "1000000000004000"


@dataclasses.dataclass
class Repository:
    examples: Path
    workspace: PulumiWorkspace
    summary: Path
    zstack: RecordingSimulator

    def pipeline(self, step: str) -> subprocess.CompletedProcess[str]:
        self.summary.write_text("")
        return subprocess.run(
            [str(self.examples / "gitops" / "pipeline.sh"), step],
            cwd=self.examples.parent,  # the workflow runs it from the repository root
            env=dict(self.workspace.env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            check=False,
        )

    def pre_release(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.workspace.run(list(args), self.examples / "pre-release")

    def restored_vms(self) -> list[dict[str, Any]]:
        found = self.zstack.query("vm-instances", None, [])["inventories"]
        return [vm for vm in found if not vm["uuid"].startswith(SEED_VM_PREFIX)]


@pytest.fixture
def repository(
    pulumi_workspace: PulumiWorkspace, serve_simulator: ServeSimulator, tmp_path: Path
) -> Repository:
    running: RunningSimulator = serve_simulator(RecordingSimulator(Settings.fast()))
    sim = running.simulator
    assert isinstance(sim, RecordingSimulator)
    examples = tmp_path / "repo" / "examples"
    for name in ("gitops", "restore-drill", "pre-release"):
        shutil.copytree(EXAMPLES / name, examples / name)
    for name in ("restore-drill", "pre-release"):
        make_sharing_venv(examples / name / "venv")
    summary = tmp_path / "step-summary.md"
    env = {
        key: value
        for key, value in pulumi_workspace.env.items()
        if key != "PULUMI_PYTHON_CMD" and not key.startswith("ZSTACK_")
    }
    env |= {
        "ZSTACK_HOST": running.host,
        "ZSTACK_PORT": str(running.port),
        "ZSTACK_ACCOUNT_NAME": seed.ADMIN_ACCOUNT_NAME,
        "ZSTACK_ACCOUNT_PASSWORD": ADMIN_PASSWORD,
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    repo = Repository(examples, dataclasses.replace(pulumi_workspace, env=env), summary, sim)
    # The series the drill reads: two releases, so the newest backup is not the only one.
    repo.pre_release("stack", "init", "production")
    repo.pre_release(
        "config",
        "set-all",
        f"--plaintext=rootVolumeUuid={seed.RUNNING_VM_ROOT_VOLUME_UUID}",
        f"--plaintext=backupStorageUuid={seed.IMAGESTORE_BS_UUID}",
        "--plaintext=appVersion=2.4.0",
    )
    repo.pre_release("up", "--yes", "--skip-preview")
    repo.pre_release("config", "set", "appVersion", "2.5.0")
    repo.pre_release("up", "--yes", "--skip-preview")
    return repo


def latest_backup(repo: Repository) -> str:
    return str(repo.pre_release("stack", "output", "latest_backup").stdout.strip())


def test_the_drill_restores_the_newest_backup_and_fails_loudly_once_it_is_broken(
    repository: Repository,
) -> None:
    repo = repository
    newest = latest_backup(repo)
    repo.zstack.clear_requests()

    passed = repo.pipeline("drill")

    assert passed.returncode == 0, passed.stdout + passed.stderr
    summary = repo.summary.read_text()
    assert f"**Restore drill passed:** backup group `{newest}` restored and Running" in summary
    restores = [r.path for r in repo.zstack.requests() if r.api == "CreateVmFromVmBackup"]
    assert restores == [f"/zstack/v1/vm-instances/from/vm-backups/{newest}"]
    assert repo.restored_vms() == [], "the drill destroys and expunges its VM"

    root = next(b for b in repo.zstack.backups() if b["groupUuid"] == newest and b["type"] == "Root")
    assert repo.zstack.delete_backup(root["uuid"])  # someone deletes it in the ZStack UI

    failed = repo.pipeline("drill")

    assert failed.returncode == 1
    shown = failed.stdout + failed.stderr
    assert f"backup group {newest} cannot be restored: its root volume backup is missing" in shown
    assert "pipeline.sh: restore drill failed" in failed.stderr
    assert "**Restore drill failed:**" in repo.summary.read_text()
    assert repo.restored_vms() == []
    assert ADMIN_PASSWORD not in shown
