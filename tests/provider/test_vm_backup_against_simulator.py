"""VmBackup create, read and delete against the simulator over real HTTP, without the engine."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pulumi_zstack_provider import ConnectionSettings, VmBackupProperties, ZStackClient, ZStackError
from pulumi_zstack_provider._resource import OperationContext
from pulumi_zstack_provider._vm_backup import VmBackupResource
from zstack_simulator import RunningSimulator, Settings, Simulator
from zstack_simulator import seed as zseed

pytestmark = pytest.mark.integration

RESOURCE = VmBackupResource()


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
    values = {
        "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
        "backup_storage_uuid": zseed.IMAGESTORE_BS_UUID,
        "name": "nightly",
        "group_uuid": uuid.uuid4().hex,
        "max_poll_interval": "0.2s",
        **overrides,
    }
    return VmBackupProperties.model_validate(values)


def create(ctx: OperationContext, wanted: VmBackupProperties) -> tuple[str, dict[str, Any]]:
    """Create under the group uuid the provider would choose for a first create: the declared one."""
    assert wanted.group_uuid is not None
    return wanted.group_uuid, RESOURCE.create(ctx, wanted, wanted.group_uuid)


def live_groups(simulator: RunningSimulator) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for backup in simulator.simulator.backups():
        if backup.get("status") != "Deleted":
            groups.setdefault(backup["groupUuid"], []).append(backup)
    return groups


def writes(simulator: RunningSimulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in simulator.simulator.requests() if r.method != "GET"]


def test_create_backs_up_every_non_shareable_volume_and_reports_the_root(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    wanted = props(description="before the upgrade")
    resource_id, outputs = create(ctx, wanted)

    assert resource_id == wanted.group_uuid
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


def test_create_resumes_an_existing_group_without_posting_again(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    first_id, _ = create(ctx, props())
    simulator.simulator.clear_requests()

    again_id, outputs = create(ctx, props(group_uuid=first_id))
    assert again_id == first_id
    assert writes(simulator) == []
    assert len(live_groups(simulator)[first_id]) == 3
    assert outputs["status"] == "Ready"


def test_create_refuses_to_adopt_a_group_of_another_vm(ctx: OperationContext) -> None:
    other_id, _ = create(ctx, props(root_volume_uuid=zseed.PAUSED_VM_ROOT_VOLUME_UUID))
    with pytest.raises(ZStackError, match="does not back up root volume"):
        create(ctx, props(group_uuid=other_id))


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
    wanted = props(create_timeout="0.5s")
    with pytest.raises(ZStackError, match="create_timeout") as failure:
        create(ctx, wanted)
    assert wanted.group_uuid in str(failure.value)

    time.sleep(1.2)
    resource_id, outputs = create(ctx, props(group_uuid=wanted.group_uuid))
    assert resource_id == wanted.group_uuid
    assert list(live_groups(simulator)) == [resource_id]
    assert len(live_groups(simulator)[resource_id]) == 3
    assert outputs["status"] == "Ready"


def test_delete_removes_the_group_and_succeeds_when_it_is_already_gone(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    resource_id, outputs = create(ctx, props())
    RESOURCE.delete(ctx, resource_id, outputs)
    assert live_groups(simulator) == {}
    RESOURCE.delete(ctx, resource_id, outputs)


def test_delete_retries_members_that_survived_the_group_delete(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    resource_id, outputs = create(ctx, props())
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
    ctx: OperationContext, simulator: RunningSimulator, api_path: str
) -> None:
    # The job ends, but its record is gone when the result is due: only the query can tell what happened.
    resource_id, outputs = create(ctx, props())
    if api_path.startswith("/zstack/v1/volume-backups"):  # reach the member-by-member fallback
        data_member = next(m for m in live_groups(simulator)[resource_id] if m["type"] == "Data")
        simulator.simulator.faults.fail_member_delete(target=data_member["uuid"], count=1)
    rule = simulator.simulator.faults.expire_job_record(method="DELETE", path=api_path, count=1)

    RESOURCE.delete(ctx, resource_id, outputs)

    assert live_groups(simulator) == {}
    assert [r.fired for r in simulator.simulator.faults.rules() if r.id == rule.id] == [1]
    assert [r.status for r in simulator.simulator.requests() if r.api == "QueryJob"][-1] == 404


def test_delete_of_a_group_with_two_root_backups_falls_back_to_member_deletes(
    ctx: OperationContext, simulator: RunningSimulator
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

    RESOURCE.delete(ctx, resource_id, outputs)
    assert live_groups(simulator) == {}


def test_sizes_in_e_notation_are_read_as_integers(serve_simulator: Any) -> None:
    running = serve_simulator(Simulator(Settings.fast().model_copy(update={"e_notation": True})))
    with context_for(running) as context:
        _, outputs = create(context, props())
    assert isinstance(outputs["size"], int)
    assert outputs["size"] > 0
