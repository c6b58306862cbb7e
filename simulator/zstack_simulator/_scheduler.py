"""ZStack's own schedules: the scheduler job and trigger API, its checks and what each call stores.

What happens when triggers fire is in `_scheduled_runs`.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ._cron import CronError, parse_quartz_cron
from ._errors import (
    ApiError,
    PlainTextError,
    check_resource_uuid,
    invalid_choice,
    mandatory,
    not_found_error,
    out_of_range,
    too_long,
)
from ._inventory import _date
from ._model import (
    Job,
    SchedulerJob,
    SchedulerJobTriggerRef,
    SchedulerTrigger,
    StateData,
    VmBackupJobData,
    VmBackupRetention,
)
from ._query import Nested, ResourceSchema
from ._scheduled_runs import ScheduledRuns
from ._wire import to_plain

CREATE_SCHEDULER_JOB = "CreateSchedulerJob"
CREATE_SCHEDULER_TRIGGER = "CreateSchedulerTrigger"
ADD_SCHEDULER_JOB_TO_TRIGGER = "AddSchedulerJobToSchedulerTrigger"
REMOVE_SCHEDULER_JOB_FROM_TRIGGER = "RemoveSchedulerJobFromSchedulerTrigger"
UPDATE_SCHEDULER_JOB = "UpdateSchedulerJob"
UPDATE_SCHEDULER_TRIGGER = "UpdateSchedulerTrigger"
CHANGE_SCHEDULER_STATE = "ChangeSchedulerState"
DELETE_SCHEDULER_JOB = "DeleteSchedulerJob"
DELETE_SCHEDULER_TRIGGER = "DeleteSchedulerTrigger"
SCHEDULER_APIS = frozenset(
    {
        CREATE_SCHEDULER_JOB,
        CREATE_SCHEDULER_TRIGGER,
        ADD_SCHEDULER_JOB_TO_TRIGGER,
        REMOVE_SCHEDULER_JOB_FROM_TRIGGER,
        UPDATE_SCHEDULER_JOB,
        UPDATE_SCHEDULER_TRIGGER,
        CHANGE_SCHEDULER_STATE,
        DELETE_SCHEDULER_JOB,
        DELETE_SCHEDULER_TRIGGER,
    }
)
_MESSAGES = {
    CREATE_SCHEDULER_JOB: "org.zstack.scheduler.APICreateSchedulerJobMsg",
    CREATE_SCHEDULER_TRIGGER: "org.zstack.scheduler.APICreateSchedulerTriggerMsg",
    UPDATE_SCHEDULER_JOB: "org.zstack.scheduler.APIUpdateSchedulerJobMsg",
    UPDATE_SCHEDULER_TRIGGER: "org.zstack.scheduler.APIUpdateSchedulerTriggerMsg",
    CHANGE_SCHEDULER_STATE: "org.zstack.scheduler.APIChangeSchedulerStateMsg",
}
_BODY_KEYS = {
    UPDATE_SCHEDULER_JOB: "updateSchedulerJob",
    UPDATE_SCHEDULER_TRIGGER: "updateSchedulerTrigger",
    CHANGE_SCHEDULER_STATE: "changeSchedulerState",
}
_JOB_TYPES = (
    "startVm",
    "stopVm",
    "rebootVm",
    "volumeSnapshot",
    "volumeSnapshotGroup",
    "volumeBackup",
    "rootVolumeBackup",
    "vmBackup",
    "databaseBackup",
    "localRaidSelfTest",
    "runAutoScalingGroup",
    "cancelIAM2ProjectLoginExpired",
    "takeIAM2ProjectLoginExpired",
)
_INT_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1
# SchedulerConstant.TIMESTAMP_MAX_VALUE: MySQL TIMESTAMP columns end in January 2038.
_TIMESTAMP_MAX = 2147454847
_CRON_FORMAT = 'cron task must follow format like this : "0 0/3 17-23 * * ?" '
_BANDWIDTHS = ("networkReadBandwidth", "networkWriteBandwidth", "volumeReadBandwidth", "volumeWriteBandwidth")
# BackupRetentionType's package is not in the open-source code.
_RETENTION_ENUM = "org.zstack.header.storage.backup.BackupRetentionType"


def _operr(details: str) -> ApiError:
    return ApiError("SYS.1006", details)


def _argerr(details: str) -> ApiError:
    return ApiError("SYS.1007", details)


def _new_uuid() -> str:
    return uuidlib.uuid4().hex


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _java_long(text: str) -> int:
    """`Long.valueOf`: an optional sign and digits, nothing else (not even spaces)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit() or not digits.isascii() or not -(2**63) <= int(text) <= _LONG_MAX:
        raise ApiError("SYS.1000", f'For input string: "{text}"')
    return int(text)


