"""The simulated management node: sessions, async jobs and the VM backup API family."""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import uuid as uuidlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from . import _vms
from ._auth import access_key_signature, check_request_time, sha512_hex, signatures_match
from ._backup_chain import BackupChains, chain_name, image_path
from ._clock import Clock
from ._copies import SYNC_VM_BACKUP, SYNC_VM_BACKUP_TIMEOUT_MS, Copies
from ._errors import ApiError, PlainTextError, check_resource_uuid, create_params, error_code, not_found
from ._faults import Faults
from ._infrastructure import (
    INSTANCE_OFFERING_SCHEMA,
    L3_NETWORK_SCHEMA,
    PRIMARY_STORAGE_SCHEMA,
    instance_offering_inventory,
    l3_network_inventory,
    primary_storage_inventory,
)
from ._inventory import (
    BACKUP_STORAGE_SCHEMA,
    USER_TAG_SCHEMA,
    VM_INSTANCE_SCHEMA,
    VOLUME_BACKUP_SCHEMA,
    VOLUME_SCHEMA,
    backup_storage_inventory,
    user_tag_inventory,
    vm_inventory,
    volume_backup_inventory,
    volume_inventory,
)
from ._model import (
    BackupStorage,
    BackupStorageRef,
    Job,
    StateData,
    UserTag,
    VmInstance,
    Volume,
    VolumeBackup,
    dump_state,
    load_seed_file,
    parse_state,
)
from ._query import (
    Condition,
    QuerySpec,
    ResourceSchema,
    json_schema,
    normalize_collection_parameters,
    parse_boolean,
    parse_query,
    run_query,
)
from ._scheduled_runs import MANUAL_CREATE_TAG_PREFIX, BackupHooks, ScheduledRuns
from ._scheduler import SCHEDULER_APIS, SCHEDULER_JOB_SCHEMA, SCHEDULER_TRIGGER_SCHEMA, Schedules
from ._settings import Settings
from ._wire import java_sql_timestamp, to_plain
from .seed import default_seed, with_default_infrastructure

CREATE_VM_BACKUP = "CreateVmBackup"
DELETE_VM_BACKUP = "DeleteVmBackup"
DELETE_VOLUME_BACKUP = "DeleteVolumeBackup"
CREATE_USER_TAG = "CreateUserTag"
DELETE_TAG = "DeleteTag"
CREATE_VM_BACKUP_TIMEOUT_MS = 36 * 3600 * 1000
DEFAULT_API_TIMEOUT_MS = 30 * 60 * 1000
Resource = Literal[
    "volume-backups",
    "volumes",
    "vm-instances",
    "backup-storage",
    "user-tags",
    "l3-networks",
    "instance-offerings",
    "primary-storage",
    "scheduler-jobs",
    "scheduler-triggers",
]
_API_TIMEOUTS_MS = {CREATE_VM_BACKUP: CREATE_VM_BACKUP_TIMEOUT_MS, SYNC_VM_BACKUP: SYNC_VM_BACKUP_TIMEOUT_MS}
# Resource types a user tag may name here, with how to find one by uuid.
# TagApiInterceptor accepts any entity TagManagerImpl knows (`getManagedEntityNames`); scheduler jobs and
# triggers are entities like the others (INFERRED: the list is built from the entity classes at start-up).
_TAGGABLE = (
    "VolumeBackupVO",
    "VmInstanceVO",
    "VolumeVO",
    "BackupStorageVO",
    "SchedulerJobVO",
    "SchedulerTriggerVO",
)

_BANDWIDTHS = ("volumeReadBandwidth", "volumeWriteBandwidth", "networkReadBandwidth", "networkWriteBandwidth")
_CREATE_MSG = "org.zstack.header.storage.backup.APICreateVmBackupMsg"
_DELETE_MODES = ("Permissive", "Enforcing")
_BACKUP_PATCHABLE = frozenset(
    {
        "name",
        "description",
        "state",
        "status",
        "size",
        "mode",
        "metadata",
        "groupUuid",
        "type",
        "vmInstanceUuid",
    }
)
_STORAGE_PATCHABLE = frozenset({"name", "state", "status", "type", "availableCapacity", "totalCapacity"})


@dataclass(frozen=True)
class Credentials:
    """The seeded admin account and access key (test credentials of a local double)."""

    account_name: str | None
    account_password: str | None = field(repr=False)
    access_key_id: str | None
    access_key_secret: str | None = field(repr=False)


