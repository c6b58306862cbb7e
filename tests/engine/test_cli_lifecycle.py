"""The real Pulumi CLI runs Python programs through its Python language host.

That host is our stand-in unless a real Pulumi with its own Go host is on PATH (`scripts/provide-engine`'s
first choice); tests that depend on which one runs check the behaviour of each.

A tiny project with a dynamic resource goes through the whole stack lifecycle; a ledger file written by
the provider shows which operations the engine really performed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fixtures.engine import (
    PulumiWorkspace,
    make_sharing_venv,
    uses_stand_in_language_host,
    write_project,
)

pytestmark = pytest.mark.e2e

PROJECT = "lh-e2e"
SECRET_TOKEN = "tok-5ecr3t-value"

GREETING_MODULE = '''
    """A dynamic provider that appends each operation to a ledger file."""
    import pulumi
    from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider


    def _record(props, operation):
        with open(props["ledger"], "a") as ledger:
            ledger.write(operation + "\\n")


    class GreetingProvider(ResourceProvider):
        def create(self, props):
            _record(props, "create")
            outs = {**props, "message": "Hello, " + props["who"] + "!"}
            return CreateResult(id_="greeting-" + props["who"], outs=outs)

        def read(self, id_, props):
            _record(props, "read")
            return ReadResult(id_, props)

        def delete(self, id_, props):
            _record(props, "delete")


    class Greeting(Resource):
        message: pulumi.Output[str]

        def __init__(self, name, *, who, ledger):
            super().__init__(GreetingProvider(), name, {"who": who, "ledger": ledger, "message": None})
'''

MAIN = f"""
    import pulumi
    from greeting import Greeting

    config = pulumi.Config()
    print("program stdout reaches the CLI")
    greeting = Greeting("greeting", who=config.require("who"), ledger=config.require("ledger"))
    pulumi.export("message", greeting.message)
    pulumi.export("token", config.require_secret("token"))
    pulumi.export("token_marked_secret", pulumi.runtime.is_config_secret("{PROJECT}:token"))
    pulumi.export("who_marked_secret", pulumi.runtime.is_config_secret("{PROJECT}:who"))
