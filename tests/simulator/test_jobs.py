"""The async job protocol: 202 + location, polling, X-Job-UUID, record expiry, refusals."""

from __future__ import annotations

import uuid

import httpx
import pytest
from zstack_simulator import RunningSimulator

from tests.simulator._support import create_backup, job_path, location_path, login, poll

pytestmark = pytest.mark.integration


def test_202_carries_a_location_on_another_host(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    submitted = create_backup(simulator_client, login(simulator_client))
    assert submitted.status_code == 202
    assert "location" not in submitted.headers
    body = submitted.json()
    assert set(body) == {"location", "apiTimeout"}
    assert body["apiTimeout"] == 129600000
    assert body["location"].startswith("http://192.0.2.10:8080/zstack/v1/api-jobs/")
    assert simulator.host not in body["location"]


def test_poll_answers_202_empty_until_done_then_the_result(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.settings.job_polls = 3
    path = location_path(create_backup(simulator_client, login(simulator_client)).json()["location"])
    answers = [simulator_client.get(path) for _ in range(4)]
    assert [(a.status_code, a.json() if a.status_code == 202 else None) for a in answers[:2]] == [
        (202, {}),
        (202, {}),
    ]
    assert answers[2].status_code == 200
    assert answers[3].json() == answers[2].json()
    assert "schema" not in answers[2].json()


def test_seconds_based_jobs_finish_when_the_clock_says_so(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    settings = simulator.simulator.settings
    settings.job_polls, settings.job_seconds = None, 600
    path = location_path(create_backup(simulator_client, login(simulator_client)).json()["location"])
    assert simulator_client.get(path).status_code == 202
    simulator.simulator.clock.advance(601)
    assert simulator_client.get(path).status_code == 200


def test_json_schema_header_adds_a_schema_to_the_result(simulator_client: httpx.Client) -> None:
    location = create_backup(simulator_client, login(simulator_client)).json()["location"]
    poll(simulator_client, location)
    result = simulator_client.get(location_path(location), headers={"X-JSON-Schema": "true"}).json()
    assert result["schema"]["inventories[0]"] == "org.zstack.header.storage.backup.VolumeBackupInventory"


def test_client_job_uuid_is_used_and_a_duplicate_is_refused(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    job = uuid.uuid4().hex
    first = create_backup(simulator_client, headers | {"X-Job-UUID": job})
    assert first.json()["location"].endswith(f"/api-jobs/{job}")
    again = create_backup(simulator_client, headers | {"X-Job-UUID": job})
    assert (again.status_code, again.text) == (400, f"Duplicate job uuid[{job}]")
    assert poll(simulator_client, first.json()["location"]).status_code == 200
    members = simulator_client.get("/zstack/v1/volume-backups", headers=headers).json()["inventories"]
    assert len(members) == 3


@pytest.mark.parametrize("job", ["abc", "0" * 31, "2a10b31b-26aa-4ce1-af38-82d1ce1cc467"])
def test_job_uuid_must_be_32_characters(simulator_client: httpx.Client, job: str) -> None:
    response = create_backup(simulator_client, login(simulator_client) | {"X-Job-UUID": job})
    assert (response.status_code, response.text) == (
        400,
        "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped",
    )


def test_unknown_job_is_plain_text_404(simulator_client: httpx.Client) -> None:
    response = simulator_client.get(job_path(uuid.uuid4().hex))
    assert (response.status_code, response.text) == (404, "the job has been expired")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_only_get_is_allowed_on_jobs(simulator_client: httpx.Client, method: str) -> None:
    response = simulator_client.request(method, job_path(uuid.uuid4().hex))
    assert (response.status_code, response.text) == (
        405,
        "only GET method is allowed for querying job status",
    )


def test_finished_job_records_expire_and_the_uuid_can_be_reused(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    job = uuid.uuid4().hex
    location = create_backup(simulator_client, headers | {"X-Job-UUID": job}).json()["location"]
    assert poll(simulator_client, location).status_code == 200
    simulator.simulator.clock.advance(10801)
    assert simulator_client.get(location_path(location)).status_code == 404
    headers = login(simulator_client)
    assert create_backup(simulator_client, headers | {"X-Job-UUID": job}).status_code == 202


def test_api_timeout_header_sets_the_reported_timeout(simulator_client: httpx.Client) -> None:
    response = create_backup(simulator_client, login(simulator_client) | {"X-API-Timeout": "60"})
    assert response.json()["apiTimeout"] == 60000


def test_unknown_paths_are_plain_text_404(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    for method, path in [
        ("GET", "/zstack/v1/vm-backups"),
        ("POST", "/zstack/v1/volume-backups"),
        ("GET", "/x"),
    ]:
        response = simulator_client.request(method, path, headers=headers)
        assert response.status_code == 404
        assert response.text.startswith("no api mapping to ")
        assert response.headers["content-type"].startswith("text/plain")
