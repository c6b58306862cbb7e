"""Scheduled VM backups on a frozen clock: retention, copies, skipping, modes and job parameters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from zstack_simulator import Settings, Simulator
from zstack_simulator import seed as s
from zstack_simulator._clock import Clock
from zstack_simulator._errors import ApiError
from zstack_simulator._model import SchedulerTrigger, VmBackupJobData
from zstack_simulator._scheduled_runs import ScheduledRuns
from zstack_simulator._scheduler import merge_vm_backup_parameters
from zstack_simulator._simulator import Caller

pytestmark = pytest.mark.unit

DAY = 86400
MONDAY_NOON = datetime(2026, 1, 5, 12, 0, 0).timestamp()
ROOT = s.RUNNING_VM_ROOT_VOLUME_UUID


class FrozenClock(Clock):
    """Stands still unless advanced, so firing times are exact."""

    def __init__(self, start: float) -> None:
        super().__init__()
        self._start = start
        self._moved = 0.0

    def now(self) -> float:
        return self._start + self._moved

    def advance(self, seconds: float) -> None:
        self._moved += seconds


class Harness:
    def __init__(self, *, state_file: Path | None = None) -> None:
        self.sim = Simulator(
            Settings(job_polls=None, job_seconds=None),
            clock=FrozenClock(MONDAY_NOON),
            state_file=state_file,
        )
        self.caller = Caller(account_uuid=s.ADMIN_ACCOUNT_UUID)

    def call(
        self, api: str, path: str, body: Any = None, *, method: str = "POST", **path_params: str
    ) -> dict[str, Any]:
        submission = self.sim.submit(
            api,
            method=method,
            path=f"/zstack/v1/{path}",
            target=path_params.get("uuid", ""),
            caller=self.caller,
            body=body,
            path_params=path_params or None,
        )
        for _ in range(3):
            answer = self.sim.poll(submission.job_uuid)
            if answer.status != 202:
                break
        if answer.status != 200:
            raise AssertionError(f"{api} failed: {answer.body}")
        return dict(answer.body or {})

    def job(self, **parameters: Any) -> str:
        parameters = {
            "retentionType": "Count",
            "retentionValue": "3",
            "backupStorageUuids": s.IMAGESTORE_BS_UUID,
        } | {k: str(v) for k, v in parameters.items()}
        body = {
            "params": {
                "name": "nightly",
                "targetResourceUuid": ROOT,
                "type": "vmBackup",
                "parameters": parameters,
            }
        }
        return str(self.call("CreateSchedulerJob", "scheduler/jobs", body)["inventory"]["uuid"])

    def trigger(self, **params: Any) -> str:
        body = {"params": {"name": "t", "schedulerType": "cron", "cron": "0 0 2 * * ?"} | params}
        return str(self.call("CreateSchedulerTrigger", "scheduler/triggers", body)["inventory"]["uuid"])

    def attach(self, job: str, trigger: str) -> None:
        path = f"scheduler/jobs/{job}/scheduler/triggers/{trigger}"
        self.call("AddSchedulerJobToSchedulerTrigger", path, uuid=job, trigger=trigger)

    def manual_backup(self) -> str:
        body = {"params": {"name": "by-hand", "backupStorageUuid": s.IMAGESTORE_BS_UUID}}
        result = self.call("CreateVmBackup", f"volumes/{ROOT}/vm-backups", body, uuid=ROOT)
        return str(result["inventories"][0]["groupUuid"])

    def roots(self, status: str = "Ready") -> list[dict[str, Any]]:
        listed = [b for b in self.sim.backups() if b["type"] == "Root" and b["status"] == status]
        return sorted(listed, key=lambda b: str(b["name"]))

    def runs(self) -> list[dict[str, Any]]:
        return self.sim.scheduler_runs()


def _refs_on(backup: dict[str, Any], storage: str) -> list[str]:
    return [r["status"] for r in backup["backupStorageRefs"] if r["backupStorageUuid"] == storage]


def test_count_retention_keeps_the_newest_and_never_a_manual_backup() -> None:
    harness = Harness()
    manual = harness.manual_backup()
    job = harness.job(retentionValue=2)
    harness.attach(job, harness.trigger())
    harness.sim.clock.advance(4 * DAY)
    assert [r["state"] for r in harness.runs()] == ["succeeded"] * 4
    ready = harness.roots()
    assert [b["name"][:16] for b in ready] == ["by-hand-2026-01-", "web-01-2026-01-0", "web-01-2026-01-0"]
    assert {b["groupUuid"] for b in ready} >= {manual}
    scheduled = [b for b in ready if b["groupUuid"] != manual]
    assert [b["name"].split(" ")[0] for b in scheduled] == ["web-01-2026-01-08", "web-01-2026-01-09"]
    assert all(b["description"] == f"created by VM backup scheduler job[uuid:{job}]" for b in scheduled)
    assert all(not any(t.startswith("manualCreate") for t in b["systemTags"]) for b in scheduled)


def test_days_retention_prunes_by_the_simulated_clock() -> None:
    harness = Harness()
    harness.attach(harness.job(retentionType="Days", retentionValue=2), harness.trigger())
    harness.sim.clock.advance(5 * DAY)
    # The last run is on the 10th at 02:00: the 8th at 02:00 is exactly two days old and stays.
    days = [b["name"].split(" ")[0][-2:] for b in harness.roots()]
    assert days == ["08", "09", "10"]


def test_remote_copies_follow_their_own_retention() -> None:
    harness = Harness()
    job = harness.job(
        retentionValue=4,
        remoteBackupStorageUuid=s.REMOTE_IMAGESTORE_BS_UUID,
        remoteRetentionType="Count",
        remoteRetentionValue=2,
    )
    harness.attach(job, harness.trigger())
    harness.sim.clock.advance(4 * DAY)
    ready = harness.roots()
    assert len(ready) == 4
    remote = [_refs_on(b, s.REMOTE_IMAGESTORE_BS_UUID) for b in ready]
    # The two oldest copies were pruned; what a later backup builds on stays as `Deleted`.
    assert remote[2:] == [["Ready"], ["Ready"]]
    assert all(r != ["Ready"] for r in remote[:2])
    assert all(_refs_on(b, s.IMAGESTORE_BS_UUID) == ["Ready"] for b in ready)
    copy = ready[-1]["backupStorageRefs"]
    assert len({r["installPath"] for r in copy}) == 1  # the copy has the source's install path


def test_a_copy_to_a_disabled_remote_is_reported_on_the_run() -> None:
    harness = Harness()
    harness.sim.update_backup_storage(s.REMOTE_IMAGESTORE_BS_UUID, {"state": "Disabled"})
    harness.attach(harness.job(remoteBackupStorageUuid=s.REMOTE_IMAGESTORE_BS_UUID), harness.trigger())
    harness.sim.clock.advance(DAY)
    (run,) = harness.runs()
    assert (run["state"], run["copyErrorCode"]) == ("succeeded", "SYS.1006")
    assert _refs_on(harness.roots()[0], s.REMOTE_IMAGESTORE_BS_UUID) == []


def test_a_run_is_skipped_while_the_previous_one_still_goes() -> None:
    harness = Harness()
    trigger = harness.trigger(
        schedulerType="simple", cron=None, startTime=int(MONDAY_NOON) + 3600, schedulerInterval=3600
    )
    harness.attach(harness.job(retentionValue=10), trigger)
    harness.sim.settings = Settings(job_polls=None, job_seconds=5400)  # each backup takes 1.5 h
    harness.sim.clock.advance(4 * 3600 + 1)
    states = [(r["state"], r["errorCode"]) for r in harness.runs()]
    assert states == [
        ("succeeded", None),
        ("skipped", "SYS.1006"),
        ("running", None),
        ("skipped", "SYS.1006"),
    ]
    assert (len(harness.roots()), len(harness.roots("Creating"))) == (1, 1)


def test_a_disabled_job_does_not_run_and_resumes_when_enabled() -> None:
    harness = Harness()
    job, trigger = harness.job(), harness.trigger()
    harness.attach(job, trigger)
    harness.call(
        "ChangeSchedulerState",
        f"schedulers/{job}",
        {"changeSchedulerState": {"stateEvent": "disable"}},
        method="PUT",
        uuid=job,
    )
    harness.sim.clock.advance(3 * DAY)
    assert harness.runs() == []
    harness.call(
        "ChangeSchedulerState",
        f"schedulers/{job}",
        {"changeSchedulerState": {"stateEvent": "enable"}},
        method="PUT",
        uuid=job,
    )
    harness.sim.clock.advance(DAY)
    assert [r["state"] for r in harness.runs()] == ["succeeded"]


def test_the_full_backup_trigger_makes_full_backups() -> None:
    harness = Harness()
    nightly, weekly = harness.trigger(), harness.trigger(cron="0 0 3 ? * SUN")
    job = harness.job(fullBackupTriggerUuid=weekly, retentionValue=20)
    harness.attach(job, nightly)
    harness.attach(job, weekly)
    harness.sim.clock.advance(7 * DAY)
    modes = {b["name"].split(" ")[1][:2]: b["mode"] for b in harness.roots()}
    assert modes == {"02": "auto", "03": "full"}
    assert len(harness.roots()) == 8


def test_a_failed_run_leaves_no_backup() -> None:
    harness = Harness()
    harness.attach(harness.job(), harness.trigger())
    harness.sim.set_vm_state(s.RUNNING_VM_UUID, "Stopped")
    harness.sim.clock.advance(DAY)
    (run,) = harness.runs()
    assert (run["state"], run["errorCode"]) == ("failed", "VOL_BACKUP.1000")
    assert harness.sim.backups() == []


def test_a_simple_trigger_fires_its_repeat_count_times() -> None:
    harness = Harness()
    start = int(MONDAY_NOON) + 60
    trigger = harness.trigger(
        schedulerType="simple", cron=None, startTime=start, schedulerInterval=600, repeatCount=3
    )
    harness.attach(harness.job(), trigger)
    harness.sim.clock.advance(DAY)
    assert [r["firedAt"] - start for r in harness.runs()] == [0, 600, 1200]


def test_a_start_time_just_passed_still_fires_at_once() -> None:
    harness = Harness()
    trigger = harness.trigger(
        schedulerType="simple", cron=None, startTime=int(MONDAY_NOON) - 30, schedulerInterval=DAY
    )
    harness.attach(harness.job(), trigger)
    harness.sim.clock.advance(1)
    assert [r["firedAt"] for r in harness.runs()] == [MONDAY_NOON]


def test_an_updated_trigger_fires_on_its_new_schedule() -> None:
    harness = Harness()
    trigger = harness.trigger(startTime=int(MONDAY_NOON))
    harness.attach(harness.job(), trigger)
    body = {"updateSchedulerTrigger": {"cron": "0 0 4 * * ?", "startTime": int(MONDAY_NOON)}}
    harness.call(
        "UpdateSchedulerTrigger", f"scheduler/triggers/{trigger}/actions", body, method="PUT", uuid=trigger
    )
    harness.sim.clock.advance(DAY)
    assert [datetime.fromtimestamp(r["firedAt"]).hour for r in harness.runs()] == [4]


def test_scheduler_data_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = Harness(state_file=state)
    first.attach(first.job(), first.trigger())
    second = Harness(state_file=state)
    second.sim.clock.advance(DAY)
    assert [r["state"] for r in second.runs()] == ["succeeded"]


def _merge(current: VmBackupJobData | None = None, **parameters: str) -> VmBackupJobData:
    return merge_vm_backup_parameters(
        current or VmBackupJobData(), parameters, {"bs1", "bs2", "r"}.__contains__
    )


_VALID = {"retentionType": "Count", "retentionValue": "3", "backupStorageUuids": "bs1,,bs2"}


def test_parameters_are_merged_like_the_server() -> None:
    merged = _merge(
        **_VALID, networkReadBandwidth="100", remoteRetentionType="Days", remoteRetentionValue="7"
    )
    assert merged.backup_storage_uuids == ["bs1", "bs2"]
    assert merged.bandwidths == {"networkReadBandwidth": 1024}  # raised to the minimum
    assert merged.remote_retention is None  # a remote retention needs a remote storage
    updated = _merge(
        merged,
        retentionValue="5",
        remoteBackupStorageUuid="r",
        remoteRetentionType="Days",
        remoteRetentionValue="7",
    )
    assert (updated.retention.retention_type, updated.retention.retention_value) == ("Count", 5)
    assert updated.remote_retention is not None
    assert updated.remote_retention.retention_value == 7
    accepted = _merge(**(_VALID | {"retentionValue": "-1"}))
    assert accepted.retention.retention_value == -1  # the server only refuses 0; a negative prunes nothing


@pytest.mark.parametrize(
    ("parameters", "code", "details"),
    [
        (
            {"retentionValue": "3", "backupStorageUuids": "bs1"},
            "SYS.1006",
            "missing 'retentionType' in job parameters",
        ),
        (_VALID | {"retentionValue": "0"}, "SYS.1006", "missing 'retentionValue' in job parameters"),
        (_VALID | {"backupStorageUuids": ","}, "SYS.1006", "job parameter 'backupStorageUuids' is empty"),
        (_VALID | {"backupStorageUuids": "gone"}, "SYS.1006", "unexpected backup storage uuid: gone"),
        (_VALID | {"backupStorageUuids": "bs1, gone"}, "SYS.1006", "unexpected backup storage uuid:  gone"),
        (
            _VALID | {"remoteRetentionType": "Count"},
            "SYS.1006",
            "missing 'remoteRetentionValue' in job parameters",
        ),
        (
            _VALID | {"remoteRetentionValue": "2"},
            "SYS.1006",
            "missing 'remoteRetentionType' in job parameters",
        ),
        (_VALID | {"retentionType": "Weeks"}, "SYS.1000", "No enum constant"),
        (_VALID | {"retentionValue": "three"}, "SYS.1000", 'For input string: "three"'),
        (_VALID | {"volumeReadBandwidth": "0"}, "SYS.1007", "bandWidth must be a positive number"),
    ],
)
def test_parameter_refusals(parameters: dict[str, str], code: str, details: str) -> None:
    with pytest.raises(ApiError) as caught:
        _merge(**parameters)
    assert caught.value.code == code
    assert details in str(caught.value.error["details"])


def test_missing_parameters_are_refused() -> None:
    with pytest.raises(ApiError, match="missing job parameters"):
        merge_vm_backup_parameters(VmBackupJobData(), None, lambda uuid: True)


def _trigger(**fields: Any) -> SchedulerTrigger:
    return SchedulerTrigger.model_validate(
        {"uuid": "t", "name": "t", "schedulerType": "simple", "createDate": 0, "lastOpDate": 0} | fields
    )


def test_next_fire_of_a_simple_trigger() -> None:
    forever = _trigger(startTime=1000, schedulerInterval=10, repeatCount=0, stopTime=1030)
    assert ScheduledRuns.next_fire(forever, 0) == 1000
    assert ScheduledRuns.next_fire(forever, 1000) == 1010
    assert ScheduledRuns.next_fire(forever, 1000, inclusive=True) == 1000
    assert ScheduledRuns.next_fire(forever, 1030) is None  # past its stop time
    once = _trigger(startTime=1000, repeatCount=1)
    assert ScheduledRuns.next_fire(once, 999) == 1000
    assert ScheduledRuns.next_fire(once, 1000) is None
