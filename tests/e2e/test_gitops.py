"""examples/gitops/pipeline.sh, the script the GitHub Actions workflow calls, against the simulator.

The example folder is copied as a user's repository would hold it, with its `venv` made beforehand (the
workflow's `pipeline.sh install` step downloads from PyPI). The script gets what the workflow gives it:
ZStack credentials as ZSTACK_* variables, the backend URL and passphrase, a GITHUB_STEP_SUMMARY file, and
no PULUMI_PYTHON_CMD.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from zstack_simulator import RunningSimulator, Settings, seed

from tests.fixtures.engine import REPO_ROOT, PulumiWorkspace, make_sharing_venv
from tests.fixtures.simulator import ServeSimulator
from tests.fixtures.stack import ADMIN_PASSWORD, RecordingSimulator

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "examples" / "gitops"
SCRIPT_TIMEOUT_S = 180.0
# The VMs the example's Pulumi.production.yaml lists.
BACKED_UP_ROOT_VOLUMES = {seed.RUNNING_VM_ROOT_VOLUME_UUID, seed.PAUSED_VM_ROOT_VOLUME_UUID}


class Pipeline:
    def __init__(self, directory: Path, env: dict[str, str], summary: Path) -> None:
        self.directory = directory
        self.env = env
        self.summary = summary
        self.transcript: list[str] = []

    def __call__(self, step: str) -> subprocess.CompletedProcess[str]:
        self.summary.write_text("")
        done = subprocess.run(
            [str(self.directory / "pipeline.sh"), step],
            cwd=REPO_ROOT,  # the workflow runs it from the repository root
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            check=False,
        )
        self.transcript += [done.stdout, done.stderr, self.summary.read_text()]
        return done


@pytest.fixture
def zstack_server(serve_simulator: ServeSimulator) -> RunningSimulator:
    return serve_simulator(RecordingSimulator(Settings.fast()))


@pytest.fixture
def zstack(zstack_server: RunningSimulator) -> RecordingSimulator:
    sim = zstack_server.simulator
    assert isinstance(sim, RecordingSimulator)
    return sim


@pytest.fixture
def pipeline(pulumi_workspace: PulumiWorkspace, zstack_server: RunningSimulator, tmp_path: Path) -> Pipeline:
    directory = tmp_path / "repo" / "examples" / "gitops"
    shutil.copytree(EXAMPLE, directory)
    make_sharing_venv(directory / "venv")
    env = {
        key: value
        for key, value in pulumi_workspace.env.items()
        if key != "PULUMI_PYTHON_CMD" and not key.startswith("ZSTACK_")
    }
    summary = tmp_path / "step-summary.md"
    env |= {
        "ZSTACK_HOST": zstack_server.host,
        "ZSTACK_PORT": str(zstack_server.port),
        "ZSTACK_ACCOUNT_NAME": seed.ADMIN_ACCOUNT_NAME,
        "ZSTACK_ACCOUNT_PASSWORD": ADMIN_PASSWORD,
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    return Pipeline(directory, env, summary)


def _live_groups(sim: RecordingSimulator) -> dict[str, set[str]]:
    """Backup group -> the volumes it holds, for groups with members not marked Deleted."""
    groups: dict[str, set[str]] = {}
    for backup in sim.backups():
        if backup["status"] != "Deleted":
            groups.setdefault(str(backup["groupUuid"]), set()).add(str(backup["volumeUuid"]))
    return groups


def test_preview_up_and_drift_check_and_a_real_drift_failure(
    pipeline: Pipeline, zstack: RecordingSimulator
) -> None:
    preview = pipeline("preview")

    assert preview.returncode == 0, preview.stdout + preview.stderr
    summary = pipeline.summary.read_text()
    assert summary.startswith("### pulumi preview (stack `production`)\n```\n")
    assert "+ 3 to create" in summary, summary
    assert {r.method for r in zstack.requests()} <= {"GET", "PUT"}, "a preview writes nothing"
    assert _live_groups(zstack) == {}

    up = pipeline("up")

    assert up.returncode == 0, up.stdout + up.stderr
    assert "### pulumi up (stack `production`)" in pipeline.summary.read_text()
    groups = _live_groups(zstack)
    assert len(groups) == 2
    assert {volume for volumes in groups.values() for volume in volumes} >= BACKED_UP_ROOT_VOLUMES

    quiet = pipeline("drift")

    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "### drift check (stack `production`)" in pipeline.summary.read_text()
    assert "**Drift:**" not in pipeline.summary.read_text()

    deleted = next(g for g, volumes in groups.items() if seed.RUNNING_VM_ROOT_VOLUME_UUID in volumes)
    assert zstack.delete_backup_group(deleted) > 0  # someone deletes web-01's backup in the ZStack UI

    drift = pipeline("drift")

    assert drift.returncode == 1
    assert "drift detected in stack production" in drift.stderr
    summary = pipeline.summary.read_text()
    assert "**Drift:** ZStack no longer matches stack `production`" in summary
    assert "web-01" in summary, "the summary names the backup that drifted"
    assert set(_live_groups(zstack)) == set(groups) - {deleted}, "a drift check repairs nothing"

    shown = "\n".join(pipeline.transcript)
    assert ADMIN_PASSWORD not in shown
    for session in zstack.issued_session_ids:
        assert session not in shown


def test_missing_credentials_are_named_before_anything_runs(pipeline: Pipeline) -> None:
    del pipeline.env["ZSTACK_HOST"]
    del pipeline.env["PULUMI_CONFIG_PASSPHRASE"]

    done = pipeline("up")

    assert done.returncode == 2
    assert "set PULUMI_CONFIG_PASSPHRASE ZSTACK_HOST (from the CI's secret store)" in done.stderr
