"""Small HTTP helpers shared by the simulator tests (a client's view of the wire, nothing more)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from zstack_simulator import access_key_signature, sha512_hex
from zstack_simulator import seed as s

POLL_LIMIT = 200
POLL_SECONDS = 10.0
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def login(client: httpx.Client, password: str = s.ADMIN_PASSWORD) -> dict[str, str]:
    """Log in as admin; returns the OAuth headers (never printed)."""
    response = client.put(
        "/zstack/v1/accounts/login",
        json={"logInByAccount": {"accountName": s.ADMIN_ACCOUNT_NAME, "password": sha512_hex(password)}},
    )
    assert response.status_code == 200, "login refused"
    return {"Authorization": f"OAuth {response.json()['inventory']['uuid']}"}


def java_date(moment: datetime, zone: str = "GMT") -> str:
    """`EEE, dd MMM yyyy HH:mm:ss z` in English, whatever the process locale."""
    return (
        f"{DAYS[moment.weekday()]}, {moment.day:02d} {MONTHS[moment.month - 1]} {moment.year} "
        f"{moment:%H:%M:%S} {zone}"
    )


def access_key_headers(method: str, uri: str, date: str | None = None) -> dict[str, str]:
    """Sign `METHOD\\nDATE\\n/v1/...` with the seeded access key, dated now in local time."""
    date = date or java_date(datetime.now())
    signature = access_key_signature(s.ACCESS_KEY_SECRET, method, date, uri)
    return {"Authorization": f"ZStack {s.ACCESS_KEY_ID}:{signature}", "Date": date}


def location_path(location: str) -> str:
    """The path of a job `location`, whose host is the management node's internal one."""
    return urlsplit(location).path


def poll(client: httpx.Client, location: str) -> httpx.Response:
    """Follow a job `location` (rewritten to our endpoint) until it stops answering 202; bounded."""
    path = location_path(location)
    deadline = time.monotonic() + POLL_SECONDS
    for _ in range(POLL_LIMIT):
        response = client.get(path)
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        time.sleep(0.01)
    return response


def job_path(job_uuid: str) -> str:
    return f"/zstack/v1/api-jobs/{job_uuid}"


def create_backup(
    client: httpx.Client,
    headers: dict[str, str],
    *,
    root: str = s.RUNNING_VM_ROOT_VOLUME_UUID,
    storage: str = s.IMAGESTORE_BS_UUID,
    body: dict[str, Any] | None = None,
    **params: Any,
) -> httpx.Response:
    """POST CreateVmBackup; returns the 202 (or refusal) response."""
    payload = (
        body if body is not None else {"params": {"name": "nightly", "backupStorageUuid": storage} | params}
    )
    return client.post(f"/zstack/v1/volumes/{root}/vm-backups", headers=headers, json=payload)


def create_and_wait(client: httpx.Client, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    submitted = create_backup(client, headers, **kwargs)
    assert submitted.status_code == 202, submitted.text
    return poll(client, submitted.json()["location"])


def query(
    client: httpx.Client, headers: dict[str, str], resource: str, *conditions: str, **extra: str
) -> Any:
    pairs: list[tuple[str, str | int | float | bool | None]] = [("q", c) for c in conditions]
    params = httpx.QueryParams([*pairs, *extra.items()])
    response = client.get(f"/zstack/v1/{resource}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def group_members(client: httpx.Client, headers: dict[str, str], group: str) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = query(client, headers, "volume-backups", f"groupUuid={group}")[
        "inventories"
    ]
    return members
