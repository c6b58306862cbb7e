"""Stand-in for Pulumi's Go Python language host (`pulumi-language-python`).

The Go module proxy we build the CLI from refuses the untagged Go language-host module, so
`scripts/provide-engine` installs this file beside the real `pulumi` as `pulumi_language_python_host.py`
with a `pulumi-language-python` launcher that runs it under `$PULUMI_PYTHON_CMD`.

It mirrors the Go host (sdk/python/cmd/pulumi-language-python/main.go and sdk/python/toolchain/pip.go)
for what `install`, `preview`, `up`, `refresh`, `destroy`, `import` and `about` need with the pip
toolchain:

- `Run` starts the real `pulumi-language-python-exec` shim with the same command line and environment.
  The interpreter is the project's `virtualenv` (a relative path is taken from the project root), with
  that environment activated, else `$PULUMI_PYTHON_CMD`, else `python3`. The engine starts the dynamic
  provider (`pulumi-resource-pulumi-python`) with `PULUMI_RUNTIME_VIRTUALENV` from the same option, so
  program and provider share the venv.
- `InstallDependencies` (`pulumi install`) creates the venv when it is missing, upgrades pip, setuptools
  and wheel, and installs `requirements.txt`, as the Go host does. For a plugin (`is_plugin`: a
  `runtime: python` PulumiPlugin.yaml directory, e.g. from the `packages:` of a Pulumi.yaml) the venv is
  the plugin's own, `venv` in its directory unless PulumiPlugin.yaml's `virtualenv` option names another:
  plugins never run on the ambient interpreter.
- `RunPlugin` starts such a plugin as the Go host does when it has a `__main__.py`: the venv's
  `python <plugin directory> ARGS...` in the engine's working directory, with the host's environment
  (venv activated) overlaid by the engine's, its stdout and stderr streamed back as they come, and its exit
  code when not 0. Ending the call kills it, as the engine's cancellation does for the Go host.

Refused rather than ignored: the `typechecker` option, the uv/poetry toolchains, debugger attach, and
plugins without a `__main__.py` (the Go host runs those as packages through `pulumi.run.plugin`).
Plugin discovery is a no-op (dynamic providers need no plugin; a plugin of ours depends on no package).

The host runs on its own interpreter (it needs `grpcio` and Pulumi's protobuf modules, which the
project's interpreter may lack): `scripts/provide-engine` gives it a small virtual environment.

Usage (by the engine): pulumi-language-python [flags] ENGINE_ADDRESS
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

EXECUTOR_NAME = "pulumi-language-python-exec"

# The exec shim exits with this code after it has already shown the user an actionable message.
_EXIT_ERROR_ALREADY_SHOWN = 32

# Flags the engine or the Go host's own command line may pass with their value as the next argument;
# without this list such a value would be mistaken for the engine address.
_FLAGS_WITH_VALUE = frozenset(
    {"tracing", "use-executor", "engine-version", "virtualenv", "root", "typechecker", "toolchain", "v"}
)

# Same limit as the engine's own gRPC channels, so a large configuration cannot fail the Run call.
_MAX_MESSAGE_BYTES = 400 * 1024 * 1024

# The Go host checks every 5 minutes; a shorter period frees the port sooner when the CLI dies.
_ENGINE_HEALTH_PERIOD_S = 10.0
_ENGINE_HEALTH_TIMEOUT_S = 10.0

_CHILD_STOP_GRACE_S = 5.0

# Each running plugin holds one call (RunPlugin streams until the plugin exits), beside Run and the rest.
_MAX_CONCURRENT_CALLS = 32

# The Go host's default `virtualenv` for plugins (RunPlugin, and InstallDependencies with is_plugin).
_PLUGIN_VIRTUALENV = "venv"
# How much of a plugin's output one RunPlugin message carries; a read returns what is there, so the port
# line a provider prints reaches the engine at once.
_PLUGIN_OUTPUT_CHUNK = 64 * 1024
_PYTHON_VERSION_TIMEOUT_S = 30.0
_PIP_LIST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class HostArgs:
    """What the command line tells the host."""

    engine_address: str | None
    executor: str | None
    engine_version: str | None = None


def parse_args(argv: Sequence[str]) -> HostArgs:
    """Parse Go-style flags (`-name value`, `--name=value`, boolean `-name`) and the engine address.

    Unknown flags are accepted and ignored, as they may come from newer engines.
    """
    engine_address: str | None = None
    executor: str | None = None
    engine_version: str | None = None
    args = iter(argv)
    for arg in args:
        if arg == "--":
            engine_address = next(args, None)
            break
        if not arg.startswith("-") or arg == "-":
            engine_address = arg
            break
        name, has_value, value = arg.lstrip("-").partition("=")
        if not has_value and name in _FLAGS_WITH_VALUE:
            value = next(args, "")
        if name == "use-executor" and value:
            executor = value
        elif name == "engine-version" and value:
            engine_version = value.removeprefix("v")
    return HostArgs(engine_address=engine_address or None, executor=executor, engine_version=engine_version)


def construct_arguments(request: Any, engine_address: str | None) -> list[str]:
    """The exec shim's arguments for a RunRequest, in the Go host's order, empty values left out."""
    args: list[str] = []
    for flag, value in (
        ("monitor", request.monitor_address),
        ("engine", engine_address or ""),
        ("project", request.project),
        ("root_directory", request.info.root_directory),
        ("stack", request.stack),
        ("pwd", request.pwd),
        ("dry_run", "true" if request.dryRun else "false"),
        ("parallel", str(request.parallel)),
        ("organization", request.organization),
    ):
        if value:
            args += [f"--{flag}", value]
    args.append(request.info.entry_point or request.program or ".")
    args.extend(request.args)
    return args


def ambient_python() -> str:
    """The interpreter without a virtualenv option: `$PULUMI_PYTHON_CMD`, else `python3`, as the Go host."""
    command = os.environ.get("PULUMI_PYTHON_CMD") or "python3"
    return shutil.which(command) or command


def unsupported_options(options: dict[str, Any]) -> list[str]:
    """Runtime options this host cannot honour; ignoring them would change the interpreter or checks."""
    problems = [f"{name}={options[name]!r}" for name in ("typechecker",) if options.get(name)]
    toolchain = options.get("toolchain", "pip")
    if toolchain != "pip":
        problems.append(f"toolchain={toolchain!r}")
    return problems


def is_virtualenv(directory: Path) -> bool:
    return (directory / "bin" / "python").is_file()


@dataclass(frozen=True)
class Interpreter:
    """The Python a program runs on: the project's virtual environment, or the ambient interpreter."""

    virtualenv: Path | None
    """Absolute path of the `virtualenv` option, if the project sets one."""
    option: str = ""
    """The option as written in Pulumi.yaml, for messages."""
    plugin: bool = False
    """A plugin's environment (the option comes from PulumiPlugin.yaml, `venv` when it names none)."""

    @classmethod
    def for_project(cls, options: dict[str, Any], root: str) -> Interpreter:
        option = str(options.get("virtualenv") or "")
        if not option:
            return cls(None)
        # Relative to the project root, like the Go host's resolveVirtualEnvironmentPath.
        return cls(Path(root or os.getcwd(), option).absolute(), option)

    @classmethod
    def for_plugin(cls, options: dict[str, Any], plugin_directory: str) -> Interpreter:
        """A plugin always has a virtual environment of its own: `venv` in its directory unless its
        PulumiPlugin.yaml names another, as the Go host does (it never runs plugins on the ambient Python).
        """
        option = str(options.get("virtualenv") or _PLUGIN_VIRTUALENV)
        return cls(Path(plugin_directory, option).absolute(), option, plugin=True)

    @property
    def command(self) -> str:
        return str(self.virtualenv / "bin" / "python") if self.virtualenv else ambient_python()

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """`base` with the virtual environment activated (PATH, VIRTUAL_ENV, no PYTHONHOME)."""
        if self.virtualenv is None:
            return dict(base)
        env = {key: value for key, value in base.items() if key not in ("PYTHONHOME", "VIRTUAL_ENV")}
        bin_dir = str(self.virtualenv / "bin")
        env["PATH"] = os.pathsep.join(filter(None, [bin_dir, base.get("PATH", "")]))
        env["VIRTUAL_ENV"] = str(self.virtualenv)
        return env

    def missing(self) -> str | None:
        """Why the virtual environment cannot be used (the Go host's wording), or None."""
        if self.virtualenv is None or is_virtualenv(self.virtualenv):
            return None
        state = "doesn't appear to be a virtual environment" if self.virtualenv.exists() else "doesn't exist"
        python = self.virtualenv / "bin" / "python"
        if self.plugin:
            subject = f"The plugin's virtual environment {str(self.virtualenv)!r}"
            where = "in the project that uses the plugin"
        else:
            subject = (
                f"The 'virtualenv' option in Pulumi.yaml is set to {self.option!r}, "
                f"but {str(self.virtualenv)!r}"
            )
            where = ""
        return (
            f"{subject} {state}; run `pulumi install`{' ' + where if where else ''}, or these commands, "
            f"to create the virtual environment and install dependencies into it:\n\n"
            f"    1. python3 -m venv {self.virtualenv}\n"
            f"    2. {python} -m pip install --upgrade pip setuptools wheel\n"
            f"    3. {python} -m pip install -r requirements.txt\n"
        )


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(interpreter: Interpreter, transitive: bool) -> list[tuple[str, str]]:
    """(name, version) of the distributions the program's interpreter sees, via `pip list` like the Go host.

    Without `transitive`, only those no other installed distribution requires (`--not-required`).
    """
    command = [interpreter.command, "-m", "pip", "list", "--format", "json"]
    if not transitive:
        command.append("--not-required")
    listed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=_PIP_LIST_TIMEOUT_S,
        check=True,
        env=interpreter.environment(dict(os.environ)),
    )
    return sorted((_normalize(item["name"]), item["version"]) for item in json.loads(listed.stdout))


