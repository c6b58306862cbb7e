"""A `runtime: python` plugin run from source, used from a Pulumi YAML program, through the real CLI.

The plugin (`greeter_plugin/`, a minimal `pulumi.provider.experimental` provider) is named in the
program's `packages:` by path, as users point at a plugin directory. `pulumi install` makes its virtual
environment and installs its requirements (from the package index pip is configured with); the engine then
starts it through the Python language host's RunPlugin for every command. The plugin writes a greeting file
and a ledger of the operations it performed, with the interpreter it ran on.

Who is greeted comes from stack config declared `type: string`, with a value that looks like a number (as
the simulator's 32-digit uuids do): Pulumi YAML keeps it a string.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.engine import PulumiWorkspace

pytestmark = pytest.mark.e2e

PLUGIN_SOURCE = Path(__file__).parent / "greeter_plugin"
# Creating the plugin's venv and installing `pulumi` into it.
INSTALL_TIMEOUT_S = 600.0


# 32 digits: read as a number, it would come back as 2.0000000000040007e+31.
WHO = "20000000000040008000000000000011"


def _program(greeting: Path) -> str:
    return textwrap.dedent(
        f"""
        name: greeter-yaml
        runtime: yaml
        packages:
          greeter: ../greeter
        config:
          who:
            type: string
        resources:
          hello:
            type: greeter:index:Greeting
            properties:
              who: ${{who}}
              path: {greeting}
        outputs:
          message: ${{hello.message}}
        """
    ).lstrip()


def _ledger(greeting: Path) -> list[dict[str, Any]]:
    ledger = greeting.with_name(greeting.name + ".ledger")
    return [json.loads(line) for line in ledger.read_text().splitlines()]


def test_a_python_plugin_from_source_serves_a_yaml_program(
    pulumi_yaml_workspace: PulumiWorkspace, tmp_path: Path
) -> None:
    run = pulumi_yaml_workspace.run
    plugin = shutil.copytree(PLUGIN_SOURCE, tmp_path / "greeter")
    project = tmp_path / "project"
    project.mkdir()
    greeting = tmp_path / "greeting.txt"
    (project / "Pulumi.yaml").write_text(_program(greeting))

    run(["install"], project, timeout=INSTALL_TIMEOUT_S)

    assert (plugin / "venv" / "bin" / "python").is_file(), "pulumi install made the plugin's own venv"
    run(["stack", "init", "dev"], project)
    run(["config", "set", "who", WHO], project)
    preview = json.loads(run(["preview", "--json"], project).stdout)
    assert preview["changeSummary"] == {"create": 2}
    assert not greeting.exists(), "a preview creates nothing"

    run(["up", "--skip-preview"], project)

    assert greeting.read_text() == f"Hello, {WHO}!"
    outputs = json.loads(run(["stack", "output", "--json"], project).stdout)
    assert outputs == {"message": f"Hello, {WHO}!"}
    assert {entry["python"] for entry in _ledger(greeting)} == {str(plugin / "venv")}
    run(["preview", "--expect-no-changes"], project)

    run(["config", "set", "who", "YAML"], project)
    run(["up", "--skip-preview"], project)
    assert greeting.read_text() == "Hello, YAML!"

    run(["destroy", "--skip-preview"], project)

    assert not greeting.exists()
    assert [entry["operation"] for entry in _ledger(greeting)] == ["create", "delete", "create", "delete"]
