"""Scheduled runs: when scheduler triggers fire on the simulator's clock, and what a `vmBackup` run does.

A run backs up the VM of its job's target root volume, then prunes old backups by the job's retention and
copies the new group to the job's remote backup storage, as server class `CreateVmBackupJob` does. Whenever
the simulator is touched, every firing due since the last touch runs, in order, at its own time.
"""

from __future__ import annotations

import math
import uuid as uuidlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ._copies import Copies
from ._cron import CronError, parse_quartz_cron
from ._errors import ApiError
from ._model import (
    Job,
    ScheduledRun,
    SchedulerJob,
    SchedulerJobTriggerRef,
    SchedulerTrigger,
    StateData,
    VmBackupRetention,
    VolumeBackup,
)

MANUAL_CREATE_TAG_PREFIX = "manualCreate::api::"
"""`VolumeBackupSystemTag.MANUAL_CREATE_RESOURCE`, which APICreateVmBackupMsg puts on every member."""

# Quartz's default misfire threshold: a firing less than this late still happens, at once.
_MISFIRE_THRESHOLD = 60.0
_FINISHED_RUNS_KEPT = 1000
_DAY = 86400.0


def _operr(details: str) -> ApiError:
    return ApiError("SYS.1006", details)


@dataclass(frozen=True)
class BackupHooks:
    """The simulator's own VM backup code, which scheduled runs reuse."""

    start_create: Callable[[Job], None]
    finish_create: Callable[[Job, float], dict[str, Any]]
    delete_backup: Callable[[VolumeBackup, Sequence[str], bool], None]


