"""VmFromBackup create, read and delete against the simulator over real HTTP, without the engine."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from pulumi_zstack_provider import (
    VmBackupProperties,
    VmFromBackupProperties,
    ZStackError,
)
from pulumi_zstack_provider._ownership import OwnerTag, digest
from pulumi_zstack_provider._resource import OperationContext
from pulumi_zstack_provider._vm_backup import VmBackupResource
from pulumi_zstack_provider._vm_from_backup import VmFromBackupResource
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as zseed

pytestmark = pytest.mark.integration

RESOURCE = VmFromBackupResource()
STACK = "organization/restore/dev"
RESTORE_PATH = "/zstack/v1/vm-instances/from/vm-backups/*"


@pytest.fixture
def group(ctx: OperationContext) -> dict[str, Any]:
    """A Ready backup group of the running VM (root and two data volumes), made as a VmBackup makes it."""
    props = VmBackupProperties.model_validate(
        {
            "owner_stack": STACK,
            "owner_urn": "urn:pulumi:dev::restore::pulumi-python:dynamic/zstack:VmBackup::source",
            "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
            "backup_storage_uuid": zseed.IMAGESTORE_BS_UUID,
            "name": "source",
            "max_poll_interval": "0.2s",
        }
    )
    _, outputs = VmBackupResource().create(ctx, props)
    return outputs


def props(group_uuid: str, name: str = "drill", **overrides: Any) -> VmFromBackupProperties:
    return VmFromBackupProperties.model_validate(
        {
            "owner_stack": STACK,
            "owner_urn": f"urn:pulumi:dev::restore::pulumi-python:dynamic/zstack:VmFromBackup::{name}",
            "group_uuid": group_uuid,
            "name": name,
            "instance_offering_uuid": zseed.INSTANCE_OFFERING_UUID,
            "l3_network_uuids": [zseed.ISOLATED_L3_NETWORK_UUID],
            "max_poll_interval": "0.2s",
            **overrides,
        }
    )


def vms(ctx: OperationContext, *conditions: str) -> list[dict[str, Any]]:
    """Every VM ZStack holds (Destroyed ones too), but the seed's."""
    return [v for v in ctx.client.query("vm-instances", *conditions) if not v["uuid"].startswith("1000000")]


def restores_posted(simulator: RunningSimulator) -> int:
    return sum(
        1 for r in simulator.simulator.requests() if r.method == "POST" and "/from/vm-backups/" in r.path
    )


def owner_tags(ctx: OperationContext, vm_uuid: str) -> list[str]:
    return [t["tag"] for t in ctx.client.query("user-tags", f"resourceUuid={vm_uuid}")]


def first_id(wanted: VmFromBackupProperties) -> str:
    return wanted.owner().object_id("VmFromBackup", digest(wanted.shaping_inputs()), 0)


def test_create_restores_one_running_vm_whose_volumes_match_the_backup(
    ctx: OperationContext, group: dict[str, Any]
) -> None:
    wanted = props(group["group_uuid"])
    vm_uuid, outputs = RESOURCE.create(ctx, wanted)

    [vm] = vms(ctx)
    assert vm["uuid"] == vm_uuid == outputs["uuid"] == first_id(wanted)
    assert vm["state"] == outputs["state"] == "Running"
    assert outputs["group_uuid"] == group["group_uuid"]
    assert len(outputs["data_volume_uuids"]) == len(group["members"]) - 1
    assert {v["uuid"] for v in vm["allVolumes"]} == {
        outputs["root_volume_uuid"],
        *outputs["data_volume_uuids"],
    }
    [nic] = outputs["nics"]
    assert nic["l3_network_uuid"] == zseed.ISOLATED_L3_NETWORK_UUID
    assert nic["ip"].startswith("10.99.0.")
    [tag] = owner_tags(ctx, vm_uuid)
    parsed = OwnerTag.parse(tag)
    assert parsed is not None
    assert parsed.claim == outputs["owner_claim"]
    assert parsed.urn == wanted.owner_urn


def test_strategies_end_in_the_state_they_promise(ctx: OperationContext, group: dict[str, Any]) -> None:
    _, stopped = RESOURCE.create(ctx, props(group["group_uuid"], "stopped", strategy="CreateStopped"))
    _, created = RESOURCE.create(ctx, props(group["group_uuid"], "created", strategy="JustCreate"))
    assert (stopped["state"], created["state"]) == ("Stopped", "Created")
    assert created["nics"] == []


