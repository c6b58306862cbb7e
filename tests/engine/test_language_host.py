"""The stand-in language host over gRPC, without the CLI.

The host runs as the engine starts it; a fake `pulumi-language-python-exec` (`-use-executor`) records the
command line, interpreter and environment it gets, so `Run` can be checked exactly. The ambient
interpreter (`PULUMI_PYTHON_CMD`) is the test's own.
"""

from __future__ import annotations

import json
import os
import platform
import select
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

from tests.fixtures.engine import REPO_ROOT

pytestmark = pytest.mark.protocol

HOST = REPO_ROOT / "scripts" / "engine" / "language_host.py"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
RPC_TIMEOUT_S = 30.0
# Creating a venv and upgrading pip in it from PyPI.
INSTALL_TIMEOUT_S = 300.0
ENGINE_VERSION = "v3.280.5"

# Records what it was started with in record.json in its working directory, then acts on its last
# argument: `exit=N` exits with N (negative: kills itself with signal -N), `sleep` waits to be stopped.
FAKE_EXECUTOR = """
    import json, os, sys, time
    with open("record.tmp", "w") as record:
        json.dump(
            {
                "argv": sys.argv[1:],
                "cwd": os.getcwd(),
                "pid": os.getpid(),
                "config": os.environ.get("PULUMI_CONFIG"),
                "secret_keys": os.environ.get("PULUMI_CONFIG_SECRET_KEYS"),
                "python": sys.executable,
                "virtual_env": os.environ.get("VIRTUAL_ENV"),
                "path": os.environ.get("PATH", ""),
            },
            record,
        )
    os.replace("record.tmp", "record.json")
    if sys.argv[-1] == "sleep":
        time.sleep(600)
    code = int(sys.argv[-1].removeprefix("exit="))
    if code < 0:
        os.kill(os.getpid(), -code)
    sys.exit(code)
"""


@dataclass
class RunningHost:
    process: subprocess.Popen[str]
    stub: Any
    engine_address: str


