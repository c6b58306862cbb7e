"""The lifecycle model checker for schedules and restores: VmBackupSchedule and VmFromBackup.

The same engine and moves as `test_model.py` (the calls of `engine_traces.md` against the real provider
classes, the provider killed at any request, the simulator's clock moved instead of slept), over a program
of a VmBackup, a VM restored from it, and two same-named schedules (one inside a component), plus what only
these resources meet: in-place changes (retention, timing, pause), another target VM, the schedules running
in ZStack as time passes, and scheduler jobs, triggers and restored VMs deleted out of band.

After every step it checks:
- every scheduler job a state holds is live, carries exactly the state's claim, and has the triggers the
  state lists, each bound to it; every restored VM a state holds is live (not Destroyed) and carries exactly
  the state's claim; the same for the VmBackup's group (unless damaged out of band and not refreshed since);
- no job, trigger, VM or group is held by two resources;
- the provider never deleted a job or VM the state holds;
- every job, trigger, VM and group ZStack holds under the stack's ids is in the state or listed by
  `pulumi-zstack orphans`.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from pulumi_zstack_provider import VmBackupProvider, VmBackupScheduleProvider, VmFromBackupProvider
from pulumi_zstack_provider._client import ZStackClient
from pulumi_zstack_provider._orphans import find_orphans
from pulumi_zstack_provider._ownership import OwnerTag, stack_key
from pulumi_zstack_provider._resource import OperationContext
from zstack_simulator import seed

from tests.fixtures.lifecycle import Tally
from tests.lifecycle.engine_model import Held, ModelWorld, exported

pytestmark = pytest.mark.integration

ORGANIZATION, PROJECT, STACK = "organization", "policies", "checker"
OWNER_STACK = f"{ORGANIZATION}/{PROJECT}/{STACK}"
STACK_KEY = stack_key(OWNER_STACK)
VM_BACKUP = "pulumi-python:dynamic/zstack:VmBackup"
SCHEDULE = "pulumi-python:dynamic/zstack:VmBackupSchedule"
RESTORE = "pulumi-python:dynamic/zstack:VmFromBackup"
COMPONENT = "policies:index:Fleet"
PROVIDERS = {VM_BACKUP: VmBackupProvider, SCHEDULE: VmBackupScheduleProvider, RESTORE: VmFromBackupProvider}
TARGETS = (seed.RUNNING_VM_ROOT_VOLUME_UUID, seed.STOPPED_VM_ROOT_VOLUME_UUID)
CRONS = ("0 0 2 * * ?", "0 30 3 * * ?")
DAY_S = 24 * 3600.0


@dataclasses.dataclass
class Declared:
    """One resource of the program; a restore names the resource whose group it restores."""

    type: str
    name: str
    parent: str | None = None
    replacement_trigger: int = 0
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    # VmBackup
    triggers: str = "1"
    # VmBackupSchedule
    target: int = 0
    cron: int = 0
    retention_count: int = 2
    enabled: bool = True
    full_backups: bool = False
    # VmFromBackup
    restore_name: str = "restored"
    group_of: Callable[[], str] | None = None

    @property
    def urn(self) -> str:
        qualified = f"{self.parent}${self.type}" if self.parent else self.type
        return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{self.name}"

    def inputs(self) -> dict[str, Any]:
        owner = {"owner_stack": OWNER_STACK, "owner_urn": self.urn, "max_poll_interval": "1s"}
        if self.type == VM_BACKUP:
            return owner | {
                "root_volume_uuid": seed.RUNNING_VM_ROOT_VOLUME_UUID,
                "backup_storage_uuid": seed.IMAGESTORE_BS_UUID,
                "name": self.name,
                "triggers": [self.triggers],
            }
        if self.type == SCHEDULE:
            inputs = owner | {
                "root_volume_uuid": TARGETS[self.target],
                "backup_storage_uuids": [seed.IMAGESTORE_BS_UUID],
                "cron": CRONS[self.cron],
                "retention_count": self.retention_count,
                "name": self.name,
                "enabled": self.enabled,
            }
            return inputs | ({"full_backup_cron": "0 0 4 ? * SUN"} if self.full_backups else {})
        assert self.group_of is not None
        return owner | {
            "group_uuid": self.group_of(),
            "name": self.restore_name,
            "instance_offering_uuid": seed.INSTANCE_OFFERING_UUID,
            "l3_network_uuids": [seed.ISOLATED_L3_NETWORK_UUID],
        }


@dataclasses.dataclass
class Zstack:
    """What ZStack holds under the stack's ids, read through the API, with each object's owner tags."""

    jobs: dict[str, dict[str, Any]]
    triggers: dict[str, dict[str, Any]]
    vms: dict[str, dict[str, Any]]
    groups: dict[str, list[dict[str, Any]]]
    owner_tags: dict[str, list[OwnerTag]]  # job, VM or root volume backup uuid -> its owner tags

    @classmethod
    def read(cls, client: ZStackClient) -> Zstack:
        mine = f"uuid~={STACK_KEY}%"
        jobs = {str(j["uuid"]): j for j in client.query("scheduler/jobs", mine)}
        triggers = {str(t["uuid"]): t for t in client.query("scheduler/triggers", mine)}
        vms = {str(v["uuid"]): v for v in client.query("vm-instances", mine)}
        groups: dict[str, list[dict[str, Any]]] = {}
        for member in client.query("volume-backups", f"groupUuid~={STACK_KEY}%"):
            # A Deleted member whose bits later backups build on stays until ZStack purges it with them.
            if member.get("status") != "Deleted":
                groups.setdefault(str(member["groupUuid"]), []).append(member)
        owner_tags: dict[str, list[OwnerTag]] = {}
        for tag in client.query("user-tags"):
            if (parsed := OwnerTag.parse(str(tag.get("tag")))) is not None:
                owner_tags.setdefault(str(tag["resourceUuid"]), []).append(parsed)
        return cls(jobs, triggers, vms, groups, owner_tags)

    def claims_on(self, uuid: str) -> list[str]:
        return [t.claim for t in self.owner_tags.get(uuid, [])]

    def group_claims(self, group_uuid: str) -> list[str]:
        roots = [m for m in self.groups.get(group_uuid, []) if m.get("type") == "Root"]
        return [claim for r in roots for claim in self.claims_on(str(r["uuid"]))]

    def group_complete(self, group_uuid: str) -> bool:
        members = self.groups.get(group_uuid) or []
        return bool(members) and {m.get("status") for m in members} == {"Ready"}


def held_objects(held: Held) -> set[str]:
    """Every ZStack object a resource in the state references."""
    if held.type == SCHEDULE:
        triggers = {held.outputs.get("trigger_uuid"), held.outputs.get("full_backup_trigger_uuid")}
        return {held.id} | {str(t) for t in triggers if t}
    return {held.id}


def expected_triggers(held: Held) -> set[str]:
    """The triggers a schedule's state says exist: a refresh that finds one gone records its timing as unset
    (the next up makes it again, an update), so only the triggers whose timing the state records."""
    outputs = held.outputs
    expected = set()
    if outputs.get("cron") is not None or outputs.get("interval_seconds") is not None:
        expected.add(str(outputs["trigger_uuid"]))
    if outputs.get("full_backup_cron") is not None:
        expected.add(str(outputs["full_backup_trigger_uuid"]))
    return expected


class PolicyMachine(RuleBasedStateMachine):
    """Operators' moves over a VmBackup, a VM restored from it and two same-named schedules."""

    def __init__(self) -> None:
        super().__init__()
        self.tally = _TALLY
        self.tally.sequences += 1
        self.world = ModelWorld(PROVIDERS, self.tally)
        self.running, self.switch = self.world.running, self.world.switch
        self.client, self.engine = self.world.client, self.world.engine
        source = Declared(VM_BACKUP, "source")
        self.program: dict[str, Declared] = {
            d.urn: d
            for d in (
                source,
                Declared(RESTORE, "drill", group_of=lambda: self.engine.state[source.urn].id),
                Declared(SCHEDULE, "nightly"),
                Declared(SCHEDULE, "nightly", parent=COMPONENT, target=1),
            )
        }
        self.versions = itertools.count(2)
        self.damaged: set[str] = set()  # objects damaged out of band, excused until a refresh or an update
        self.kill_armed = False

    def teardown(self) -> None:
        self.world.close()

    def _declared(self, data: st.DataObject, resource_type: str | None = None) -> Declared:
        urns = sorted(u for u, d in self.program.items() if resource_type in (None, d.type))
        return self.program[data.draw(st.sampled_from(urns))]

    # ------------------------------------------------------------------------------------- operations

    def _run(self, operation: Callable[[], None]) -> str:
        self.tally.steps += 1
        before = {r.seq for r in self.running.simulator.requests()}
        outcome = self.engine.operation(operation)
        self.tally.outcomes[outcome] = self.tally.outcomes.get(outcome, 0) + 1
        self.kill_armed = False
        if self.engine.interrupted is not None:
            self.damaged |= held_objects(self.engine.interrupted)
        self._check_nothing_held_was_deleted(before)
        if outcome == "ok":
            self.damaged &= self._referenced()
        return outcome

    @initialize()
    def first_up(self) -> None:
        self.up()

    @rule()
    def up(self) -> None:
        self._run(lambda: self.engine.up(list(self.program.values())))

    def _changed(self, apply: bool) -> None:
        """A change merged: the pipeline runs `pulumi up` at once, or a later change goes with it."""
        if apply:
            self.up()

    @rule(data=st.data())
    def up_replace(self, data: st.DataObject) -> None:
        urn = self._declared(data).urn
        self._run(lambda: self.engine.up(list(self.program.values()), frozenset({urn})))

    @rule()
    def refresh(self) -> None:
        if self._run(self.engine.refresh) == "ok":
            self.damaged.clear()

    @rule()
    def destroy(self) -> None:
        self._run(self.engine.destroy)

    # ------------------------------------------------------------------------------- program changes

    @rule(data=st.data(), back=st.booleans(), apply=st.booleans())
    def take_the_source_again(self, data: st.DataObject, back: bool, apply: bool) -> None:
        decl = self._declared(data, VM_BACKUP)
        decl.triggers = "1" if back else str(next(self.versions))
        self._changed(apply)

    @rule(data=st.data(), count=st.integers(1, 3), apply=st.booleans())
    def change_retention(self, data: st.DataObject, count: int, apply: bool) -> None:
        self._declared(data, SCHEDULE).retention_count = count
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def change_timing(self, data: st.DataObject, apply: bool) -> None:
        decl = self._declared(data, SCHEDULE)
        decl.cron = 1 - decl.cron
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def pause_or_resume(self, data: st.DataObject, apply: bool) -> None:
        decl = self._declared(data, SCHEDULE)
        decl.enabled = not decl.enabled
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def toggle_full_backups(self, data: st.DataObject, apply: bool) -> None:
        decl = self._declared(data, SCHEDULE)
        decl.full_backups = not decl.full_backups
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def retarget(self, data: st.DataObject, apply: bool) -> None:
        decl = self._declared(data, SCHEDULE)
        decl.target = 1 - decl.target
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def rename_the_restore(self, data: st.DataObject, apply: bool) -> None:
        decl = self._declared(data, RESTORE)
        decl.restore_name = "drill-b" if decl.restore_name == "restored" else "restored"
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def bump_replacement_trigger(self, data: st.DataObject, apply: bool) -> None:
        self._declared(data).replacement_trigger += 1
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def toggle_delete_before_replace(self, data: st.DataObject, apply: bool) -> None:
        decl = self._declared(data)
        decl.delete_before_replace = not decl.delete_before_replace
        self._changed(apply)

    @rule(data=st.data(), apply=st.booleans())
    def toggle_retain_on_delete(self, data: st.DataObject, apply: bool) -> None:
        decl = self._declared(data)
        decl.retain_on_delete = not decl.retain_on_delete
        self._changed(apply)

    # --------------------------------------------------------------- what happens outside the program

    @rule(days=st.integers(1, 3))
    def time_passes(self, days: int) -> None:
        """ZStack runs the schedules: each run is a backup group, pruned by the schedule's retention."""
        self.running.simulator.clock.advance(days * DAY_S)

    def _delete_out_of_band(self, path: str, uuid: str) -> None:
        self.client.run_job(
            "DELETE", f"{path}/{uuid}", deadline=time.monotonic() + 60, operation="out-of-band delete"
        )
        self.damaged.add(uuid)

    def _live_in_order(self, kind: str) -> list[str]:
        """Live objects of a kind, the state's first, by resource: a stable order despite random ids."""
        zstack = Zstack.read(self.client)
        live = {"job": zstack.jobs, "trigger": zstack.triggers, "vm": zstack.vms}[kind]
        ordered = [u for urn in sorted(self.engine.state) for u in held_objects(self.engine.state[urn])]
        return [u for u in dict.fromkeys(ordered) if u in live] + sorted(set(live) - set(ordered))

    @rule(pick=st.integers(0, 1000))
    def delete_a_job_out_of_band(self, pick: int) -> None:
        if jobs := self._live_in_order("job"):
            self._delete_out_of_band("/scheduler/jobs", jobs[pick % len(jobs)])

    @rule(pick=st.integers(0, 1000))
    def delete_a_trigger_out_of_band(self, pick: int) -> None:
        if triggers := self._live_in_order("trigger"):
            trigger = triggers[pick % len(triggers)]
            self._delete_out_of_band("/scheduler/triggers", trigger)
            self.damaged |= {j for j, held in self._holders().items() if trigger in held}

    @rule(pick=st.integers(0, 1000), expunge=st.booleans())
    def destroy_a_vm_out_of_band(self, pick: int, expunge: bool) -> None:
        if vms := self._live_in_order("vm"):
            vm = vms[pick % len(vms)]
            if expunge:
                self.running.simulator.expunge_vm(vm)
            else:
                self.running.simulator.set_vm_state(vm, "Destroyed")
            self.damaged.add(vm)

    @precondition(lambda self: not self.kill_armed)
    @rule(at=st.integers(0, 24), after_sending=st.booleans())
    def kill_provider_during_next_operation(self, at: int, after_sending: bool) -> None:
        self.switch.countdown, self.switch.after_sending = at, after_sending
        self.kill_armed = True

    # ------------------------------------------------------------------------------------- invariants

    def _holders(self) -> dict[str, set[str]]:
        return {held.id: held_objects(held) for held in self.engine.state.values()}

    def _referenced(self) -> set[str]:
        resources = [*self.engine.state.values(), *self.engine.pending_deletes]
        return {uuid for held in resources for uuid in held_objects(held)}

    def _check_nothing_held_was_deleted(self, before: set[int]) -> None:
        deleted = set()
        for request in self.running.simulator.requests():
            if request.seq not in before and request.method == "DELETE":
                deleted.add(request.path.rsplit("/", 1)[-1])
        zstack = Zstack.read(self.client)
        live = {*zstack.jobs, *zstack.vms, *zstack.groups}
        held = {held.id for held in self.engine.state.values()}
        lost = (deleted & held) - live - self.damaged
        assert not lost, f"the provider deleted what the state holds: {sorted(lost)}"

    @invariant()
    def state_and_zstack_agree(self) -> None:
        zstack = Zstack.read(self.client)
        holders: dict[str, str] = {}
        for urn, held in self.engine.state.items():
            for uuid in held_objects(held):
                assert uuid not in holders, f"{uuid} is held by {holders[uuid]} and {urn}"
                holders[uuid] = urn
            if held_objects(held) & self.damaged:
                continue
            claim = held.outputs.get("owner_claim")
            if held.type == SCHEDULE:
                job = zstack.jobs.get(held.id)
                assert job is not None, f"{urn} holds scheduler job {held.id}, which ZStack no longer has"
                assert zstack.claims_on(held.id) == [claim], f"job {held.id} of {urn} is labelled wrong"
                for trigger in expected_triggers(held):
                    assert trigger in zstack.triggers, f"{urn} lists trigger {trigger}, which is gone"
                    bound = zstack.triggers[trigger].get("jobsUuid") or []
                    assert bound == [held.id], f"trigger {trigger} of {urn} is bound to {bound}"
            elif held.type == RESTORE:
                vm = zstack.vms.get(held.id)
                assert vm is not None, f"{urn} holds VM {held.id}, which ZStack no longer has"
                assert vm.get("state") != "Destroyed", f"{urn} holds VM {held.id}, which is Destroyed"
                assert zstack.claims_on(held.id) == [claim], f"VM {held.id} of {urn} is labelled wrong"
            else:
                assert zstack.group_complete(held.id), f"{urn} holds {held.id}, not a live, complete group"
                assert zstack.group_claims(held.id) == [claim], f"group {held.id} of {urn} is labelled wrong"

        deployment = {"resources": [exported(u, h) for u, h in self.engine.state.items()]}
        deployment["resources"] += [exported("pending", h) for h in self.engine.pending_deletes]
        orphans = {o.uuid for o in find_orphans(OperationContext(self.client), OWNER_STACK, deployment)}
        ours = {*zstack.jobs, *zstack.triggers, *zstack.vms, *zstack.groups}
        invisible = ours - self._referenced() - orphans
        assert not invisible, f"objects neither the state nor the orphans list shows: {invisible}"


_TALLY = Tally()


@pytest.fixture
def tally(lifecycle_tally: Tally) -> Tally:
    global _TALLY
    _TALLY = lifecycle_tally
    return lifecycle_tally


PolicyMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=14,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_schedule_and_restore_sequences_keep_zstack_and_the_state_in_agreement(tally: Tally) -> None:
    PolicyMachine.TestCase().runTest()
    assert tally.sequences >= 40, tally
    assert tally.steps >= 150, tally
