"""The engine's calls per lifecycle path, read off the real CLI: the sequences the model checker replays.

A dynamic provider that only records its calls stands in for ours, so each path costs a few CLI seconds and
the table in `engine_traces.md` is checked against the Pulumi release in use: if an upgrade starts (or stops)
diffing before a replacement's create, this fails and the ownership rules must be looked at again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.engine import PulumiWorkspace, write_project

pytestmark = pytest.mark.e2e

PROGRAM = """
import json
import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource
from pulumi.dynamic import ResourceProvider, UpdateResult

LOG = {log!r}


def record(call, **details):
    with open(LOG, "a") as log:
        log.write(json.dumps({{"call": call, **details}}) + "\\n")


class Recorder(ResourceProvider):
    def check(self, olds, news):
        record("check", fresh=not {{k: v for k, v in olds.items() if not k.startswith("__")}})
        return CheckResult(news, [])

    def diff(self, id, olds, news):
        record("diff")
        replaces = ["version"] if olds.get("version") != news.get("version") else []
        return DiffResult(changes=bool(replaces) or olds.get("note") != news.get("note"), replaces=replaces)

    def create(self, props):
        record("create", version=props.get("version"))
        return CreateResult(f"id-{{props.get('version')}}-{{props.get('generation', 0)}}", props)

    def update(self, id, olds, news):
        record("update")
        return UpdateResult(news)

    def read(self, id, props):
        record("read")
        return ReadResult(id, props)

    def delete(self, id, props):
        record("delete", id=id)


class Traced(Resource, module="trace", name="Traced"):
    pass


config = pulumi.Config()
options = dict(
    delete_before_replace=config.get_bool("dbr") or False,
    retain_on_delete=config.get_bool("retain") or False,
    replacement_trigger=config.get("rt"),
)
Traced(Recorder(), "traced", {{"version": config.get("version") or "1", "note": config.get("note") or ""}},
         pulumi.ResourceOptions(**options))
"""


class Traced:
    def __init__(self, workspace: PulumiWorkspace, directory: Path) -> None:
        self.workspace, self.directory = workspace, directory
        self.log = directory / "calls.jsonl"

    def cli(self, *args: str) -> None:
        self.workspace.run(list(args), self.directory, check=True, timeout=120.0)

    def config(self, key: str, value: str) -> None:
        self.cli("config", "set", key, value)

    def calls(self, *args: str) -> list[str]:
        """The provider calls of one CLI command, e.g. ["check", "diff"]; a `check` of a resource as new is
        written `check(new)`."""
        self.log.write_text("")
        self.cli(*args)
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [f"{c['call']}(new)" if c["call"] == "check" and c["fresh"] else str(c["call"]) for c in lines]

    def urn(self) -> str:
        exported = json.loads(self.workspace.run(["stack", "export"], self.directory, check=True).stdout)
        (resource,) = [
            r for r in exported["deployment"]["resources"] if r["type"].startswith("pulumi-python")
        ]
        return str(resource["urn"])


@pytest.fixture
def traced(pulumi_workspace: PulumiWorkspace, tmp_path: Path) -> Traced:
    directory = tmp_path / "traced"
    directory.mkdir()
    write_project(directory, "traced", {"__main__.py": PROGRAM.format(log=str(directory / "calls.jsonl"))})
    trace = Traced(pulumi_workspace, directory)
    trace.cli("stack", "init", "dev")
    return trace


def test_the_engine_diffs_before_some_replacements_and_not_before_others(traced: Traced) -> None:
    up = ("up", "--skip-preview", "--yes")
    assert traced.calls(*up) == ["check(new)", "create"]
    assert traced.calls(*up) == ["check", "diff"]
    traced.config("note", "in place")
    assert traced.calls(*up) == ["check", "diff", "update"]

    traced.config("version", "2")  # a replace-on-change input
    assert traced.calls(*up) == ["check", "diff", "check(new)", "create", "delete"]

    traced.config("dbr", "true")
    traced.config("version", "3")
    assert traced.calls(*up) == ["check", "diff", "check(new)", "delete", "create"]
    traced.config("dbr", "false")

    urn = traced.urn()
    forced = ["check(new)", "create", "delete"]  # no diff, and the old inputs are not even checked
    assert traced.calls(*up, "--replace", urn) == forced
    assert traced.calls(*up, "--target-replace", urn) == forced
    traced.config("rt", "a")
    assert traced.calls(*up) == ["check", "diff"]  # a first replacement_trigger replaces nothing
    traced.config("rt", "b")
    assert traced.calls(*up) == ["check", "check(new)", "create", "delete"]  # checked, but no diff
    traced.cli("state", "taint", urn, "--yes")
    assert traced.calls(*up) == forced

    traced.config("retain", "true")
    assert traced.calls(*up) == ["check", "diff"]  # the option alone changes nothing
    traced.config("version", "4")
    assert traced.calls(*up) == ["check", "diff", "check(new)", "create"]  # the old object is kept

    assert traced.calls("refresh", "--skip-preview", "--yes") == ["read", "diff"]
    traced.config("retain", "false")
    traced.cli("up", "--skip-preview", "--yes")
    assert traced.calls("destroy", "--skip-preview", "--yes") == ["delete"]
