"""The lifecycle model checker through the real Pulumi CLI: fewer, longer sequences (soak tier).

The same moves as `test_model.py`, but every step is a real `pulumi` command on a real project, so the engine
itself decides which provider calls each path makes. After every step `check_ownership` compares ZStack with
the exported state and the orphans command's list. Run it with `scripts/test -m soak -k cli_model`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from zstack_simulator import seed

from tests.fixtures.engine import PulumiWorkspace
from tests.fixtures.lifecycle import Tally
from tests.fixtures.ownership import check_ownership
from tests.fixtures.simulator import ServeSimulator
from tests.fixtures.stack import ZStackStack, new_stack

pytestmark = pytest.mark.soak

ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
NAMES = ("nightly", "series", "nested")


def program(declared: dict[str, dict[str, object]]) -> str:
    """A VmBackup, a series, and a same-named series inside a component, as `declared` configures them."""
    lines = [
        "import pulumi",
        "import pulumi_zstack as zstack",
        "",
        "class Fleet(pulumi.ComponentResource):",
        "    def __init__(self, name, make):",
        "        super().__init__('model:index:Fleet', name)",
        "        make(self)",
        "",
    ]
    for name, spec in declared.items():
        options = {
            "delete_before_replace": spec["dbr"],
            "retain_on_delete": spec["retain"],
            "replacement_trigger": spec["rt"],
        }
        common = (
            f"root_volume_uuid={ROOT_VOLUME!r}, backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}, "
            f"name={name!r}, description={spec['description']!r}, triggers=[{spec['triggers']!r}], "
            "max_poll_interval='1s'"
        )
        if name == "nightly":
            adopt = f", group_uuid={spec['group_uuid']!r}" if spec.get("group_uuid") else ""
            lines.append(
                f"zstack.VmBackup({spec['resource']!r}, {common}{adopt}, "
                f"opts=pulumi.ResourceOptions(**{options!r}))"
            )
        elif name == "series":
            lines.append(
                f"zstack.VmBackupSeries('series', {common}, keep={spec['keep']}, "
                f"opts=pulumi.ResourceOptions(**{options!r}))"
            )
        else:
            lines.append(
                "Fleet('fleet', lambda parent: zstack.VmBackupSeries('series', "
                f"{common}, keep={spec['keep']}, "
                f"opts=pulumi.ResourceOptions(parent=parent, **{options!r})))"
            )
    return "\n".join(lines) + "\n"


def cli_machine(make_stack: Callable[[], ZStackStack], tally: Tally) -> type[RuleBasedStateMachine]:
    class CliLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            tally.sequences += 1
            self.stack: ZStackStack = make_stack()
            self.declared: dict[str, dict[str, object]] = {
                name: {
                    "resource": name,
                    "triggers": "1",
                    "description": "d1",
                    "keep": 1 if name == "series" else 3,
                    "dbr": False,
                    "retain": False,
                    "rt": 0,
                }
                for name in NAMES
            }
            self.versions = itertools.count(2)
            self.adopted = False
            self.stack.write_program(program(self.declared))

        def teardown(self) -> None:
            self.stack.run(["destroy", "--skip-preview", "--yes"], check=False)
            self.stack.run(["stack", "rm", "--yes", "--force"], check=False)

        def _pulumi(self, *args: str) -> None:
            tally.steps += 1
            self.stack.write_program(program(self.declared))
            done = self.stack.run(list(args), check=False)
            outcome = "ok" if done.returncode == 0 else "failed"
            tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + 1

        @initialize()
        def first_up(self) -> None:
            self._pulumi("up", "--skip-preview", "--yes")

        @rule()
        def up(self) -> None:
            self._pulumi("up", "--skip-preview", "--yes")

        @rule(name=st.sampled_from(NAMES))
        def up_replace(self, name: str) -> None:
            urns = [r["urn"] for r in self.stack.export()["deployment"].get("resources") or []]
            wanted = [u for u in urns if u.endswith(f"::{self.declared[name]['resource']}")]
            if wanted:
                self._pulumi("up", "--skip-preview", "--yes", "--replace", wanted[-1])

        @rule()
        def refresh(self) -> None:
            self._pulumi("refresh", "--skip-preview", "--yes")

        @rule(name=st.sampled_from(NAMES), back=st.booleans())
        def change_triggers(self, name: str, back: bool) -> None:
            self.declared[name]["triggers"] = "1" if back else str(next(self.versions))

        @rule(name=st.sampled_from(NAMES))
        def change_description(self, name: str) -> None:
            spec = self.declared[name]
            spec["description"] = "d2" if spec["description"] == "d1" else "d1"

        @rule(name=st.sampled_from(NAMES))
        def bump_replacement_trigger(self, name: str) -> None:
            self.declared[name]["rt"] = int(str(self.declared[name]["rt"])) + 1

        @rule(name=st.sampled_from(NAMES), dbr=st.booleans(), retain=st.booleans())
        def set_options(self, name: str, dbr: bool, retain: bool) -> None:
            self.declared[name].update(dbr=dbr, retain=retain)

        @rule(keep=st.integers(1, 3))
        def change_keep(self, keep: int) -> None:
            self.declared["series"]["keep"] = keep

        @precondition(lambda self: not self.adopted)
        @rule()
        def state_delete_then_adopt(self) -> None:
            resources = self.stack.export()["deployment"].get("resources") or []
            backups = [r for r in resources if r["type"].endswith(":VmBackup")]
            if not backups:
                return
            self.stack.run(["state", "delete", backups[0]["urn"], "--yes"])
            self.declared["nightly"].update(resource="adopted", group_uuid=backups[0]["id"])
            self.adopted = True
            self._pulumi("up", "--skip-preview", "--yes")

        @rule()
        def damage_out_of_band_then_refresh_and_up(self) -> None:
            groups = sorted(self.stack.live_groups())
            if groups:
                self.stack.simulator.delete_backup_group(groups[0])
                self._pulumi("refresh", "--skip-preview", "--yes")
                self._pulumi("up", "--skip-preview", "--yes")

        @rule()
        def a_member_refuses_deletion_once(self) -> None:
            self.stack.simulator.faults.fail_member_delete(count=1)

        @invariant()
        def zstack_and_the_state_agree(self) -> None:
            check_ownership(self.stack)

    return CliLifecycle


def test_cli_lifecycle_sequences_keep_zstack_and_the_state_in_agreement(
    pulumi_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    tmp_path: Path,
    lifecycle_tally: Tally,
) -> None:
    counter = itertools.count()

    def make_stack() -> ZStackStack:
        return new_stack(pulumi_workspace, serve_simulator, tmp_path / f"sequence-{next(counter)}")

    run_state_machine_as_test(
        cli_machine(make_stack, lifecycle_tally),
        settings=settings(
            max_examples=6,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert lifecycle_tally.sequences >= 6, lifecycle_tally
    assert lifecycle_tally.steps >= 12, lifecycle_tally