def test_read_reports_state_drift_and_a_destroyed_vm_as_gone(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"]))
    state = {**outputs}
    outcome = RESOURCE.read(ctx, vm_uuid, state)
    assert outcome is not None
    assert outcome.outputs["state"] == "Running"
    assert RESOURCE.drift_replaces({**state, **outcome.outputs}) == []

    simulator.simulator.set_vm_state(vm_uuid, "Stopped")
    outcome = RESOURCE.read(ctx, vm_uuid, state)
    assert outcome is not None
    assert RESOURCE.drift_replaces({**state, **outcome.outputs}) == ["state"]

    simulator.simulator.set_vm_state(vm_uuid, "Destroyed")
    assert RESOURCE.read(ctx, vm_uuid, state) is None
    simulator.simulator.expunge_vm(vm_uuid)
    assert RESOURCE.read(ctx, vm_uuid, state) is None


def test_delete_destroys_and_expunges_and_a_vm_already_gone_is_success(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"]))
    RESOURCE.delete(ctx, vm_uuid, outputs)
    assert vms(ctx) == []
    apis = [r.api for r in simulator.simulator.requests() if r.method != "GET"]
    volumes = outputs["data_volume_uuids"]
    assert apis[-2 - 2 * len(volumes) :] == [
        "DestroyVmInstance",
        "ExpungeVmInstance",
        *["DeleteDataVolume", "ExpungeDataVolume"] * len(volumes),
    ], "the VM goes, then each of its data volumes"
    assert ctx.client.query("volumes", f"uuid?={','.join(volumes)}") == []
    RESOURCE.delete(ctx, vm_uuid, outputs)


def test_a_delete_that_stopped_after_the_vm_removes_its_data_volumes_next_time(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"]))
    simulator.simulator.set_vm_state(vm_uuid, "Destroyed")
    simulator.simulator.expunge_vm(vm_uuid)  # the VM went; its detached data volumes did not
    left = ctx.client.query("volumes", f"lastVmInstanceUuid={vm_uuid}")
    assert sorted(v["uuid"] for v in left) == sorted(outputs["data_volume_uuids"])

    RESOURCE.delete(ctx, vm_uuid, outputs)

    assert ctx.client.query("volumes", f"lastVmInstanceUuid={vm_uuid}") == []


def test_delete_finishes_a_vm_left_destroyed(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"]))
    simulator.simulator.set_vm_state(vm_uuid, "Destroyed")
    RESOURCE.delete(ctx, vm_uuid, outputs)
    assert vms(ctx) == []


def test_delete_leaves_a_vm_another_resource_holds(
    ctx: OperationContext, group: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"]))
    with caplog.at_level(logging.WARNING, logger="pulumi_zstack"):
        RESOURCE.delete(ctx, vm_uuid, {**outputs, "owner_claim": "someone-else"})
    assert [v["uuid"] for v in vms(ctx)] == [vm_uuid]
    assert "not deleted" in caplog.text


def test_an_interrupted_create_is_resumed_not_repeated(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    # The job ran to its end under the derived uuid, but the provider stopped before tagging the VM.
    wanted = props(group["group_uuid"])
    ctx.run_job(
        "POST",
        f"/vm-instances/from/vm-backups/{group['group_uuid']}",
        body=wanted.request_body(first_id(wanted)),
        deadline=1e12,
        operation="an earlier attempt",
        max_poll_interval=0.2,
    )
    vm_uuid, outputs = RESOURCE.create(ctx, wanted)
    assert vm_uuid == first_id(wanted)
    assert restores_posted(simulator) == 1
    assert [v["uuid"] for v in vms(ctx)] == [vm_uuid]
    assert len(owner_tags(ctx, vm_uuid)) == 1
    assert outputs["state"] == "Running"


def test_a_tagged_vm_is_never_resumed(ctx: OperationContext, group: dict[str, Any]) -> None:
    wanted = props(group["group_uuid"])
    first, _ = RESOURCE.create(ctx, wanted)
    second, _ = RESOURCE.create(ctx, wanted)  # e.g. `--replace` with retain_on_delete
    assert first != second
    assert second[:16] == first[:16]
    assert {v["uuid"] for v in vms(ctx)} == {first, second}


def test_a_lost_answer_and_503s_make_exactly_one_vm(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    simulator.simulator.faults.lose_response(method="POST", path=RESTORE_PATH, count=1)
    simulator.simulator.faults.error_503(method="*", path="/zstack/v1/vm-instances*", count=2)
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"]))
    assert [v["uuid"] for v in vms(ctx)] == [vm_uuid]
    assert outputs["state"] == "Running"


@pytest.mark.parametrize("broken", ["root deleted", "group gone", "root not ready"])
def test_a_group_that_cannot_be_restored_is_refused_naming_it_before_any_job(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any], broken: str
) -> None:
    root = group["members"][0]
    if broken == "root deleted":
        simulator.simulator.delete_backup(root["uuid"])
    elif broken == "group gone":
        simulator.simulator.delete_backup_group(group["group_uuid"])
    else:
        simulator.simulator.update_backup(root["uuid"], {"status": "Creating"})
    with pytest.raises(ZStackError, match=f"backup group {group['group_uuid']} cannot be restored"):
        RESOURCE.create(ctx, props(group["group_uuid"]))
    assert restores_posted(simulator) == 0
    assert vms(ctx) == []


def test_a_storage_without_a_copy_is_refused(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    with pytest.raises(
        ZStackError, match=f"no Ready copy on backup storage {zseed.REMOTE_IMAGESTORE_BS_UUID}"
    ):
        RESOURCE.create(ctx, props(group["group_uuid"], backup_storage_uuid=zseed.REMOTE_IMAGESTORE_BS_UUID))
    assert restores_posted(simulator) == 0


def test_a_refusal_by_zstack_reaches_the_user(ctx: OperationContext, group: dict[str, Any]) -> None:
    with pytest.raises(ZStackError, match="no available ipRange"):
        RESOURCE.create(ctx, props(group["group_uuid"], l3_network_uuids=[zseed.NO_IP_RANGE_L3_NETWORK_UUID]))
    assert vms(ctx) == []


def test_a_create_outliving_its_timeout_says_how_to_raise_it_and_the_next_one_resumes(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    # The VM shows half-way through the 3 s job, so it is there when the 2 s create gives up.
    simulator.simulator.faults.job_duration(polls=10_000, seconds=3, method="POST", path=RESTORE_PATH)
    wanted = props(group["group_uuid"], create_timeout="2s")
    with pytest.raises(ZStackError, match="Raise the `create_timeout` input"):
        RESOURCE.create(ctx, wanted)
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"], create_timeout="1m"))
    assert vm_uuid == first_id(wanted)
    assert restores_posted(simulator) == 1
    assert [v["uuid"] for v in vms(ctx)] == [vm_uuid]
    assert outputs["state"] == "Running"


def test_a_create_retried_before_its_vm_shows_still_makes_one_vm(
    ctx: OperationContext, simulator: RunningSimulator, group: dict[str, Any]
) -> None:
    # Given up before half-way: no VM to find yet, so the retry posts again under the same uuid, and ZStack
    # refuses whichever job comes second (the uuid is the VM's primary key).
    simulator.simulator.faults.job_duration(polls=10_000, seconds=3, method="POST", path=RESTORE_PATH)
    wanted = props(group["group_uuid"], create_timeout="1s")
    with pytest.raises(ZStackError, match="Raise the `create_timeout` input"):
        RESOURCE.create(ctx, wanted)
    vm_uuid, outputs = RESOURCE.create(ctx, props(group["group_uuid"], create_timeout="1m"))
    assert vm_uuid == first_id(wanted)
    assert [v["uuid"] for v in vms(ctx)] == [vm_uuid]
    assert outputs["state"] == "Running"
    assert len(owner_tags(ctx, vm_uuid)) == 1


def test_delete_removes_untagged_attempts_of_its_own(ctx: OperationContext, group: dict[str, Any]) -> None:
    wanted = props(group["group_uuid"])
    vm_uuid, outputs = RESOURCE.create(ctx, wanted)
    stray = wanted.owner().object_id("VmFromBackup", "an attempt with other inputs", 0)
    ctx.run_job(
        "POST",
        f"/vm-instances/from/vm-backups/{group['group_uuid']}",
        body=wanted.request_body(stray),
        deadline=1e12,
        operation="an attempt that never reached the state",
        max_poll_interval=0.2,
    )
    other, _ = RESOURCE.create(ctx, props(group["group_uuid"], "another"))
    RESOURCE.delete(ctx, vm_uuid, outputs)
    assert [v["uuid"] for v in vms(ctx)] == [other]


def test_unique_ids_per_urn(group: dict[str, Any]) -> None:
    a, b = props(group["group_uuid"], "a"), props(group["group_uuid"], "b")
    assert first_id(a) != first_id(b)
    assert uuid.UUID(first_id(a)).version == 5
