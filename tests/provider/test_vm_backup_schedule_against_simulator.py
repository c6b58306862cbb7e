"""VmBackupSchedule create, update, read and delete against the simulator over real HTTP, without the engine.

The simulator keeps what ZStack's inventories never show (a job's parameters, a trigger's cron); these tests
read it there to check what ZStack received.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_zstack_provider import (
    JobFailedError,
    VmBackupScheduleProperties,
)
from pulumi_zstack_provider._resource import OperationContext
from pulumi_zstack_provider._vm_backup_schedule import VmBackupScheduleResource, scheduler_description
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as zseed

pytestmark = pytest.mark.integration

RESOURCE = VmBackupScheduleResource()
ROOT = zseed.RUNNING_VM_ROOT_VOLUME_UUID
DAY = 86400
URN = "urn:pulumi:dev::project::pulumi-python:dynamic/zstack:VmBackupSchedule::web-01"


def props(**overrides: Any) -> VmBackupScheduleProperties:
    values = {
        "root_volume_uuid": ROOT,
        "backup_storage_uuids": [zseed.IMAGESTORE_BS_UUID],
        "name": "web-01 nightly",
        "cron": "0 0 2 * * ?",
        "retention_count": 3,
        "owner_stack": "organization/project/dev",
        "owner_urn": URN,
        "max_poll_interval": "0.2s",
        **overrides,
    }
    return VmBackupScheduleProperties.model_validate(values)


def jobs(simulator: RunningSimulator) -> dict[str, dict[str, Any]]:
    return {j["uuid"]: j for j in simulator.simulator.scheduler_jobs()}


def triggers(simulator: RunningSimulator) -> dict[str, dict[str, Any]]:
    return {t["uuid"]: t for t in simulator.simulator.scheduler_triggers()}


def scheduled_groups(simulator: RunningSimulator, job_uuid: str) -> set[str]:
    return {
        b["groupUuid"]
        for b in simulator.simulator.backups()
        if b.get("description") == scheduler_description(job_uuid) and b["status"] != "Deleted"
    }


def test_create_makes_a_vm_backup_job_bound_to_its_cron_trigger(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    wanted = props(
        remote_backup_storage_uuid=zseed.REMOTE_IMAGESTORE_BS_UUID,
        remote_retention_days=30,
        full_backup_cron="0 0 3 ? * SUN",
        volume_read_bandwidth=4096,
    )
    job_uuid, outputs = RESOURCE.create(ctx, wanted)

    job = jobs(simulator)[job_uuid]
    assert (job["type"], job["targetResourceUuid"], job["name"], job["state"]) == (
        "vmBackup",
        ROOT,
        "web-01 nightly",
        "Enabled",
    )
    data = job["jobData"]
    assert data["backupStorageUuids"] == [zseed.IMAGESTORE_BS_UUID]
    assert data["retention"]["retentionType"] == "Count"
    assert data["retention"]["retentionValue"] == 3
    assert data["remoteBackupStorageUuid"] == zseed.REMOTE_IMAGESTORE_BS_UUID
    assert data["remoteRetention"]["retentionType"] == "Days"
    assert data["remoteRetention"]["retentionValue"] == 30
    assert data["fullBackupTriggerUuid"] == outputs["full_backup_trigger_uuid"]
    assert data["bandwidths"]["volumeReadBandwidth"] == 4096
    main, full = (
        triggers(simulator)[outputs["trigger_uuid"]],
        triggers(simulator)[outputs["full_backup_trigger_uuid"]],
    )
    assert (main["schedulerType"], main["cron"], main["jobsUuid"]) == ("cron", "0 0 2 * * ?", [job_uuid])
    assert (full["cron"], full["jobsUuid"]) == ("0 0 3 ? * SUN", [job_uuid])
    assert outputs["job_uuid"] == job_uuid
    assert outputs["state"] == "Enabled"
    assert outputs["backup_group_uuids"] == []
    tags = [t for t in ctx.client.query("user-tags", f"resourceUuid={job_uuid}")]
    assert [t["resourceType"] for t in tags] == ["SchedulerJobVO"]
    assert outputs["owner_claim"] in tags[0]["tag"]


def test_runs_keep_the_retention_and_refresh_lists_them(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props())
    simulator.simulator.clock.advance(5 * DAY)

    runs = [r for r in simulator.simulator.scheduler_runs() if r["schedulerJobUuid"] == job_uuid]
    assert [r["state"] for r in runs] == ["succeeded"] * 5
    kept = scheduled_groups(simulator, job_uuid)
    assert len(kept) == 3
    outcome = RESOURCE.read(ctx, job_uuid, state)
    assert outcome is not None
    assert set(outcome.outputs["backup_group_uuids"]) == kept
    assert outcome.outputs["backup_group_uuids"][0] == runs[-1]["groupUuid"]
    assert outcome.outputs["vm_instance_uuid"] == zseed.RUNNING_VM_UUID
    # Nothing changed out of band: refresh reports the declared inputs, parameters and cron kept from state.
    declared = VmBackupScheduleProperties.user_supplied(state)
    assert {k: outcome.inputs.get(k) for k in declared} == declared


def test_pausing_is_an_update_after_which_no_backup_is_made(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props())
    simulator.simulator.clear_requests()
    state = RESOURCE.update(ctx, job_uuid, state, props(enabled=False))

    writes = [r.api for r in simulator.simulator.requests() if r.method != "GET"]
    assert writes == ["ChangeSchedulerState"]
    assert state["state"] == "Disabled"
    simulator.simulator.clock.advance(3 * DAY)
    assert scheduled_groups(simulator, job_uuid) == set()

    state = RESOURCE.update(ctx, job_uuid, state, props())
    assert state["state"] == "Enabled"
    simulator.simulator.clock.advance(DAY)
    assert len(scheduled_groups(simulator, job_uuid)) == 1


def test_retention_timing_and_remote_changes_update_the_same_job(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(
        ctx, props(full_backup_cron="0 0 3 ? * SUN", network_read_bandwidth=2048)
    )
    full_trigger = state["full_backup_trigger_uuid"]
    wanted = props(
        retention_count=None,
        retention_days=10,
        cron=None,
        interval_seconds=3600,
        remote_backup_storage_uuid=zseed.REMOTE_IMAGESTORE_BS_UUID,
        remote_retention_count=2,
        name="renamed",
    )
    state = RESOURCE.update(ctx, job_uuid, state, wanted)

    job = jobs(simulator)[job_uuid]
    assert job["name"] == "renamed"
    assert job["jobData"]["retention"] == {
        "retentionType": "Days",
        "retentionValue": 10,
        "fullBackupRetentionValue": job["jobData"]["retention"]["fullBackupRetentionValue"],
    }
    assert job["jobData"]["remoteRetention"]["retentionValue"] == 2
    assert job["jobData"]["fullBackupTriggerUuid"] is None
    assert job["jobData"]["bandwidths"].get("networkReadBandwidth") is None
    assert full_trigger not in triggers(simulator)
    main = triggers(simulator)[state["trigger_uuid"]]
    assert (main["schedulerType"], main["schedulerInterval"], main["jobsUuid"]) == (
        "simple",
        3600,
        [job_uuid],
    )
    assert state["full_backup_trigger_uuid"] is None
    assert len(jobs(simulator)) == 1


def test_refresh_notices_a_trigger_changed_or_a_job_deleted_out_of_band(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props(interval_seconds=3600, cron=None))
    ctx.run_job(
        "PUT",
        f"/scheduler/triggers/{state['trigger_uuid']}/actions",
        body={"updateSchedulerTrigger": {"schedulerInterval": 60, "startTime": 0}},
        deadline=float("inf"),
        operation="out-of-band change",
    )
    outcome = RESOURCE.read(ctx, job_uuid, state)
    assert outcome is not None
    assert outcome.inputs["interval_seconds"] == 60

    ctx.run_job(
        "PUT",
        f"/schedulers/{job_uuid}",
        body={"changeSchedulerState": {"stateEvent": "disable"}},
        deadline=float("inf"),
        operation="out-of-band pause",
    )
    outcome = RESOURCE.read(ctx, job_uuid, state)
    assert outcome is not None
    assert outcome.inputs["enabled"] is False

    ctx.run_job(
        "DELETE", f"/scheduler/jobs/{job_uuid}", deadline=float("inf"), operation="out-of-band delete"
    )
    assert RESOURCE.read(ctx, job_uuid, state) is None


def test_destroy_removes_job_and_triggers_and_keeps_backups_unless_asked(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    kept_job, kept_state = RESOURCE.create(ctx, props())
    simulator.simulator.clock.advance(2 * DAY)
    RESOURCE.delete(ctx, kept_job, kept_state)
    assert jobs(simulator) == {}
    assert triggers(simulator) == {}
    assert len(scheduled_groups(simulator, kept_job)) == 2

    other = props(owner_urn=URN + "-2", delete_backups_on_destroy=True)
    job_uuid, state = RESOURCE.create(ctx, other)
    simulator.simulator.clock.advance(DAY)
    assert len(scheduled_groups(simulator, job_uuid)) == 1
    RESOURCE.delete(ctx, job_uuid, state)
    assert scheduled_groups(simulator, job_uuid) == set()
    assert len(scheduled_groups(simulator, kept_job)) == 2


def test_an_interrupted_create_is_resumed_and_nothing_is_duplicated(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    faults = simulator.simulator.faults
    faults.lose_response(method="POST", path="/zstack/v1/scheduler/jobs", count=1)
    faults.error_503(method="POST", path="/zstack/v1/scheduler/triggers", count=2)
    faults.fail_job(method="POST", path="/zstack/v1/scheduler/jobs/*/scheduler/triggers/*", count=1)
    with pytest.raises(JobFailedError):
        RESOURCE.create(ctx, props())
    assert len(jobs(simulator)) == 1
    assert len(triggers(simulator)) == 1

    job_uuid, state = RESOURCE.create(ctx, props())
    assert set(jobs(simulator)) == {job_uuid}
    assert list(triggers(simulator)) == [state["trigger_uuid"]]
    assert triggers(simulator)[state["trigger_uuid"]]["jobsUuid"] == [job_uuid]


def test_a_tagged_job_is_never_resumed_and_an_unrecorded_attempt_is_swept(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    first, _ = RESOURCE.create(ctx, props())  # kept by a state (retain_on_delete, say): tagged
    simulator.simulator.faults.fail_job(method="POST", path="/zstack/v1/scheduler/triggers", count=1)
    with pytest.raises(JobFailedError):
        RESOURCE.create(ctx, props(retention_count=5))  # leaves an untagged job of other inputs
    assert len(jobs(simulator)) == 2

    second, _ = RESOURCE.create(ctx, props())
    assert second != first
    assert set(jobs(simulator)) == {first, second}


def test_a_schedule_made_paused_never_runs(ctx: OperationContext, simulator: RunningSimulator) -> None:
    job_uuid, state = RESOURCE.create(ctx, props(enabled=False))
    assert state["state"] == "Disabled"
    simulator.simulator.clock.advance(2 * DAY)
    assert scheduled_groups(simulator, job_uuid) == set()
    assert [r for r in simulator.simulator.scheduler_runs() if r["schedulerJobUuid"] == job_uuid] == []


def test_a_trigger_deleted_out_of_band_shows_as_drift_and_the_update_makes_it_again(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props())
    trigger_uuid = state["trigger_uuid"]
    ctx.run_job(
        "DELETE", f"/scheduler/triggers/{trigger_uuid}", deadline=float("inf"), operation="out-of-band delete"
    )
    outcome = RESOURCE.read(ctx, job_uuid, state)
    assert outcome is not None
    assert outcome.inputs["cron"] is None, "the next preview shows `cron` changing back: an update"

    refreshed = {**outcome.inputs, **outcome.outputs}
    RESOURCE.update(ctx, job_uuid, refreshed, props())
    trigger = triggers(simulator)[trigger_uuid]
    assert (trigger["cron"], trigger["jobsUuid"]) == ("0 0 2 * * ?", [job_uuid])
    simulator.simulator.clock.advance(DAY)
    assert len(scheduled_groups(simulator, job_uuid)) == 1


def test_delete_with_lost_answers_removes_everything_once(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props(full_backup_cron="0 0 3 ? * SUN"))
    faults = simulator.simulator.faults
    faults.lose_response(method="DELETE", path="/zstack/v1/scheduler/jobs/*", count=1)
    faults.error_503(method="DELETE", path="/zstack/v1/scheduler/triggers/*", count=2)
    RESOURCE.delete(ctx, job_uuid, state)
    assert jobs(simulator) == {}
    assert triggers(simulator) == {}


def test_a_job_another_resource_holds_is_not_deleted(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props())
    RESOURCE.delete(ctx, job_uuid, {**state, "owner_claim": "someone-else"})
    assert set(jobs(simulator)) == {job_uuid}
    assert triggers(simulator)[state["trigger_uuid"]]["jobsUuid"] == [job_uuid]


def test_an_interval_schedule_runs_one_interval_after_it_is_made_then_each_interval(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props(cron=None, interval_seconds=600, retention_count=10))
    trigger = triggers(simulator)[state["trigger_uuid"]]
    assert (trigger["schedulerType"], trigger["schedulerInterval"]) == ("simple", 600)
    assert scheduled_groups(simulator, job_uuid) == set(), "no backup at once"
    simulator.simulator.clock.advance(5 * 600 + 30)
    assert len(scheduled_groups(simulator, job_uuid)) == 5


def test_an_update_after_the_urn_changed_keeps_the_triggers_it_made(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    job_uuid, state = RESOURCE.create(ctx, props(full_backup_cron="0 0 3 ? * SUN"))
    moved = URN.replace("::web-01", "::web-01-renamed")  # an alias: the engine keeps the resource
    state = RESOURCE.update(
        ctx, job_uuid, state, props(owner_urn=moved, cron="0 30 1 * * ?", full_backup_cron="0 0 3 ? * SUN")
    )

    assert set(triggers(simulator)) == {state["trigger_uuid"], state["full_backup_trigger_uuid"]}
    assert triggers(simulator)[state["trigger_uuid"]]["cron"] == "0 30 1 * * ?"
    assert state["owner_urn"] == URN, "the ids stay those of the owner that made them"
