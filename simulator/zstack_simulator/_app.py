"""The HTTP face of a Simulator: ZStack routes under `/zstack/v1` and the admin API under `/_simulator`."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from ._copies import SYNC_VM_BACKUP
from ._errors import ApiError, PlainTextError, error_code
from ._faults import FaultRule
from ._scheduler import (
    ADD_SCHEDULER_JOB_TO_TRIGGER,
    CHANGE_SCHEDULER_STATE,
    CREATE_SCHEDULER_JOB,
    CREATE_SCHEDULER_TRIGGER,
    DELETE_SCHEDULER_JOB,
    DELETE_SCHEDULER_TRIGGER,
    REMOVE_SCHEDULER_JOB_FROM_TRIGGER,
    UPDATE_SCHEDULER_JOB,
    UPDATE_SCHEDULER_TRIGGER,
)
from ._settings import Settings
from ._simulator import (
    CREATE_USER_TAG,
    CREATE_VM_BACKUP,
    DELETE_TAG,
    DELETE_VM_BACKUP,
    DELETE_VOLUME_BACKUP,
    Resource,
    Simulator,
)
from ._vms import (
    CREATE_VM_FROM_VM_BACKUP,
    DELETE_DATA_VOLUME,
    DESTROY_VM_INSTANCE,
    EXPUNGE_DATA_VOLUME,
    EXPUNGE_VM_INSTANCE,
)
from ._wire import render_json

ABORT_EXTENSION = "zstack_simulator.abort"
"""Scope extension our uvicorn protocol provides: a callable that aborts the TCP connection."""
CONTEXT_PATH = "/zstack"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
_DISCONNECT_WAIT = 1000


@dataclass(frozen=True)
class _Route:
    api: str
    kind: str
    """"job", "session", "query" or "async"."""
    method: str | None
    pattern: re.Pattern[str]
    resource: Resource | None = None


def _route(api: str, kind: str, method: str | None, pattern: str, resource: Resource | None = None) -> _Route:
    return _Route(api, kind, method, re.compile(pattern), resource)


_UUID = r"(?P<uuid>[^/]+)"
_JOB_ON_TRIGGER = rf"/v1/scheduler/jobs/{_UUID}/scheduler/triggers/(?P<trigger>[^/]+)"
_ROUTES = (
    _route("QueryJob", "job", None, rf"/v1/api-jobs/{_UUID}"),
    _route("LogInByAccount", "session", "PUT", r"/v1/accounts/login"),
    _route("LogOut", "session", "DELETE", rf"/v1/accounts/sessions/{_UUID}"),
    _route("ValidateSession", "session", "GET", rf"/v1/accounts/sessions/{_UUID}/valid"),
    _route("GetVersion", "session", "PUT", r"/v1/management-nodes/actions"),
    _route(CREATE_VM_BACKUP, "async", "POST", rf"/v1/volumes/{_UUID}/vm-backups"),
    _route(DELETE_VM_BACKUP, "async", "DELETE", rf"/v1/vm-backups/{_UUID}"),
    _route(DELETE_VOLUME_BACKUP, "async", "DELETE", rf"/v1/volume-backups/{_UUID}"),
    _route(CREATE_USER_TAG, "async", "POST", r"/v1/user-tags"),
    _route(DELETE_TAG, "async", "DELETE", rf"/v1/tags/{_UUID}"),
    _route(CREATE_VM_FROM_VM_BACKUP, "async", "POST", rf"/v1/vm-instances/from/vm-backups/{_UUID}"),
    _route(DESTROY_VM_INSTANCE, "async", "DELETE", rf"/v1/vm-instances/{_UUID}"),
    _route(EXPUNGE_VM_INSTANCE, "async", "PUT", rf"/v1/vm-instances/{_UUID}/actions"),
    _route(DELETE_DATA_VOLUME, "async", "DELETE", rf"/v1/volumes/{_UUID}"),
    _route(EXPUNGE_DATA_VOLUME, "async", "PUT", rf"/v1/volumes/{_UUID}/actions"),
    _route(SYNC_VM_BACKUP, "async", "PUT", rf"/v1/vm-backups/{_UUID}/actions"),
    _route(CREATE_SCHEDULER_JOB, "async", "POST", r"/v1/scheduler/jobs"),
    _route(CREATE_SCHEDULER_TRIGGER, "async", "POST", r"/v1/scheduler/triggers"),
    _route(ADD_SCHEDULER_JOB_TO_TRIGGER, "async", "POST", _JOB_ON_TRIGGER),
    _route(REMOVE_SCHEDULER_JOB_FROM_TRIGGER, "async", "DELETE", _JOB_ON_TRIGGER),
    _route(UPDATE_SCHEDULER_JOB, "async", "PUT", rf"/v1/scheduler/jobs/{_UUID}/actions"),
    _route(UPDATE_SCHEDULER_TRIGGER, "async", "PUT", rf"/v1/scheduler/triggers/{_UUID}/actions"),
    _route(CHANGE_SCHEDULER_STATE, "async", "PUT", rf"/v1/schedulers/{_UUID}"),
    _route(DELETE_SCHEDULER_JOB, "async", "DELETE", rf"/v1/scheduler/jobs/{_UUID}"),
    _route(DELETE_SCHEDULER_TRIGGER, "async", "DELETE", rf"/v1/scheduler/triggers/{_UUID}"),
    _route("QuerySchedulerJob", "query", "GET", rf"/v1/scheduler/jobs(?:/{_UUID})?", "scheduler-jobs"),
    _route(
        "QuerySchedulerTrigger", "query", "GET", rf"/v1/scheduler/triggers(?:/{_UUID})?", "scheduler-triggers"
    ),
    _route("QueryUserTag", "query", "GET", rf"/v1/user-tags(?:/{_UUID})?", "user-tags"),
    _route("QueryVolumeBackup", "query", "GET", rf"/v1/volume-backups(?:/{_UUID})?", "volume-backups"),
    _route("QueryVmInstance", "query", "GET", rf"/v1/vm-instances(?:/{_UUID})?", "vm-instances"),
    _route("QueryVolume", "query", "GET", rf"/v1/volumes(?:/{_UUID})?", "volumes"),
    _route("QueryBackupStorage", "query", "GET", rf"/v1/backup-storage(?:/{_UUID})?", "backup-storage"),
    _route("QueryL3Network", "query", "GET", rf"/v1/l3-networks(?:/{_UUID})?", "l3-networks"),
    _route(
        "QueryInstanceOffering", "query", "GET", rf"/v1/instance-offerings(?:/{_UUID})?", "instance-offerings"
    ),
    _route("QueryPrimaryStorage", "query", "GET", rf"/v1/primary-storage(?:/{_UUID})?", "primary-storage"),
)
_SESSION_PATH = re.compile(r"(/accounts/sessions/)[^/]+")


def _resolve(method: str, uri: str) -> tuple[_Route, dict[str, str | None]] | None:
    for route in _ROUTES:
        match = route.pattern.fullmatch(uri)
        if match is not None and route.method in (None, method):
            return route, match.groupdict()
    return None


class DropConnection(Response):
    """Not a response: the connection is aborted so the client gets no answer at all."""

    def __init__(self) -> None:
        super().__init__(status_code=499)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
        if abort is None:
            raise RuntimeError(
                "dropping a connection needs the simulator's own server (zstack_simulator.serve)"
            )
        abort()
        # Wait until the server has seen the disconnect, so it does not answer 500 on our behalf.
        for _ in range(_DISCONNECT_WAIT):
            if (await receive())["type"] == "http.disconnect":
                return


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PlainTextError(400, "the request body is not valid JSON") from None


class _ZStackApi:
    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator

    def _json(self, status: int, body: Any, *, e_notation: bool | None = None) -> Response:
        notation = self.sim.settings.e_notation if e_notation is None else e_notation
        return Response(
            render_json(body, e_notation=notation), status, media_type="application/json; charset=utf-8"
        )

    async def handle(self, request: Request) -> Response:
        sim = self.sim
        method, path = request.method, str(request.scope["path"])
        uri = path[len(CONTEXT_PATH) :] if path.startswith(CONTEXT_PATH + "/") else path
        resolved = _resolve(method, uri)
        authorization = request.headers.get("authorization") or ""
        auth = next((kind for kind in ("OAuth", "ZStack") if authorization.startswith(kind)), None)
        job_uuid: str | None = None
        latency = sim.faults.take("latency", method, path)
        if latency is not None and latency.seconds:
            await asyncio.sleep(latency.seconds)
        response: Response
        if sim.faults.take("drop", method, path) is not None:
            response = DropConnection()
        else:
            injected = sim.faults.take("error", method, path)
            if injected is not None:
                error = error_code(injected.code or "SYS.1000", injected.details, injected.description)
                response = self._json(503, {"error": error})
            else:
                try:
                    response, job_uuid = await self._dispatch(request, resolved, uri)
                except PlainTextError as exc:
                    response = PlainTextResponse(exc.text, exc.status)
                except ApiError as exc:
                    response = self._json(503, {"error": exc.error})
            if sim.faults.take("lose_response", method, path) is not None:
                response = DropConnection()
        sim.record_request(
            method=method,
            path=_SESSION_PATH.sub(r"\1<redacted>", path),
            query=request.url.query,
            api=resolved[0].api if resolved else None,
            status=None if isinstance(response, DropConnection) else response.status_code,
            job_uuid=job_uuid,
            auth=auth,
        )
        return response

    async def _dispatch(
        self, request: Request, resolved: tuple[_Route, dict[str, str | None]] | None, uri: str
    ) -> tuple[Response, str | None]:
        sim = self.sim
        if resolved is None:
            raise PlainTextError(404, f"no api mapping to {uri}")
        route, groups = resolved
        uuid = groups.get("uuid")
        if route.kind == "job":
            if request.method != "GET":
                raise PlainTextError(405, "only GET method is allowed for querying job status")
            assert uuid is not None
            return self._poll(request, uuid), uuid
        if route.kind == "session":
            return await self._session_api(request, route.api, uuid), None
        caller = sim.authenticate(
            request.headers.get("authorization"), request.headers.get("date"), request.method, uri
        )
        if route.kind == "query":
            assert route.resource is not None
            if caller.session_error is not None:
                raise caller.session_error
            return self._json(200, sim.query(route.resource, uuid, request.query_params.multi_items())), None
        submission = sim.submit(
            route.api,
            method=request.method,
            path=str(request.scope["path"]),
            target=uuid or "",
            caller=caller,
            body=await _json_body(request) if request.method in ("POST", "PUT") else None,
            query=request.query_params.multi_items(),
            job_uuid=request.headers.get("x-job-uuid"),
            api_timeout=request.headers.get("x-api-timeout"),
            path_params=groups,
        )
        settings = sim.settings
        location = (
            f"http://{settings.internal_host}:{settings.location_port}"
            f"{CONTEXT_PATH}/v1/api-jobs/{submission.job_uuid}"
        )
        body = {"location": location, "apiTimeout": submission.api_timeout_ms}
        return self._json(202, body, e_notation=False), submission.job_uuid

    def _poll(self, request: Request, job_uuid: str) -> Response:
        answer = self.sim.poll(job_uuid)
        if answer.text is not None:
            return PlainTextResponse(answer.text, answer.status)
        body = dict(answer.body or {})
        if answer.status == 200 and "x-json-schema" in request.headers:
            body["schema"] = self.sim.result_schema(body)
        return self._json(answer.status, body)

    async def _session_api(self, request: Request, api: str, uuid: str | None) -> Response:
        sim = self.sim
        if api == "LogInByAccount":
            return self._json(200, sim.login(await _json_body(request)))
        if api == "GetVersion":
            body = await _json_body(request)
            if not isinstance(body, dict) or "getVersion" not in body:
                raise PlainTextError(
                    400, "the body doesn't contain action mapping to the URL[/v1/management-nodes/actions]"
                )
            return self._json(200, {"version": sim.settings.version})
        assert uuid is not None
        if api == "LogOut":
            sim.logout(uuid)
            return self._json(200, {})
        return self._json(200, {"valid": sim.session_is_valid(uuid)})


def _admin_routes(sim: Simulator) -> list[Route]:
    """`/_simulator/...`: no auth; JSON in and out; 400 on bad input, 404 on unknown ids."""

    def endpoint(
        handler: Callable[[Request], Awaitable[Any]], status: int = 200
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return JSONResponse(await handler(request), status)
            except KeyError as exc:
                return JSONResponse({"error": str(exc.args[0]) if exc.args else "not found"}, 404)
            except (ValueError, ValidationError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, 400)

        return run

    async def body_of(request: Request) -> dict[str, Any]:
        body = await _json_body_admin(request)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def param(request: Request, name: str) -> str:
        return str(request.path_params[name])

    async def health(_: Request) -> Any:
        return {"status": "ok"}

    async def get_settings(_: Request) -> Any:
        return sim.settings.model_dump(by_alias=True)

    async def patch_settings(request: Request) -> Any:
        merged = sim.settings.model_dump(by_alias=True) | await body_of(request)
        sim.settings = Settings.model_validate(merged)
        return sim.settings.model_dump(by_alias=True)

    def dump_rule(rule: FaultRule) -> dict[str, Any]:
        return rule.model_dump(by_alias=True) | {"remaining": rule.remaining}

    async def list_faults(_: Request) -> Any:
        return [dump_rule(rule) for rule in sim.faults.rules()]

    async def add_fault(request: Request) -> Any:
        body = await body_of(request)
        body.pop("id", None)
        body.pop("fired", None)
        return dump_rule(sim.faults.add(FaultRule.model_validate(body)))

    async def clear_faults(_: Request) -> Any:
        sim.faults.clear()
        return {}

    async def remove_fault(request: Request) -> Any:
        rule_id = param(request, "rule_id")
        if not rule_id.isdigit() or not sim.faults.remove(int(rule_id)):
            raise KeyError(f"no fault rule {rule_id}")
        return {}

    async def list_backups(_: Request) -> Any:
        return sim.backups()

    async def delete_backup(request: Request) -> Any:
        uuid = param(request, "uuid")
        if not sim.delete_backup(uuid):
            raise KeyError(f"no volume backup {uuid}")
        return {}

    async def patch_backup(request: Request) -> Any:
        return sim.update_backup(param(request, "uuid"), await body_of(request))

    async def delete_group(request: Request) -> Any:
        return {"deleted": sim.delete_backup_group(param(request, "uuid"))}

    async def delete_group_copy(request: Request) -> Any:
        return {"deleted": sim.delete_backup_copy(param(request, "uuid"), param(request, "storage_uuid"))}

    async def list_requests(_: Request) -> Any:
        return [r.as_dict() for r in sim.requests()]

    async def clear_requests(_: Request) -> Any:
        sim.clear_requests()
        return {}

    async def list_jobs(_: Request) -> Any:
        return sim.jobs()

    async def list_scheduler_runs(_: Request) -> Any:
        return sim.scheduler_runs()

    async def expire_jobs(_: Request) -> Any:
        return {"expired": sim.expire_job_records()}

    async def expire_sessions(_: Request) -> Any:
        sim.expire_sessions()
        return {}

    async def advance_clock(request: Request) -> Any:
        seconds = (await body_of(request)).get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise ValueError("`seconds` must be a number")
        sim.clock.advance(float(seconds))
        return {}

    async def patch_vm(request: Request) -> Any:
        body = await body_of(request)
        if set(body) != {"state"} or not isinstance(body["state"], str):
            raise ValueError('only {"state": "<VmInstanceState>"} can be changed on a VM')
        sim.set_vm_state(param(request, "uuid"), body["state"])
        return {}

    async def expunge_vm(request: Request) -> Any:
        uuid = param(request, "uuid")
        if not sim.expunge_vm(uuid):
            raise KeyError(f"no VM {uuid}")
        return {}

    async def patch_storage(request: Request) -> Any:
        return sim.update_backup_storage(param(request, "uuid"), await body_of(request))

    return [
        Route("/health", endpoint(health), methods=["GET"]),
        Route("/settings", endpoint(get_settings), methods=["GET"]),
        Route("/settings", endpoint(patch_settings), methods=["PATCH"]),
        Route("/faults", endpoint(list_faults), methods=["GET"]),
        Route("/faults", endpoint(add_fault, 201), methods=["POST"]),
        Route("/faults", endpoint(clear_faults), methods=["DELETE"]),
        Route("/faults/{rule_id}", endpoint(remove_fault), methods=["DELETE"]),
        Route("/backups", endpoint(list_backups), methods=["GET"]),
        Route("/backups/{uuid}", endpoint(delete_backup), methods=["DELETE"]),
        Route("/backups/{uuid}", endpoint(patch_backup), methods=["PATCH"]),
        Route("/backup-groups/{uuid}", endpoint(delete_group), methods=["DELETE"]),
        Route("/backup-groups/{uuid}/copies/{storage_uuid}", endpoint(delete_group_copy), methods=["DELETE"]),
        Route("/requests", endpoint(list_requests), methods=["GET"]),
        Route("/requests", endpoint(clear_requests), methods=["DELETE"]),
        Route("/jobs", endpoint(list_jobs), methods=["GET"]),
        Route("/jobs/expire", endpoint(expire_jobs), methods=["POST"]),
        Route("/scheduler-runs", endpoint(list_scheduler_runs), methods=["GET"]),
        Route("/sessions/expire", endpoint(expire_sessions), methods=["POST"]),
        Route("/clock/advance", endpoint(advance_clock), methods=["POST"]),
        Route("/vm-instances/{uuid}", endpoint(patch_vm), methods=["PATCH"]),
        Route("/vm-instances/{uuid}", endpoint(expunge_vm), methods=["DELETE"]),
        Route("/backup-storage/{uuid}", endpoint(patch_storage), methods=["PATCH"]),
    ]


async def _json_body_admin(request: Request) -> Any:
    try:
        return await _json_body(request)
    except PlainTextError as exc:
        raise ValueError(exc.text) from None


async def _internal_error(_: Request, exc: Exception) -> Response:
    # The REST layer answers uncaught exceptions with 500 and the exception message as plain text.
    return PlainTextResponse(str(exc) or type(exc).__name__, 500)


def create_app(simulator: Simulator) -> Starlette:
    """The ASGI application serving `simulator` (dropped connections need `serve`'s HTTP protocol)."""
    api = _ZStackApi(simulator)
    return Starlette(
        routes=[
            Mount("/_simulator", routes=_admin_routes(simulator)),
            Route("/{path:path}", api.handle, methods=_ALL_METHODS),
        ],
        exception_handlers={Exception: _internal_error},
    )
