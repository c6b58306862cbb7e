"""The VmBackupSchedule resource: ZStack's own backup schedule for one VM, run by ZStack whether or not a
pipeline runs.

One schedule is a scheduler job of type ``vmBackup`` (its target the VM's root volume, its retention and
remote copy in the job's ``parameters``), the trigger that fires it (cron or interval) and, with
``full_backup_cron``, a second trigger whose runs are full backups. The resource's id is the job's uuid.

Ownership follows `_ownership`: the job's uuid is an owned id, ``object_id("VmBackupSchedule-job", digest,
generation)``, and its triggers' uuids derive from the job's. An untagged job under one of our ids is an
earlier attempt of this resource for these inputs, and is resumed; a tagged one is in some state, and the
next generation is used. The owner tag goes on the job once its triggers are bound.

ZStack never shows a job's ``parameters`` (``jobData`` is ``@APINoSee``) nor a trigger's ``cron``
(SchedulerTriggerInventory has no such field): refresh keeps them from state, and reads what it can see (the
job's name, description, state and triggers; a trigger's type and interval).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from ._backup_group import (
    DEFAULT_CREATE_TIMEOUT,
    DEFAULT_DELETE_TIMEOUT,
    DEFAULT_MAX_POLL_INTERVAL,
    Limits,
    OwnedResourceInputs,
    WireVolumeBackup,
    claim_object,
    delete_group,
    logger,
    tags_by_resource,
)
from ._client import JobFailedError, JobNotFoundError, ZStackError
from ._ownership import GroupTags, Owner, OwnerTag, digest, first_free, new_claim
from ._quartz import CronError, check_quartz_cron
from ._resource import OperationContext, ReadOutcome, ResourceDefinition
from ._schema import Input, Output, Setting
from ._types import Bandwidth, Duration, PositiveCount, ZStackUuid

_REPLACE = Input(replace=True)
_IN_PLACE = Input()
#: SchedulerConstant.TIMESTAMP_MAX_VALUE: ZStack stores trigger times in MySQL TIMESTAMP columns.
_TIMESTAMP_MAX = 2147454847
_INT_MAX = 2**31 - 1
_BANDWIDTHS = {
    "volume_read_bandwidth": "volumeReadBandwidth",
    "volume_write_bandwidth": "volumeWriteBandwidth",
    "network_read_bandwidth": "networkReadBandwidth",
    "network_write_bandwidth": "networkWriteBandwidth",
}


def scheduler_description(job_uuid: str) -> str:
    """The description ZStack gives every backup a scheduled run makes (``CreateVmBackupJob.buildParams``)."""
    return f"created by VM backup scheduler job[uuid:{job_uuid}]"


def _cron(value: str | None) -> str | None:
    if value is not None:
        try:
            check_quartz_cron(value)
        except CronError as error:
            raise ValueError(f"is not a cron expression ZStack accepts: {error}") from None
    return value


Cron = Annotated[str, StringConstraints(min_length=1)]


class VmBackupScheduleProperties(OwnedResourceInputs):
    """Every property of a VmBackupSchedule, declared once. Inputs map to the job's and triggers' fields."""

    root_volume_uuid: Annotated[ZStackUuid, _REPLACE] = Field(
        description="UUID of the VM's root volume: the job's target. Every run backs up each non-shareable "
        "root and data volume of the VM it belongs to. ZStack cannot move a job to another target, so a "
        "change replaces the schedule."
    )
    backup_storage_uuids: Annotated[list[ZStackUuid], Input(ordered=True)] = Field(
        min_length=1,
        description="Backup storages a run may write to, at least one: ZStack uses the first Enabled "
        "ImageStoreBackupStorage of the list. Local retention applies over all of them.",
    )
    cron: Annotated[Cron | None, _IN_PLACE] = Field(
        default=None,
        description="When runs happen: a Quartz expression of exactly six fields (seconds minutes hours "
        "day-of-month month day-of-week, one of the day fields `?`), in the management node's local time, "
        "e.g. `0 0 2 * * ?` for 02:00 every night. Checked at preview. Exactly one of `cron` and "
        "`interval_seconds`.",
    )
    interval_seconds: Annotated[PositiveCount | None, _IN_PLACE] = Field(
        default=None,
        le=_INT_MAX,
        description="Run every this many seconds instead of on a cron (a `simple` trigger). Exactly one of "
        "`cron` and `interval_seconds`.",
    )
    start_time: Annotated[int | None, _IN_PLACE] = Field(
        default=None,
        ge=0,
        le=_TIMESTAMP_MAX,
        description="With `interval_seconds`: the first run, in Unix seconds; runs follow at each interval "
        "from it. Default: one interval after the schedule is made or its timing changed.",
    )
    retention_count: Annotated[PositiveCount | None, _IN_PLACE] = Field(
        default=None,
        description="Keep the newest N scheduled backups of the volume. Exactly one of `retention_count` "
        "and `retention_days`.",
    )
    retention_days: Annotated[PositiveCount | None, _IN_PLACE] = Field(
        default=None, description="Keep the scheduled backups of the volume made in the last N days."
    )
    remote_backup_storage_uuid: Annotated[ZStackUuid | None, _IN_PLACE] = Field(
        default=None,
        description="After each run ZStack copies the new backup to this ImageStoreBackupStorage (offsite "
        "copy). Needs exactly one of `remote_retention_count` and `remote_retention_days`.",
    )
    remote_retention_count: Annotated[PositiveCount | None, _IN_PLACE] = Field(
        default=None, description="Keep the newest N copies on the remote storage."
    )
    remote_retention_days: Annotated[PositiveCount | None, _IN_PLACE] = Field(
        default=None, description="Keep the copies of the last N days on the remote storage."
    )
    full_backup_cron: Annotated[Cron | None, _IN_PLACE] = Field(
        default=None,
        description="Optional second trigger (a Quartz cron, as `cron`): the runs it fires are full "
        "backups, every other run is incremental where ZStack can (`fullBackupTriggerUuid`).",
    )
    volume_read_bandwidth: Annotated[Bandwidth | None, _IN_PLACE] = Field(
        default=None, description="Limit on reading the volumes, in bytes per second (at least 1024)."
    )
    volume_write_bandwidth: Annotated[Bandwidth | None, _IN_PLACE] = Field(
        default=None, description="Limit on writing the volumes, in bytes per second (at least 1024)."
    )
    network_read_bandwidth: Annotated[Bandwidth | None, _IN_PLACE] = Field(
        default=None, description="Limit on network reads, in bytes per second (at least 1024)."
    )
    network_write_bandwidth: Annotated[Bandwidth | None, _IN_PLACE] = Field(
        default=None, description="Limit on network writes, in bytes per second (at least 1024)."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=255), _IN_PLACE] = Field(
        description="The job's name, 1 to 255 characters; its triggers get it too when they are made."
    )
    description: Annotated[str | None, StringConstraints(max_length=2048), _IN_PLACE] = Field(
        default=None, description="The job's description, at most 2048 characters."
    )
    enabled: Annotated[bool | None, _IN_PLACE] = Field(
        default=None,
        description="`false` pauses the schedule (ChangeSchedulerState `disable`): no run until it is "
        "`true` (or unset) again, which resumes it. Default true.",
    )

    delete_backups_on_destroy: Annotated[bool | None, Setting()] = Field(
        default=None,
        description="Destroying the schedule keeps the backups it made (they stay in ZStack, ordinary "
        "backups of the VM) unless this is true: then every backup group ZStack made for this job, "
        "`backup_group_uuids`, is deleted too. Default false.",
    )
    create_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"How long making or updating the schedule may take (default {DEFAULT_CREATE_TIMEOUT}).",
    )
    delete_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"How long deleting the schedule (and its backups, if asked) may take (default "
        f"{DEFAULT_DELETE_TIMEOUT}).",
    )
    max_poll_interval: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"Longest wait between two polls of a ZStack job (default {DEFAULT_MAX_POLL_INTERVAL}).",
    )

    job_uuid: Annotated[str | None, Output(always=True)] = Field(
        default=None, description="UUID of the scheduler job; also the resource's id."
    )
    trigger_uuid: Annotated[str | None, Output(always=True)] = Field(
        default=None, description="UUID of the trigger that fires the job (cron or interval)."
    )
    full_backup_trigger_uuid: Annotated[str | None, Output()] = Field(
        default=None, description="UUID of the trigger of `full_backup_cron`, if set."
    )
    state: Annotated[str | None, Output()] = Field(
        default=None, description="The job's state in ZStack: `Enabled` or `Disabled`."
    )
    backup_group_uuids: Annotated[list[str] | None, Output(always=True)] = Field(
        default=None,
        description="The backup groups this job made that ZStack still keeps, newest first, as read at the "
        "last create, update or refresh. ZStack marks each one with the description `created by VM backup "
        "scheduler job[uuid:<job_uuid>]`; query `description=` on volume backups to find them.",
    )
    vm_instance_uuid: Annotated[str | None, Output()] = Field(
        default=None, description="The VM of the newest kept backup, once there is one."
    )

    _cron_syntax = field_validator("cron", "full_backup_cron")(_cron)

    def conflicts(self, unknown: frozenset[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []

        def exactly_one(first: str, second: str, why: str) -> None:
            if {first, second} & unknown:
                return
            given = [n for n in (first, second) if getattr(self, n) is not None]
            if len(given) != 1:
                what = "both are" if given else "neither is"
                found.append((first, f"set exactly one of `{first}` and `{second}` {why}; {what} set"))

        exactly_one("cron", "interval_seconds", "(when runs happen)")
        exactly_one("retention_count", "retention_days", "(how many scheduled backups ZStack keeps)")
        if (
            self.start_time is not None
            and self.interval_seconds is None
            and "interval_seconds" not in unknown
        ):
            found.append(
                ("start_time", "`start_time` goes with `interval_seconds`; a cron sets its own times")
            )
        if self.remote_backup_storage_uuid is not None:
            exactly_one(
                "remote_retention_count", "remote_retention_days", "with `remote_backup_storage_uuid`"
            )
        elif "remote_backup_storage_uuid" not in unknown:
            for name in ("remote_retention_count", "remote_retention_days"):
                if getattr(self, name) is not None:
                    found.append((name, f"`{name}` needs `remote_backup_storage_uuid`"))
        return found

    @property
    def is_enabled(self) -> bool:
        return self.enabled is not False

    def job_parameters(self, full_trigger_uuid: str | None) -> dict[str, str]:
        """The ``vmBackup`` job's parameters, all strings, as ``CreateVmBackupJob`` reads them."""
        params = {"backupStorageUuids": ",".join(self.backup_storage_uuids)}
        if self.retention_count is not None:
            params.update(retentionType="Count", retentionValue=str(self.retention_count))
        elif self.retention_days is not None:
            params.update(retentionType="Days", retentionValue=str(self.retention_days))
        if self.remote_backup_storage_uuid is not None:
            params["remoteBackupStorageUuid"] = self.remote_backup_storage_uuid
            if self.remote_retention_count is not None:
                params.update(
                    remoteRetentionType="Count", remoteRetentionValue=str(self.remote_retention_count)
                )
            elif self.remote_retention_days is not None:
                params.update(
                    remoteRetentionType="Days", remoteRetentionValue=str(self.remote_retention_days)
                )
        if full_trigger_uuid is not None:
            params["fullBackupTriggerUuid"] = full_trigger_uuid
        for field, key in _BANDWIDTHS.items():
            value = getattr(self, field)
            if value is not None:
                params[key] = str(value)
        return params

    def timing(self) -> dict[str, Any]:
        """The main trigger's timing fields, for CreateSchedulerTrigger and UpdateSchedulerTrigger.

        A start time is always sent: an update that sends none to a trigger made without one fails in ZStack
        (its interceptor reads the stored start time), and a cron trigger fires from it.
        """
        now = int(time.time())
        if self.cron is not None:
            return {"schedulerType": "cron", "cron": self.cron, "startTime": now}
        assert self.interval_seconds is not None
        start = self.start_time if self.start_time is not None else now + self.interval_seconds
        return {"schedulerType": "simple", "schedulerInterval": self.interval_seconds, "startTime": start}


