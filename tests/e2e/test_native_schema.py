"""The native plugin's package schema through the real Pulumi CLI: valid, and what the plugin serves."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pulumi_zstack_provider.docs import SCHEMA_FILE

from tests.fixtures.engine import RunPulumi

pytestmark = pytest.mark.e2e


def test_the_cli_validates_the_committed_schema(run_pulumi: RunPulumi, tmp_path: Path) -> None:
    done = run_pulumi(["schema", "check", str(SCHEMA_FILE)], tmp_path, check=False)

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_cli_reads_the_committed_schema_from_the_running_plugin(
    run_pulumi: RunPulumi, tmp_path: Path
) -> None:
    launcher = tmp_path / "pulumi-resource-zstack"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pulumi_zstack_provider.native "$@"\n')
    launcher.chmod(0o755)

    done = run_pulumi(["package", "get-schema", str(launcher)], tmp_path)

    assert json.loads(done.stdout) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
