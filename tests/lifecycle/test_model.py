"""The lifecycle model checker: random sequences of what operators do, checked after every step.

A Hypothesis state machine plays the Pulumi engine (the calls of `engine_traces.md`, against the real
provider classes) and the operator: inputs and `triggers` changing, `--replace`, `replacement_trigger`,
`delete_before_replace`, `retain_on_delete`, offsite copies asked for and dropped
(`copy_to_backup_storage_uuids`), refresh, destroy, groups, members and copies deleted out of band, `pulumi
state delete` and re-adoption, failed deletes, failed copies, and the provider process killed at any request
of any operation. ZStack is the simulator over real HTTP on 127.0.0.1, with time moved instead of slept.

After every step it checks what users are promised:
- every id a state holds names a live, complete group, and so does every group a series lists (unless that
  group was damaged out of band and no refresh or update has run since);
- no group is held by two resources;
- every group carries the owner tag of the resource holding it, with the digest of the inputs and triggers
  the state records for it (a group is never labelled with triggers it was not taken for);
- no group the state holds was deleted by the provider;
- every group ZStack holds for the stack is in the state or listed by `pulumi-zstack orphans`;
- every store the state records as holding a group (`backup_storage_uuids`) has every member of it Ready
  (unless that copy or group was damaged out of band since the last refresh);
- after an operation that ended ok, every store a resource's copy list names holds each of its groups or is
  in its `copy_pending`, and after an ok `up` that list is the program's;
- a group the provider deleted and the state no longer holds leaves no copy on any store;
- no copy is made of a group the state does not hold (a create killed mid-way excepted: its group is new).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pulumi_zstack_provider import VmBackupProperties, VmBackupProvider, VmBackupSeriesProvider
from pulumi_zstack_provider._backup_group import BackupGroup, WireVolumeBackup
from pulumi_zstack_provider._orphans import find_orphans
from pulumi_zstack_provider._ownership import OwnerTag, digest
from pulumi_zstack_provider._resource import OperationContext
from zstack_simulator import Simulator, seed

from tests.fixtures.lifecycle import Tally
from tests.lifecycle.engine_model import Held, ModelWorld, exported

pytestmark = pytest.mark.integration


ORGANIZATION, PROJECT, STACK = "organization", "model", "checker"
OWNER_STACK = f"{ORGANIZATION}/{PROJECT}/{STACK}"
VM_BACKUP = "pulumi-python:dynamic/zstack:VmBackup"
SERIES = "pulumi-python:dynamic/zstack:VmBackupSeries"
COMPONENT = "model:index:Fleet"
ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
OFFSITE = seed.REMOTE_IMAGESTORE_BS_UUID
SYNC_PATH = "/zstack/v1/vm-backups/*/actions"  # SyncVmBackupFromImageStoreBackupStorage
PROVIDERS = {VM_BACKUP: VmBackupProvider, SERIES: VmBackupSeriesProvider}


@dataclasses.dataclass
class Declared:
    """One resource of the program."""

    type: str
    name: str
    parent: str | None = None
    triggers: str = "1"
    description: str = "d1"
    keep: int = 2
    group_uuid: str | None = None
    replacement_trigger: int = 0
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    copies: bool = False

    @property
    def urn(self) -> str:
        qualified = f"{self.parent}${self.type}" if self.parent else self.type
        return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{self.name}"

    def inputs(self) -> dict[str, Any]:
        """What the SDK registers (unset properties are None, as `every_property` sends them)."""
        inputs: dict[str, Any] = {
            "root_volume_uuid": ROOT_VOLUME,
            "backup_storage_uuid": seed.IMAGESTORE_BS_UUID,
            "name": self.name,
            "description": self.description,
            "triggers": [self.triggers],
            "owner_stack": OWNER_STACK,
            "owner_urn": self.urn,
            "max_poll_interval": "1s",
            "copy_to_backup_storage_uuids": [OFFSITE] if self.copies else None,
        }
        if self.type == SERIES:
            inputs["keep"] = self.keep
        elif self.group_uuid is not None:
            inputs["group_uuid"] = self.group_uuid
        return inputs


@dataclasses.dataclass
class Zstack:
    """What ZStack holds, read from the simulator."""

    members: dict[str, list[dict[str, Any]]]
    tags: dict[str, list[str]]  # volume backup uuid -> user tags

    @classmethod
    def read(cls, simulator: Simulator) -> Zstack:
        members: dict[str, list[dict[str, Any]]] = {}
        tags: dict[str, list[str]] = {}
        for backup in simulator.backups():
            if backup.get("status") != "Deleted":
                members.setdefault(str(backup["groupUuid"]), []).append(backup)
                tags[str(backup["uuid"])] = list(backup.get("userTags") or [])
        return cls(members, tags)

    def complete(self, group_uuid: str) -> bool:
        found = self.members.get(group_uuid) or []
        group = BackupGroup(group_uuid, [WireVolumeBackup.model_validate(m) for m in found], None)
        return bool(found) and group.ready and group.root is not None

    def owner_tags(self, group_uuid: str) -> list[OwnerTag]:
        roots = [m for m in self.members.get(group_uuid) or [] if m.get("type") == "Root"]
        return [t for r in roots for tag in self.tags[str(r["uuid"])] if (t := OwnerTag.parse(tag))]


class LifecycleMachine(RuleBasedStateMachine):
    """Operators' moves over a program of a VmBackup and two same-named series (one inside a component)."""

    def __init__(self) -> None:
        super().__init__()
        self.tally = _TALLY
        self.tally.sequences += 1
        self.world = ModelWorld(PROVIDERS, self.tally)
        self.running, self.switch = self.world.running, self.world.switch
        self.client, self.engine = self.world.client, self.world.engine
        self.program: dict[str, Declared] = {
            d.urn: d
            for d in (
                Declared(VM_BACKUP, "nightly", copies=True),
                Declared(SERIES, "series", keep=1),
                Declared(SERIES, "series", parent=COMPONENT, keep=3, copies=True),
            )
        }
        self.versions = itertools.count(2)
        self.damaged: set[str] = set()  # groups damaged out of band, excused until refresh or update
        self.lost_copies: set[str] = (
            set()
        )  # groups whose offsite copy went out of band, excused until refresh
        self.kill_armed = False
        self.adopted = False

    def teardown(self) -> None:
        self.world.close()

    # ------------------------------------------------------------------------------------- operations

    def _run(self, operation: Callable[[], None], *, program_applied: bool = False) -> str:
        self.tally.steps += 1
        before = {r.seq for r in self.running.simulator.requests()}
        live_before = set(Zstack.read(self.running.simulator).members)
        outcome = self.engine.operation(operation)
        self.tally.outcomes[outcome] = self.tally.outcomes.get(outcome, 0) + 1
        self.kill_armed = False
        if self.engine.interrupted is not None:
            self.damaged |= _groups_of(self.engine.interrupted)
        self._check_no_held_group_was_deleted(before)
        self._check_copies_made_and_deleted(before, live_before, outcome)
        if outcome == "ok":
            self.damaged &= self._referenced()  # refreshed or replaced: no longer excused once dropped
            self._check_copy_lists_are_kept(program_applied)
        return outcome

    @rule()
    def up(self) -> None:
        self._run(lambda: self.engine.up(list(self.program.values())), program_applied=True)

    @rule(data=st.data())
    def up_replace(self, data: st.DataObject) -> None:
        urn = data.draw(st.sampled_from(sorted(self.program)))
        self._run(lambda: self.engine.up(list(self.program.values()), frozenset({urn})), program_applied=True)

    @rule()
    def refresh(self) -> None:
        if self._run(self.engine.refresh) == "ok":
            self.damaged.clear()
            self.lost_copies.clear()

    @rule()
    def destroy(self) -> None:
        self._run(self.engine.destroy)

    # ------------------------------------------------------------------------------- program changes

    @rule(data=st.data(), back=st.booleans())
    def change_triggers(self, data: st.DataObject, back: bool) -> None:
        decl = self.program[data.draw(st.sampled_from(sorted(self.program)))]
        decl.triggers = "1" if back else str(next(self.versions))

    @rule(data=st.data())
    def change_description(self, data: st.DataObject) -> None:
        decl = self.program[data.draw(st.sampled_from(sorted(self.program)))]
        decl.description = "d2" if decl.description == "d1" else "d1"

    @rule(data=st.data())
    def bump_replacement_trigger(self, data: st.DataObject) -> None:
        self.program[data.draw(st.sampled_from(sorted(self.program)))].replacement_trigger += 1

    @rule(data=st.data())
    def toggle_delete_before_replace(self, data: st.DataObject) -> None:
        decl = self.program[data.draw(st.sampled_from(sorted(self.program)))]
        decl.delete_before_replace = not decl.delete_before_replace

    @rule(data=st.data())
    def toggle_retain_on_delete(self, data: st.DataObject) -> None:
        decl = self.program[data.draw(st.sampled_from(sorted(self.program)))]
        decl.retain_on_delete = not decl.retain_on_delete

    @rule(data=st.data())
    def toggle_offsite_copy(self, data: st.DataObject) -> None:
        decl = self.program[data.draw(st.sampled_from(sorted(self.program)))]
        decl.copies = not decl.copies

    @rule(data=st.data(), keep=st.integers(1, 3))
    def change_keep(self, data: st.DataObject, keep: int) -> None:
        series = sorted(u for u, d in self.program.items() if d.type == SERIES)
        self.program[data.draw(st.sampled_from(series))].keep = keep

    # --------------------------------------------------------------- what happens outside the program

    @precondition(lambda self: not self.adopted)
    @rule()
    def state_delete_then_adopt(self) -> None:
        """`pulumi state delete` of the VmBackup, then a new resource adopting its group (`group_uuid=`)."""
        held = [(u, h) for u, h in self.engine.state.items() if h.type == VM_BACKUP]
        if not held:
            return
        urn, resource = held[0]
        del self.engine.state[urn]
        del self.program[urn]
        adopter = Declared(VM_BACKUP, "adopted", group_uuid=resource.id)
        self.program[adopter.urn] = adopter
        self.adopted = True

    def _groups_in_order(self) -> list[str]:
        """Live groups, ordered without regard to their random ids: the state's first, by resource."""
        live = Zstack.read(self.running.simulator).members
        ordered = [
            g for urn in sorted(self.engine.state) for g in _listed(self.engine.state[urn]) if g in live
        ]
        return list(dict.fromkeys(ordered)) + sorted(set(live) - set(ordered))

    @rule(pick=st.integers(0, 1000))
    def delete_group_out_of_band(self, pick: int) -> None:
        # Ids are random: an index into a stable order keeps a replayed sequence the same.
        groups = self._groups_in_order()
        if groups:
            group = groups[pick % len(groups)]
            self.running.simulator.delete_backup_group(group)
            self.damaged.add(group)

    @rule(pick=st.integers(0, 1000))
    def delete_member_out_of_band(self, pick: int) -> None:
        zstack = Zstack.read(self.running.simulator)
        members = [
            (group, str(m["uuid"]))
            for group in self._groups_in_order()
            if len(zstack.members[group]) > 1
            for m in sorted(zstack.members[group], key=lambda m: str(m["volumeUuid"]))
        ]
        if members:
            group, member = members[pick % len(members)]
            self.running.simulator.delete_backup(member)
            self.damaged.add(group)

    @rule(pick=st.integers(0, 1000))
    def lose_offsite_copy_out_of_band(self, pick: int) -> None:
        copied = [g for g, ms in self._live_members().items() if any(_on(m, OFFSITE, live=True) for m in ms)]
        if copied:
            group = sorted(copied, key=self._groups_in_order().index)[pick % len(copied)]
            self.running.simulator.delete_backup_copy(group, OFFSITE)
            self.lost_copies.add(group)

    @rule()
    def the_next_copy_fails(self) -> None:
        self.running.simulator.faults.fail_job(method="PUT", path=SYNC_PATH, count=1)

    @precondition(lambda self: not self.kill_armed)
    @rule(at=st.integers(0, 24), after_sending=st.booleans())
    def kill_provider_during_next_operation(self, at: int, after_sending: bool) -> None:
        self.switch.countdown, self.switch.after_sending = at, after_sending
        self.kill_armed = True

    @rule()
    def a_member_refuses_deletion_once(self) -> None:
        self.running.simulator.faults.fail_member_delete(count=1)

    # ------------------------------------------------------------------------------------- invariants

    def _referenced(self) -> set[str]:
        referenced: set[str] = set()
        for held in [*self.engine.state.values(), *self.engine.pending_deletes]:
            referenced |= _groups_of(held)
        return referenced

    def _live_members(self) -> dict[str, list[dict[str, Any]]]:
        return Zstack.read(self.running.simulator).members

    def _check_copies_made_and_deleted(self, before: set[int], live_before: set[str], outcome: str) -> None:
        synced, deleted = set(), set()
        for request in self.running.simulator.requests():
            if request.seq in before:
                continue
            parts = request.path.split("/")  # /zstack/v1/vm-backups/<group>[/actions]
            if parts[3:4] != ["vm-backups"]:
                continue
            if request.method == "PUT" and parts[5:] == ["actions"]:
                synced.add(parts[4])
            elif request.method == "DELETE":  # the whole group, or a copy of a group the state keeps
                deleted.add(parts[4])
        held = {g for h in self.engine.state.values() for g in _kept_groups(h)}
        # A create killed after its copy was sent leaves a group no state holds, made by that same operation.
        made_by_a_killed_create = set() if outcome != "killed" else synced - live_before
        strangers = synced - held - made_by_a_killed_create
        assert not strangers, f"copies were made of groups the state does not hold: {sorted(strangers)}"
        members = self._live_members()
        for group in sorted(deleted - self._referenced()):
            stores = {
                r["backupStorageUuid"]
                for m in members.get(group) or []
                for r in m.get("backupStorageRefs") or []
                if r.get("status") != "Deleted"
            }
            assert not stores, (
                f"the provider deleted group {group}, yet copies of it stay on {sorted(stores)}"
            )

    def _check_copy_lists_are_kept(self, program_applied: bool) -> None:
        for urn, held in self.engine.state.items():
            wanted = held.outputs.get("copy_to_backup_storage_uuids") or []
            if program_applied and urn in self.program:
                asked = self.program[urn].inputs()["copy_to_backup_storage_uuids"] or []
                assert wanted == asked, f"{urn} records the copy list {wanted} after an up of {asked}"
            pending = _copies_pending(held)
            for group, stores in _recorded_stores(held).items():
                unaccounted = [s for s in wanted if s not in stores and (group, s) not in pending]
                assert not unaccounted, (
                    f"{urn} neither records {group} on {unaccounted} nor lists that copy as pending"
                )

    @invariant()
    def recorded_copies_are_ready(self) -> None:
        members = self._live_members()
        for urn, held in self.engine.state.items():
            for group, stores in _recorded_stores(held).items():
                if group in self.damaged:
                    continue
                for store in stores:
                    if store == OFFSITE and group in self.lost_copies:
                        continue
                    missing = [m["uuid"] for m in members.get(group) or [] if not _on(m, store, live=False)]
                    assert not missing, f"{urn} records {group} on {store}, where {missing} are not Ready"

    def _check_no_held_group_was_deleted(self, before: set[int]) -> None:
        deleted = set()
        for request in self.running.simulator.requests():
            if request.seq not in before and request.method == "DELETE" and "/vm-backups/" in request.path:
                deleted.add(request.path.rsplit("/", 1)[-1])
        live = set(Zstack.read(self.running.simulator).members)
        held = {g for h in self.engine.state.values() for g in _kept_groups(h)}
        lost = (deleted & held) - live - self.damaged
        assert not lost, f"the provider deleted groups the state holds: {sorted(lost)}"

    @invariant()
    def state_and_zstack_agree(self) -> None:
        zstack = Zstack.read(self.running.simulator)
        holders: dict[str, str] = {}
        for urn, held in self.engine.state.items():
            for group in _groups_of(held):
                assert group not in holders, f"{group} is held by {holders[group]} and {urn}"
                holders[group] = urn
            claim = held.outputs.get("owner_claim")
            adopted = urn.endswith("::adopted")  # made for other inputs than the adopter declares
            # Refresh found a member gone: the state says so, and the next up replaces the backup.
            known_broken = bool(held.outputs.get("missing_members"))
            for group, label in _labels(held).items():
                if group in self.damaged or known_broken:
                    continue
                assert zstack.complete(group), f"{urn} holds {group}, which is not a live, complete group"
                tags = zstack.owner_tags(group)
                assert [t.claim for t in tags] == [claim], f"{group} of {urn} carries owner tags {tags}"
                assert adopted or tags[0].digest == label, f"{group} of {urn} is labelled for other inputs"
        deployment = {"resources": [exported(u, h) for u, h in self.engine.state.items()]}
        for held in self.engine.pending_deletes:
            deployment["resources"].append(exported("pending", held))
        orphans = {o.uuid for o in find_orphans(OperationContext(self.client), OWNER_STACK, deployment)}
        invisible = set(zstack.members) - set(holders) - self._pending_groups() - orphans
        assert not invisible, f"ZStack holds groups no state references and no orphan list shows: {invisible}"

    def _pending_groups(self) -> set[str]:
        return {g for h in self.engine.pending_deletes for g in _groups_of(h)}


