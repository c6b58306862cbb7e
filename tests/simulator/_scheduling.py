"""HTTP helpers for the scheduler and offsite-copy tests: a client's view of those calls, nothing more."""

from __future__ import annotations

import time
from typing import Any

import httpx
from zstack_simulator import seed as s

from tests.simulator._support import poll

NIGHTLY = "0 0 2 * * ?"


def call(
    client: httpx.Client,
    headers: dict[str, str],
    method: str,
    path: str,
    body: Any = None,
    **params: str,
) -> httpx.Response:
    """Submit an async call and follow its job to the end; returns the poll's final answer."""
    submitted = client.request(
        method, f"/zstack/v1/{path}", headers=headers, json=body, params=params or None
    )
    assert submitted.status_code == 202, submitted.text
    return poll(client, submitted.json()["location"])


def error_of(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    return error["code"], error.get("details", "")


def create_job(
    client: httpx.Client,
    headers: dict[str, str],
    *,
    root: str = s.RUNNING_VM_ROOT_VOLUME_UUID,
    **parameters: Any,
) -> httpx.Response:
    defaults = {"retentionType": "Count", "retentionValue": "3", "backupStorageUuids": s.IMAGESTORE_BS_UUID}
    body = {
        "params": {
            "name": "nightly",
            "targetResourceUuid": root,
            "type": "vmBackup",
            "parameters": defaults | parameters,
        }
    }
    return call(client, headers, "POST", "scheduler/jobs", body)


def create_trigger(client: httpx.Client, headers: dict[str, str], **params: Any) -> httpx.Response:
    body = {"params": {"name": "2am", "schedulerType": "cron", "cron": NIGHTLY} | params}
    return call(client, headers, "POST", "scheduler/triggers", body)


def attach(client: httpx.Client, headers: dict[str, str], job: str, trigger: str) -> httpx.Response:
    return call(client, headers, "POST", f"scheduler/jobs/{job}/scheduler/triggers/{trigger}", {"params": {}})


def nightly_job(client: httpx.Client, headers: dict[str, str], **parameters: Any) -> tuple[str, str]:
    """A vmBackup job on web-01 added to a 02:00 trigger that starts a minute from now; (job, trigger)."""
    job = create_job(client, headers, **parameters)
    trigger = create_trigger(client, headers, startTime=int(time.time()) + 60)
    assert job.status_code == trigger.status_code == 200, (job.text, trigger.text)
    job_uuid, trigger_uuid = job.json()["inventory"]["uuid"], trigger.json()["inventory"]["uuid"]
    assert attach(client, headers, job_uuid, trigger_uuid).status_code == 200
    return job_uuid, trigger_uuid


def advance(client: httpx.Client, seconds: float) -> None:
    assert client.post("/_simulator/clock/advance", json={"seconds": seconds}).status_code == 200


def query(
    client: httpx.Client, headers: dict[str, str], resource: str, *conditions: str
) -> list[dict[str, Any]]:
    response = client.get(f"/zstack/v1/{resource}", headers=headers, params=[("q", c) for c in conditions])
    assert response.status_code == 200, response.text
    return list(response.json()["inventories"])