class ScheduledRuns:
    """Fires the scheduler's triggers and carries out the runs, over the simulator's data."""

    def __init__(
        self,
        data: StateData,
        hooks: BackupHooks,
        copies: Copies,
        run_seconds: Callable[[], float | None],
    ) -> None:
        self._data = data
        self._hooks = hooks
        self._copies = copies
        self._run_seconds = run_seconds

    def _job(self, uuid: str) -> SchedulerJob | None:
        return next((j for j in self._data.scheduler_jobs if j.uuid == uuid), None)

    def _trigger(self, uuid: str) -> SchedulerTrigger | None:
        return next((t for t in self._data.scheduler_triggers if t.uuid == uuid), None)

    def _storage_exists(self, uuid: str) -> bool:
        return any(b.uuid == uuid for b in self._data.backup_storages)

    @staticmethod
    def unschedule(ref: SchedulerJobTriggerRef) -> None:
        ref.scheduled_at = ref.next_fire_at = None

    def schedule(self, ref: SchedulerJobTriggerRef, trigger: SchedulerTrigger, now: float) -> None:
        """(Re)schedule a job on a trigger, as Quartz does: a firing up to a minute late still happens."""
        ref.scheduled_at = now
        ref.next_fire_at = self.next_fire(trigger, now - _MISFIRE_THRESHOLD, inclusive=True)

    @staticmethod
    def next_fire(trigger: SchedulerTrigger, moment: float, *, inclusive: bool = False) -> float | None:
        """The trigger's first firing after `moment` (or at it, with `inclusive`), in Unix seconds."""
        start, stop = trigger.start_time, trigger.stop_time
        threshold = moment - 1e-6 if inclusive else moment
        if trigger.scheduler_type == "simple":
            if start is None:
                return None
            repeat, interval = trigger.repeat_count or 0, trigger.scheduler_interval or 0
            if start > threshold:
                index = 0
            elif repeat == 1 or interval <= 0:
                return None
            else:
                index = math.floor((threshold - start) / interval) + 1
            if repeat > 0 and index >= repeat:
                return None
            fire = start + index * interval
            # Quartz gets the trigger's end time only when it repeats for ever.
            if repeat == 0 and stop is not None and fire > stop:
                return None
            return fire
        try:
            schedule = parse_quartz_cron(trigger.cron or "")
        except CronError:
            return None
        if start is not None:
            threshold = max(threshold, start - 1e-6)
        found = schedule.next_after(datetime.fromtimestamp(threshold))
        if found is None or (stop is not None and found.timestamp() > stop):
            return None
        return found.timestamp()

    def catch_up(self, now: float) -> bool:
        """Run every firing and finish every run that is due by `now`, in time order; True if any was."""
        changed = False
        for _ in range(1_000_000):
            event = self._next_event()
            if event is None or event[0] > now:
                break
            at, _, key = event
            run = next((r for r in self._data.scheduler_runs if r.uuid == key), None)
            if run is not None:
                self._end_run(run, at)
            else:
                ref = next(r for r in self._data.scheduler_job_trigger_refs if r.uuid == key)
                self._fire(ref, at)
            changed = True
            if len(self._data.scheduler_runs) > 2 * _FINISHED_RUNS_KEPT:
                self._forget_old_runs()
        if changed:
            self._forget_old_runs()
        return changed

    def _next_event(self) -> tuple[float, int, str] | None:
        events: list[tuple[float, int, str]] = [
            (r.finish_at, 0, r.uuid)
            for r in self._data.scheduler_runs
            if r.state == "running" and r.finish_at is not None
        ]
        enabled = {j.uuid for j in self._data.scheduler_jobs if j.state == "Enabled"}
        for ref in self._data.scheduler_job_trigger_refs:
            if (
                ref.next_fire_at is not None
                and ref.scheduled_at is not None
                and ref.scheduler_job_uuid in enabled
            ):
                events.append((max(ref.next_fire_at, ref.scheduled_at), 1, ref.uuid))
        return min(events) if events else None

    def _fire(self, ref: SchedulerJobTriggerRef, at: float) -> None:
        job, trigger = self._job(ref.scheduler_job_uuid), self._trigger(ref.scheduler_trigger_uuid)
        fired = ref.next_fire_at
        if job is None or trigger is None or fired is None:
            ref.next_fire_at = None
            return
        ref.next_fire_at = self.next_fire(trigger, fired)
        self.run(job, trigger, at)

    def run(self, job: SchedulerJob, trigger: SchedulerTrigger, at: float) -> None:
        run = ScheduledRun(
            uuid=uuidlib.uuid4().hex,
            scheduler_job_uuid=job.uuid,
            scheduler_trigger_uuid=trigger.uuid,
            target_resource_uuid=job.target_resource_uuid,
            fired_at=at,
            state="running",
            job_data=job.job_data.model_copy(deep=True),
        )
        self._data.scheduler_runs.append(run)
        if any(
            r.state == "running" and r.target_resource_uuid == job.target_resource_uuid and r is not run
            for r in self._data.scheduler_runs
        ):
            # AbstractSchedulerJob.checkLastJob: the newest backup long job of the volume still runs.
            self._end_unsuccessful(run, at, _operr("the last job is not completed. skip this job"), "skipped")
            return
        full = trigger.uuid == job.job_data.full_backup_trigger_uuid
        error = self._check_run(job, full)
        if error is not None:
            self._end_unsuccessful(run, at, error, "failed")
            return
        backup_job = self._backup_job(job, full, at)
        try:
            self._hooks.start_create(backup_job)
        except ApiError as exc:
            self._end_unsuccessful(run, at, exc, "failed")
            return
        run.backup_job = backup_job
        run.group_uuid = backup_job.params["groupUuid"]
        run.finish_at = at + (self._run_seconds() or 0.0)

    def _check_run(self, job: SchedulerJob, full: bool) -> ApiError | None:
        """`CreateVmBackupJob.check`: the volume and its VM, then the storages that still exist."""
        target = job.target_resource_uuid
        volume = next((v for v in self._data.volumes if v.uuid == target), None)
        if volume is None:
            return ApiError("SYS.1000", "java.lang.NullPointerException")
        reason = f"Can not create volume{' full' if full else ''} backup for volume[uuid:{target}], because "
        if volume.is_shareable:
            return _operr(reason + "it is shareable volume")
        vm = next((v for v in self._data.vm_instances if v.uuid == volume.vm_instance_uuid), None)
        if volume.vm_instance_uuid is None:
            return _operr(reason + "it is not attached to any vm")
        if vm is None or vm.state not in ("Running", "Paused"):
            which = "vm" if volume.type == "Root" else "its attached vm"
            return ApiError(
                "VOL_BACKUP.1000",
                reason + f"{which} is not in state[Running, Paused]",
                "Unable to create volume backup for stopped vm.",
            )
        if not any(self._storage_exists(u) for u in job.job_data.backup_storage_uuids or []):
            return _operr("No available backup storage found, skip this job")
        return None

    def _backup_job(self, job: SchedulerJob, full: bool, at: float) -> Job:
        """The CreateVmBackup a run makes: named after the VM, without the manual-create tag."""
        target = job.target_resource_uuid
        volume = next(v for v in self._data.volumes if v.uuid == target)
        vm = next(v for v in self._data.vm_instances if v.uuid == volume.vm_instance_uuid)
        storages = [
            b
            for u in job.job_data.backup_storage_uuids or []
            for b in self._data.backup_storages
            if b.uuid == u
        ]
        # UNCONFIRMED how VmBackupLongJob picks among its alternatives: the first usable one, else the first.
        usable = [b for b in storages if b.type == "ImageStoreBackupStorage" and b.state == "Enabled"]
        storage = (usable or storages)[0]
        params: dict[str, Any] = {
            "name": vm.name,
            "description": f"created by VM backup scheduler job[uuid:{job.uuid}]",
            "backupStorageUuid": storage.uuid,
        }
        if full:
            params["mode"] = "full"
        params.update({k: v for k, v in job.job_data.bandwidths.items() if v is not None})
        return Job(
            uuid=uuidlib.uuid4().hex,
            api="CreateVmBackup",
            method="POST",
            path=f"/zstack/v1/volumes/{target}/vm-backups",
            created_at=at,
            params={"rootVolumeUuid": target, "params": params, "systemTags": [], "manual": False},
        )

    @staticmethod
    def _end_unsuccessful(
        run: ScheduledRun, at: float, error: ApiError, state: Literal["failed", "skipped"]
    ) -> None:
        if state == "failed":
            details = error.error.get("details") or error.error.get("description")
            # CreateVmBackupJob.fireEvent rewrites a failure's details before it is recorded; a skip
            # happens earlier, in AbstractSchedulerJob, and keeps its own.
            error.error["details"] = f"VM[uuid:{run.target_resource_uuid}] backup failed, error: {details}"
        run.state, run.finish_at, run.error = state, at, error.error

    def _end_run(self, run: ScheduledRun, at: float) -> None:
        assert run.backup_job is not None
        assert run.job_data is not None
        try:
            self._hooks.finish_create(run.backup_job, at)
        except ApiError as exc:
            self._end_unsuccessful(run, at, exc, "failed")
            return
        run.state, run.finish_at = "succeeded", at
        data = run.job_data
        members = [b for b in self._data.volume_backups if b.uuid in run.backup_job.params["backupUuids"]]
        local = [u for u in data.backup_storage_uuids or [] if self._storage_exists(u)]
        self._apply_retention(run.target_resource_uuid, data.retention, local, at)
        remote = data.remote_backup_storage_uuid
        if remote is None or not self._storage_exists(remote) or not members:
            return
        source = members[0].backup_storage_refs[0].backup_storage_uuid
        failure = self._copies.copy_members([b.uuid for b in members], source, remote, at)
        if failure is not None:
            run.copy_error = failure.error
        elif data.remote_retention is not None:
            self._apply_retention(run.target_resource_uuid, data.remote_retention, [remote], at)

    def _apply_retention(
        self, target: str, policy: VmBackupRetention, storages: Sequence[str], at: float
    ) -> None:
        """`cleanBackupByDays` / `cleanBackupByCount`: the volume's scheduled root backups, whole groups."""
        candidates = sorted(
            (
                b
                for b in self._data.volume_backups
                if b.volume_uuid == target
                and b.status == "Ready"
                and b.type == "Root"
                and b.group_uuid is not None
                and not any(t.startswith(MANUAL_CREATE_TAG_PREFIX) for t in b.system_tags)
            ),
            key=lambda b: b.create_date,
        )
        doomed: list[VolumeBackup] = []
        value, full_value = policy.retention_value, policy.full_backup_retention_value
        if policy.retention_type == "Days":
            if value < 1:
                return
            cutoff = at - value * _DAY
            doomed = [b for b in candidates if b.create_date < cutoff]
        elif policy.retention_type == "Count":
            if value < 0 or full_value < 0:
                return
            if full_value == 0:
                doomed = candidates[: max(len(candidates) - value, 0)]
            else:
                incremental = [b for b in candidates if b.mode != "full"]
                fulls = [b for b in candidates if b.mode == "full"]
                doomed = (
                    incremental[: max(len(incremental) - value, 0)] + fulls[: max(len(fulls) - full_value, 0)]
                )
        self._delete_groups(doomed, storages)

    def _delete_groups(self, roots: Iterable[VolumeBackup], storages: Sequence[str]) -> None:
        groups = {b.group_uuid for b in roots}
        for member in [b for b in self._data.volume_backups if b.group_uuid in groups]:
            self._hooks.delete_backup(member, storages, True)

    def _forget_old_runs(self) -> None:
        finished = [r for r in self._data.scheduler_runs if r.state != "running"]
        if len(finished) > _FINISHED_RUNS_KEPT:
            dropped = {r.uuid for r in finished[: len(finished) - _FINISHED_RUNS_KEPT]}
            self._data.scheduler_runs = [r for r in self._data.scheduler_runs if r.uuid not in dropped]

    def runs(self) -> list[dict[str, Any]]:
        """Every firing still remembered, oldest first (the last 1000 finished ones and all running ones)."""
        return [
            {
                "uuid": run.uuid,
                "schedulerJobUuid": run.scheduler_job_uuid,
                "schedulerTriggerUuid": run.scheduler_trigger_uuid,
                "targetResourceUuid": run.target_resource_uuid,
                "firedAt": run.fired_at,
                "finishedAt": run.finish_at if run.state != "running" else None,
                "state": run.state,
                "groupUuid": run.group_uuid,
                "errorCode": run.error["code"] if run.error else None,
                "copyErrorCode": run.copy_error["code"] if run.copy_error else None,
            }
            for run in self._data.scheduler_runs
        ]