def _trigger_ids(owner: Owner, job_uuid: str) -> tuple[str, str]:
    return (
        owner.object_id("VmBackupSchedule-trigger", job_uuid),
        owner.object_id("VmBackupSchedule-full-trigger", job_uuid),
    )


def _limits(props: Mapping[str, Any], setting: str, default: str) -> Limits:
    return Limits.start(props.get(setting), default, props.get("max_poll_interval"))


class _Calls:
    """The scheduler calls of one operation, each bounded by the operation's deadline."""

    def __init__(self, ctx: OperationContext, limits: Limits, subject: str, hint: str) -> None:
        self.ctx, self.limits, self.subject, self.hint = ctx, limits, subject, hint

    def run(self, method: str, path: str, what: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.ctx.run_job(
            method,
            path,
            body=body,
            deadline=self.limits.deadline,
            operation=f"{what} of {self.subject}",
            timeout_hint=self.hint,
            max_poll_interval=self.limits.max_poll_interval,
        )

    def make(
        self, path: str, what: str, body: Mapping[str, Any], exists: Callable[[], bool]
    ) -> dict[str, Any] | None:
        """Create an object under an owned id, once: an attempt whose answer was lost may have made it.

        Returns the job's result, or None when the object turned out to exist already.
        """
        try:
            return self.run("POST", path, what, body)
        except (JobNotFoundError, JobFailedError):
            if not exists():
                raise
            return None

    def job(self, job_uuid: str) -> dict[str, Any] | None:
        found = self.ctx.client.query(f"scheduler/jobs/{job_uuid}", deadline=self.limits.deadline)
        return found[0] if found else None

    def triggers(self, *uuids: str) -> dict[str, dict[str, Any]]:
        found = self.ctx.client.query(
            "scheduler/triggers", f"uuid?={','.join(uuids)}", deadline=self.limits.deadline
        )
        return {str(t["uuid"]): t for t in found if t.get("uuid") in uuids}

    def create_trigger(self, trigger_uuid: str, name: str, timing: Mapping[str, Any]) -> None:
        body = {"params": {"name": name, **timing, "resourceUuid": trigger_uuid}}
        self.make("/scheduler/triggers", "trigger create", body, lambda: bool(self.triggers(trigger_uuid)))

    def bind(self, job_uuid: str, trigger_uuid: str) -> None:
        def bound() -> bool:
            trigger = self.triggers(trigger_uuid).get(trigger_uuid)
            return trigger is not None and job_uuid in (trigger.get("jobsUuid") or [])

        path = f"/scheduler/jobs/{job_uuid}/scheduler/triggers/{trigger_uuid}"
        self.make(path, "trigger binding", {"params": {}}, bound)

    def change_state(self, job_uuid: str, enable: bool) -> None:
        event = "enable" if enable else "disable"
        body = {"changeSchedulerState": {"stateEvent": event}}
        self.run("PUT", f"/schedulers/{job_uuid}", f"{event} of the job", body)

    def update_trigger(self, trigger_uuid: str, fields: Mapping[str, Any]) -> None:
        body = {"updateSchedulerTrigger": dict(fields)}
        self.run("PUT", f"/scheduler/triggers/{trigger_uuid}/actions", "trigger update", body)

    def delete(self, path: str, what: str) -> None:
        # A job record that expired before its result was read: the caller's query tells.
        with contextlib.suppress(JobNotFoundError):
            self.run("DELETE", path, what)


def _scheduled_groups(ctx: OperationContext, root_volume_uuid: str, job_uuid: str) -> list[WireVolumeBackup]:
    """The root backups of the groups `job_uuid`'s runs made and ZStack still keeps, newest first."""
    inventories = ctx.client.query(
        "volume-backups",
        f"volumeUuid={root_volume_uuid}",
        f"description={scheduler_description(job_uuid)}",
    )
    roots = [WireVolumeBackup.model_validate(i) for i in inventories]
    kept = [r for r in roots if r.status != "Deleted" and r.group_uuid and r.type in (None, "Root")]
    return sorted(kept, key=lambda r: (r.create_date or "", r.group_uuid or ""), reverse=True)


def _outputs(
    job_uuid: str,
    job: Mapping[str, Any] | None,
    trigger_uuid: str,
    full_trigger_uuid: str | None,
    groups: list[WireVolumeBackup],
    claim: str | None,
) -> dict[str, Any]:
    return {
        "job_uuid": job_uuid,
        "trigger_uuid": trigger_uuid,
        "full_backup_trigger_uuid": full_trigger_uuid,
        "state": job.get("state") if job else None,
        "backup_group_uuids": [str(g.group_uuid) for g in groups],
        "vm_instance_uuid": groups[0].vm_instance_uuid if groups else None,
        "owner_claim": claim,
    }


class VmBackupScheduleResource(ResourceDefinition[VmBackupScheduleProperties]):
    model = VmBackupScheduleProperties
    label = "VmBackupSchedule"

    def create(self, ctx: OperationContext, props: VmBackupScheduleProperties) -> tuple[str, dict[str, Any]]:
        owner, inputs_digest = props.owner(), digest(props.shaping_inputs())
        jobs = {str(j["uuid"]): j for j in ctx.client.query("scheduler/jobs", f"uuid~={owner.like_pattern}")}
        tags = tags_by_resource(ctx, list(jobs))
        line = [owner.object_id("VmBackupSchedule-job", inputs_digest, g) for g in range(len(jobs) + 1)]
        # Our own earlier attempt for these inputs never got its tag: resume it; a tagged job is in a state.
        job_uuid = next(
            (j for j in line if j in jobs and not tags.get(j, GroupTags()).handed_out), None
        ) or first_free(line, set(jobs))
        trigger_uuid, full_uuid = _trigger_ids(owner, job_uuid)
        wanted_full = full_uuid if props.full_backup_cron is not None else None
        limits = _limits(props.model_dump(), "create_timeout", DEFAULT_CREATE_TIMEOUT)
        subject = f"VmBackupSchedule {job_uuid}"
        hint = (
            f"Raise the `create_timeout` input (now {limits.allowed}) and run `pulumi up` again: the "
            f"provider resumes scheduler job {job_uuid} instead of making another."
        )
        calls = _Calls(ctx, limits, subject, hint)

        job = jobs.get(job_uuid)
        if job is None:
            params: dict[str, Any] = {
                "name": props.name,
                "targetResourceUuid": props.root_volume_uuid,
                "type": "vmBackup",
                "parameters": props.job_parameters(wanted_full),
                "resourceUuid": job_uuid,
            }
            if props.description:
                params["description"] = props.description
            made = calls.make(
                "/scheduler/jobs", "job create", {"params": params}, lambda: calls.job(job_uuid) is not None
            )
            job = made["inventory"] if made and made.get("inventory") else calls.job(job_uuid)
        # Paused before any trigger is bound, so that a disabled schedule never runs.
        if not props.is_enabled and (job or {}).get("state") != "Disabled":
            calls.change_state(job_uuid, enable=False)
        live = calls.triggers(trigger_uuid, full_uuid)
        wanted = [(trigger_uuid, props.name, props.timing())]
        if props.full_backup_cron is not None:
            full_timing = {
                "schedulerType": "cron",
                "cron": props.full_backup_cron,
                "startTime": int(time.time()),
            }
            wanted.append((full_uuid, f"{props.name}-full", full_timing))
        for uuid, name, timing in wanted:
            if uuid not in live:
                calls.create_trigger(uuid, name, timing)
            if job_uuid not in (live.get(uuid, {}).get("jobsUuid") or []):
                calls.bind(job_uuid, uuid)

        claim = new_claim()
        tag = OwnerTag(owner.stack_key, job_uuid, claim, inputs_digest, props.owner_urn)
        claim_object(
            ctx, "SchedulerJobVO", job_uuid, tag, subject=subject, current=tags.get(job_uuid, GroupTags())
        )
        _sweep_unrecorded(calls, owner, keep=job_uuid)
        outputs = _outputs(
            job_uuid,
            calls.job(job_uuid),
            trigger_uuid,
            wanted_full,
            _scheduled_groups(ctx, props.root_volume_uuid, job_uuid),
            claim,
        )
        return job_uuid, {**props.model_dump(), **outputs}

    def update(
        self,
        ctx: OperationContext,
        resource_id: str,
        olds: Mapping[str, Any],
        props: VmBackupScheduleProperties,
    ) -> dict[str, Any]:
        old = VmBackupScheduleProperties.model_validate(VmBackupScheduleProperties.user_supplied(olds))
        # The ids were made from the owner the state records; an alias may have changed the URN since.
        owner = VmBackupScheduleProperties.owner_of(olds) or props.owner()
        trigger_uuid, full_uuid = _trigger_ids(owner, resource_id)
        trigger_uuid = str(olds.get("trigger_uuid") or trigger_uuid)
        full_uuid = str(olds.get("full_backup_trigger_uuid") or full_uuid)
        wanted_full = full_uuid if props.full_backup_cron is not None else None
        old_full = full_uuid if old.full_backup_cron is not None else None
        limits = _limits(props.model_dump(), "create_timeout", DEFAULT_CREATE_TIMEOUT)
        subject = f"VmBackupSchedule {resource_id}"
        hint = (
            f"Raise the `create_timeout` input (now {limits.allowed}) and run `pulumi up` again; every "
            "change is applied again, and none is applied twice."
        )
        calls = _Calls(ctx, limits, subject, hint)
        if calls.job(resource_id) is None:
            raise ZStackError(
                f"{subject}: scheduler job {resource_id} no longer exists in ZStack. Run `pulumi refresh`: "
                "the schedule leaves the stack, and the next `pulumi up` makes it again."
            )
        if not props.is_enabled and old.is_enabled:
            calls.change_state(resource_id, enable=False)

        live = calls.triggers(trigger_uuid, full_uuid)
        main_timing = (old.cron, old.interval_seconds, old.start_time) != (
            props.cron,
            props.interval_seconds,
            props.start_time,
        )
        self._reconcile_trigger(
            calls, resource_id, trigger_uuid, props.name, props.timing(), live, main_timing
        )
        if props.full_backup_cron is not None:
            full_timing = {
                "schedulerType": "cron",
                "cron": props.full_backup_cron,
                "startTime": int(time.time()),
            }
            changed = old.full_backup_cron != props.full_backup_cron
            self._reconcile_trigger(
                calls, resource_id, full_uuid, f"{props.name}-full", full_timing, live, changed
            )

        job_fields: dict[str, Any] = {}
        if old.name != props.name:
            job_fields["name"] = props.name
        if (old.description or "") != (props.description or ""):
            job_fields["description"] = props.description or ""
        before, after = old.job_parameters(old_full), props.job_parameters(wanted_full)
        # ZStack merges parameters key by key; a blank value clears a key.
        changed_parameters = {k: v for k, v in after.items() if before.get(k) != v}
        changed_parameters.update({k: "" for k in before if k not in after})
        if changed_parameters:
            job_fields["parameters"] = changed_parameters
        if job_fields:
            calls.run(
                "PUT",
                f"/scheduler/jobs/{resource_id}/actions",
                "job update",
                {"updateSchedulerJob": job_fields},
            )

        if props.full_backup_cron is None and full_uuid in live:
            calls.delete(f"/scheduler/triggers/{full_uuid}", "full-backup trigger delete")
        if props.is_enabled and not old.is_enabled:
            calls.change_state(resource_id, enable=True)
        outputs = _outputs(
            resource_id,
            calls.job(resource_id),
            trigger_uuid,
            wanted_full,
            _scheduled_groups(ctx, props.root_volume_uuid, resource_id),
            olds.get("owner_claim"),
        )
        made_by = {k: olds[k] for k in ("owner_stack", "owner_urn") if olds.get(k)}
        return {**props.model_dump(), **made_by, **outputs}

    @staticmethod
    def _reconcile_trigger(
        calls: _Calls,
        job_uuid: str,
        trigger_uuid: str,
        name: str,
        timing: Mapping[str, Any],
        live: Mapping[str, Mapping[str, Any]],
        timing_changed: bool,
    ) -> None:
        """Make the trigger fire the job on `timing`: made again if it is gone, bound again if unbound."""
        trigger = live.get(trigger_uuid)
        if trigger is None:
            calls.create_trigger(trigger_uuid, name, timing)
        elif (
            timing_changed
            or trigger.get("schedulerType") != timing["schedulerType"]
            or (
                timing["schedulerType"] == "simple"
                and trigger.get("schedulerInterval") != timing["schedulerInterval"]
            )
        ):
            calls.update_trigger(trigger_uuid, timing)
        if trigger is None or job_uuid not in (trigger.get("jobsUuid") or []):
            calls.bind(job_uuid, trigger_uuid)

    def read(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> ReadOutcome | None:
        found = ctx.client.query(f"scheduler/jobs/{resource_id}")
        if not found:
            return None
        job = found[0]
        owner = VmBackupScheduleProperties.owner_of(state)
        trigger_uuid = state.get("trigger_uuid") or (_trigger_ids(owner, resource_id)[0] if owner else "")
        full_uuid = state.get("full_backup_trigger_uuid")
        uuids = [u for u in (trigger_uuid, full_uuid) if u]
        live = {
            str(t["uuid"]): t
            for t in ctx.client.query("scheduler/triggers", f"uuid?={','.join(uuids)}")
            if resource_id in (t.get("jobsUuid") or [])
        }
        inputs: dict[str, Any] = {
            **VmBackupScheduleProperties.user_supplied(state),
            "root_volume_uuid": job.get("targetResourceUuid") or state.get("root_volume_uuid"),
            "name": job.get("name") or state.get("name"),
            "description": job.get("description"),
        }
        running = job.get("state") == "Enabled"
        if running != (state.get("enabled") is not False):
            inputs["enabled"] = running  # paused or resumed out of band
        # ZStack never shows a cron: a cron trigger that is still there and bound keeps the state's.
        main = live.get(trigger_uuid)
        if main is None:
            inputs.update(cron=None, interval_seconds=None)
        elif main.get("schedulerType") == "simple":
            inputs.update(cron=None, interval_seconds=main.get("schedulerInterval"))
        else:
            inputs["interval_seconds"] = None
        if full_uuid and full_uuid not in live:
            inputs["full_backup_cron"] = None
        groups = _scheduled_groups(ctx, str(inputs["root_volume_uuid"]), resource_id)
        outputs = _outputs(resource_id, job, trigger_uuid, full_uuid, groups, state.get("owner_claim"))
        return ReadOutcome(outputs=outputs, inputs=inputs)

    def delete(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> None:
        limits = _limits(state, "delete_timeout", DEFAULT_DELETE_TIMEOUT)
        subject = f"VmBackupSchedule {resource_id}"
        hint = (
            f"Raise the `delete_timeout` input (now {limits.allowed}) and run the operation again; the "
            "schedule stays in the stack until it is gone."
        )
        calls = _Calls(ctx, limits, subject, hint)
        if calls.job(resource_id) is not None:
            tags = tags_by_resource(ctx, [resource_id]).get(resource_id, GroupTags())
            if not tags.held_by(state.get("owner_claim")):
                owners = ", ".join(sorted({o.urn for o in tags.owners})) or "another resource"
                logger.warning(
                    "warning: %s: dropped from this stack but not deleted: %s holds the scheduler job now",
                    subject,
                    owners,
                )
                return
            calls.delete(f"/scheduler/jobs/{resource_id}", "job delete")
            if calls.job(resource_id) is not None:
                raise ZStackError(
                    f"ZStack accepted the deletion of {subject} but the job is still there; {hint}"
                )
        uuids = [u for u in (state.get("trigger_uuid"), state.get("full_backup_trigger_uuid")) if u]
        for uuid, trigger in calls.triggers(*uuids).items():
            others = set(trigger.get("jobsUuid") or []) - {resource_id}
            if others:
                logger.warning(
                    "warning: %s: trigger %s kept: it also fires job(s) %s",
                    subject,
                    uuid,
                    ", ".join(sorted(others)),
                )
                continue
            calls.delete(f"/scheduler/triggers/{uuid}", "trigger delete")
        owner = VmBackupScheduleProperties.owner_of(state)
        if owner is not None:
            _sweep_unrecorded(calls, owner, keep=None)
        root = state.get("root_volume_uuid")
        if state.get("delete_backups_on_destroy") and isinstance(root, str):
            for group in _scheduled_groups(ctx, root, resource_id):
                assert group.group_uuid is not None
                delete_group(
                    ctx,
                    group.group_uuid,
                    limits,
                    subject=f"{subject} backup group {group.group_uuid}",
                    hint=hint,
                )


def _sweep_unrecorded(calls: _Calls, owner: Owner, *, keep: str | None) -> None:
    """Delete what earlier, interrupted attempts of this resource left: untagged jobs under its ids (they
    would run backups no state knows of) and its triggers that fire no job."""
    ctx = calls.ctx
    jobs = [str(j["uuid"]) for j in ctx.client.query("scheduler/jobs", f"uuid~={owner.like_pattern}")]
    others = [j for j in jobs if j != keep]
    tags = tags_by_resource(ctx, others)
    for job_uuid in others:
        if not tags.get(job_uuid, GroupTags()).handed_out:
            ctx.progress(
                f"{calls.subject}: deleting scheduler job {job_uuid}, an attempt that never reached the stack"
            )
            calls.delete(f"/scheduler/jobs/{job_uuid}", f"delete of unrecorded job {job_uuid}")
    for trigger in ctx.client.query("scheduler/triggers", f"uuid~={owner.like_pattern}"):
        if not trigger.get("jobsUuid"):
            calls.delete(
                f"/scheduler/triggers/{trigger['uuid']}", f"delete of unbound trigger {trigger['uuid']}"
            )
