"""VmBackup create, read and delete against the simulator over real HTTP, without the engine."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pulumi_zstack_provider import ConnectionSettings, VmBackupProperties, ZStackClient, ZStackError
from pulumi_zstack_provider._backup_group import attach_user_tag
from pulumi_zstack_provider._ownership import OwnerTag, stack_key
from pulumi_zstack_provider._resource import OperationContext
from pulumi_zstack_provider._vm_backup import VmBackupResource
from zstack_simulator import RunningSimulator, Settings, Simulator
from zstack_simulator import seed as zseed

from tests.provider.conftest import StartRun

pytestmark = pytest.mark.integration

RESOURCE = VmBackupResource()
STACK = "organization/backups/dev"
URN = "urn:pulumi:dev::backups::pulumi-python:dynamic/zstack:VmBackup::nightly"
OTHER_URN = "urn:pulumi:dev::backups::pulumi-python:dynamic/zstack:VmBackup::adopted"


@contextmanager
def context_for(running: RunningSimulator) -> Iterator[OperationContext]:
    config = {
        "zstack:host": running.host,
        "zstack:port": str(running.port),
        "zstack:accountName": "admin",
        "zstack:accountPassword": zseed.ADMIN_PASSWORD,
    }
    with ZStackClient(ConnectionSettings.resolve(config, {})) as client:
        yield OperationContext(client)


@pytest.fixture
def ctx(simulator: RunningSimulator) -> Iterator[OperationContext]:
    with context_for(simulator) as context:
        yield context


def props(**overrides: Any) -> VmBackupProperties:
    """A declaration as the SDK sends it: the user's inputs and the resource's owner."""
    values = {
        "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
        "backup_storage_uuid": zseed.IMAGESTORE_BS_UUID,
        "name": "nightly",
        "owner_stack": STACK,
        "owner_urn": URN,
        "max_poll_interval": "0.2s",
        **overrides,
    }
    return VmBackupProperties.model_validate(values)


def create(ctx: OperationContext, wanted: VmBackupProperties) -> tuple[str, dict[str, Any]]:
    return RESOURCE.create(ctx, wanted)


def live_groups(simulator: RunningSimulator) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for backup in simulator.simulator.backups():
        if backup.get("status") != "Deleted":
            groups.setdefault(backup["groupUuid"], []).append(backup)
    return groups


def writes(simulator: RunningSimulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in simulator.simulator.requests() if r.method != "GET"]


def root_of(simulator: RunningSimulator, group_uuid: str) -> dict[str, Any]:
    return next(m for m in live_groups(simulator)[group_uuid] if m["type"] == "Root")


def owner_tags(simulator: RunningSimulator, group_uuid: str) -> list[OwnerTag]:
    """The owner tags on the group's root volume backup, as ZStack holds them."""
    tags = (OwnerTag.parse(tag) for tag in root_of(simulator, group_uuid)["userTags"])
    return [tag for tag in tags if tag is not None]


def holders(simulator: RunningSimulator, group_uuid: str) -> list[tuple[str, str]]:
    """(URN, claim) of every owner tag on the group."""
    return [(tag.urn, tag.claim) for tag in owner_tags(simulator, group_uuid)]


def refuse_tag_writes(simulator: RunningSimulator) -> int:
    """Make every CreateUserTag fail, as a create whose owner tag cannot be written; returns the rule id."""
    return simulator.simulator.faults.error_503(
        code="SYS.1007", method="POST", path="/zstack/v1/user-tags"
    ).id