"""


@contextmanager
def _timed(label: str, capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    with capsys.disabled():
        print(f"\n[timing] {label}: {time.perf_counter() - started:.2f}s")


def _ledger(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_stack_lifecycle_runs_the_program_with_config_and_secrets(
    pulumi_workspace: PulumiWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(
        tmp_path / "project", PROJECT, {"__main__.py": MAIN, "greeting.py": GREETING_MODULE}
    )
    ledger = tmp_path / "ledger.txt"
    run = pulumi_workspace.run
    outputs: list[str] = []

    run(["stack", "init", "dev"], project)
    run(["config", "set", "who", "world"], project)
    run(["config", "set", "ledger", str(ledger)], project)
    run(["config", "set", "--secret", "token", SECRET_TOKEN], project)

    with _timed("pulumi preview (tiny project)", capsys):
        preview = run(["preview"], project)
    outputs.append(preview.stdout + preview.stderr)
    assert "program stdout reaches the CLI" in preview.stdout
    assert "pulumi-python:dynamic:Resource" in preview.stdout
    assert _ledger(ledger) == [], "a preview must not create anything"

    with _timed("pulumi up (tiny project)", capsys):
        up = run(["up", "--skip-preview"], project)
    outputs.append(up.stdout + up.stderr)
    assert _ledger(ledger) == ["create"]

    assert run(["stack", "output", "message"], project).stdout.strip() == "Hello, world!"
    shown = json.loads(run(["stack", "output", "--json"], project).stdout)
    assert shown["token"] == "[secret]"
    assert shown["token_marked_secret"] is True
    assert shown["who_marked_secret"] is False
    revealed = run(["stack", "output", "token", "--show-secrets"], project)
    assert revealed.stdout.strip() == SECRET_TOKEN

    refresh = run(["refresh", "--skip-preview"], project)
    outputs.append(refresh.stdout + refresh.stderr)
    assert _ledger(ledger) == ["create", "read"]

    destroy = run(["destroy", "--skip-preview"], project)
    outputs.append(destroy.stdout + destroy.stderr)
    assert _ledger(ledger) == ["create", "read", "delete"]

    run(["stack", "rm", "dev"], project)
    assert "dev" not in run(["stack", "ls"], project).stdout

    assert not [text for text in outputs if SECRET_TOKEN in text], "the secret leaked into CLI output"


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        pytest.param(
            """
            def explode():
                raise RuntimeError("boom from the program")

            explode()
            """,
            ["Traceback (most recent call last)", "in explode", "RuntimeError: boom from the program"],
            id="unhandled-exception",
        ),
        pytest.param(
            """
            import os

            print("leaving early", flush=True)
            os._exit(3)
            """,
            ["leaving early", "program exited with non-zero exit code: 3"],
            id="exit-code",
        ),
    ],
)
def test_failing_program_fails_the_command_and_shows_why(
    pulumi_workspace: PulumiWorkspace, tmp_path: Path, program: str, expected: list[str]
) -> None:
    project = write_project(tmp_path / "project", PROJECT, {"__main__.py": program})
    pulumi_workspace.run(["stack", "init", "dev"], project)

    preview = pulumi_workspace.run(["preview"], project, check=False)

    assert preview.returncode != 0
    shown = preview.stdout + preview.stderr
    for text in expected:
        assert text in shown


def test_a_toolchain_that_cannot_be_used_fails_before_the_program_runs(
    pulumi_workspace: PulumiWorkspace, tmp_path: Path
) -> None:
    project = write_project(
        tmp_path / "project", PROJECT, {"__main__.py": "print('must not run')\n"}, toolchain="uv"
    )
    pulumi_workspace.run(["stack", "init", "dev"], project)

    preview = pulumi_workspace.run(["preview"], project, check=False)

    assert preview.returncode != 0
    shown = preview.stdout + preview.stderr
    assert "must not run" not in shown
    if uses_stand_in_language_host(pulumi_workspace.bin_dir):
        # The stand-in does not implement uv and says so instead of running the program with pip.
        assert "not supported by the stand-in Python language host: toolchain='uv'" in shown
    else:
        # Pulumi's own host runs uv, which fails here: no pyproject.toml (and maybe no uv at all).
        assert "uv" in shown


def test_the_virtualenv_option_runs_program_and_provider_in_that_venv(
    pulumi_workspace: PulumiWorkspace, tmp_path: Path
) -> None:
    """`virtualenv: venv` picks the interpreter without PULUMI_PYTHON_CMD, for the program and the provider.

    The venv sees the test interpreter's packages, so nothing is downloaded; each side reports the
    `sys.prefix` it ran with.
    """
    program = """
        import sys
        import pulumi
        from pulumi.dynamic import CreateResult, Resource, ResourceProvider

        class WhereProvider(ResourceProvider):
            def create(self, props):
                return CreateResult(id_="where", outs={"provider_python": sys.prefix})

        class Where(Resource):
            provider_python: pulumi.Output[str]

            def __init__(self, name):
                super().__init__(WhereProvider(), name, {"provider_python": None})

        pulumi.export("program_python", sys.prefix)
        pulumi.export("provider_python", Where("where").provider_python)
    """
    project = write_project(tmp_path / "project", PROJECT, {"__main__.py": program}, virtualenv="venv")
    venv = make_sharing_venv(project / "venv")
    env = {key: value for key, value in pulumi_workspace.env.items() if key != "PULUMI_PYTHON_CMD"}
    workspace = dataclasses.replace(pulumi_workspace, env=env)
    workspace.run(["stack", "init", "dev"], project)

    workspace.run(["up", "--skip-preview"], project)

    outputs = json.loads(workspace.run(["stack", "output", "--json"], project).stdout)
    assert outputs == {"program_python": str(venv), "provider_python": str(venv)}


def test_the_language_host_reports_the_engine_version(
    pulumi_workspace: PulumiWorkspace, tmp_path: Path
) -> None:
    """`pulumi about` lists the Python language plugin with the version of the CLI it was provided for."""
    project = write_project(tmp_path / "project", PROJECT, {"__main__.py": "\n"})
    cli_version = pulumi_workspace.run(["version"], project).stdout.strip().removeprefix("v")

    about = json.loads(pulumi_workspace.run(["about", "--json"], project).stdout)

    languages = [p for p in about["plugins"] if p["kind"] == "language" and p["name"] == "python"]
    assert languages == [{"name": "python", "version": cli_version, "kind": "language"}]