class _Programs:
    """Runs programs and plugins, and stops those still running at shutdown so that none is left orphaned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._closed = False

    def _start(self, argv: Sequence[str], cwd: str | None, env: dict[str, str], output: int | None) -> Any:
        with self._lock:
            if self._closed:
                raise ChildProcessError("the language host is shutting down")
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output
            )
            self._running.add(proc)
        return proc

    def _forget(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(proc)

    def run(self, argv: Sequence[str], cwd: str | None, env: dict[str, str]) -> int:
        """Run a program to its end and return its exit code (negative: killed by that signal)."""
        # stdout/stderr are inherited: the engine shows what the language host writes.
        proc = self._start(argv, cwd, env, None)
        try:
            return int(proc.wait())
        finally:
            self._forget(proc)

    def stream(
        self, argv: Sequence[str], cwd: str | None, env: dict[str, str], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        """Run a plugin, yielding its stdout and stderr as RunPlugin responses as they come, then its exit
        code if it is not 0 (the Go host's MakeRunPluginStreams; a clean exit just ends the stream).

        The engine stops the plugin by ending the call; the plugin is killed then, as the Go host's
        exec.CommandContext does.
        """
        proc = self._start(argv, cwd, env, subprocess.PIPE)
        context.add_callback(proc.kill)
        chunks: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            threading.Thread(target=_pump, args=(pipe, name, chunks), daemon=True).start()
        try:
            open_pipes = 2
            while open_pipes:
                name, data = chunks.get()
                if name == "stdout" and data:
                    yield language_pb2.RunPluginResponse(stdout=data)
                elif data:
                    yield language_pb2.RunPluginResponse(stderr=data)
                else:
                    open_pipes -= 1
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the engine went away mid-stream
                proc.kill()
                proc.wait()
            self._forget(proc)
        if code != 0:
            yield language_pb2.RunPluginResponse(exitcode=code)

    def stop_all(self) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running)
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout=_CHILD_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=_CHILD_STOP_GRACE_S)


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """The LanguageRuntime service for Python programs."""

    def __init__(self, engine_address: str | None, executor: str, version: str) -> None:
        self._engine_address = engine_address
        self._executor = executor
        self._version = version
        self.programs = _Programs()

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> Any:
        return plugin_pb2.PluginInfo(version=self._version)

    def GetRequiredPlugins(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: grpc.ServicerContext) -> Any:
        # The Go host reports installed `pulumi-*` distributions as resource plugins; ours need none,
        # and reporting them would make the engine try to download plugins. The engine asks this of a
        # plugin directory too (its own dependencies on other packages): a plugin of ours has none.
        return language_pb2.GetRequiredPackagesResponse()

    def InstallDependencies(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        options = json_format.MessageToDict(request.info.options)
        problems = unsupported_options(options)
        if problems:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, _refusal(problems))
        root = request.info.root_directory or request.info.program_directory or request.directory
        if request.is_plugin:
            interpreter = Interpreter.for_plugin(options, root)
        else:
            interpreter = Interpreter.for_project(options, root)
        for message, command in _installation_steps(interpreter, Path(root or os.getcwd())):
            yield language_pb2.InstallDependenciesResponse(stdout=f"{message}\n".encode())
            failure = yield from _stream(command, root or None, interpreter.environment(dict(os.environ)))
            if failure:
                context.abort(grpc.StatusCode.UNKNOWN, f"{message.rstrip('.')} failed: {failure}")

    def RuntimeOptionsPrompts(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.RuntimeOptionsResponse()

    def About(self, request: Any, context: grpc.ServicerContext) -> Any:
        interpreter = Interpreter.for_project(
            json_format.MessageToDict(request.info.options), request.info.root_directory
        )
        python = interpreter.command
        try:
            version = subprocess.run(
                [python, "--version"],
                capture_output=True,
                text=True,
                timeout=_PYTHON_VERSION_TIMEOUT_S,
                check=True,
                env=interpreter.environment(dict(os.environ)),
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return context.abort(grpc.StatusCode.UNKNOWN, f"failed to get the version of {python}: {exc}")
        return language_pb2.AboutResponse(
            executable=shutil.which(python) or python, version=version.strip().removeprefix("Python ")
        )

    def GetProgramDependencies(self, request: Any, context: grpc.ServicerContext) -> Any:
        interpreter = Interpreter.for_project(
            json_format.MessageToDict(request.info.options), request.info.root_directory
        )
        try:
            found = installed_distributions(interpreter, request.transitiveDependencies)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            return context.abort(grpc.StatusCode.UNKNOWN, f"listing the program's packages failed: {exc}")
        return language_pb2.GetProgramDependenciesResponse(
            dependencies=[language_pb2.DependencyInfo(name=name, version=version) for name, version in found]
        )

    def RunPlugin(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        """Start a `runtime: python` plugin from its directory, as the Go host does for one with a
        `__main__.py`: `<venv>/bin/python <plugin directory> ARGS...` in the engine's working directory.
        """
        options = json_format.MessageToDict(request.info.options)
        problems = unsupported_options(options)
        if request.attach_debugger:
            problems.append("attach_debugger")
        if problems:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, _refusal(problems))
        plugin_directory = request.info.program_directory
        root = request.info.root_directory or plugin_directory
        if not (Path(root) / "__main__.py").is_file():
            # The Go host would run a buildable package through `python -m pulumi.run.plugin NAME`.
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"the stand-in Python language host runs plugins from a __main__.py, and {root} has none",
            )
        interpreter = Interpreter.for_plugin(options, root)
        missing = interpreter.missing()
        if missing:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, missing)
        argv = [interpreter.command, plugin_directory, *request.args]
        env = plugin_environment(interpreter, request.env)
        try:
            yield from self.programs.stream(argv, request.pwd or None, env, context)
        except OSError as exc:
            context.abort(
                grpc.StatusCode.UNKNOWN,
                f"problem executing plugin program (could not run language executor): {exc}",
            )

    def Run(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.attach_debugger:
            return language_pb2.RunResponse(
                error="the stand-in Python language host cannot attach a debugger"
            )
        options = json_format.MessageToDict(request.info.options)
        problems = unsupported_options(options)
        if problems:
            return language_pb2.RunResponse(error=_refusal(problems))
        interpreter = Interpreter.for_project(options, request.info.root_directory or request.pwd)
        missing = interpreter.missing()
        if missing:
            return language_pb2.RunResponse(error=missing)

        argv = [
            interpreter.command,
            "-u",
            self._executor,
            *construct_arguments(request, self._engine_address),
        ]
        env = {
            **interpreter.environment(dict(os.environ)),
            "PULUMI_CONFIG": json.dumps(dict(request.config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
        }
        cwd = request.info.program_directory or request.pwd or None
        try:
            code = self.programs.run(argv, cwd, env)
        except OSError as exc:
            return language_pb2.RunResponse(
                error=f"problem executing program (could not run language executor): {exc}"
            )
        if code == 0:
            return language_pb2.RunResponse()
        if code == _EXIT_ERROR_ALREADY_SHOWN:
            return language_pb2.RunResponse(bail=True)
        if code < 0:
            reason = f"killed by signal {signal.Signals(-code).name}"
            return language_pb2.RunResponse(error=f"program exited unexpectedly: {reason}")
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")


def _pump(pipe: Any, name: str, chunks: queue.SimpleQueue[tuple[str, bytes]]) -> None:
    """Move what a plugin writes to `pipe` into `chunks`, then an empty chunk when the pipe closes."""
    with pipe:
        while data := os.read(pipe.fileno(), _PLUGIN_OUTPUT_CHUNK):
            chunks.put((name, data))
    chunks.put((name, b""))


def plugin_environment(interpreter: Interpreter, engine_env: Sequence[str]) -> dict[str, str]:
    """A plugin's environment as the Go host builds it: the host's own with the plugin's virtual environment
    activated, then the engine's `KEY=VALUE` entries on top (Go keeps the last of duplicate keys, so the
    engine's PATH wins over the activated one while VIRTUAL_ENV still names the plugin's venv).
    """
    env = interpreter.environment(dict(os.environ))
    for entry in engine_env:
        key, has_value, value = entry.partition("=")
        if has_value:
            env[key] = value
    return env


def _refusal(problems: list[str]) -> str:
    return "runtime options not supported by the stand-in Python language host: " + ", ".join(problems)


def _installation_steps(interpreter: Interpreter, root: Path) -> Iterator[tuple[str, list[str]]]:
    """What `pulumi install` runs, in the Go host's order (toolchain.InstallDependencies)."""
    if interpreter.virtualenv is not None and not is_virtualenv(interpreter.virtualenv):
        yield "Creating virtual environment...", [ambient_python(), "-m", "venv", str(interpreter.virtualenv)]
    pip = [interpreter.command, "-m", "pip", "install"]
    yield (
        "Updating pip, setuptools, and wheel in virtual environment...",
        [*pip, "--upgrade", "pip", "setuptools", "wheel"],
    )
    if (root / "requirements.txt").is_file():
        yield "Installing dependencies in virtual environment...", [*pip, "-r", "requirements.txt"]