def test_create_backs_up_every_non_shareable_volume_and_reports_the_root(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    resource_id, outputs = create(ctx, props(description="before the upgrade"))

    assert outputs["group_uuid"] == resource_id
    assert resource_id.startswith(stack_key(STACK)), "every group of a stack is found by its stack's key"
    members = live_groups(simulator)[resource_id]
    assert {m["volumeUuid"] for m in members} == {
        zseed.RUNNING_VM_ROOT_VOLUME_UUID,
        *zseed.RUNNING_VM_DATA_VOLUME_UUIDS,
    }
    assert outputs["status"] == "Ready"
    assert outputs["volume_uuid"] == zseed.RUNNING_VM_ROOT_VOLUME_UUID
    assert outputs["vm_instance_uuid"] == zseed.RUNNING_VM_UUID
    assert outputs["backup_name"].startswith("nightly-")
    assert outputs["members"][0]["type"] == "Root"
    assert outputs["total_size"] == sum(m["size"] for m in members)
    assert outputs["name"] == "nightly"  # the declared name, not the server's
    assert holders(simulator, resource_id) == [(URN, outputs["owner_claim"])]
    assert all(m["userTags"] == [] for m in members if m["type"] != "Root")


def test_user_tags_are_attached_to_every_volume_backup_of_the_group(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    # ZStack drops the userTags of a CreateVmBackup request: the provider tags each member itself.
    resource_id, outputs = create(ctx, props(user_tags=["team::ops", "env::prod"]))

    members = live_groups(simulator)[resource_id]
    assert len(members) == 3
    for member in members:
        own = sorted(t for t in member["userTags"] if not t.startswith("pulumi-zstack::"))
        assert own == ["env::prod", "team::ops"], member["type"]
    assert outputs["user_tags"] == ["team::ops", "env::prod"]
    assert holders(simulator, resource_id) == [(URN, outputs["owner_claim"])]


def test_create_takes_the_backups_from_the_job_result_without_querying_again(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    resource_id, outputs = create(ctx, props())

    queries = [r for r in simulator.simulator.requests() if r.api == "QueryVolumeBackup"]
    assert len(queries) == 1  # the look-up for an interrupted earlier create, before posting
    assert outputs["status"] == "Ready"
    assert len(outputs["members"]) == len(live_groups(simulator)[resource_id])


def test_read_returns_outputs_and_observed_inputs_and_none_once_gone(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    resource_id, outputs = create(ctx, props())
    outcome = RESOURCE.read(ctx, resource_id, outputs)
    assert outcome is not None
    assert outcome.outputs["uuid"] == outputs["uuid"]
    assert outcome.inputs["root_volume_uuid"] == zseed.RUNNING_VM_ROOT_VOLUME_UUID
    assert outcome.inputs["backup_storage_uuid"] == zseed.IMAGESTORE_BS_UUID
    assert outcome.outputs["missing_members"] is None

    simulator.simulator.delete_backup_group(resource_id)
    assert RESOURCE.read(ctx, resource_id, outputs) is None


def test_read_treats_a_group_whose_members_are_all_deleted_as_gone(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    resource_id, outputs = create(ctx, props())
    for member in live_groups(simulator)[resource_id]:
        simulator.simulator.update_backup(member["uuid"], {"status": "Deleted"})
    assert RESOURCE.read(ctx, resource_id, outputs) is None


def test_read_reports_a_member_deleted_out_of_band(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    resource_id, outputs = create(ctx, props())
    data_member = next(m for m in live_groups(simulator)[resource_id] if m["type"] == "Data")
    simulator.simulator.delete_backup(data_member["uuid"])

    outcome = RESOURCE.read(ctx, resource_id, outputs)
    assert outcome is not None
    assert outcome.outputs["missing_members"] == [data_member["volumeUuid"]]
    assert RESOURCE.drift_replaces(outcome.outputs) == ["missing_members"]


def test_read_adopts_by_id_and_recovers_the_declared_name(ctx: OperationContext) -> None:
    resource_id, _ = create(ctx, props(name="weekly"))
    outcome = RESOURCE.read(ctx, resource_id, {})
    assert outcome is not None
    assert outcome.inputs["name"] == "weekly"
    assert outcome.inputs["group_uuid"] == resource_id


def test_a_create_stopped_before_its_owner_tag_is_resumed_without_posting_again(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    refused = refuse_tag_writes(simulator)
    with pytest.raises(ZStackError, match="Run `pulumi up` again"):
        create(ctx, props())
    (made,) = live_groups(simulator)
    assert owner_tags(simulator, made) == []
    simulator.simulator.faults.remove(refused)
    simulator.simulator.clear_requests()

    again_id, outputs = create(ctx, props())
    assert again_id == made
    assert writes(simulator) == ["POST /zstack/v1/user-tags"], "only the owner tag: no second backup"
    assert list(live_groups(simulator)) == [made]
    assert len(live_groups(simulator)[made]) == 3
    assert outputs["status"] == "Ready"
    assert holders(simulator, made) == [(URN, outputs["owner_claim"])]


def test_a_replacement_makes_a_new_group_and_never_resumes_one_in_the_state(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    first_id, first = create(ctx, props())
    new_run()  # `pulumi up --replace`: same resource, same inputs, new backup first
    second_id, second = create(ctx, props())

    assert second_id != first_id
    assert second["owner_claim"] != first["owner_claim"]
    assert holders(simulator, second_id) == [(URN, second["owner_claim"])]
    RESOURCE.delete(ctx, first_id, first)
    assert list(live_groups(simulator)) == [second_id]


def test_create_refuses_to_adopt_a_group_of_another_vm(ctx: OperationContext) -> None:
    other_id, _ = create(ctx, props(root_volume_uuid=zseed.PAUSED_VM_ROOT_VOLUME_UUID))
    with pytest.raises(ZStackError, match="does not back up root volume"):
        create(ctx, props(group_uuid=other_id))


def test_adopting_a_group_moves_its_owner_tag_and_only_the_adopter_deletes_it(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun, caplog: pytest.LogCaptureFixture
) -> None:
    group_uuid, first = create(ctx, props())
    (previous,) = ctx.client.query("user-tags", f"resourceUuid={root_of(simulator, group_uuid)['uuid']}")
    new_run()
    simulator.simulator.clear_requests()

    adopted_id, adopted = create(ctx, props(group_uuid=group_uuid, owner_urn=OTHER_URN))
    assert adopted_id == group_uuid
    assert adopted["owner_claim"] != first["owner_claim"]
    assert writes(simulator) == ["POST /zstack/v1/user-tags", f"DELETE /zstack/v1/tags/{previous['uuid']}"]
    assert holders(simulator, group_uuid) == [(OTHER_URN, adopted["owner_claim"])]

    new_run()  # the first resource is dropped from its stack: the backup is the adopter's now
    with caplog.at_level(logging.WARNING, logger="pulumi_zstack"):
        RESOURCE.delete(ctx, group_uuid, first)
    assert list(live_groups(simulator)) == [group_uuid]
    assert f"not deleted: {OTHER_URN} holds the backup group now" in caplog.text

    RESOURCE.delete(ctx, adopted_id, adopted)
    assert live_groups(simulator) == {}


def test_a_replaced_adopted_backup_is_kept_by_its_replacement(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    made_elsewhere, _ = create(ctx, props(owner_urn=OTHER_URN))
    new_run()
    group_uuid, adopted = create(ctx, props(group_uuid=made_elsewhere))
    new_run()  # `pulumi up --replace`: the replacement adopts the same group, then the old state goes

    again_id, replacement = create(ctx, props(group_uuid=made_elsewhere))
    RESOURCE.delete(ctx, group_uuid, adopted)

    assert again_id == group_uuid
    assert len(live_groups(simulator)[group_uuid]) == 3
    assert holders(simulator, group_uuid) == [(URN, replacement["owner_claim"])]


def test_a_delete_also_removes_complete_attempts_that_never_reached_the_stack(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    kept_id, kept = create(ctx, props())
    new_run()
    refused = refuse_tag_writes(simulator)
    with pytest.raises(ZStackError):  # a replacement whose backup was made but never handed to the engine
        create(ctx, props())
    simulator.simulator.faults.remove(refused)
    assert len(live_groups(simulator)) == 2

    new_run()  # `pulumi destroy`
    RESOURCE.delete(ctx, kept_id, kept)
    assert live_groups(simulator) == {}


def tag_root(ctx: OperationContext, root_uuid: str, tag: str) -> None:
    """CreateUserTag on a volume backup, as another client (or an earlier attempt) would."""
    ctx.run_job(
        "POST",
        "/user-tags",
        body={"params": {"resourceType": "VolumeBackupVO", "resourceUuid": root_uuid, "tag": tag}},
        deadline=time.monotonic() + 30,
        operation="tag",
    )


def test_a_backup_whose_owner_tag_was_written_twice_is_still_deleted_by_its_resource(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    resource_id, outputs = create(ctx, props())
    root = root_of(simulator, resource_id)
    (owner_tag,) = root["userTags"]
    tag_root(ctx, root["uuid"], owner_tag)
    assert holders(simulator, resource_id) == [(URN, outputs["owner_claim"])] * 2

    new_run()
    RESOURCE.delete(ctx, resource_id, outputs)
    assert live_groups(simulator) == {}


def test_a_lost_poll_of_the_tag_job_writes_the_tag_once(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    untagged = uuid.uuid4().hex
    ctx.run_job(
        "POST",
        f"/volumes/{zseed.RUNNING_VM_ROOT_VOLUME_UUID}/vm-backups",
        body={
            "params": {"backupStorageUuid": zseed.IMAGESTORE_BS_UUID, "name": "n", "resourceUuid": untagged}
        },
        deadline=time.monotonic() + 30,
        operation="a backup",
    )
    root = root_of(simulator, untagged)["uuid"]
    simulator.simulator.faults.error_503(method="GET", path="/zstack/v1/api-jobs/*", count=1)

    attach_user_tag(ctx, "VolumeBackupVO", root, "team::ops", "user tag of the test")

    assert root_of(simulator, untagged)["userTags"] == ["team::ops"]


@pytest.mark.parametrize("mark", [None, "pulumi-zstack::recorded"], ids=["untagged", "recorded-mark"])
def test_a_backup_made_before_owner_tags_is_deleted_by_the_state_that_holds_it(
    ctx: OperationContext, simulator: RunningSimulator, mark: str | None
) -> None:
    legacy_id = uuid.uuid4().hex
    ctx.run_job(
        "POST",
        f"/volumes/{zseed.RUNNING_VM_ROOT_VOLUME_UUID}/vm-backups",
        body={
            "params": {
                "backupStorageUuid": zseed.IMAGESTORE_BS_UUID,
                "name": "old",
                "resourceUuid": legacy_id,
            }
        },
        deadline=time.monotonic() + 30,
        operation="a backup of the previous release",
    )
    if mark is not None:
        root = root_of(simulator, legacy_id)["uuid"]
        ctx.run_job(
            "POST",
            "/user-tags",
            body={"params": {"resourceType": "VolumeBackupVO", "resourceUuid": root, "tag": mark}},
            deadline=time.monotonic() + 30,
            operation="the previous release's mark",
        )
    outcome = RESOURCE.read(ctx, legacy_id, {"root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID})
    assert outcome is not None
    state = {**outcome.inputs, **outcome.outputs}  # no owner, no claim: what such a state holds

    RESOURCE.delete(ctx, legacy_id, state)
    assert live_groups(simulator) == {}


def test_create_of_a_stopped_vm_fails_with_the_zstack_code_and_leaves_nothing(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    with pytest.raises(ZStackError, match=r"SYS\.1006") as failure:
        create(ctx, props(root_volume_uuid=zseed.STOPPED_VM_ROOT_VOLUME_UUID))
    assert "Running" in str(failure.value)
    assert live_groups(simulator) == {}


def test_create_times_out_with_advice_and_a_rerun_resumes_the_same_group(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    simulator.simulator.faults.job_duration(seconds=1.5, polls=1000, method="POST", count=1)
    with pytest.raises(ZStackError, match="create_timeout") as failure:
        create(ctx, props(create_timeout="0.5s"))
    (started,) = live_groups(simulator)
    assert started in str(failure.value)

    time.sleep(1.2)
    resource_id, outputs = create(ctx, props())
    assert resource_id == started
    assert list(live_groups(simulator)) == [resource_id]
    assert len(live_groups(simulator)[resource_id]) == 3
    assert outputs["status"] == "Ready"


def test_delete_removes_the_group_and_succeeds_when_it_is_already_gone(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    resource_id, outputs = create(ctx, props())
    new_run()
    RESOURCE.delete(ctx, resource_id, outputs)
    assert live_groups(simulator) == {}
    RESOURCE.delete(ctx, resource_id, outputs)


def test_delete_retries_members_that_survived_the_group_delete(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    resource_id, outputs = create(ctx, props())
    new_run()
    data_member = next(m for m in live_groups(simulator)[resource_id] if m["type"] == "Data")
    rule = simulator.simulator.faults.fail_member_delete(target=data_member["uuid"], count=1)
    simulator.simulator.clear_requests()

    RESOURCE.delete(ctx, resource_id, outputs)
    assert live_groups(simulator) == {}
    assert [r.fired for r in simulator.simulator.faults.rules() if r.id == rule.id] == [1]
    assert writes(simulator) == [
        f"DELETE /zstack/v1/vm-backups/{resource_id}",
        f"DELETE /zstack/v1/volume-backups/{data_member['uuid']}",
    ], "the member that survived the group delete is deleted on its own, and only that one"


@pytest.mark.parametrize("api_path", ["/zstack/v1/vm-backups/*", "/zstack/v1/volume-backups/*"])
def test_delete_whose_job_record_expired_is_settled_by_querying_the_group(
    ctx: OperationContext, simulator: RunningSimulator, api_path: str, new_run: StartRun
) -> None:
    # The job ends, but its record is gone when the result is due: only the query can tell what happened.
    resource_id, outputs = create(ctx, props())
    new_run()
    if api_path.startswith("/zstack/v1/volume-backups"):  # reach the member-by-member fallback
        data_member = next(m for m in live_groups(simulator)[resource_id] if m["type"] == "Data")
        simulator.simulator.faults.fail_member_delete(target=data_member["uuid"], count=1)
    rule = simulator.simulator.faults.expire_job_record(method="DELETE", path=api_path, count=1)

    RESOURCE.delete(ctx, resource_id, outputs)

    assert live_groups(simulator) == {}
    assert [r.fired for r in simulator.simulator.faults.rules() if r.id == rule.id] == [1]
    assert [r.status for r in simulator.simulator.requests() if r.api == "QueryJob"][-1] == 404


def test_delete_of_a_group_with_two_root_backups_falls_back_to_member_deletes(
    ctx: OperationContext, simulator: RunningSimulator, new_run: StartRun
) -> None:
    # A second POST with the same resourceUuid (outside this provider) puts two sets in one group, which
    # ZStack's DeleteVmBackup refuses as a whole.
    resource_id, outputs = create(ctx, props())
    ctx.run_job(
        "POST",
        f"/volumes/{zseed.RUNNING_VM_ROOT_VOLUME_UUID}/vm-backups",
        body={
            "params": {
                "backupStorageUuid": zseed.IMAGESTORE_BS_UUID,
                "name": "dup",
                "resourceUuid": resource_id,
            }
        },
        deadline=time.monotonic() + 30,
        operation="duplicate",
    )
    assert len(live_groups(simulator)[resource_id]) == 6

    new_run()
    RESOURCE.delete(ctx, resource_id, outputs)
    assert live_groups(simulator) == {}


def test_sizes_in_e_notation_are_read_as_integers(serve_simulator: Any) -> None:
    running = serve_simulator(Simulator(Settings.fast().model_copy(update={"e_notation": True})))
    with context_for(running) as context:
        _, outputs = create(context, props())
    assert isinstance(outputs["size"], int)
    assert outputs["size"] > 0