@dataclass(frozen=True)
class Caller:
    """Who sent a request. An OAuth session that is not valid is only reported when the API runs."""

    account_uuid: str | None
    session_uuid: str | None = field(default=None, repr=False)
    session_error: ApiError | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """A request as received: no headers, no bodies, session ids in paths redacted."""

    seq: int
    method: str
    path: str
    query: str
    api: str | None
    status: int | None
    """None when the connection was dropped without an answer."""
    job_uuid: str | None
    auth: str | None
    """"OAuth", "ZStack" (access key) or None."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Submission:
    job_uuid: str
    api_timeout_ms: int


@dataclass(frozen=True)
class PollAnswer:
    status: int
    body: dict[str, Any] | None = None
    text: str | None = None


@dataclass
class _Session:
    account_uuid: str
    created_at: float
    expires_at: float


def _new_uuid() -> str:
    return uuidlib.uuid4().hex


class Simulator:
    """State and behaviour of one simulated ZStack management node (thread-safe)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        seed: StateData | str | os.PathLike[str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock = clock or Clock()
        self.faults = Faults()
        self._lock = threading.RLock()
        self._sessions: dict[str, _Session] = {}
        self._requests: list[RecordedRequest] = []
        self._rng = random.Random(self.settings.shuffle_seed)
        self._state_file = Path(state_file) if state_file is not None else None
        if self._state_file is not None and self._state_file.exists():
            try:
                document = json.loads(self._state_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"cannot read state file {self._state_file}: {exc}") from None
            self._data = parse_state(with_default_infrastructure(document), source=str(self._state_file))
        elif isinstance(seed, StateData):
            self._data = parse_state(seed.model_dump(by_alias=True), source="the seed given to Simulator")
        elif seed is not None:
            self._data = load_seed_file(Path(seed), default_seed())
        else:
            self._data = default_seed()
        self._copies = Copies(self._data)
        self._runs = ScheduledRuns(
            self._data,
            BackupHooks(self._start_create, self._finish_create, self._delete_backup),
            self._copies,
            lambda: self.settings.job_seconds,
        )
        self._schedules = Schedules(self._data, self._runs)
        self._persist()

    # ----------------------------------------------------------------- persistence and lookups

    def _persist(self) -> None:
        if self._state_file is None:
            return
        directory = self._state_file.parent
        handle, temporary = tempfile.mkstemp(prefix=".zstack-state-", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(dump_state(self._data))
            os.replace(temporary, self._state_file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _vm(self, uuid: str) -> VmInstance | None:
        return next((vm for vm in self._data.vm_instances if vm.uuid == uuid), None)

    def _volume(self, uuid: str) -> Volume | None:
        return next((v for v in self._data.volumes if v.uuid == uuid), None)

    def _storage(self, uuid: str) -> BackupStorage | None:
        return next((b for b in self._data.backup_storages if b.uuid == uuid), None)

    def _backup(self, uuid: str) -> VolumeBackup | None:
        return next((b for b in self._data.volume_backups if b.uuid == uuid), None)

    def _job(self, uuid: str) -> Job | None:
        return next((j for j in self._data.jobs if j.uuid == uuid), None)

    # ----------------------------------------------------------------- sessions and authentication

    @property
    def credentials(self) -> Credentials:
        with self._lock:
            account = self._data.accounts[0] if self._data.accounts else None
            key = self._data.access_keys[0] if self._data.access_keys else None
            return Credentials(
                account_name=account.name if account else None,
                account_password=account.password if account else None,
                access_key_id=key.id if key else None,
                access_key_secret=key.secret if key else None,
            )

    def login(self, body: Any) -> dict[str, Any]:
        """LogInByAccount: `{"logInByAccount": {"accountName", "password": sha512hex}}` → SessionInventory."""
        if not isinstance(body, dict) or not isinstance(body.get("logInByAccount"), dict):
            raise PlainTextError(
                400, "the body doesn't contain action mapping to the URL[/v1/accounts/login]"
            )
        arguments: dict[str, Any] = body["logInByAccount"]
        for name in ("accountName", "password"):
            if arguments.get(name) is None:
                raise ApiError(
                    "SYS.1007",
                    f"field[{name}] of message[org.zstack.header.identity.APILogInByAccountMsg] "
                    "is mandatory, can not be null",
                )
        with self._lock:
            now = self.clock.now()
            account = next((a for a in self._data.accounts if a.name == arguments["accountName"]), None)
            password = arguments["password"]
            if (
                account is None
                or not isinstance(password, str)
                or not signatures_match(sha512_hex(account.password), password)
            ):
                raise ApiError("ID.1000", "wrong account name or password")
            self._drop_expired_sessions(now)
            active = sum(1 for s in self._sessions.values() if s.account_uuid == account.uuid)
            if active >= self.settings.max_sessions:
                raise ApiError("ID.1006", "Login sessions hit limit of max allowed concurrent login sessions")
            session_uuid = _new_uuid()
            session = _Session(account.uuid, now, now + self.settings.session_timeout)
            self._sessions[session_uuid] = session
            return {
                "inventory": {
                    "uuid": session_uuid,
                    "accountUuid": account.uuid,
                    "userUuid": account.uuid,
                    "expiredDate": datetime.fromtimestamp(session.expires_at),
                    "createDate": datetime.fromtimestamp(session.created_at),
                }
            }

    def logout(self, session_uuid: str) -> None:
        with self._lock:
            self._sessions.pop(session_uuid, None)

    def session_is_valid(self, session_uuid: str) -> bool:
        """ValidateSession: no renewal."""
        with self._lock:
            session = self._sessions.get(session_uuid)
            return session is not None and session.expires_at > self.clock.now()

    def _drop_expired_sessions(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]

    def authenticate(self, authorization: str | None, date: str | None, method: str, uri: str) -> Caller:
        """Check the Authorization header of an API call; `uri` is the decoded path from `/v1`.

        Structural and access-key failures raise PlainTextError (400/403). An unknown or expired OAuth
        session yields a Caller carrying ID.1001, raised by the API when it runs.
        """
        if authorization is None:
            raise PlainTextError(400, "missing header 'Authorization'")
        if authorization.startswith("OAuth"):
            return self._session_caller(authorization[len("OAuth") :].strip())
        if not authorization.startswith("ZStack"):
            raise PlainTextError(400, "Authorization type must be 'OAuth'")
        credential = authorization[len("ZStack") :].strip()
        if ":" not in credential:
            raise PlainTextError(400, "accessKey format is 'ZStack AccessKeyId:Signature'")
        key_id, _, signature = credential.partition(":")
        if not key_id or not signature:
            raise PlainTextError(400, "Invalid authKey format")
        check_request_time(date, self.clock.local_now())
        assert date is not None
        with self._lock:
            key = next((k for k in self._data.access_keys if k.id == key_id and k.state == "Enabled"), None)
            if key is None:
                raise PlainTextError(403, f"access key id: {key_id} does not existed or disabled")
            expected = access_key_signature(key.secret, method, date, uri)
            if not signatures_match(expected, signature):
                raise PlainTextError(403, "wrong accessKey signature")
            return Caller(account_uuid=key.account_uuid)

    def _session_caller(self, session_uuid: str) -> Caller:
        with self._lock:
            now = self.clock.now()
            session = self._sessions.get(session_uuid)
            if session is None or session.expires_at <= now:
                self._sessions.pop(session_uuid, None)
                details = "Session expired" if session is not None else "Session not found or already expired"
                return Caller(account_uuid=None, session_error=ApiError("ID.1001", details))
            # Sliding expiry: every authenticated API call renews the session.
            session.expires_at = now + self.settings.session_timeout
            return Caller(account_uuid=session.account_uuid, session_uuid=session_uuid)

    # ----------------------------------------------------------------- async jobs

    def submit(
        self,
        api: str,
        *,
        method: str,
        path: str,
        target: str,
        caller: Caller,
        body: Any = None,
        query: Sequence[tuple[str, str]] = (),
        job_uuid: str | None = None,
        api_timeout: str | None = None,
        path_params: Mapping[str, str | None] | None = None,
    ) -> Submission:
        """Accept an async API call (the 202). Validation failures surface later, on the poll."""
        with self._lock:
            now = self.clock.now()
            self._runs.catch_up(now)
            self._expire_job_records(now)
            if job_uuid is not None:
                if len(job_uuid) != 32:
                    raise PlainTextError(
                        400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped"
                    )
                if self._job(job_uuid) is not None:
                    raise PlainTextError(400, f"Duplicate job uuid[{job_uuid}]")
            params = self._prepare(api, target, body, query, path_params or {"uuid": target or None}, path)
            duration = self.faults.take("job_duration", method, path)
            job = Job(
                uuid=job_uuid or _new_uuid(),
                api=api,
                method=method,
                path=path,
                created_at=now,
                complete_after_polls=duration.polls if duration else self.settings.job_polls,
                complete_after_seconds=duration.seconds if duration else self.settings.job_seconds,
                params=params,
            )
            failure = self.faults.take("fail_job", method, path)
            if failure is not None:
                job.inject_error = error_code(
                    failure.code or "SYS.1006", failure.details, failure.description
                )
            job.expire_record = self.faults.take("expire_job_record", method, path) is not None
            try:
                if caller.session_error is not None:
                    raise caller.session_error
                self._start(job)
            except ApiError as exc:
                job.state, job.done_at, job.error = "done", now, exc.error
            self._data.jobs.append(job)
            if caller.session_uuid is not None and self.faults.take("expire_session", method, path):
                self._sessions.pop(caller.session_uuid, None)
            self._persist()
        timeout = _API_TIMEOUTS_MS.get(api) or _vms.API_TIMEOUTS_MS.get(api, DEFAULT_API_TIMEOUT_MS)
        if api_timeout is not None and api_timeout.strip().isdigit():
            timeout = int(api_timeout) * 1000
        return Submission(job.uuid, timeout)

    def poll(self, job_uuid: str) -> PollAnswer:
        """`GET /api-jobs/{uuid}`: 202 {} while running, 200 result, 503 error, 404 unknown or expired."""
        expired = PollAnswer(404, text="the job has been expired")
        with self._lock:
            now = self.clock.now()
            self._runs.catch_up(now)
            self._expire_job_records(now)
            job = self._job(job_uuid)
            if job is None:
                return expired
            if job.state == "processing":
                job.polls += 1
                if self._due(job, now):
                    self._finish(job, now)
                else:
                    _vms.progress(self._data, job, now)
            if job.state == "processing":
                self._persist()
                return PollAnswer(202, body={})
            if job.expire_record:
                self._data.jobs.remove(job)
                self._persist()
                return expired
            self._persist()
            if job.error is not None:
                return PollAnswer(503, body={"error": job.error})
            return PollAnswer(200, body=dict(job.result or {}))

    @staticmethod
    def _due(job: Job, now: float) -> bool:
        polls, seconds = job.complete_after_polls, job.complete_after_seconds
        if polls is None and seconds is None:
            return True
        if polls is not None and job.polls >= polls:
            return True
        return seconds is not None and now - job.created_at >= seconds

    def _advance_jobs(self) -> None:
        """Finish jobs whose time is up, so reads see what a real server would have done meanwhile."""
        now = self.clock.now()
        changed = self._runs.catch_up(now)
        changed = self._expire_job_records(now) or changed
        for job in self._data.jobs:
            if job.state == "processing" and self._due(job, now):
                self._finish(job, now)
                changed = True
            elif job.state == "processing":
                changed = _vms.progress(self._data, job, now) or changed
        if changed:
            self._persist()

    def _expire_job_records(self, now: float) -> bool:
        ttl = self.settings.job_record_ttl
        kept = [j for j in self._data.jobs if j.done_at is None or now - j.done_at < ttl]
        changed = len(kept) != len(self._data.jobs)
        self._data.jobs = kept
        return changed

    def _prepare(
        self,
        api: str,
        target: str,
        body: Any,
        query: Sequence[tuple[str, str]],
        path_params: Mapping[str, str | None],
        path: str,
    ) -> dict[str, Any]:
        """REST-layer checks that refuse the call before any job exists (400 plain text)."""
        if api in _vms.VM_APIS:
            return _vms.prepare(api, target, body, query)
        if api in SCHEDULER_APIS:
            uri = path.removeprefix("/zstack")
            return self._schedules.prepare(api, path_params, body, query, uri)
        if api == SYNC_VM_BACKUP:
            return self._copies.prepare(target, body)
        if api == CREATE_VM_BACKUP:
            create, tags = create_params(body, _BANDWIDTHS)
            return {"rootVolumeUuid": target, "params": create, "systemTags": tags}
        if api == CREATE_USER_TAG:
            params = body.get("params") if isinstance(body, dict) else None
            if not isinstance(params, dict):
                raise PlainTextError(400, "the body doesn't contain action mapping to the URL[/v1/user-tags]")
            for name in ("resourceType", "resourceUuid", "tag"):
                if not isinstance(params.get(name), str) or not params[name]:
                    raise PlainTextError(400, f"missing mandatory field[{name}]")
            return {"params": params}
        if api == DELETE_TAG:
            return {"target": target}
        options = normalize_collection_parameters(query)
        prepared: dict[str, Any] = {"target": target, "handleDependency": False, "backupStorageUuids": []}
        for key, value in options:
            if key == "deleteMode":
                prepared["deleteMode"] = value
            elif key == "handleDependency":
                prepared["handleDependency"] = parse_boolean(key, value)
            elif key == "backupStorageUuids":
                prepared["backupStorageUuids"].append(value)
        return prepared

    def _start(self, job: Job) -> None:
        """The API's validation and first effects, run when the job is accepted."""
        if job.api in _vms.VM_APIS:
            _vms.start(self._data, job, self.clock.now())
            return
        if job.api in SCHEDULER_APIS:
            self._schedules.start(job, job.created_at)
            return
        if job.api == SYNC_VM_BACKUP:
            self._copies.start(job, job.created_at)
            return
        if job.api == CREATE_VM_BACKUP:
            self._start_create(job)
            return
        if job.api == CREATE_USER_TAG:
            self._check_taggable(job.params["params"])
            return
        if job.api == DELETE_TAG:
            return
        self._check_delete_options(job.params)
        target = job.params["target"]
        if job.api == DELETE_VOLUME_BACKUP and self._backup(target) is None:
            raise ApiError("SYS.1003", not_found("uuid", target, "VolumeBackupVO"))
        if job.api == DELETE_VM_BACKUP:
            members = [b for b in self._data.volume_backups if b.group_uuid == target]
            roots = [b for b in members if b.type == "Root"]
            if members and not roots:
                raise ApiError("SYS.1006", f"Root volume missing within group uuid: {target}")
            if len(roots) > 1:
                raise ApiError("SYS.1006", f"Multiple root volumes found within group uuid: {target}")

    def _check_taggable(self, params: Mapping[str, Any]) -> None:
        resource_type, resource_uuid = params["resourceType"], params["resourceUuid"]
        if resource_type not in _TAGGABLE:
            raise ApiError("SYS.1007", f"no resource type[{resource_type}] found for tag")
        found = {
            "VolumeBackupVO": self._backup,
            "VmInstanceVO": self._vm,
            "VolumeVO": self._volume,
            "BackupStorageVO": self._storage,
            "SchedulerJobVO": self._schedules.job,
            "SchedulerTriggerVO": self._schedules.trigger,
        }[resource_type](resource_uuid)
        if found is None:
            raise ApiError("SYS.1003", not_found("resourceUuid", resource_uuid, resource_type))

    def _finish_create_user_tag(self, job: Job, now: float) -> dict[str, Any]:
        params = job.params["params"]
        self._check_taggable(params)  # the resource may have gone while the job waited
        tag = UserTag(
            uuid=_new_uuid(),
            resource_uuid=params["resourceUuid"],
            resource_type=params["resourceType"],
            tag=params["tag"],
            create_date=now,
            last_op_date=now,
        )
        self._data.user_tags.append(tag)
        return {"inventory": user_tag_inventory(tag)}

    def _check_delete_options(self, params: Mapping[str, Any]) -> None:
        mode = params.get("deleteMode")
        if mode is not None and mode not in _DELETE_MODES:
            raise ApiError(
                "SYS.1007",
                f"valid value for field[deleteMode] of message[APIDeleteMessage] are {list(_DELETE_MODES)}, "
                f"but {mode} found",
            )
        for storage in params["backupStorageUuids"]:
            if self._storage(storage) is None:
                raise ApiError(
                    "SYS.1003",
                    not_found("backupStorageUuids", storage, "BackupStorageVO"),
                )

    def _start_create(self, job: Job) -> None:
        params: dict[str, Any] = job.params["params"]
        root_uuid: str = job.params["rootVolumeUuid"]
        resource_uuid = params.get("resourceUuid")
        check_resource_uuid(resource_uuid)
        for name in ("backupStorageUuid", "name"):
            if params.get(name) is None:
                raise ApiError(
                    "SYS.1007", f"field[{name}] of message[{_CREATE_MSG}] is mandatory, can not be null"
                )
        for name, limit in (("name", 255), ("description", 2048)):
            value = params.get(name)
            if value is not None and len(str(value)) > limit:
                raise ApiError(
                    "SYS.1007",
                    f"field[{name}] of message[{_CREATE_MSG}] exceeds max length of string. "
                    f"expected was <= {limit}, actual was {len(str(value))}",
                )
        mode = params.get("mode")
        if mode is not None and mode != "full":
            raise ApiError(
                "SYS.1007",
                f"valid value for field[mode] of message[{_CREATE_MSG}] are [full], but {mode} found",
            )
        for name in _BANDWIDTHS:
            value = params.get(name)
            if value is not None and value < 1024:
                raise ApiError(
                    "SYS.1007",
                    f"field[{name}] of message[{_CREATE_MSG}] must be in range of "
                    f"[1024, 9223372036854775807], but {int(value)} found",
                )
        root = self._volume(root_uuid)
        if root is None:
            raise ApiError(
                "SYS.1003",
                not_found("rootVolumeUuid", root_uuid, "VolumeVO"),
            )
        storage_uuid = str(params["backupStorageUuid"])
        storage = self._storage(storage_uuid)
        if storage is None:
            raise ApiError(
                "SYS.1003",
                not_found("backupStorageUuid", storage_uuid, "BackupStorageVO"),
            )
        if storage.type != "ImageStoreBackupStorage":
            raise ApiError("SYS.1006", f"Unexpected backup storage[type:{storage.type},uuid:{storage.uuid}]")
        if storage.state != "Enabled":
            raise ApiError(
                "SYS.1006",
                f"current backup storage state[{storage.state}] doesn't allow to proceed "
                f"message[{_CREATE_MSG}], "
                "the operation is only allowed in state[Enabled]",
            )
        if root.type != "Root":
            raise ApiError("SYS.1006", f"Volume[uuid:{root.uuid}] is not root volume")
        vm = self._vm(root.vm_instance_uuid) if root.vm_instance_uuid else None
        if vm is not None and vm.state not in ("Running", "Paused"):
            raise ApiError(
                "SYS.1006",
                f"Failed to create backups for VM[uuid:{vm.uuid}], "
                "because it is not in state[Running, Paused]",
            )
        if vm is None:
            raise ApiError("SYS.1006", f"No VM found with root volume uuid: {root.uuid}")
        group_uuid = resource_uuid or _new_uuid()
        now = job.created_at
        tags = list(job.params["systemTags"])
        if job.params.get("manual", True):
            # APICreateVmBackupMsg marks what a user made by hand; a schedule's retention never prunes it.
            tags.append(f"{MANUAL_CREATE_TAG_PREFIX}{job.uuid}")
        members = [
            v
            for v in self._data.volumes
            if v.vm_instance_uuid == vm.uuid and not v.is_shareable and v.type in ("Root", "Data")
        ]
        chains = BackupChains(self._data)
        plan = chains.plan(
            [v.uuid for v in members],
            storage.uuid,
            full=mode == "full",
            max_incremental=self.settings.max_incremental_backup,
        )
        created: list[str] = []
        for volume in members:
            backup_uuid = _new_uuid()
            parent = plan.parents.get(volume.uuid)
            self._data.volume_backups.append(
                VolumeBackup(
                    uuid=backup_uuid,
                    volume_uuid=volume.uuid,
                    name=volume.uuid,
                    description=params.get("description"),
                    type=volume.type,
                    state="Disabled",
                    status="Creating",
                    size=0,
                    group_uuid=group_uuid,
                    vm_instance_uuid=vm.uuid,
                    system_tags=list(tags),
                    create_date=now,
                    last_op_date=now,
                    parent_uuid=parent.uuid if parent else None,
                    backup_storage_refs=[
                        BackupStorageRef(
                            backup_storage_uuid=storage.uuid,
                            install_path=image_path(chains.namespace_for(parent, storage.uuid)),
                            status="Creating",
                            create_date=now,
                            last_op_date=now,
                        )
                    ],
                )
            )
            created.append(backup_uuid)
        job.params.update(backupUuids=created, groupUuid=group_uuid, backupMode=plan.mode)

    def _finish(self, job: Job, now: float) -> None:
        try:
            if job.api in SCHEDULER_APIS:
                job.result = self._schedules.finish(job, now)
            elif job.api == SYNC_VM_BACKUP:
                job.result = self._copies.finish(job, now)
            elif job.api == CREATE_VM_BACKUP:
                job.result = self._finish_create(job, now)
            elif job.api == CREATE_USER_TAG:
                job.result = self._finish_create_user_tag(job, now)
            elif job.api == DELETE_TAG:
                # APIDeleteTagMsg has no existence check: an unknown uuid is a success, like other deletes.
                self._data.user_tags = [t for t in self._data.user_tags if t.uuid != job.params["target"]]
                job.result = {}
            elif job.api == DELETE_VM_BACKUP:
                job.result = self._finish_delete_group(job)
            elif job.api in _vms.VM_APIS:
                job.result = _vms.finish(self._data, job, now)
            else:
                job.result = self._finish_delete_member(job)
        except ApiError as exc:
            job.error = exc.error
        job.state, job.done_at = "done", now

    def _finish_create(self, job: Job, now: float) -> dict[str, Any]:
        uuids: list[str] = job.params["backupUuids"]
        if job.inject_error is not None:
            # The chain's rollback removes the records it prepared.
            self._data.volume_backups = [b for b in self._data.volume_backups if b.uuid not in uuids]
            error = job.inject_error
            raise ApiError(error["code"], error.get("details"), error.get("description"))
        stamp = java_sql_timestamp(datetime.fromtimestamp(now))
        name = str(job.params["params"]["name"])
        mode = job.params["backupMode"]
        chains = BackupChains(self._data)
        finished: list[dict[str, Any]] = []
        for backup_uuid in uuids:
            backup = self._backup(backup_uuid)
            if backup is None:
                continue
            volume = self._volume(backup.volume_uuid)
            final = f"{name}-{stamp}" if backup.type == "Root" else f"{name}-{backup.volume_uuid}-{stamp}"
            backup.name = final[:255]
            backup.state, backup.status, backup.mode = "Enabled", "Ready", mode
            backup.size = (volume.actual_size or volume.size) if volume else 0
            backup.metadata = self._metadata(backup, volume)
            backup.last_op_date = now
            for ref in backup.backup_storage_refs:
                ref.status, ref.last_op_date = "Ready", now
                ref.install_path = image_path(chain_name(ref.install_path))
            chains.record(backup)
            finished.append(volume_backup_inventory(backup))
        self._rng.shuffle(finished)
        return {"inventories": finished}

    def _metadata(self, backup: VolumeBackup, volume: Volume | None) -> str:
        vm = self._vm(backup.vm_instance_uuid) if backup.vm_instance_uuid else None
        is_root = backup.type == "Root"
        account = self._data.accounts[0].uuid if self._data.accounts else None
        data_volumes = [
            v.uuid for v in self._data.volumes if vm and v.vm_instance_uuid == vm.uuid and v.type == "Data"
        ]
        metadata = {
            "name": volume.name if volume else None,
            "description": volume.description if volume else None,
            "type": backup.type,
            "rootImageUuid": volume.root_image_uuid if volume else None,
            "vmInstanceUuid": backup.vm_instance_uuid,
            "vmName": vm.name if vm else None,
            "vmDescription": vm.description if vm else None,
            "instanceOfferingUuid": vm.instance_offering_uuid if vm else None,
            "cpuNum": vm.cpu_num if vm else None,
            "memorySize": vm.memory_size if vm else None,
            "platform": vm.platform if vm else None,
            "guestOsType": vm.guest_os_type if vm else None,
            "virtio": True,
            "clusterUuid": vm.cluster_uuid if vm else None,
            "primaryStorageUuid": volume.primary_storage_uuid if volume else None,
            "defaultL3NetworkUuid": vm.default_l3_network_uuid if vm else None,
            "dataVolumeUuids": data_volumes if is_root else None,
            "actualSize": volume.actual_size if volume else None,
            "size": volume.size if volume else None,
            "format": volume.format if volume else None,
            "attachedVmUuid": backup.vm_instance_uuid,
            "ownerAccountUuid": account,
            "shareable": volume.is_shareable if volume else False,
            "deviceId": volume.device_id if volume else None,
            "systemTags": [],
            "vmSystemTags": [] if is_root else None,
            "architecture": vm.architecture if vm and is_root else None,
            "vmNics": [{"l3NetworkUuid": n.l3_network_uuid, "ip": n.ip, "mac": n.mac} for n in vm.vm_nics]
            if vm and is_root
            else None,
        }
        return json.dumps({k: v for k, v in metadata.items() if v is not None}, separators=(",", ":"))

    def _finish_delete_group(self, job: Job) -> dict[str, Any]:
        group_uuid = job.params["target"]
        for backup in [b for b in self._data.volume_backups if b.group_uuid == group_uuid]:
            # Per-member failures are only logged by the server; the API still succeeds.
            if self.faults.take("fail_member_delete", job.method, job.path, target=backup.uuid) is None:
                self._delete_backup(backup, job.params["backupStorageUuids"], job.params["handleDependency"])
        return {}

    def _finish_delete_member(self, job: Job) -> dict[str, Any]:
        backup = self._backup(job.params["target"])
        if backup is None:
            return {}
        if self.faults.take("fail_member_delete", job.method, job.path, target=backup.uuid) is not None:
            raise ApiError(
                "SYS.1006", f"failed to delete volume backup[uuid:{backup.uuid}] on backup storage"
            )
        self._delete_backup(backup, job.params["backupStorageUuids"], job.params["handleDependency"])
        return {}

    def _delete_backup(self, backup: VolumeBackup, storages: Sequence[str], handle_dependency: bool) -> None:
        BackupChains(self._data).delete(
            backup, storages, handle_dependency=handle_dependency, now=self.clock.now()
        )

    # ----------------------------------------------------------------- queries

    def _inventories(self, resource: Resource) -> tuple[list[dict[str, Any]], ResourceSchema]:
        if resource == "volume-backups":
            return [volume_backup_inventory(b) for b in self._data.volume_backups], VOLUME_BACKUP_SCHEMA
        if resource == "volumes":
            return [volume_inventory(v) for v in self._data.volumes], VOLUME_SCHEMA
        if resource == "vm-instances":
            volumes = self._data.volumes
            return [vm_inventory(vm, volumes) for vm in self._data.vm_instances], VM_INSTANCE_SCHEMA
        if resource == "user-tags":
            return [user_tag_inventory(t) for t in self._data.user_tags], USER_TAG_SCHEMA
        if resource == "l3-networks":
            return [l3_network_inventory(n) for n in self._data.l3_networks], L3_NETWORK_SCHEMA
        if resource == "instance-offerings":
            offerings = self._data.instance_offerings
            return [instance_offering_inventory(o) for o in offerings], INSTANCE_OFFERING_SCHEMA
        if resource == "primary-storage":
            storages = self._data.primary_storages
            return [primary_storage_inventory(p) for p in storages], PRIMARY_STORAGE_SCHEMA
        if resource == "scheduler-jobs":
            return self._schedules.job_inventories(), SCHEDULER_JOB_SCHEMA
        if resource == "scheduler-triggers":
            return self._schedules.trigger_inventories(), SCHEDULER_TRIGGER_SCHEMA
        return [backup_storage_inventory(b) for b in self._data.backup_storages], BACKUP_STORAGE_SCHEMA

    def query(
        self, resource: Resource, uuid: str | None, params: Sequence[tuple[str, str]]
    ) -> dict[str, Any]:
        """A sync query; `GET .../{uuid}` uses only `uuid=<value>` and ignores every other parameter."""
        spec = (
            QuerySpec(conditions=(Condition("uuid", "=", uuid),)) if uuid is not None else parse_query(params)
        )
        with self._lock:
            self._advance_jobs()
            records, schema = self._inventories(resource)
            return run_query(records, spec, schema).body(schema)

    @staticmethod
    def result_schema(body: Mapping[str, Any]) -> dict[str, str]:
        """The `schema` a job result gets when the poll carries `X-JSON-Schema`."""
        inventories = body.get("inventories")
        return json_schema(VOLUME_BACKUP_SCHEMA, inventories) if isinstance(inventories, list) else {}

    # ----------------------------------------------------------------- request log

    def record_request(
        self,
        *,
        method: str,
        path: str,
        query: str,
        api: str | None,
        status: int | None,
        job_uuid: str | None,
        auth: str | None,
    ) -> None:
        with self._lock:
            self._requests.append(
                RecordedRequest(len(self._requests) + 1, method, path, query, api, status, job_uuid, auth)
            )

    def requests(self) -> list[RecordedRequest]:
        """Every ZStack API request received so far (admin calls excluded), oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ----------------------------------------------------------------- out-of-band inspection and changes

    def backups(self) -> list[dict[str, Any]]:
        """Every volume backup record, `Deleted` and `Creating` ones included, with system and user tags,
        the backup its image builds on (`parentUuid`) and whether its whole chain's bits are there
        (`restorable`)."""
        with self._lock:
            self._advance_jobs()
            chains = BackupChains(self._data)
            listed = []
            for backup in self._data.volume_backups:
                inventory = {
                    k: v for k, v in volume_backup_inventory(backup).items() if not k.startswith("__")
                }
                user_tags = [t.tag for t in self._data.user_tags if t.resource_uuid == backup.uuid]
                listed.append(
                    to_plain(inventory)
                    | {
                        "systemTags": list(backup.system_tags),
                        "userTags": user_tags,
                        "parentUuid": backup.parent_uuid,
                        "restorable": chains.restorable(backup),
                    }
                )
            return listed

    def jobs(self) -> list[dict[str, Any]]:
        """Job records still held: uuid, api, state, polls, the error code if it failed, and when it was
        submitted and seen done (clock seconds; `doneAt` is None while it runs)."""
        with self._lock:
            self._advance_jobs()
            return [
                {
                    "uuid": job.uuid,
                    "api": job.api,
                    "method": job.method,
                    "path": job.path,
                    "state": job.state,
                    "polls": job.polls,
                    "errorCode": job.error["code"] if job.error else None,
                    "submittedAt": job.created_at,
                    "doneAt": job.done_at,
                }
                for job in self._data.jobs
            ]

    def scheduler_runs(self) -> list[dict[str, Any]]:
        """Every firing of a scheduler job still remembered: `state` running, succeeded, failed or skipped."""
        with self._lock:
            self._advance_jobs()
            return self._runs.runs()

    def scheduler_jobs(self) -> list[dict[str, Any]]:
        """Every scheduler job with what its inventory never shows: `jobData`, the parameters as stored."""
        with self._lock:
            self._advance_jobs()
            return self._schedules.inspect_jobs()

    def scheduler_triggers(self) -> list[dict[str, Any]]:
        """Every scheduler trigger with what its inventory never shows: `cron`, and times as Unix seconds."""
        with self._lock:
            self._advance_jobs()
            return self._schedules.inspect_triggers()

    def delete_backup_group(self, group_uuid: str) -> int:
        """Remove every member of a group behind the API's back; returns how many went."""
        with self._lock:
            before = len(self._data.volume_backups)
            self._data.volume_backups = [b for b in self._data.volume_backups if b.group_uuid != group_uuid]
            self._persist()
            return before - len(self._data.volume_backups)

    def delete_backup_copy(self, group_uuid: str, storage_uuid: str) -> int:
        """Remove the refs a group's members have on one backup storage behind the API's back (a copy lost
        out of band); the members keep their other refs. Returns how many refs went."""
        with self._lock:
            removed = 0
            for backup in self._data.volume_backups:
                if backup.group_uuid == group_uuid:
                    kept = [r for r in backup.backup_storage_refs if r.backup_storage_uuid != storage_uuid]
                    removed += len(backup.backup_storage_refs) - len(kept)
                    backup.backup_storage_refs = kept
            self._persist()
            return removed

    def delete_backup(self, backup_uuid: str) -> bool:
        with self._lock:
            backup = self._backup(backup_uuid)
            if backup is None:
                return False
            self._data.volume_backups.remove(backup)
            self._persist()
            return True

    def update_backup(self, backup_uuid: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change wire fields of a backup (e.g. `{"status": "Deleted"}`) as if done out of band."""
        return self._patch(
            self._data.volume_backups, backup_uuid, changes, _BACKUP_PATCHABLE, VolumeBackup, "volume backup"
        )

    def update_backup_storage(self, storage_uuid: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self._patch(
            self._data.backup_storages,
            storage_uuid,
            changes,
            _STORAGE_PATCHABLE,
            BackupStorage,
            "backup storage",
        )

    def set_vm_state(self, vm_uuid: str, state: str) -> None:
        """Change a VM's state out of band: `Stopped` leaves its host, `Destroyed` is what DestroyVmInstance
        leaves (data volumes detached, root volume `Deleted`)."""
        with self._lock:
            _vms.change_vm_state(self._data, vm_uuid, state, self.clock.now())
            self._persist()

    def expunge_vm(self, vm_uuid: str) -> bool:
        """Remove a VM and its root volume out of band; False if there is no such VM."""
        with self._lock:
            removed = _vms.expunge(self._data, vm_uuid)
            self._persist()
            return removed

    def _patch(
        self,
        records: list[Any],
        uuid: str,
        changes: Mapping[str, Any],
        allowed: Iterable[str],
        model: type[VolumeBackup] | type[BackupStorage],
        what: str,
    ) -> dict[str, Any]:
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise ValueError(
                f"cannot change {', '.join(unknown)} of a {what}; allowed: {', '.join(sorted(allowed))}"
            )
        with self._lock:
            index = next((i for i, r in enumerate(records) if r.uuid == uuid), None)
            if index is None:
                raise KeyError(f"no {what} {uuid}")
            current = records[index].model_dump(by_alias=True)
            try:
                records[index] = model.model_validate(current | dict(changes))
            except ValueError as exc:
                raise ValueError(f"invalid change to {what} {uuid}: {exc}") from None
            self._persist()
            return dict(records[index].model_dump(by_alias=True))

    def expire_sessions(self) -> None:
        """Every session becomes invalid (the next call with it gets ID.1001)."""
        with self._lock:
            self._sessions.clear()

    def expire_job_records(self) -> int:
        """Forget every finished job, as the 3 h cleanup would; returns how many went."""
        with self._lock:
            before = len(self._data.jobs)
            self._data.jobs = [j for j in self._data.jobs if j.state == "processing"]
            self._persist()
            return before - len(self._data.jobs)
