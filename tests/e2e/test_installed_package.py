"""The built wheel, as a user gets it: installed into a `pulumi new python` project outside this repository.

One wheel is built per session (`pip wheel . --no-deps`). The project has the `pulumi new python` layout:
`Pulumi.yaml` with `toolchain: pip` and `virtualenv: venv`, a `requirements.txt` naming the wheel file and
`__main__.py`. `pulumi install` makes the venv; the `zstack-simulator` of that venv is the backend; the CLI
runs preview, up, `preview --expect-no-changes` and destroy. `PULUMI_PYTHON_CMD` is not set, and the test's
own interpreter is kept off PATH, so only the project's venv can run the program and the provider.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.engine import REPO_ROOT, PulumiWorkspace, write_project

# One worker builds the wheel: `pip wheel .` writes build/ in the repository.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("wheel")]

PROJECT = "backups"
STACK = "dev"
WHEEL_BUILD_TIMEOUT_S = 300.0
# `pulumi install` downloads pulumi, grpcio and the other dependencies (from pip's cache once warm).
INSTALL_TIMEOUT_S = 600.0
SIMULATOR_START_TIMEOUT_S = 30.0
StartSimulator = Callable[[Path], str]
ROOT_VOLUME = "20000000000040008000000000000011"  # the simulator seed's running VM `web-01`
BACKUP_STORAGE = "30000000000040008000000000000001"
PROGRAM = f"""
    import pulumi
    import pulumi_zstack as zstack

    backup = zstack.VmBackup(
        "nightly",
        root_volume_uuid="{ROOT_VOLUME}",
        backup_storage_uuid="{BACKUP_STORAGE}",
        name="nightly",
    )
    pulumi.export("group_uuid", backup.group_uuid)
    pulumi.export("package_file", zstack.__file__)
"""


def _version() -> str:
    """pyproject.toml's version, as the editable install of the test venv recorded it."""
    return importlib.metadata.version("pulumi-zstack")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=WHEEL_BUILD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    built = list(out.glob("*.whl"))
    assert len(built) == 1, f"`pip wheel .` built {built}"
    return built[0]


def test_the_wheel_ships_the_packages_and_plugin_marker_but_no_tests(wheel: Path) -> None:
    assert wheel.name == f"pulumi_zstack-{_version()}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names}

    assert top_level == {
        "pulumi_zstack",
        "pulumi_zstack_provider",
        "zstack_simulator",
        f"pulumi_zstack-{_version()}.dist-info",
    }
    assert "pulumi_zstack/pulumi-plugin.json" in names
    assert json.loads(zipfile.ZipFile(wheel).read("pulumi_zstack/pulumi-plugin.json")) == {"resource": False}
    assert "pulumi_zstack/py.typed" in names
    metadata = zipfile.ZipFile(wheel).read(f"pulumi_zstack-{_version()}.dist-info/METADATA").decode()
    assert "Requires-Dist: pulumi<4,>=3.216" in metadata
    entry_points = zipfile.ZipFile(wheel).read(f"pulumi_zstack-{_version()}.dist-info/entry_points.txt")
    assert b"zstack-simulator = zstack_simulator.__main__:main" in entry_points


def _user_environment(workspace: PulumiWorkspace) -> dict[str, str]:
    """The workspace's environment as a user's shell would have it: no PULUMI_PYTHON_CMD, no test venv."""
    ours = str(Path(sys.executable).parent)
    env = {
        key: value
        for key, value in workspace.env.items()
        if key not in ("PULUMI_PYTHON_CMD", "VIRTUAL_ENV", "PYTHONPATH") and not key.startswith("ZSTACK_")
    }
    env["PATH"] = os.pathsep.join(part for part in env["PATH"].split(os.pathsep) if part != ours)
    return env


@pytest.fixture
def console_simulator(tmp_path: Path) -> Iterator[StartSimulator]:
    """Starts a `zstack-simulator` console command (`--port 0 --fast`) and returns its base URL."""
    started: list[subprocess.Popen[str]] = []
    log = tmp_path / "simulator.log"

    def start(executable: Path) -> str:
        process = subprocess.Popen(
            [str(executable), "--host", "127.0.0.1", "--port", "0", "--fast"],
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        facts: dict[str, str] = {}
        for line in process.stdout:  # ends with "ready", or EOF if it failed to start
            if line.strip() == "ready":
                return facts["base-url"]
            key, _, value = line.strip().partition(": ")
            facts[key] = value
        pytest.fail(f"zstack-simulator did not start:\n{log.read_text()[-2000:]}")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_pulumi_new_python_project_installs_the_wheel_and_runs_the_lifecycle(
    wheel: Path,
    pulumi_workspace: PulumiWorkspace,
    tmp_path: Path,
    console_simulator: StartSimulator,
) -> None:
    project = write_project(
        tmp_path / PROJECT,
        PROJECT,
        {"__main__.py": PROGRAM, "requirements.txt": f"{wheel}\n"},
        virtualenv="venv",
    )
    env = _user_environment(pulumi_workspace)

    def pulumi(*args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(pulumi_workspace.bin_dir / "pulumi"), "--non-interactive", *args],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check:
            assert done.returncode == 0, f"pulumi {' '.join(args)}:\n{(done.stdout + done.stderr)[-4000:]}"
        return done

    installed = pulumi("install", timeout=INSTALL_TIMEOUT_S)
    venv = project / "venv"
    assert (venv / "bin" / "python").is_file()
    assert "Installing dependencies in virtual environment..." in installed.stdout + installed.stderr

    base_url = console_simulator(venv / "bin" / "zstack-simulator")
    host, port = base_url.removeprefix("http://").split(":")
    pulumi("stack", "init", STACK)
    pulumi("config", "set", "zstack:host", host)
    pulumi("config", "set", "zstack:port", port)
    pulumi("config", "set", "zstack:accountName", "admin")
    pulumi("config", "set", "--secret", "zstack:accountPassword", "password")  # the simulator's published one

    preview = pulumi("preview", "--json")
    assert json.loads(preview.stdout)["changeSummary"] == {"create": 2}

    pulumi("up", "--skip-preview")
    outputs = json.loads(pulumi("stack", "output", "--json").stdout)
    assert Path(outputs["package_file"]).is_relative_to(venv), "the program imported the installed wheel"
    with httpx.Client(base_url=base_url, timeout=10.0) as admin:
        held = {b["groupUuid"] for b in admin.get("/_simulator/backups").json() if b["status"] != "Deleted"}
        assert held == {outputs["group_uuid"]}

        quiet = pulumi("preview", "--expect-no-changes", check=False)
        assert quiet.returncode == 0, quiet.stdout + quiet.stderr

        pulumi("destroy", "--skip-preview")
        left = [b for b in admin.get("/_simulator/backups").json() if b["status"] != "Deleted"]
        assert left == []
