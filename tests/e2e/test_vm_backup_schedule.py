"""VmBackupSchedule through the real Pulumi CLI against the ZStack simulator.

Each test checks what the user sees (preview plans, outputs) and what ZStack holds: the job's parameters and
the trigger's cron are read from the simulator, since ZStack's inventories never show them. Scheduled runs
happen on the simulator's clock, which the tests advance.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from pulumi_zstack_provider._vm_backup_schedule import scheduler_description
from zstack_simulator import seed

from tests.e2e.test_examples import VMS, _set_object, _use_example
from tests.fixtures.stack import PROJECT, VM_BACKUP_TYPE, ZStackStack, zstack_client

pytestmark = pytest.mark.e2e

SCHEDULE_TYPE = "pulumi-python:dynamic/zstack:VmBackupSchedule"
ROOT = seed.RUNNING_VM_ROOT_VOLUME_UUID
DAY = 86400
NIGHTLY = "0 0 2 * * ?"


def program(*, manual_backup: bool = False, **inputs: object) -> str:
    """One VmBackupSchedule `web-01` of the running VM (and, if asked, a VmBackup of the same VM)."""
    given: dict[str, object] = {
        "root_volume_uuid": ROOT,
        "backup_storage_uuids": [seed.IMAGESTORE_BS_UUID],
        "name": "web-01 nightly",
        "cron": NIGHTLY,
        "retention_count": 3,
        **inputs,
    }
    arguments = ", ".join(f"{key}={value!r}" for key, value in given.items() if value is not None)
    manual = (
        f"manual = zstack.VmBackup('by-hand', root_volume_uuid={ROOT!r}, "
        f"backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}, name='by-hand')\n"
        if manual_backup
        else ""
    )
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"schedule = zstack.VmBackupSchedule('web-01', {arguments})\n{manual}"
        "pulumi.export('job', schedule.job_uuid)\n"
        "pulumi.export('trigger', schedule.trigger_uuid)\n"
        "pulumi.export('state', schedule.state)\n"
        "pulumi.export('backups', schedule.backup_group_uuids)\n"
    )


def jobs(stack: ZStackStack) -> dict[str, dict[str, Any]]:
    return {j["uuid"]: j for j in stack.simulator.scheduler_jobs()}


def triggers(stack: ZStackStack) -> dict[str, dict[str, Any]]:
    return {t["uuid"]: t for t in stack.simulator.scheduler_triggers()}


def scheduled_groups(stack: ZStackStack, job_uuid: str) -> set[str]:
    return {
        group
        for group, members in stack.live_groups().items()
        if any(m.get("description") == scheduler_description(job_uuid) for m in members)
    }


def schedule_ops(stack: ZStackStack) -> list[str]:
    return [str(step["op"]) for step in stack.preview().steps(SCHEDULE_TYPE)]


def test_a_schedule_runs_in_zstack_keeps_its_retention_and_changes_in_place(
    zstack_stack: ZStackStack,
) -> None:
    stack = zstack_stack
    stack.write_program(program(manual_backup=True))
    stack.up()

    job_uuid, trigger_uuid = stack.outputs()["job"], stack.outputs()["trigger"]
    job, trigger = jobs(stack)[job_uuid], triggers(stack)[trigger_uuid]
    assert (job["type"], job["targetResourceUuid"], job["state"]) == ("vmBackup", ROOT, "Enabled")
    assert job["jobData"]["backupStorageUuids"] == [seed.IMAGESTORE_BS_UUID]
    assert (job["jobData"]["retention"]["retentionType"], job["jobData"]["retention"]["retentionValue"]) == (
        "Count",
        3,
    )
    assert (trigger["schedulerType"], trigger["cron"], trigger["jobsUuid"]) == ("cron", NIGHTLY, [job_uuid])
    stack.run(["preview", "--expect-no-changes"])
    (manual_group,) = {r["id"] for r in stack.resources(VM_BACKUP_TYPE)}

    stack.simulator.clock.advance(5 * DAY)
    runs = [r for r in stack.simulator.scheduler_runs() if r["schedulerJobUuid"] == job_uuid]
    assert [r["state"] for r in runs] == ["succeeded"] * 5, "one run a night"
    assert len(scheduled_groups(stack, job_uuid)) == 3, "the retention keeps the newest 3"
    assert manual_group in stack.live_groups(), "a backup made by hand is never pruned by a schedule"
    stack.refresh()
    (state,) = stack.resources(SCHEDULE_TYPE)
    assert set(state["outputs"]["backup_group_uuids"]) == scheduled_groups(stack, job_uuid)

    stack.write_program(program(manual_backup=True, enabled=False))
    assert schedule_ops(stack) == ["update"]
    stack.forget_requests()
    stack.up()
    assert [r.api for r in stack.writes()] == ["ChangeSchedulerState"]
    assert jobs(stack)[job_uuid]["state"] == "Disabled"
    before = scheduled_groups(stack, job_uuid)
    stack.simulator.clock.advance(2 * DAY)
    assert scheduled_groups(stack, job_uuid) == before, "a paused schedule makes no backup"

    stack.write_program(program(manual_backup=True, retention_count=2))
    assert schedule_ops(stack) == ["update"]
    stack.up()
    assert set(jobs(stack)) == {job_uuid}, "the same job, updated in place"
    assert jobs(stack)[job_uuid]["jobData"]["retention"]["retentionValue"] == 2
    assert jobs(stack)[job_uuid]["state"] == "Enabled"
    stack.simulator.clock.advance(DAY)
    assert len(scheduled_groups(stack, job_uuid)) == 2
    stack.run(["preview", "--expect-no-changes"])

    kept = scheduled_groups(stack, job_uuid)
    stack.destroy()
    assert jobs(stack) == {}
    assert triggers(stack) == {}
    assert scheduled_groups(stack, job_uuid) == kept, "destroy keeps the schedule's backups"


def test_destroy_deletes_the_backups_when_asked(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    stack.write_program(program(delete_backups_on_destroy=True))
    stack.up()
    job_uuid = stack.outputs()["job"]
    stack.simulator.clock.advance(2 * DAY)
    assert len(scheduled_groups(stack, job_uuid)) == 2

    stack.destroy()
    assert jobs(stack) == {}
    assert scheduled_groups(stack, job_uuid) == set()


def test_drift_after_the_job_is_deleted_out_of_band(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    stack.write_program(program(full_backup_cron="0 0 3 ? * SUN", description="nightly"))
    stack.up()
    job_uuid = stack.outputs()["job"]
    stack.run(["preview", "--refresh", "--expect-no-changes"])
    with zstack_client(stack) as client:
        client.run_job(
            "DELETE",
            f"/scheduler/jobs/{job_uuid}",
            deadline=time.monotonic() + 60,
            operation="out-of-band delete",
        )

    drift = stack.run(["preview", "--refresh", "--expect-no-changes"], check=False)
    assert drift.returncode != 0, "the drift check fails"
    stack.refresh()
    assert stack.resources(SCHEDULE_TYPE) == []
    assert schedule_ops(stack) == ["create"]
    stack.up()
    assert len(jobs(stack)) == 1
    assert len(triggers(stack)) == 2, "the old job's triggers went with it"
    assert all(t["jobsUuid"] == [stack.outputs()["job"]] for t in triggers(stack).values())


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"cron": "0 0 2 * * *"}, "cron"),
        ({"retention_days": 30}, "retention_count"),
        ({"retention_count": None}, "retention_count"),
        ({"network_read_bandwidth": 512}, "network_read_bandwidth"),
    ],
)
def test_bad_input_is_refused_at_preview_with_no_request(
    zstack_stack: ZStackStack, inputs: dict[str, Any], named: str
) -> None:
    stack = zstack_stack
    stack.write_program(program(**inputs))
    stack.forget_requests()
    refused = stack.run(["preview"], check=False)
    assert refused.returncode != 0
    assert named in refused.stdout + refused.stderr
    assert stack.requests() == []


def test_faults_on_the_scheduler_calls_duplicate_nothing(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    faults = stack.simulator.faults
    faults.lose_response(method="POST", path="/zstack/v1/scheduler/jobs", count=1)
    faults.error_503(method="POST", path="/zstack/v1/scheduler/triggers", count=2)
    faults.lose_response(method="POST", path="/zstack/v1/scheduler/jobs/*/scheduler/triggers/*", count=1)
    faults.lose_response(method="POST", path="/zstack/v1/user-tags", count=1)
    stack.write_program(program(full_backup_cron="0 0 3 ? * SUN"))
    stack.up()
    job_uuid = stack.outputs()["job"]
    assert set(jobs(stack)) == {job_uuid}
    assert len(triggers(stack)) == 2
    assert all(t["jobsUuid"] == [job_uuid] for t in triggers(stack).values())

    faults.fail_job(method="PUT", path="/zstack/v1/schedulers/*", count=1)
    stack.write_program(program(full_backup_cron="0 0 3 ? * SUN", enabled=False))
    failed = stack.run(["up", "--skip-preview"], check=False)
    assert failed.returncode != 0
    faults.error_503(method="PUT", path="/zstack/v1/schedulers/*", count=2)
    stack.up()
    assert jobs(stack)[job_uuid]["state"] == "Disabled"
    assert set(jobs(stack)) == {job_uuid}
    stack.run(["preview", "--expect-no-changes"])


def test_a_failed_create_is_resumed_by_the_next_up(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    stack.simulator.faults.fail_job(method="POST", path="/zstack/v1/scheduler/triggers", count=1)
    stack.write_program(program())
    failed = stack.run(["up", "--skip-preview"], check=False)
    assert failed.returncode != 0
    (attempt,) = jobs(stack)

    stack.up()
    assert set(jobs(stack)) == {attempt} == {stack.outputs()["job"]}, "the same job, resumed"
    assert len(triggers(stack)) == 1


def test_the_backup_policy_example_schedules_every_listed_vm(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    _use_example(stack, "backup-policy")
    stack.set_config(
        {
            f"{PROJECT}:backupStorageUuid": seed.IMAGESTORE_BS_UUID,
            f"{PROJECT}:remoteBackupStorageUuid": seed.REMOTE_IMAGESTORE_BS_UUID,
        }
    )
    for index, (name, volume) in enumerate(VMS.items()):
        _set_object(stack, f"vms[{index}]", {"name": name, "rootVolumeUuid": volume})
    stack.up()

    outputs = stack.outputs()
    assert sorted(outputs["jobs"]) == sorted(VMS)
    for name, job_uuid in outputs["jobs"].items():
        job = jobs(stack)[job_uuid]
        assert job["targetResourceUuid"] == VMS[name]
        assert job["jobData"]["retention"]["retentionValue"] == 7
        assert job["jobData"]["remoteBackupStorageUuid"] == seed.REMOTE_IMAGESTORE_BS_UUID
        assert job["jobData"]["remoteRetention"] == {
            **job["jobData"]["remoteRetention"],
            "retentionType": "Days",
            "retentionValue": 30,
        }
    stack.run(["preview", "--expect-no-changes"])

    stack.simulator.clock.advance(9 * DAY)
    stack.refresh()
    backups = {
        r["outputs"]["name"]: r["outputs"]["backup_group_uuids"] for r in stack.resources(SCHEDULE_TYPE)
    }
    assert len(backups) == len(VMS)
    storages: dict[str, set[str]] = {}
    for backup in stack.simulator.backups():
        if backup["type"] == "Root" and backup["status"] != "Deleted":
            refs = backup.get("backupStorageRefs") or []
            # A pruned backup that later ones build on keeps its bits: its local ref shows `Deleted`.
            storages[backup["groupUuid"]] = {r["backupStorageUuid"] for r in refs if r["status"] == "Ready"}
    for groups in backups.values():
        assert len(groups) == 9, "nine nights: every backup is still kept offsite (30 days)"
        local = [g for g in groups if seed.IMAGESTORE_BS_UUID in storages[g]]
        remote = [g for g in groups if seed.REMOTE_IMAGESTORE_BS_UUID in storages[g]]
        assert (len(local), len(remote)) == (7, 9), "7 kept locally, every one copied offsite"
    stack.destroy()
    assert jobs(stack) == {}


def test_another_vm_replaces_the_schedule_new_one_first(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    stack.write_program(program())
    stack.up()
    old_job = stack.outputs()["job"]

    stack.write_program(program(root_volume_uuid=seed.ROOT_ONLY_VM_ROOT_VOLUME_UUID, name="build-01 nightly"))
    assert schedule_ops(stack) == ["replace"]
    stack.forget_requests()
    stack.up()
    new_job = stack.outputs()["job"]
    assert new_job != old_job
    assert set(jobs(stack)) == {new_job}
    assert jobs(stack)[new_job]["targetResourceUuid"] == seed.ROOT_ONLY_VM_ROOT_VOLUME_UUID
    writes = [(r.api, r.path) for r in stack.writes()]
    made = writes.index(("CreateSchedulerJob", "/zstack/v1/scheduler/jobs"))
    deleted = writes.index(("DeleteSchedulerJob", f"/zstack/v1/scheduler/jobs/{old_job}"))
    assert made < deleted, "the new schedule is made before the old one is deleted"
    (trigger,) = triggers(stack).values()
    assert trigger["jobsUuid"] == [new_job]