@pytest.fixture
def fake_engine() -> Iterator[tuple[grpc.Server, str]]:
    """A gRPC server with no services; its health check answers UNIMPLEMENTED, which counts as alive."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield server, f"127.0.0.1:{port}"
    server.stop(grace=None)


def _start_host(args: list[str]) -> RunningHost:
    process = subprocess.Popen(
        [sys.executable, "-u", str(HOST), *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PULUMI_PYTHON_CMD": sys.executable},
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
    if not ready:
        process.kill()
        pytest.fail("the language host printed no port")
    port = int(process.stdout.readline())
    stub = language_pb2_grpc.LanguageRuntimeStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    return RunningHost(process, stub, args[-1])


def _stop(process: subprocess.Popen[str]) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)
        return None


@pytest.fixture
def host(tmp_path: Path, fake_engine: tuple[grpc.Server, str]) -> Iterator[RunningHost]:
    executor = tmp_path / "fake-exec.py"
    executor.write_text(textwrap.dedent(FAKE_EXECUTOR))
    # Flags as the engine and the Go host's own command line may put them before the engine address.
    running = _start_host(
        [
            "-tracing",
            "http://127.0.0.1:1",
            "--logtostderr",
            "-v=9",
            "-use-executor",
            str(executor),
            "-engine-version",
            ENGINE_VERSION,
            fake_engine[1],
        ]
    )
    yield running
    _stop(running.process)


def _program_dir(tmp_path: Path) -> Path:
    program = tmp_path / "program"
    program.mkdir(exist_ok=True)
    return program


def _run_request(program: Path, *, action: str = "exit=0", options: Mapping[str, str] | None = None) -> Any:
    info_options = struct_pb2.Struct()
    info_options.update({"toolchain": "pip", **(options or {})})
    return language_pb2.RunRequest(
        monitor_address="127.0.0.1:7001",
        project="proj",
        stack="dev",
        pwd=str(program),
        config={"proj:who": "world", "proj:token": "tok"},
        configSecretKeys=["proj:token"],
        dryRun=True,
        parallel=16,
        organization="org",
        args=["first", action],
        info=language_pb2.ProgramInfo(
            root_directory=str(program.parent),
            program_directory=str(program),
            entry_point=".",
            options=info_options,
        ),
    )


def _record(program: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((program / "record.json").read_text())
    return record


def test_run_starts_the_executor_like_the_go_host(host: RunningHost, tmp_path: Path) -> None:
    program = _program_dir(tmp_path)

    response = host.stub.Run(_run_request(program), timeout=RPC_TIMEOUT_S)

    assert not response.error
    assert not response.bail
    record = _record(program)
    assert record["argv"] == [
        "--monitor", "127.0.0.1:7001",
        "--engine", host.engine_address,
        "--project", "proj",
        "--root_directory", str(tmp_path),
        "--stack", "dev",
        "--pwd", str(program),
        "--dry_run", "true",
        "--parallel", "16",
        "--organization", "org",
        ".", "first", "exit=0",
    ]  # fmt: skip
    assert record["cwd"] == str(program)
    assert json.loads(record["config"]) == {"proj:who": "world", "proj:token": "tok"}
    assert json.loads(record["secret_keys"]) == ["proj:token"]


def test_run_leaves_out_empty_arguments(host: RunningHost, tmp_path: Path) -> None:
    program = _program_dir(tmp_path)
    request = _run_request(program)
    request.organization = ""
    request.info.root_directory = ""

    host.stub.Run(request, timeout=RPC_TIMEOUT_S)

    argv = _record(program)["argv"]
    assert "--organization" not in argv
    assert "--root_directory" not in argv


@pytest.mark.parametrize(
    ("exit_code", "error", "bail"),
    [
        (32, "", True),
        (3, "program exited with non-zero exit code: 3", False),
        (-9, "program exited unexpectedly: killed by signal SIGKILL", False),
    ],
)
def test_run_reports_how_the_program_ended(
    host: RunningHost, tmp_path: Path, exit_code: int, error: str, bail: bool
) -> None:
    response = host.stub.Run(
        _run_request(_program_dir(tmp_path), action=f"exit={exit_code}"), timeout=RPC_TIMEOUT_S
    )

    assert (response.error, response.bail) == (error, bail)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"toolchain": "poetry"}, "toolchain='poetry'"),
        ({"toolchain": "uv", "virtualenv": "venv"}, "toolchain='uv'"),
        ({"typechecker": "mypy"}, "typechecker='mypy'"),
    ],
)
def test_run_refuses_runtime_options_it_cannot_honour(
    host: RunningHost, tmp_path: Path, options: dict[str, str], named: str
) -> None:
    program = _program_dir(tmp_path)

    response = host.stub.Run(_run_request(program, options=options), timeout=RPC_TIMEOUT_S)

    assert named in response.error
    assert not (program / "record.json").exists()


def _make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path


@pytest.mark.parametrize("written", ["venv", "ABSOLUTE"])
def test_run_uses_the_project_virtualenv_activated(host: RunningHost, tmp_path: Path, written: str) -> None:
    program = _program_dir(tmp_path)
    # A relative option is taken from the project root (the request's root_directory), not the program dir.
    venv = _make_venv(tmp_path / "venv")
    option = str(venv) if written == "ABSOLUTE" else "venv"

    response = host.stub.Run(_run_request(program, options={"virtualenv": option}), timeout=RPC_TIMEOUT_S)

    assert not response.error
    record = _record(program)
    assert Path(record["python"]).parent == venv / "bin"
    assert record["virtual_env"] == str(venv)
    assert record["path"].split(os.pathsep)[0] == str(venv / "bin")


def test_run_with_a_missing_virtualenv_says_how_to_make_it(host: RunningHost, tmp_path: Path) -> None:
    program = _program_dir(tmp_path)

    response = host.stub.Run(_run_request(program, options={"virtualenv": "venv"}), timeout=RPC_TIMEOUT_S)

    assert "The 'virtualenv' option in Pulumi.yaml is set to 'venv'" in response.error
    assert f"{tmp_path / 'venv'}' doesn't exist" in response.error
    assert "pulumi install" in response.error
    assert not (program / "record.json").exists()


def test_run_refuses_to_attach_a_debugger(host: RunningHost, tmp_path: Path) -> None:
    program = _program_dir(tmp_path)
    request = _run_request(program)
    request.attach_debugger = True

    response = host.stub.Run(request, timeout=RPC_TIMEOUT_S)

    assert "debugger" in response.error
    assert not (program / "record.json").exists()


def test_host_describes_itself_and_needs_no_plugins(host: RunningHost) -> None:
    plugin_info = host.stub.GetPluginInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT_S)
    assert plugin_info.version == ENGINE_VERSION.removeprefix("v"), "the engine version it was provided for"
    info = language_pb2.ProgramInfo(program_directory=str(REPO_ROOT), entry_point=".")
    packages = host.stub.GetRequiredPackages(
        language_pb2.GetRequiredPackagesRequest(info=info), timeout=RPC_TIMEOUT_S
    )
    assert list(packages.packages) == []
    plugins = host.stub.GetRequiredPlugins(
        language_pb2.GetRequiredPluginsRequest(info=info), timeout=RPC_TIMEOUT_S
    )
    assert list(plugins.plugins) == []
    about = host.stub.About(language_pb2.AboutRequest(info=info), timeout=RPC_TIMEOUT_S)
    assert about.version == platform.python_version()
    assert Path(about.executable).samefile(sys.executable)


def test_program_dependencies_list_installed_distributions(host: RunningHost) -> None:
    def names(transitive: bool) -> set[str]:
        request = language_pb2.GetProgramDependenciesRequest(transitiveDependencies=transitive)
        response = host.stub.GetProgramDependencies(request, timeout=RPC_TIMEOUT_S)
        return {dependency.name.lower() for dependency in response.dependencies}

    everything = names(transitive=True)
    top_level = names(transitive=False)

    assert {"pulumi", "grpcio"} <= everything
    # grpcio is installed only because pulumi requires it.
    assert "grpcio" not in top_level
    assert top_level < everything


def _install(host: RunningHost, project: Path) -> tuple[str, grpc.RpcError | None]:
    options = struct_pb2.Struct()
    options.update({"toolchain": "pip", "virtualenv": "venv"})
    info = language_pb2.ProgramInfo(
        root_directory=str(project), program_directory=str(project), entry_point=".", options=options
    )
    shown: list[bytes] = []
    try:
        for message in host.stub.InstallDependencies(
            language_pb2.InstallDependenciesRequest(info=info), timeout=INSTALL_TIMEOUT_S
        ):
            shown.append(message.stdout + message.stderr)
    except grpc.RpcError as error:
        return b"".join(shown).decode(), error
    return b"".join(shown).decode(), None


def test_install_dependencies_creates_the_virtualenv_and_installs_requirements(
    host: RunningHost, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "dist").mkdir(parents=True)
    (project / "requirements.txt").write_text("./dist/missing-0.1-py3-none-any.whl\n")

    shown, error = _install(host, project)

    assert error is not None, "a requirement that cannot be installed fails `pulumi install`"
    assert "Installing dependencies in virtual environment failed" in str(error.details())
    assert "missing-0.1-py3-none-any.whl" in str(error.details())
    assert "Creating virtual environment..." in shown
    venv_python = project / "venv" / "bin" / "python"
    assert venv_python.is_file()

    # A wheel beside the project, named relative to it, as users do with a downloaded release.
    wheel = _tiny_wheel(project / "dist")
    (project / "requirements.txt").write_text(f"./dist/{wheel.name}\n")
    shown, error = _install(host, project)

    assert error is None, error
    assert "Creating virtual environment..." not in shown, "an existing venv is reused"
    assert "Installing dependencies in virtual environment..." in shown
    imported = subprocess.run(
        [str(venv_python), "-c", "import tinypkg; print(tinypkg.ANSWER)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert imported.stdout.strip() == "42"


def _tiny_wheel(directory: Path) -> Path:
    """A pure-Python wheel with no dependencies, written by hand (a wheel is a zip with metadata)."""
    wheel = directory / "tinypkg-0.1-py3-none-any.whl"
    info = "tinypkg-0.1.dist-info"
    files = {
        "tinypkg/__init__.py": "ANSWER = 42\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return wheel


def test_host_exits_cleanly_when_the_engine_closes_it(host: RunningHost) -> None:
    assert _stop(host.process) == 0


def test_closing_the_host_stops_a_running_program(host: RunningHost, tmp_path: Path) -> None:
    program = _program_dir(tmp_path)
    pending = host.stub.Run.future(_run_request(program, action="sleep"), timeout=RPC_TIMEOUT_S)
    for _ in range(300):
        if (program / "record.json").exists():
            break
        time.sleep(0.1)
    pid = _record(program)["pid"]

    assert _stop(host.process) == 0

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    pending.cancel()


def test_host_exits_when_the_engine_is_gone(tmp_path: Path, fake_engine: tuple[grpc.Server, str]) -> None:
    server, address = fake_engine
    executor = tmp_path / "fake-exec.py"
    executor.write_text(textwrap.dedent(FAKE_EXECUTOR))
    running = _start_host(["-use-executor", str(executor), address])

    server.stop(grace=None)

    try:
        # The host checks the engine every 10 seconds.
        assert running.process.wait(timeout=60) == 0
    finally:
        _stop(running.process)


def test_host_without_its_executor_fails_at_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HOST), "-use-executor", str(tmp_path / "missing"), "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        check=False,
    )

    assert done.returncode != 0
    assert "missing executor" in done.stderr
    assert done.stdout == ""


# A plugin's __main__.py: prints what it was started with as one JSON line on stdout and a line on stderr,
# then acts on its last argument like FAKE_EXECUTOR.
FAKE_PLUGIN = """
    import json, os, sys, time
    print(
        json.dumps(
            {
                "argv": sys.argv,
                "cwd": os.getcwd(),
                "prefix": sys.prefix,
                "virtual_env": os.environ.get("VIRTUAL_ENV"),
                "from_engine": os.environ.get("FROM_ENGINE"),
                "pid": os.getpid(),
            }
        ),
        flush=True,
    )
    print("plugin stderr", file=sys.stderr, flush=True)
    if sys.argv[-1] == "sleep":
        time.sleep(600)
    sys.exit(int(sys.argv[-1].removeprefix("exit=")))