def _on(member: dict[str, Any], store: str, *, live: bool) -> bool:
    """Whether the volume backup has a Ready copy on `store` (with `live`: any copy not `Deleted`)."""
    for ref in member.get("backupStorageRefs") or []:
        if ref.get("backupStorageUuid") == store:
            status = str(ref.get("status"))
            return status != "Deleted" if live else status == "Ready"
    return False


def _recorded_stores(held: Held) -> dict[str, list[str]]:
    """Each group a resource keeps -> the stores its state records as holding the whole group."""
    if held.type == VM_BACKUP:
        return {held.id: list(held.outputs.get("backup_storage_uuids") or [])}
    return {
        b["group_uuid"]: list(b.get("backup_storage_uuids") or []) for b in held.outputs.get("backups") or []
    }


def _copies_pending(held: Held) -> set[tuple[str, str]]:
    pending = held.outputs.get("copy_pending") or []
    if held.type == VM_BACKUP:
        return {(held.id, store) for store in pending}
    return {(p["group_uuid"], p["backup_storage_uuid"]) for p in pending}


def _kept_groups(held: Held) -> set[str]:
    if held.type == VM_BACKUP:
        return {held.id}
    return set(held.outputs.get("group_uuids") or [])


def _listed(held: Held) -> list[str]:
    if held.type == VM_BACKUP:
        return [held.id]
    return [*(held.outputs.get("group_uuids") or []), *(held.outputs.get("prune_pending") or [])]


def _groups_of(held: Held) -> set[str]:
    return _kept_groups(held) | set(held.outputs.get("prune_pending") or [])


def _labels(held: Held) -> dict[str, str]:
    """The groups a resource keeps, each with the digest its owner tag must carry."""
    if held.type == VM_BACKUP:
        props = VmBackupProperties.model_validate(VmBackupProperties.user_supplied(held.outputs))
        return {held.id: digest(props.shaping_inputs())}
    return {b["group_uuid"]: digest({"triggers": b["triggers"]}) for b in held.outputs.get("backups") or []}


_TALLY = Tally()


@pytest.fixture
def tally(lifecycle_tally: Tally) -> Tally:
    global _TALLY
    _TALLY = lifecycle_tally
    return lifecycle_tally


LifecycleMachine.TestCase.settings = settings(
    max_examples=220,
    stateful_step_count=14,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_lifecycle_sequences_keep_zstack_and_the_state_in_agreement(tally: Tally) -> None:
    LifecycleMachine.TestCase().runTest()
    assert tally.sequences >= 100, tally
    assert tally.steps >= 300, tally