def _stream(command: list[str], cwd: str | None, env: dict[str, str]) -> Generator[Any, None, str]:
    """Run `command`, yielding its output as InstallDependencies responses; returns why it failed, or ""."""
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        return f"could not run {command[0]}: {exc}"
    assert proc.stdout is not None
    tail: list[bytes] = []
    with proc.stdout:
        for line in proc.stdout:
            tail = [*tail[-19:], line]
            yield language_pb2.InstallDependenciesResponse(stdout=line)
    code = proc.wait()
    if code == 0:
        return ""
    return f"`{' '.join(command)}` exited with {code}:\n{b''.join(tail).decode(errors='replace')}"


def _watch_engine(engine_address: str, stop: threading.Event) -> None:
    """Stop the host once the engine no longer answers, like the Go host's health check."""
    with grpc.insecure_channel(engine_address) as channel:
        # An empty HealthCheckRequest encodes to no bytes; the reply content does not matter.
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        while not stop.wait(_ENGINE_HEALTH_PERIOD_S):
            try:
                check(b"", timeout=_ENGINE_HEALTH_TIMEOUT_S)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    stop.set()


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    executor = args.executor or str(Path(__file__).resolve().parent / EXECUTOR_NAME)
    if not Path(executor).is_file():
        print(f"pulumi-language-python: missing executor {executor}", file=sys.stderr)
        return 1

    version = args.engine_version or importlib.metadata.version("pulumi")
    host = LanguageHost(args.engine_address, executor, version)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=_MAX_CONCURRENT_CALLS),
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")

    # The engine closes plugins with SIGINT to their process group (SIGKILL 5 seconds later), possibly
    # right after reading the port. Raising KeyboardInterrupt in the main thread, unlike setting an
    # Event from a handler, cannot deadlock. SIGINT is set too because a shell starts background jobs
    # with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.start()
        print(port, flush=True)
        engine_gone = threading.Event()
        if args.engine_address:
            watchdog = threading.Thread(
                target=_watch_engine, args=(args.engine_address, engine_gone), daemon=True
            )
            watchdog.start()
        engine_gone.wait()
    stopped = server.stop(grace=1.0)  # refuses new calls at once, so no program starts after stop_all
    host.programs.stop_all()
    stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