"""


@dataclass(frozen=True)
class PluginRun:
    """What a RunPlugin call streamed back."""

    stdout: str
    stderr: str
    exit_codes: list[int]

    @property
    def started_with(self) -> dict[str, Any]:
        record: dict[str, Any] = json.loads(self.stdout.splitlines()[0])
        return record


def _plugin_dir(tmp_path: Path, *, venv: str | None = "venv") -> Path:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "PulumiPlugin.yaml").write_text("runtime: python\n")
    (plugin / "__main__.py").write_text(textwrap.dedent(FAKE_PLUGIN))
    if venv:
        _make_venv(plugin / venv)
    return plugin


def _run_plugin_request(
    plugin: Path, pwd: Path, *, action: str = "exit=0", options: Mapping[str, str] | None = None
) -> Any:
    info_options = struct_pb2.Struct()
    info_options.update(dict(options or {}))
    # As the engine asks for a PulumiPlugin.yaml plugin: root and program directory are the plugin's.
    return language_pb2.RunPluginRequest(
        pwd=str(pwd),
        args=["127.0.0.1:50051", action],
        env=["FROM_ENGINE=yes", f"PATH={os.environ['PATH']}"],
        kind="resource",
        info=language_pb2.ProgramInfo(
            root_directory=str(plugin), program_directory=str(plugin), entry_point=".", options=info_options
        ),
    )


def _run_plugin(host: RunningHost, request: Any) -> PluginRun:
    stdout, stderr, codes = b"", b"", []
    for message in host.stub.RunPlugin(request, timeout=RPC_TIMEOUT_S):
        stdout += message.stdout
        stderr += message.stderr
        if message.WhichOneof("output") == "exitcode":
            codes.append(message.exitcode)
    return PluginRun(stdout.decode(), stderr.decode(), codes)


def test_run_plugin_starts_its_main_on_the_plugin_venv_like_the_go_host(
    host: RunningHost, tmp_path: Path
) -> None:
    plugin = _plugin_dir(tmp_path)
    project = _program_dir(tmp_path)

    run = _run_plugin(host, _run_plugin_request(plugin, project))

    started = run.started_with
    # `python <plugin directory> ARGS...`, in the engine's working directory.
    assert started["argv"] == [str(plugin), "127.0.0.1:50051", "exit=0"]
    assert started["cwd"] == str(project)
    assert started["prefix"] == str(plugin / "venv"), "the plugin's own venv, not the ambient interpreter"
    assert started["virtual_env"] == str(plugin / "venv")
    assert started["from_engine"] == "yes", "the engine's environment reaches the plugin"
    assert run.stderr == "plugin stderr\n"
    assert run.exit_codes == [], "a clean exit just ends the stream"


def test_run_plugin_streams_a_failing_exit_code(host: RunningHost, tmp_path: Path) -> None:
    run = _run_plugin(host, _run_plugin_request(_plugin_dir(tmp_path), tmp_path, action="exit=3"))

    assert run.exit_codes == [3]
    assert run.stderr == "plugin stderr\n"


def test_run_plugin_uses_the_virtualenv_its_settings_name(host: RunningHost, tmp_path: Path) -> None:
    plugin = _plugin_dir(tmp_path, venv=".plugin-env")

    run = _run_plugin(host, _run_plugin_request(plugin, tmp_path, options={"virtualenv": ".plugin-env"}))

    assert run.started_with["prefix"] == str(plugin / ".plugin-env")


def test_run_plugin_without_its_venv_says_to_install(host: RunningHost, tmp_path: Path) -> None:
    plugin = _plugin_dir(tmp_path, venv=None)

    with pytest.raises(grpc.RpcError) as raised:
        _run_plugin(host, _run_plugin_request(plugin, tmp_path))

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = str(raised.value.details())
    assert f"The plugin's virtual environment '{plugin / 'venv'}' doesn't exist" in details
    assert "run `pulumi install` in the project that uses the plugin" in details


def test_run_plugin_refuses_a_plugin_without_main(host: RunningHost, tmp_path: Path) -> None:
    plugin = _plugin_dir(tmp_path)
    (plugin / "__main__.py").unlink()

    with pytest.raises(grpc.RpcError) as raised:
        _run_plugin(host, _run_plugin_request(plugin, tmp_path))

    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "__main__.py" in str(raised.value.details())


def _first_stdout_line(call: Any) -> Any:
    """The first line the plugin prints, as JSON: output arrives in chunks, and stderr ones may come first."""
    for message in call:
        if message.stdout:
            return json.loads(message.stdout.decode().splitlines()[0])
    raise AssertionError("the plugin printed nothing on stdout")


def _gone(pid: int) -> bool:
    """Whether process `pid` has exited (waited for by its parent) within a bounded wait."""
    for _ in range(300):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_ending_the_run_plugin_call_kills_the_plugin(host: RunningHost, tmp_path: Path) -> None:
    call = host.stub.RunPlugin(
        _run_plugin_request(_plugin_dir(tmp_path), tmp_path, action="sleep"), timeout=RPC_TIMEOUT_S
    )
    pid = _first_stdout_line(call)["pid"]

    call.cancel()

    assert _gone(pid), "the engine stops a plugin by ending its RunPlugin call"


def test_closing_the_host_stops_a_running_plugin(host: RunningHost, tmp_path: Path) -> None:
    call = host.stub.RunPlugin(
        _run_plugin_request(_plugin_dir(tmp_path), tmp_path, action="sleep"), timeout=RPC_TIMEOUT_S
    )
    pid = _first_stdout_line(call)["pid"]

    assert _stop(host.process) == 0

    assert _gone(pid)
    call.cancel()


def test_install_dependencies_of_a_plugin_makes_its_own_venv(host: RunningHost, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    (plugin / "wheels").mkdir(parents=True)
    wheel = _tiny_wheel(plugin / "wheels")
    (plugin / "requirements.txt").write_text(f"./wheels/{wheel.name}\n")
    info = language_pb2.ProgramInfo(
        root_directory=str(plugin), program_directory=str(plugin), entry_point="."
    )

    shown = b"".join(
        message.stdout + message.stderr
        for message in host.stub.InstallDependencies(
            language_pb2.InstallDependenciesRequest(info=info, is_plugin=True), timeout=INSTALL_TIMEOUT_S
        )
    ).decode()

    # No virtualenv option: a plugin still gets one, `venv` in its directory, and never the ambient Python.
    assert "Creating virtual environment..." in shown
    imported = subprocess.run(
        [str(plugin / "venv" / "bin" / "python"), "-c", "import tinypkg; print(tinypkg.ANSWER)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert imported.stdout.strip() == "42"