def _is_integer(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )


def _gson_string(name: str, value: Any) -> str:
    """Gson reads numbers and booleans into a `Map<String, String>` as their text; nothing else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise PlainTextError(400, f"[{name}] field is excepted a map of strings, but was [{json.dumps(value)}].")


# --------------------------------------------------------------------- vmBackup job parameters


def _retention_type(text: str) -> Literal["Count", "Days"]:
    if text == "Count":
        return "Count"
    if text == "Days":
        return "Days"
    raise ApiError("SYS.1000", f"No enum constant {_RETENTION_ENUM}.{text}")


def _bandwidth(text: str) -> int:
    value = _java_long(text)
    if value <= 0:
        raise _argerr("bandWidth must be a positive number")
    # Lower values are logged and raised to the minimum the backup agent accepts.
    return max(value, 1024)


def _merge_retention(
    policy: VmBackupRetention, parameters: Mapping[str, str], prefix: str
) -> VmBackupRetention:
    """The local policy reads `retentionType`…, the remote one `remoteRetentionType`…"""

    def key(name: str) -> str:
        return prefix + name[0].upper() + name[1:] if prefix else name

    merged = policy.model_copy()
    kind, value, full = key("retentionType"), key("retentionValue"), key("fullBackupRetentionValue")
    if kind in parameters:
        merged.retention_type = None if _blank(parameters[kind]) else _retention_type(parameters[kind])
    if value in parameters:
        merged.retention_value = 0 if _blank(parameters[value]) else _java_long(parameters[value])
    if full in parameters:
        merged.full_backup_retention_value = 0 if _blank(parameters[full]) else _java_long(parameters[full])
    return merged


def merge_vm_backup_parameters(
    current: VmBackupJobData, parameters: Mapping[str, str] | None, storage_exists: Callable[[str], bool]
) -> VmBackupJobData:
    """`CreateVmBackupJob.mergeFields`: on create and on update; only the keys given change."""
    if parameters is None:
        raise _operr("missing job parameters")
    data = current.model_copy(deep=True)
    if "fullBackupTriggerUuid" in parameters:
        value = parameters["fullBackupTriggerUuid"]
        data.full_backup_trigger_uuid = None if _blank(value) else value
    if "remoteBackupStorageUuid" in parameters:
        value = parameters["remoteBackupStorageUuid"]
        data.remote_backup_storage_uuid = None if _blank(value) else value
    if "backupStorageUuids" in parameters:
        # The server's `replace("\\s", "")` is literal, so spaces stay; StringUtils.split drops empty tokens.
        data.backup_storage_uuids = [u for u in parameters["backupStorageUuids"].split(",") if u]
    remote_type, remote_value = parameters.get("remoteRetentionType"), parameters.get("remoteRetentionValue")
    if _blank(remote_type) and not _blank(remote_value):
        raise _operr("missing 'remoteRetentionType' in job parameters")
    if _blank(remote_value) and not _blank(remote_type):
        raise _operr("missing 'remoteRetentionValue' in job parameters")
    data.retention = _merge_retention(data.retention, parameters, "")
    remote = _merge_retention(data.remote_retention or VmBackupRetention(), parameters, "remote")
    permanent = remote.retention_type is None or remote.retention_value == 0
    data.remote_retention = None if permanent or data.remote_backup_storage_uuid is None else remote
    for name in _BANDWIDTHS:
        if name in parameters:
            data.bandwidths[name] = None if _blank(parameters[name]) else _bandwidth(parameters[name])
    if data.retention.retention_type is None:
        raise _operr("missing 'retentionType' in job parameters")
    if data.retention.retention_value == 0:
        raise _operr("missing 'retentionValue' in job parameters")
    if data.backup_storage_uuids is None:
        raise _operr("missing 'backupStorageUuids' in job parameters")
    if not data.backup_storage_uuids:
        raise _operr("job parameter 'backupStorageUuids' is empty")
    for storage_uuid in data.backup_storage_uuids:
        if not storage_exists(storage_uuid):
            raise _operr(f"unexpected backup storage uuid: {storage_uuid}")
    return data


# --------------------------------------------------------------------- inventories and what is queryable


def scheduler_job_inventory(job: SchedulerJob, refs: Sequence[SchedulerJobTriggerRef]) -> dict[str, Any]:
    """SchedulerJobInventory; `jobData` and `jobClassName` are @APINoSee, so the parameters never show."""
    triggers = [r.scheduler_trigger_uuid for r in refs if r.scheduler_job_uuid == job.uuid]
    return {
        "uuid": job.uuid,
        "targetResourceUuid": job.target_resource_uuid,
        "name": job.name,
        "description": job.description,
        "state": job.state,
        "createDate": _date(job.create_date),
        "lastOpDate": _date(job.last_op_date),
        "triggersUuid": triggers,
    }


def scheduler_trigger_inventory(
    trigger: SchedulerTrigger, refs: Sequence[SchedulerJobTriggerRef]
) -> dict[str, Any]:
    """SchedulerTriggerInventory: it has no `cron` field, although the trigger stores one."""
    jobs = [r.scheduler_job_uuid for r in refs if r.scheduler_trigger_uuid == trigger.uuid]
    return {
        "uuid": trigger.uuid,
        "name": trigger.name,
        "description": trigger.description,
        "schedulerType": trigger.scheduler_type,
        "schedulerInterval": trigger.scheduler_interval,
        "repeatCount": trigger.repeat_count,
        "startTime": _date(trigger.start_time),
        "stopTime": _date(trigger.stop_time),
        "createDate": _date(trigger.create_date),
        "lastOpDate": _date(trigger.last_op_date),
        "jobsUuid": jobs,
    }


def _ref_inventory(ref: SchedulerJobTriggerRef) -> dict[str, Any]:
    return {
        "uuid": ref.uuid,
        "schedulerJobUuid": ref.scheduler_job_uuid,
        "schedulerTriggerUuid": ref.scheduler_trigger_uuid,
        "createDate": _date(ref.create_date),
        "lastOpDate": _date(ref.last_op_date),
    }


_JOB_FIELDS = frozenset(
    {"uuid", "targetResourceUuid", "name", "description", "state", "createDate", "lastOpDate", "triggersUuid"}
)
_TRIGGER_FIELDS = frozenset(
    {
        "uuid",
        "name",
        "description",
        "schedulerType",
        "schedulerInterval",
        "repeatCount",
        "startTime",
        "stopTime",
        "createDate",
        "lastOpDate",
        "jobsUuid",
    }
)
SCHEDULER_JOB_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.scheduler.SchedulerJobInventory",
    fields=_JOB_FIELDS,
    # @ExpandedQueryAlias(alias = "trigger", expandedField = "schedulerJobSchedulerTriggerRef.trigger")
    nested={"trigger": Nested("__triggers__", _TRIGGER_FIELDS)},
)
SCHEDULER_TRIGGER_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.scheduler.SchedulerTriggerInventory",
    fields=_TRIGGER_FIELDS,
    nested={"job": Nested("__jobs__", _JOB_FIELDS)},
)


# --------------------------------------------------------------------- the scheduler


class Schedules:
    """Scheduler jobs, triggers and their runs, over the simulator's data."""

    def __init__(self, data: StateData, runs: ScheduledRuns) -> None:
        self._data = data
        self._runs = runs

    # ----------------------------------------------------------------- lookups

    def job(self, uuid: str) -> SchedulerJob | None:
        return next((j for j in self._data.scheduler_jobs if j.uuid == uuid), None)

    def trigger(self, uuid: str) -> SchedulerTrigger | None:
        return next((t for t in self._data.scheduler_triggers if t.uuid == uuid), None)

    def _refs(self, *, job: str | None = None, trigger: str | None = None) -> list[SchedulerJobTriggerRef]:
        return [
            r
            for r in self._data.scheduler_job_trigger_refs
            if (job is None or r.scheduler_job_uuid == job)
            and (trigger is None or r.scheduler_trigger_uuid == trigger)
        ]

    def _storage_exists(self, uuid: str) -> bool:
        return any(b.uuid == uuid for b in self._data.backup_storages)

    def _existing_job(self, field: str, uuid: str) -> SchedulerJob:
        job = self.job(uuid)
        if job is None:
            raise not_found_error(field, uuid, "SchedulerJobVO")
        return job

    def _existing_trigger(self, field: str, uuid: str) -> SchedulerTrigger:
        trigger = self.trigger(uuid)
        if trigger is None:
            raise not_found_error(field, uuid, "SchedulerTriggerVO")
        return trigger

    # ----------------------------------------------------------------- queries

    def job_inventories(self) -> list[dict[str, Any]]:
        refs = self._data.scheduler_job_trigger_refs
        triggers = {t.uuid: scheduler_trigger_inventory(t, refs) for t in self._data.scheduler_triggers}
        listed = []
        for job in self._data.scheduler_jobs:
            inventory = scheduler_job_inventory(job, refs)
            inventory["__triggers__"] = [triggers[u] for u in inventory["triggersUuid"] if u in triggers]
            listed.append(inventory)
        return listed

    def trigger_inventories(self) -> list[dict[str, Any]]:
        refs = self._data.scheduler_job_trigger_refs
        jobs = {j.uuid: scheduler_job_inventory(j, refs) for j in self._data.scheduler_jobs}
        listed = []
        for trigger in self._data.scheduler_triggers:
            inventory = scheduler_trigger_inventory(trigger, refs)
            inventory["__jobs__"] = [jobs[u] for u in inventory["jobsUuid"] if u in jobs]
            listed.append(inventory)
        return listed

    def inspect_jobs(self) -> list[dict[str, Any]]:
        refs = self._data.scheduler_job_trigger_refs
        return [
            to_plain(scheduler_job_inventory(j, refs))
            | {"type": j.type, "jobData": j.job_data.model_dump(by_alias=True)}
            for j in self._data.scheduler_jobs
        ]

    def inspect_triggers(self) -> list[dict[str, Any]]:
        refs = self._data.scheduler_job_trigger_refs
        return [
            to_plain(scheduler_trigger_inventory(t, refs))
            | {"cron": t.cron, "startTimeSeconds": t.start_time, "stopTimeSeconds": t.stop_time}
            for t in self._data.scheduler_triggers
        ]

    # ----------------------------------------------------------------- the API: REST layer

    def prepare(
        self,
        api: str,
        path_params: Mapping[str, str | None],
        body: Any,
        query: Sequence[tuple[str, str]],
        uri: str,
    ) -> dict[str, Any]:
        """REST-layer checks (400 plain text) and the message's fields, path variables winning."""
        if api in (ADD_SCHEDULER_JOB_TO_TRIGGER, REMOVE_SCHEDULER_JOB_FROM_TRIGGER):
            path = {"schedulerJobUuid": path_params["uuid"], "schedulerTriggerUuid": path_params["trigger"]}
        else:
            path = {"uuid": path_params["uuid"]} if path_params.get("uuid") else {}
        if api in (DELETE_SCHEDULER_JOB, DELETE_SCHEDULER_TRIGGER, REMOVE_SCHEDULER_JOB_FROM_TRIGGER):
            options = dict(query)
            return {"params": {"deleteMode": options.get("deleteMode")} | path}
        if api in _BODY_KEYS:
            arguments = body.get(_BODY_KEYS[api]) if isinstance(body, dict) else None
        else:
            arguments = body.get("params") if isinstance(body, dict) else None
            if arguments is None and api == ADD_SCHEDULER_JOB_TO_TRIGGER:
                arguments = {}
        if not isinstance(arguments, dict):
            raise PlainTextError(400, f"the body doesn't contain action mapping to the URL[{uri}]")
        params = dict(arguments)
        for name in ("schedulerInterval", "repeatCount", "startTime", "stopTime"):
            value = params.get(name)
            if value is not None and not _is_integer(value):
                raise PlainTextError(400, f"[{name}] field is excepted an int or long, but was [{value}].")
            if value is not None:
                params[name] = int(value)
        trigger_now = params.get("triggerNow")
        if trigger_now is not None and not isinstance(trigger_now, bool):
            raise PlainTextError(400, f"[triggerNow] field is excepted a boolean, but was [{trigger_now}].")
        parameters = params.get("parameters")
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise PlainTextError(
                    400,
                    f"[parameters] field is excepted a map of strings, but was [{json.dumps(parameters)}].",
                )
            params["parameters"] = {str(k): _gson_string("parameters", v) for k, v in parameters.items()}
        # URL path variables are written onto the message after the body, so they win.
        return {"params": params | path}

    # ----------------------------------------------------------------- the API: validation when accepted

    def start(self, job: Job, now: float) -> None:
        params: dict[str, Any] = job.params["params"]
        if job.api == CREATE_SCHEDULER_JOB:
            job.params["jobData"] = self._check_create_job(params).model_dump(by_alias=True)
        elif job.api == CREATE_SCHEDULER_TRIGGER:
            self._check_create_trigger(params, now)
        elif job.api == ADD_SCHEDULER_JOB_TO_TRIGGER:
            self._check_add(params, now)
        elif job.api == REMOVE_SCHEDULER_JOB_FROM_TRIGGER:
            self._existing_job("schedulerJobUuid", str(params["schedulerJobUuid"]))
            self._existing_trigger("schedulerTriggerUuid", str(params["schedulerTriggerUuid"]))
        elif job.api == UPDATE_SCHEDULER_JOB:
            data = self._check_update_job(params)
            job.params["jobData"] = data.model_dump(by_alias=True) if data is not None else None
        elif job.api == UPDATE_SCHEDULER_TRIGGER:
            self._check_update_trigger(params, now)
        elif job.api == CHANGE_SCHEDULER_STATE:
            self._check_change_state(params)
        else:
            mode = params.get("deleteMode")
            if mode is not None and mode not in ("Permissive", "Enforcing"):
                raise invalid_choice("deleteMode", "APIDeleteMessage", ("Permissive", "Enforcing"), mode)

    @staticmethod
    def _check_strings(params: Mapping[str, Any], message: str, *, name_required: bool) -> None:
        name = params.get("name")
        if name_required and name is None:
            raise mandatory("name", message)
        if name is not None and not name_required and not str(name).strip():
            # INFERRED text: @APIParam(emptyString = false) on the update messages' name.
            raise _argerr(f"field[name] of message[{message}] cannot be an empty string")
        for field, limit in (("name", 255), ("description", 2048)):
            value = params.get(field)
            if value is not None and len(str(value)) > limit:
                raise too_long(field, message, limit, len(str(value)))

    def _check_create_job(self, params: Mapping[str, Any]) -> VmBackupJobData:
        message = _MESSAGES[CREATE_SCHEDULER_JOB]
        check_resource_uuid(params.get("resourceUuid"))
        self._check_strings(params, message, name_required=True)
        for field in ("targetResourceUuid", "type"):
            if params.get(field) is None:
                raise mandatory(field, message)
        kind = params["type"]
        if kind not in _JOB_TYPES:
            raise invalid_choice("type", message, _JOB_TYPES, kind)
        if kind != "vmBackup":
            # What SchedulerApiInterceptor answers when no module provides the type; here, only vmBackup.
            raise _argerr(f"No SchedulerJobFactory of type[{kind}] found")
        return merge_vm_backup_parameters(VmBackupJobData(), params.get("parameters"), self._storage_exists)

    @staticmethod
    def _check_numbers(params: Mapping[str, Any], message: str) -> None:
        for field, low in (("schedulerInterval", 1), ("repeatCount", 0)):
            value = params.get(field)
            if value is not None and not low <= value <= _INT_MAX:
                raise out_of_range(field, message, low, _INT_MAX, value)
        kind = params.get("schedulerType")
        if kind is not None and kind not in ("simple", "cron"):
            raise invalid_choice("schedulerType", message, ("simple", "cron"), kind)

    @staticmethod
    def _check_stop_time(stop: int, start: int | None, now: float) -> None:
        """`SchedulerApiInterceptor.validateStopAndStartTime` (Unix seconds; 0 means none)."""
        if stop == 0:
            return
        if stop < 0:
            raise _argerr("duration time out of range")
        if stop > _TIMESTAMP_MAX:
            raise _argerr("stopTime out of mysql timestamp range")
        if stop < int(now):
            raise _argerr("stopTime has been passed")
        if start is not None and start > stop:
            raise _argerr(f"stop time[{stop}] cannot be earlier than start time[{start}]")

    @staticmethod
    def _check_start_time(start: int) -> None:
        if start < 0:
            raise _argerr("startTime must be positive integer or 0")
        if start > _TIMESTAMP_MAX:
            raise _argerr("startTime out of range")

    @staticmethod
    def _check_cron_text(cron: Any) -> None:
        if cron is None or cron == "":
            raise _argerr("cron must be set when use cron scheduler")
        if "?" not in cron or len(cron.split(" ")) != 6:
            raise _argerr(_CRON_FORMAT)

    def _check_create_trigger(self, params: dict[str, Any], now: float) -> None:
        message = _MESSAGES[CREATE_SCHEDULER_TRIGGER]
        check_resource_uuid(params.get("resourceUuid"))
        self._check_strings(params, message, name_required=True)
        if params.get("schedulerType") is None:
            raise mandatory("schedulerType", message)
        self._check_numbers(params, message)
        params.setdefault("repeatCount", 0)
        if params["repeatCount"] is None:
            params["repeatCount"] = 0
        start, stop = params.get("startTime"), params.get("stopTime")
        interval, repeat = params.get("schedulerInterval"), params["repeatCount"]
        if params["schedulerType"] == "simple":
            if start is None:
                raise _argerr("startTime must be set for simple scheduler")
            if interval is None and repeat != 1:
                raise _argerr("schedulerInterval must be set for simple scheduler")
            if interval is not None and repeat != 0:
                self._check_stop_time(interval * repeat + start, start, now)
            if repeat != 0 and stop is not None:
                raise _argerr("repeatCount and stopTime are mutually exclusive")
        else:
            cron = params.get("cron")
            if cron is None or cron == "":
                raise _argerr("cron must be set when use cron scheduler")
            try:
                parse_quartz_cron(str(cron))
            except CronError as exc:
                raise _argerr(str(exc) if exc.unsupported else "invalid cron expression") from None
            self._check_cron_text(cron)
            if interval is not None or repeat != 0:
                raise _argerr("cron scheduler only need to specify cron task")
        if stop is not None:
            self._check_stop_time(stop, start, now)
        if start is not None:
            self._check_start_time(start)

    def _check_add(self, params: Mapping[str, Any], now: float) -> None:
        job = self._existing_job("schedulerJobUuid", str(params["schedulerJobUuid"]))
        trigger = self._existing_trigger("schedulerTriggerUuid", str(params["schedulerTriggerUuid"]))
        if self._refs(job=job.uuid, trigger=trigger.uuid):
            raise _argerr(f"Can not add job[uuid:{job.uuid}] twice to the same trigger[uuid:{trigger.uuid}]")
        if trigger.stop_time is not None and trigger.stop_time < now:
            raise _argerr(f"Can not add job[uuid:{job.uuid}] to a out of time trigger[uuid:{trigger.uuid}]")

    def _check_update_job(self, params: Mapping[str, Any]) -> VmBackupJobData | None:
        job = self._existing_job("uuid", str(params["uuid"]))
        self._check_strings(params, _MESSAGES[UPDATE_SCHEDULER_JOB], name_required=False)
        parameters = params.get("parameters")
        if not parameters:
            return None
        return merge_vm_backup_parameters(job.job_data, parameters, self._storage_exists)

    def _check_update_trigger(self, params: dict[str, Any], now: float) -> None:
        """`SchedulerApiInterceptor.validate(APIUpdateSchedulerTriggerMsg)`, which fills in stored values."""
        message = _MESSAGES[UPDATE_SCHEDULER_TRIGGER]
        trigger = self._existing_trigger("uuid", str(params["uuid"]))
        self._check_strings(params, message, name_required=False)
        self._check_numbers(params, message)
        kind = params.get("schedulerType") or trigger.scheduler_type
        if params.get("startTime") is None and trigger.start_time is None:
            # `vo.getStartTime().getTime()` on a trigger without a start time.
            raise ApiError("SYS.1000", "java.lang.NullPointerException")
        start = params["startTime"] if params.get("startTime") is not None else int(trigger.start_time or 0)
        stop = params.get("stopTime")
        if kind == "simple":
            interval = params.get("schedulerInterval")
            interval = interval if interval is not None else trigger.scheduler_interval
            repeat = params.get("repeatCount")
            repeat = repeat if repeat is not None else (trigger.repeat_count or 0)
            params.update(schedulerInterval=interval, startTime=start, repeatCount=repeat)
            self._check_start_time(start)
            if interval is None and repeat not in (0, 1):
                raise _argerr("interval must be set when use simple scheduler when repeat more than once")
            if interval is not None and repeat != 0:
                self._check_stop_time(interval * repeat + start, start, now)
            if repeat != 0 and stop is not None:
                raise _argerr("repeatCount and stopTime are mutually exclusive")
        else:
            # No CronExpression check here: an invalid expression is stored and then never fires.
            self._check_cron_text(params.get("cron"))
            if params.get("schedulerInterval") is not None or params.get("repeatCount") is not None:
                raise _argerr("cron scheduler only need to specify cron task")
        if stop is not None:
            self._check_stop_time(stop, start, now)

    def _check_change_state(self, params: Mapping[str, Any]) -> None:
        message = _MESSAGES[CHANGE_SCHEDULER_STATE]
        job = self._existing_job("uuid", str(params["uuid"]))
        event = params.get("stateEvent")
        if event is None:
            raise mandatory("stateEvent", message)
        if event not in ("enable", "disable"):
            raise invalid_choice("stateEvent", message, ("enable", "disable"), event)
        volume = next((v for v in self._data.volumes if v.uuid == job.target_resource_uuid), None)
        if volume is not None and volume.status == "Deleted":
            raise _operr(f"volume[uuid:{volume.uuid}] is deleted, state change is not allowed")

    # ----------------------------------------------------------------- the API: effects when the job ends

    def finish(self, job: Job, now: float) -> dict[str, Any]:
        params: dict[str, Any] = job.params["params"]
        if job.inject_error is not None:
            error = job.inject_error
            raise ApiError(error["code"], error.get("details"), error.get("description"))
        refs = self._data.scheduler_job_trigger_refs
        if job.api in (CREATE_SCHEDULER_JOB, CREATE_SCHEDULER_TRIGGER):
            self._check_unused(params.get("resourceUuid"))
        if job.api == CREATE_SCHEDULER_JOB:
            created = SchedulerJob(
                uuid=params.get("resourceUuid") or _new_uuid(),
                name=params["name"],
                description=params.get("description"),
                target_resource_uuid=params["targetResourceUuid"],
                type=params["type"],
                job_data=VmBackupJobData.model_validate(job.params["jobData"]),
                create_date=now,
                last_op_date=now,
            )
            self._data.scheduler_jobs.append(created)
            return {"inventory": scheduler_job_inventory(created, refs)}
        if job.api == CREATE_SCHEDULER_TRIGGER:
            trigger = self._new_trigger(params, now)
            self._data.scheduler_triggers.append(trigger)
            return {"inventory": scheduler_trigger_inventory(trigger, refs)}
        if job.api == ADD_SCHEDULER_JOB_TO_TRIGGER:
            return {"inventory": _ref_inventory(self._add(params, now))}
        if job.api == REMOVE_SCHEDULER_JOB_FROM_TRIGGER:
            self._data.scheduler_job_trigger_refs = [
                r
                for r in refs
                if (r.scheduler_job_uuid, r.scheduler_trigger_uuid)
                != (params["schedulerJobUuid"], params["schedulerTriggerUuid"])
            ]
            return {}
        if job.api == UPDATE_SCHEDULER_JOB:
            return {
                "inventory": scheduler_job_inventory(
                    self._update_job(params, job.params["jobData"], now), refs
                )
            }
        if job.api == UPDATE_SCHEDULER_TRIGGER:
            return {"inventory": scheduler_trigger_inventory(self._update_trigger(params, now), refs)}
        if job.api == CHANGE_SCHEDULER_STATE:
            self._change_state(params, now)
            # The event's inventory is only set for a job no management node runs; otherwise it stays empty.
            return {}
        if job.api == DELETE_SCHEDULER_JOB:
            target = params["uuid"]
            self._data.scheduler_job_trigger_refs = [r for r in refs if r.scheduler_job_uuid != target]
            self._data.scheduler_jobs = [j for j in self._data.scheduler_jobs if j.uuid != target]
            self._data.drop_tags(target)
            return {}
        target = params["uuid"]
        self._data.scheduler_job_trigger_refs = [r for r in refs if r.scheduler_trigger_uuid != target]
        self._data.scheduler_triggers = [t for t in self._data.scheduler_triggers if t.uuid != target]
        self._data.drop_tags(target)
        return {}

    def _check_unused(self, resource_uuid: str | None) -> None:
        """A resourceUuid is the new row's primary key, so one already taken makes the insert fail."""
        taken = {j.uuid for j in self._data.scheduler_jobs} | {t.uuid for t in self._data.scheduler_triggers}
        if resource_uuid in taken:
            # INFERRED: the database's duplicate-key error, reported as an internal error.
            raise ApiError("SYS.1000", f"Duplicate entry '{resource_uuid}' for key 'PRIMARY'")

    @staticmethod
    def _new_trigger(params: Mapping[str, Any], now: float) -> SchedulerTrigger:
        start, stop = params.get("startTime"), params.get("stopTime")
        interval, repeat = params.get("schedulerInterval"), params["repeatCount"]
        stop_time: float | None = None
        if params["schedulerType"] == "simple":
            assert start is not None
            if start != 0 and repeat != 0:
                stop_time = float(start if repeat == 1 else start + (repeat - 1) * interval)
        if stop is not None:
            stop_time = float(stop)
        return SchedulerTrigger(
            uuid=params.get("resourceUuid") or _new_uuid(),
            name=params["name"],
            description=params.get("description"),
            scheduler_type=params["schedulerType"],
            scheduler_interval=interval,
            repeat_count=repeat,
            start_time=None if start is None else float(start),
            stop_time=stop_time,
            cron=params.get("cron"),
            create_date=now,
            last_op_date=now,
        )

    def _add(self, params: Mapping[str, Any], now: float) -> SchedulerJobTriggerRef:
        job = self._existing_job("schedulerJobUuid", str(params["schedulerJobUuid"]))
        trigger = self._existing_trigger("schedulerTriggerUuid", str(params["schedulerTriggerUuid"]))
        ref = SchedulerJobTriggerRef(
            uuid=_new_uuid(),
            scheduler_job_uuid=job.uuid,
            scheduler_trigger_uuid=trigger.uuid,
            create_date=now,
            last_op_date=now,
        )
        self._data.scheduler_job_trigger_refs.append(ref)
        if job.state == "Enabled":
            self._runs.schedule(ref, trigger, now)
            # runScheduler ignores triggerNow for a simple trigger without a start time.
            if params.get("triggerNow") and not (
                trigger.scheduler_type == "simple" and trigger.start_time is None
            ):
                self._runs.run(job, trigger, now)
        return ref

    def _update_job(
        self, params: Mapping[str, Any], job_data: dict[str, Any] | None, now: float
    ) -> SchedulerJob:
        job = self._existing_job("uuid", str(params["uuid"]))
        if params.get("name") is not None:
            job.name = params["name"]
        if params.get("description") is not None:
            job.description = params["description"]
        if job_data is not None:
            job.job_data = VmBackupJobData.model_validate(job_data)
            if job.state == "Enabled":
                for ref in self._refs(job=job.uuid):
                    trigger = self.trigger(ref.scheduler_trigger_uuid)
                    if trigger is not None:
                        self._runs.schedule(ref, trigger, now)
        job.last_op_date = now
        return job

    def _update_trigger(self, params: Mapping[str, Any], now: float) -> SchedulerTrigger:
        """`SchedulerFacadeImpl.handle(APIUpdateSchedulerTriggerMsg)`, field by field."""
        trigger = self._existing_trigger("uuid", str(params["uuid"]))
        timing_changed = False
        if params.get("name") is not None:
            trigger.name = params["name"]
        if params.get("description") is not None:
            trigger.description = params["description"]
        if params.get("schedulerType") is not None:
            trigger.scheduler_type = params["schedulerType"]
        start, stop, repeat = params.get("startTime"), params.get("stopTime"), params.get("repeatCount")
        if trigger.scheduler_type == "simple":
            interval = params.get("schedulerInterval")
            if start is not None:
                trigger.start_time = float(start)
                timing_changed = True
            if start is not None and start != 0 and repeat is not None and repeat != 0:
                trigger.stop_time = float(start if repeat == 1 else start + (repeat - 1) * (interval or 0))
            if repeat is not None and repeat != trigger.repeat_count:
                trigger.repeat_count, timing_changed = repeat, True
            if interval is not None and interval != trigger.scheduler_interval:
                trigger.scheduler_interval, timing_changed = interval, True
        else:
            if params.get("cron") is not None:
                trigger.cron, timing_changed = params["cron"], True
            if start is not None:
                trigger.start_time, timing_changed = float(start), True
        if stop is not None:
            trigger.stop_time = float(stop) if stop > 0 else None
            timing_changed = True
        trigger.last_op_date = now
        if timing_changed:
            for ref in self._refs(trigger=trigger.uuid):
                job = self.job(ref.scheduler_job_uuid)
                if job is not None and job.state == "Enabled":
                    self._runs.schedule(ref, trigger, now)
        return trigger

    def _change_state(self, params: Mapping[str, Any], now: float) -> None:
        job = self._existing_job("uuid", str(params["uuid"]))
        enable = params["stateEvent"] == "enable"
        job.state, job.last_op_date = ("Enabled" if enable else "Disabled"), now
        for ref in self._refs(job=job.uuid):
            trigger = self.trigger(ref.scheduler_trigger_uuid)
            if enable and trigger is not None:
                self._runs.schedule(ref, trigger, now)
            else:
                self._runs.unschedule(ref)
