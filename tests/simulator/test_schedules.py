"""ZStack's scheduler API over HTTP: jobs, triggers, their links, updates, state, queries, runs and faults."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.simulator._scheduling import (
    NIGHTLY,
    advance,
    attach,
    call,
    create_job,
    create_trigger,
    error_of,
    nightly_job,
    query,
)
from tests.simulator._support import create_and_wait, job_path, login, poll

pytestmark = pytest.mark.integration

DAY = 86400


@pytest.fixture
def headers(simulator_client: httpx.Client) -> dict[str, str]:
    return login(simulator_client)


def test_jobs_and_triggers_are_created_linked_and_queried(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    job_uuid, trigger_uuid = uuid.uuid4().hex, uuid.uuid4().hex
    parameters = {"retentionType": "Days", "retentionValue": 7, "backupStorageUuids": s.IMAGESTORE_BS_UUID}
    params = {"name": "nightly", "targetResourceUuid": s.RUNNING_VM_ROOT_VOLUME_UUID, "type": "vmBackup"}
    params |= {"resourceUuid": job_uuid, "description": "web-01 every night", "parameters": parameters}
    job = call(simulator_client, headers, "POST", "scheduler/jobs", {"params": params})
    assert job.status_code == 200, job.text
    inventory = job.json()["inventory"]
    assert inventory["uuid"] == job_uuid
    assert (inventory["state"], inventory["targetResourceUuid"]) == ("Enabled", s.RUNNING_VM_ROOT_VOLUME_UUID)
    assert inventory["triggersUuid"] == []
    assert "parameters" not in inventory
    assert "jobData" not in inventory

    start = int(time.time()) + 3600
    simple = create_trigger(
        simulator_client, headers, resourceUuid=trigger_uuid, schedulerType="simple", cron=None,
        startTime=start, schedulerInterval=3600, repeatCount=4,
    )  # fmt: skip
    assert simple.status_code == 200, simple.text
    trigger = simple.json()["inventory"]
    assert (trigger["uuid"], trigger["schedulerType"], trigger["repeatCount"]) == (trigger_uuid, "simple", 4)
    assert trigger["startTime"]
    assert trigger["stopTime"]
    cron = create_trigger(simulator_client, headers).json()["inventory"]
    assert "cron" not in cron
    assert "startTime" not in cron

    linked = attach(simulator_client, headers, job_uuid, trigger_uuid)
    assert linked.status_code == 200, linked.text
    ref = linked.json()["inventory"]
    assert (ref["schedulerJobUuid"], ref["schedulerTriggerUuid"]) == (job_uuid, trigger_uuid)
    assert query(simulator_client, headers, f"scheduler/jobs/{job_uuid}")[0]["triggersUuid"] == [trigger_uuid]
    assert query(simulator_client, headers, f"scheduler/triggers/{trigger_uuid}")[0]["jobsUuid"] == [job_uuid]


def test_query_filters(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    job, trigger = nightly_job(simulator_client, headers)
    other = create_job(simulator_client, headers, root=s.PAUSED_VM_ROOT_VOLUME_UUID).json()["inventory"][
        "uuid"
    ]
    assert [
        j["uuid"] for j in query(simulator_client, headers, "scheduler/jobs", f"triggersUuid={trigger}")
    ] == [job]
    assert [j["uuid"] for j in query(simulator_client, headers, "scheduler/jobs", "trigger.name=2am")] == [
        job
    ]
    paused = query(
        simulator_client, headers, "scheduler/jobs", f"targetResourceUuid={s.PAUSED_VM_ROOT_VOLUME_UUID}"
    )
    assert [j["uuid"] for j in paused] == [other]
    assert {t["uuid"] for t in query(simulator_client, headers, "scheduler/triggers", f"job.uuid={job}")} == {
        trigger
    }
    assert query(simulator_client, headers, "scheduler/triggers", "schedulerType=simple") == []
    counted = simulator_client.get("/zstack/v1/scheduler/jobs", headers=headers, params={"count": "true"})
    assert counted.json()["total"] == 2
    unknown = simulator_client.get("/zstack/v1/scheduler/jobs", headers=headers, params={"q": "cron=x"})
    assert unknown.status_code == 503
    assert unknown.json()["error"]["code"] == "SYS.1007"


def test_five_nights_make_five_backups_and_keep_three(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    manual = create_and_wait(simulator_client, headers).json()["inventories"][0]["groupUuid"]
    job, _ = nightly_job(simulator_client, headers, retentionValue="3")
    advance(simulator_client, 5 * DAY + 60)
    headers = login(simulator_client)  # five days outlive any session
    runs = simulator_client.get("/_simulator/scheduler-runs").json()
    assert [(r["schedulerJobUuid"], r["state"]) for r in runs] == [(job, "succeeded")] * 5
    assert [time.localtime(r["firedAt"]).tm_hour for r in runs] == [2] * 5
    ready = query(simulator_client, headers, "volume-backups", "type=Root", "status=Ready")
    groups = {b["groupUuid"] for b in ready}
    assert manual in groups  # a backup made by hand is never pruned by a schedule
    scheduled = sorted((b for b in ready if b["groupUuid"] != manual), key=lambda b: b["name"])
    assert [b["groupUuid"] for b in scheduled] == [r["groupUuid"] for r in runs[2:]]
    assert all(b["name"].startswith("web-01-") and b["mode"] == "auto" for b in scheduled)
    members = query(simulator_client, headers, "volume-backups", f"groupUuid={runs[-1]['groupUuid']}")
    assert len(members) == 3  # root and the two non-shareable data volumes


def test_remote_copies_with_remote_retention(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    nightly_job(
        simulator_client, headers, retentionValue="3", remoteBackupStorageUuid=s.REMOTE_IMAGESTORE_BS_UUID,
        remoteRetentionType="Count", remoteRetentionValue="1",
    )  # fmt: skip
    advance(simulator_client, 3 * DAY + 60)
    headers = login(simulator_client)
    roots = sorted(query(simulator_client, headers, "volume-backups", "type=Root"), key=lambda b: b["name"])
    remote = [
        [r["status"] for r in b["backupStorageRefs"] if r["backupStorageUuid"] == s.REMOTE_IMAGESTORE_BS_UUID]
        for b in roots
    ]
    assert remote[-1] == ["Ready"]  # only the newest copy is kept offsite
    assert all(statuses != ["Ready"] for statuses in remote[:-1])
    assert len(query(simulator_client, headers, "volume-backups", "type=Root", "status=Ready")) == 3


def test_a_disabled_job_makes_no_backup(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    job, _ = nightly_job(simulator_client, headers)
    disabled = call(
        simulator_client,
        headers,
        "PUT",
        f"schedulers/{job}",
        {"changeSchedulerState": {"stateEvent": "disable"}},
    )
    assert (disabled.status_code, disabled.json()) == (200, {})  # the event carries no inventory
    assert query(simulator_client, headers, "scheduler/jobs", "state=Disabled")[0]["uuid"] == job
    advance(simulator_client, 2 * DAY)
    headers = login(simulator_client)
    assert simulator_client.get("/_simulator/scheduler-runs").json() == []
    assert query(simulator_client, headers, "volume-backups") == []


def test_change_state_refusals(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    job, _ = nightly_job(simulator_client, headers)
    wrong = call(
        simulator_client,
        headers,
        "PUT",
        f"schedulers/{job}",
        {"changeSchedulerState": {"stateEvent": "pause"}},
    )
    assert error_of(wrong)[0] == "SYS.1007"
    unknown = call(
        simulator_client,
        headers,
        "PUT",
        "schedulers/nope",
        {"changeSchedulerState": {"stateEvent": "enable"}},
    )
    assert error_of(unknown) == (
        "SYS.1003",
        "invalid field[uuid], resource[uuid:nope, type:SchedulerJobVO] not found",
    )
    no_key = simulator_client.put(
        f"/zstack/v1/schedulers/{job}", headers=headers, json={"stateEvent": "enable"}
    )
    assert no_key.status_code == 400
    assert no_key.headers["content-type"].startswith("text/plain")


_VALID = {"retentionType": "Count", "retentionValue": "3", "backupStorageUuids": s.IMAGESTORE_BS_UUID}
_JOB_REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"name": None}, "SYS.1007",
     "field[name] of message[org.zstack.scheduler.APICreateSchedulerJobMsg] is mandatory"),
    ({"type": "weekly"}, "SYS.1007", "valid value for field[type]"),
    ({"type": "startVm"}, "SYS.1007", "No SchedulerJobFactory of type[startVm] found"),
    ({"resourceUuid": "not-a-uuid"}, "SYS.1007", "resourceUuid[not-a-uuid] is not a valid uuid"),
    ({"parameters": None}, "SYS.1006", "missing job parameters"),
    ({"parameters": {"retentionValue": "3", "backupStorageUuids": s.IMAGESTORE_BS_UUID}}, "SYS.1006",
     "missing 'retentionType' in job parameters"),
    ({"parameters": _VALID | {"retentionValue": 0}}, "SYS.1006",
     "missing 'retentionValue' in job parameters"),
    ({"parameters": _VALID | {"backupStorageUuids": "missing"}}, "SYS.1006",
     "unexpected backup storage uuid: missing"),
    ({"parameters": _VALID | {"remoteRetentionType": "Count"}}, "SYS.1006",
     "missing 'remoteRetentionValue' in job parameters"),
    ({"parameters": _VALID | {"networkWriteBandwidth": -5}}, "SYS.1007",
     "bandWidth must be a positive number"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "code", "details"), _JOB_REFUSALS)
def test_create_job_refusals(
    simulator_client: httpx.Client, headers: dict[str, str], change: dict[str, Any], code: str, details: str
) -> None:
    params = {
        "name": "nightly",
        "targetResourceUuid": s.RUNNING_VM_ROOT_VOLUME_UUID,
        "type": "vmBackup",
        "parameters": {
            "retentionType": "Count",
            "retentionValue": "3",
            "backupStorageUuids": s.IMAGESTORE_BS_UUID,
        },
    } | change
    refused = call(simulator_client, headers, "POST", "scheduler/jobs", {"params": params})
    found_code, found_details = error_of(refused)
    assert found_code == code
    assert details in found_details
    assert query(simulator_client, headers, "scheduler/jobs") == []


def test_malformed_job_bodies_are_refused_before_any_job(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    nested = {
        "params": {"name": "n", "targetResourceUuid": "t", "type": "vmBackup", "parameters": {"a": {"b": 1}}}
    }
    for body in (nested, {"name": "no params key"}):
        refused = simulator_client.post("/zstack/v1/scheduler/jobs", headers=headers, json=body)
        assert refused.status_code == 400, refused.text
    assert simulator_client.get("/_simulator/jobs").json() == []


def _in(seconds: int) -> int:
    return int(time.time()) + seconds


_TRIGGER_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"schedulerType": "simple", "cron": None, "schedulerInterval": 60},
     "startTime must be set for simple scheduler"),
    ({"schedulerType": "simple", "cron": None, "startTime": 0},
     "schedulerInterval must be set for simple scheduler"),
    ({"schedulerType": "weekly"}, "valid value for field[schedulerType]"),
    ({"cron": None}, "cron must be set when use cron scheduler"),
    ({"cron": "0 0 2 * * *"}, "invalid cron expression"),
    ({"cron": "0 0 2 * * ? 2030"}, 'cron task must follow format like this : "0 0/3 17-23 * * ?" '),
    ({"cron": "0  0 2 * * ?"}, 'cron task must follow format like this'),  # split(" ") counts the empty field
    ({"cron": "0 0 2 L * ?"}, "does not evaluate 'L', 'W' or '#'"),
    ({"schedulerInterval": 60}, "cron scheduler only need to specify cron task"),
    ({"repeatCount": -1},
     "field[repeatCount] of message[org.zstack.scheduler.APICreateSchedulerTriggerMsg] must be in range"),
    ({"stopTime": 1000}, "stopTime has been passed"),
    ({"startTime": -1}, "startTime must be positive integer or 0"),
    ({"schedulerType": "simple", "cron": None, "startTime": 1000, "schedulerInterval": 10, "repeatCount": 5},
     "stopTime has been passed"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "details"), _TRIGGER_REFUSALS)
def test_create_trigger_refusals(
    simulator_client: httpx.Client, headers: dict[str, str], change: dict[str, Any], details: str
) -> None:
    code, found = error_of(create_trigger(simulator_client, headers, **change))
    assert code == "SYS.1007"
    assert details in found


def test_a_non_integer_start_time_is_a_rest_error(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    body = {"params": {"name": "t", "schedulerType": "simple", "startTime": "soon", "schedulerInterval": 5}}
    refused = simulator_client.post("/zstack/v1/scheduler/triggers", headers=headers, json=body)
    assert (refused.status_code, refused.text) == (
        400,
        "[startTime] field is excepted an int or long, but was [soon].",
    )


def test_add_refusals(
    simulator: RunningSimulator, simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    job, trigger = nightly_job(simulator_client, headers)
    assert error_of(attach(simulator_client, headers, job, trigger))[1] == (
        f"Can not add job[uuid:{job}] twice to the same trigger[uuid:{trigger}]"
    )
    assert error_of(attach(simulator_client, headers, "nope", trigger))[0] == "SYS.1003"
    assert error_of(attach(simulator_client, headers, job, "nope"))[0] == "SYS.1003"
    brief = create_trigger(
        simulator_client, headers, schedulerType="simple", cron=None, startTime=_in(5), schedulerInterval=1,
        repeatCount=2,
    ).json()["inventory"]["uuid"]  # fmt: skip
    advance(simulator_client, 60)
    headers = login(simulator_client)
    code, details = error_of(attach(simulator_client, headers, job, brief))
    assert (code, details) == (
        "SYS.1007",
        f"Can not add job[uuid:{job}] to a out of time trigger[uuid:{brief}]",
    )


def test_remove_and_delete(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    job, trigger = nightly_job(simulator_client, headers)
    removed = call(simulator_client, headers, "DELETE", f"scheduler/jobs/{job}/scheduler/triggers/{trigger}")
    assert (removed.status_code, removed.json()) == (200, {})
    assert query(simulator_client, headers, f"scheduler/jobs/{job}")[0]["triggersUuid"] == []
    advance(simulator_client, DAY + 60)
    headers = login(simulator_client)
    assert simulator_client.get("/_simulator/scheduler-runs").json() == []
    assert call(simulator_client, headers, "DELETE", f"scheduler/jobs/{job}").status_code == 200
    assert call(simulator_client, headers, "DELETE", f"scheduler/triggers/{trigger}").status_code == 200
    assert (
        query(simulator_client, headers, "scheduler/jobs")
        == query(simulator_client, headers, "scheduler/triggers")
        == []
    )
    # INFERRED: deleting what does not exist succeeds, as the other delete APIs do.
    assert call(simulator_client, headers, "DELETE", f"scheduler/jobs/{job}").status_code == 200
    bad_mode = call(simulator_client, headers, "DELETE", f"scheduler/triggers/{trigger}", deleteMode="Soft")
    assert error_of(bad_mode)[0] == "SYS.1007"


def test_deleting_a_trigger_unlinks_its_jobs(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    job, trigger = nightly_job(simulator_client, headers)
    assert call(simulator_client, headers, "DELETE", f"scheduler/triggers/{trigger}").status_code == 200
    assert query(simulator_client, headers, f"scheduler/jobs/{job}")[0]["triggersUuid"] == []


def test_update_job_in_place(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    job, _ = nightly_job(simulator_client, headers, retentionValue="5")
    body = {
        "updateSchedulerJob": {"name": "renamed", "description": "d", "parameters": {"retentionValue": "1"}}
    }
    updated = call(simulator_client, headers, "PUT", f"scheduler/jobs/{job}/actions", body)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["inventory"]["name"], updated.json()["inventory"]["description"]) == (
        "renamed",
        "d",
    )
    advance(simulator_client, 2 * DAY + 60)
    headers = login(simulator_client)
    assert len(query(simulator_client, headers, "volume-backups", "type=Root", "status=Ready")) == 1
    refused = call(
        simulator_client, headers, "PUT", f"scheduler/jobs/{job}/actions",
        {"updateSchedulerJob": {"parameters": {"backupStorageUuids": "missing"}}},
    )  # fmt: skip
    assert error_of(refused) == ("SYS.1006", "unexpected backup storage uuid: missing")
    unknown = call(
        simulator_client, headers, "PUT", "scheduler/jobs/nope/actions", {"updateSchedulerJob": {}}
    )
    assert error_of(unknown)[0] == "SYS.1003"


def test_update_trigger_in_place(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    _, trigger = nightly_job(simulator_client, headers)
    path = f"scheduler/triggers/{trigger}/actions"
    # The interceptor wants the cron again on every update of a cron trigger.
    name_only = call(simulator_client, headers, "PUT", path, {"updateSchedulerTrigger": {"name": "renamed"}})
    assert error_of(name_only) == ("SYS.1007", "cron must be set when use cron scheduler")
    body = {"updateSchedulerTrigger": {"name": "4am", "cron": "0 0 4 * * ?"}}
    updated = call(simulator_client, headers, "PUT", path, body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["inventory"]["name"] == "4am"
    advance(simulator_client, DAY + 60)
    runs = simulator_client.get("/_simulator/scheduler-runs").json()
    assert [time.localtime(r["firedAt"]).tm_hour for r in runs] == [4]


def test_updating_a_cron_trigger_without_a_start_time_needs_one(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    trigger = create_trigger(simulator_client, headers).json()["inventory"]["uuid"]
    body = {"updateSchedulerTrigger": {"cron": NIGHTLY}}
    refused = call(simulator_client, headers, "PUT", f"scheduler/triggers/{trigger}/actions", body)
    assert error_of(refused)[0] == "SYS.1000"  # the interceptor reads the stored start time, which is null
    body["updateSchedulerTrigger"]["startTime"] = _in(0)
    assert (
        call(simulator_client, headers, "PUT", f"scheduler/triggers/{trigger}/actions", body).status_code
        == 200
    )


def test_trigger_now_runs_at_once(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    job = create_job(simulator_client, headers).json()["inventory"]["uuid"]
    trigger = create_trigger(simulator_client, headers).json()["inventory"]["uuid"]
    path = f"scheduler/jobs/{job}/scheduler/triggers/{trigger}"
    assert call(simulator_client, headers, "POST", path, {"params": {"triggerNow": True}}).status_code == 200
    (run,) = simulator_client.get("/_simulator/scheduler-runs").json()
    assert run["schedulerTriggerUuid"] == trigger


def test_faults_apply_to_the_scheduler_calls(
    simulator: RunningSimulator, simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    faults = simulator.simulator.faults
    faults.fail_job(method="POST", path="/zstack/v1/scheduler/jobs", count=1)
    failed = create_job(simulator_client, headers)
    assert error_of(failed)[0] == "SYS.1006"
    assert query(simulator_client, headers, "scheduler/jobs") == []

    faults.lose_response(method="POST", path="/zstack/v1/scheduler/triggers", count=1)
    job_uuid = uuid.uuid4().hex
    body = {"params": {"name": "t", "schedulerType": "cron", "cron": NIGHTLY}}
    headers_with_id = headers | {"X-Job-UUID": job_uuid}
    with pytest.raises(httpx.TransportError):
        simulator_client.post("/zstack/v1/scheduler/triggers", headers=headers_with_id, json=body)
    recovered = poll(simulator_client, f"http://192.0.2.10:8080{job_path(job_uuid)}")
    assert recovered.status_code == 200
    assert len(query(simulator_client, headers, "scheduler/triggers")) == 1

    faults.error_503(method="POST", path="/zstack/v1/scheduler/jobs/*/scheduler/triggers/*", count=1)
    job = create_job(simulator_client, headers).json()["inventory"]["uuid"]
    trigger = recovered.json()["inventory"]["uuid"]
    refused = simulator_client.post(
        f"/zstack/v1/scheduler/jobs/{job}/scheduler/triggers/{trigger}", headers=headers
    )
    assert refused.status_code == 503
    assert query(simulator_client, headers, f"scheduler/jobs/{job}")[0]["triggersUuid"] == []


def test_a_resource_uuid_already_taken_is_refused(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    taken = uuid.uuid4().hex
    assert create_trigger(simulator_client, headers, resourceUuid=taken).status_code == 200
    code, details = error_of(create_trigger(simulator_client, headers, resourceUuid=taken))
    assert (code, taken in details) == ("SYS.1000", True)
    assert len(query(simulator_client, headers, "scheduler/triggers")) == 1
