"""User tags on scheduler jobs and triggers (how a schedule's owner is recorded), and what the simulator lets
tests inspect of them: the parameters and crons that ZStack's inventories never show."""

from __future__ import annotations

import httpx
import pytest
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.simulator._scheduling import NIGHTLY, call, error_of, nightly_job, query
from tests.simulator._support import login

pytestmark = pytest.mark.integration


def _tag(client: httpx.Client, headers: dict[str, str], kind: str, uuid: str) -> httpx.Response:
    body = {"params": {"resourceType": kind, "resourceUuid": uuid, "tag": "owner::x"}}
    return call(client, headers, "POST", "user-tags", body)


def test_jobs_and_triggers_take_user_tags_and_unknown_ones_are_refused(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    job, trigger = nightly_job(simulator_client, headers)

    for kind, uuid in (("SchedulerJobVO", job), ("SchedulerTriggerVO", trigger)):
        done = _tag(simulator_client, headers, kind, uuid)
        assert done.status_code == 200, done.text
        assert done.json()["inventory"]["resourceType"] == kind
    found = query(simulator_client, headers, "user-tags", f"resourceUuid={job}")
    assert [t["tag"] for t in found] == ["owner::x"]

    missing = _tag(simulator_client, headers, "SchedulerJobVO", "f" * 32)
    assert error_of(missing)[0] == "SYS.1003"


def test_inspection_shows_the_stored_parameters_and_cron(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    job, trigger = nightly_job(simulator_client, headers, retentionValue="5")

    (stored_job,) = simulator.simulator.scheduler_jobs()
    assert (stored_job["uuid"], stored_job["type"]) == (job, "vmBackup")
    assert stored_job["jobData"]["retention"]["retentionValue"] == 5
    assert stored_job["jobData"]["backupStorageUuids"] == [s.IMAGESTORE_BS_UUID]
    (stored_trigger,) = simulator.simulator.scheduler_triggers()
    assert (stored_trigger["uuid"], stored_trigger["cron"], stored_trigger["jobsUuid"]) == (
        trigger,
        NIGHTLY,
        [job],
    )
    assert isinstance(stored_trigger["startTimeSeconds"], float)


def test_a_deleted_job_or_trigger_takes_its_tags_with_it(simulator_client: httpx.Client) -> None:
    """`TagManagerImpl.postDelete`: a job made again under the same uuid starts without the old tags."""
    headers = login(simulator_client)
    job, trigger = nightly_job(simulator_client, headers)
    for kind, uuid in (("SchedulerJobVO", job), ("SchedulerTriggerVO", trigger)):
        assert _tag(simulator_client, headers, kind, uuid).status_code == 200

    for path in (f"scheduler/jobs/{job}", f"scheduler/triggers/{trigger}"):
        assert call(simulator_client, headers, "DELETE", path).status_code == 200

    for uuid in (job, trigger):
        assert query(simulator_client, headers, "user-tags", f"resourceUuid={uuid}") == []
