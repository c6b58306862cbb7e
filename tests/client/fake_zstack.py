"""A small hand-written fake of the ZStack REST API for `httpx.MockTransport`.

Built from /work/shared/reference/zstack-api.md, not from the client: login with a SHA-512 password
(§2.1), OAuth sessions checked lazily (503 ID.1001, on the poll for async calls), AccessKey HMAC-SHA1 over
``METHOD\\nDate\\n/v1/...`` (§2.6), async calls answering 202 with a ``location`` on an internal host
(§3.2), ``X-Job-UUID`` (32 chars, duplicates refused with 400), polls answering 202 ``{}`` / 200 / 503
``{"error"}`` / 404 plain text (§3.3), plain-text bodies on 400/403/404/405 (§4.2).

Faults are injected with `FakeZStack.on(...)`: a rule that handles the next matching request(s) instead
of (or around) the normal routing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Forward = Callable[[httpx.Request], httpx.Response]
Action = Callable[[httpx.Request, Forward], httpx.Response]

INTERNAL_HOST = "10.0.0.99:8080"
SESSION_EXPIRED = {
    "code": "ID.1001",
    "description": "The session is invalid, either wrong session id or the session has been expired",
    "details": "Session expired",
}


def text(status: int, body: str) -> httpx.Response:
    return httpx.Response(status, text=body, headers={"Content-Type": "text/plain"})


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": "text/html"})


def error(status: int, code: str, description: str, details: str) -> httpx.Response:
    return json_response(status, {"error": {"code": code, "description": description, "details": details}})


@dataclass
class Job:
    uuid: str
    session_ok: bool
    polls_left: int
    outcome: Callable[[], httpx.Response]


@dataclass
class Rule:
    match: Callable[[httpx.Request], bool]
    action: Action
    times: int


@dataclass
class FakeZStack:
    account: str = "admin"
    password: str = "S3cret-Pa55!word"
    access_keys: dict[str, str] = field(default_factory=dict)
    polls_before_done: int = 1

    sessions: set[str] = field(default_factory=set)
    issued_sessions: list[str] = field(default_factory=list)
    logins: int = 0
    logouts: list[str] = field(default_factory=list)
    jobs: dict[str, Job] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    backups: list[dict[str, Any]] = field(default_factory=list)
    job_failure: dict[str, str] | None = None  # the ErrorCode every CreateVmBackup job fails with, when set
    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)  # the client calls from several threads

    # --- fault injection -------------------------------------------------------------------------
    def on(self, method: str, path_part: str, action: Action, times: int = 1) -> None:
        """Let `action` handle the next `times` requests whose method and path match."""

        def match(request: httpx.Request) -> bool:
            return request.method == method and path_part in request.url.path

        self.rules.append(Rule(match, action, times))

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def forget_jobs(self) -> None:
        self.jobs.clear()

    # --- what the tests look at ------------------------------------------------------------------
    def sent(self, method: str, path_part: str = "") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and path_part in r.url.path]

    # --- the server --------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self.lock:
            self.requests.append(request)
            rule = next((r for r in self.rules if r.match(request)), None)
            if rule is not None:
                rule.times -= 1
                if rule.times == 0:
                    self.rules.remove(rule)
        if rule is not None:
            return rule.action(request, self.route)
        with self.lock:
            return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not path.startswith("/zstack/v1/"):
            return text(404, f"no api mapping to {path}")
        api = path[len("/zstack") :]
        method = request.method
        if api.startswith("/v1/api-jobs/"):
            if method != "GET":
                return text(405, "only GET method is allowed for querying job status")
            return self._poll(api.rsplit("/", 1)[1])
        if api == "/v1/accounts/login" and method == "PUT":
            return self._login(request)
        if api.startswith("/v1/accounts/sessions/") and method == "DELETE":
            session = api.rsplit("/", 1)[1]
            self.sessions.discard(session)
            self.logouts.append(session)
            return json_response(200, {})

        authorization = request.headers.get("Authorization")
        if authorization is None:
            return text(400, "missing header 'Authorization'")
        if authorization.startswith("OAuth "):
            session_ok = authorization[len("OAuth ") :].strip() in self.sessions
        elif authorization.startswith("ZStack "):
            refusal = self._check_access_key(request, authorization[len("ZStack ") :])
            if refusal is not None:
                return refusal
            session_ok = True
        else:
            return text(400, "Authorization type must be 'OAuth'")

        if method == "GET":
            if not session_ok:
                return json_response(503, {"error": SESSION_EXPIRED})
            return self._query(request, api)
        return self._submit(request, api, session_ok)

    def _login(self, request: httpx.Request) -> httpx.Response:
        params = json.loads(request.content)["logInByAccount"]
        expected = hashlib.sha512(self.password.encode("utf-8")).hexdigest()
        if params["accountName"] != self.account or params["password"] != expected:
            return error(503, "ID.1000", "Unable to authenticate a user", "wrong account name or password")
        self.logins += 1
        session = uuid.uuid4().hex
        self.sessions.add(session)
        self.issued_sessions.append(session)
        inventory = {
            "uuid": session,
            "accountUuid": "36c27e8ff05c4780bf6d2fa65700f22e",
            "userUuid": "36c27e8ff05c4780bf6d2fa65700f22e",
            "expiredDate": "Jan 1, 2017 11:31:06 AM",
            "createDate": "Jan 1, 2017 9:31:06 AM",
            "noSessionEvaluation": False,
        }
        return json_response(200, {"inventory": inventory})

    def _check_access_key(self, request: httpx.Request, credential: str) -> httpx.Response | None:
        date = request.headers.get("Date")
        if date is None:
            return text(400, "'Date' must be incuded in request header")
        if ":" not in credential:
            return text(400, "accessKey format is 'ZStack AccessKeyId:Signature'")
        key_id, signature = credential.split(":", 1)
        if key_id not in self.access_keys:
            return text(403, f"access key id: {key_id} does not existed or disabled")
        uri = request.url.path[len("/zstack") :]
        string_to_sign = f"{request.method}\n{date}\n{uri}"
        digest = hmac.new(self.access_keys[key_id].encode(), string_to_sign.encode(), hashlib.sha1).digest()
        if base64.b64encode(digest).decode() != signature:
            return text(403, "wrong accessKey signature")
        return None

    def _query(self, request: httpx.Request, api: str) -> httpx.Response:
        if api.startswith("/v1/volume-backups"):
            rows = self.backups
            if api.startswith("/v1/volume-backups/"):
                rows = [r for r in rows if r["uuid"] == api.rsplit("/", 1)[1]]
            for condition in request.url.params.get_list("q"):
                if "=" not in condition:
                    return text(
                        400, f"The '{condition}' in the parameter[q] doesn't contain any query operator"
                    )
                name, value = condition.split("=", 1)
                rows = [r for r in rows if str(r.get(name.strip())) == value]
            return json_response(200, {"inventories": rows, "schema": {}})
        return text(404, f"no api mapping to {request.url.path}")

    def _submit(self, request: httpx.Request, api: str, session_ok: bool) -> httpx.Response:
        job_uuid = request.headers.get("X-Job-UUID")
        if job_uuid is not None:
            if len(job_uuid) != 32:
                return text(400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")
            if job_uuid in self.jobs:
                return text(400, f"Duplicate job uuid[{job_uuid}]")
        else:
            job_uuid = uuid.uuid4().hex

        outcome: Callable[[], httpx.Response]
        if api.startswith("/v1/volumes/") and api.endswith("/vm-backups") and request.method == "POST":
            outcome = self._create_vm_backup(api.split("/")[3], json.loads(request.content)["params"])
        elif api.startswith("/v1/vm-backups/") and request.method == "DELETE":
            group = api.rsplit("/", 1)[1]

            def outcome() -> httpx.Response:
                self.backups = [b for b in self.backups if b["groupUuid"] != group]
                return json_response(200, {})

        else:
            return text(404, f"no api mapping to {request.url.path}")
        self.jobs[job_uuid] = Job(job_uuid, session_ok, self.polls_before_done, outcome)
        location = f"http://{INTERNAL_HOST}/zstack/v1/api-jobs/{job_uuid}"
        return json_response(202, {"location": location, "apiTimeout": 129600000})

    def _create_vm_backup(self, root_volume: str, params: dict[str, Any]) -> Callable[[], httpx.Response]:
        def outcome() -> httpx.Response:
            if self.job_failure is not None:
                return json_response(503, {"error": self.job_failure})
            group = params.get("resourceUuid") or uuid.uuid4().hex
            members = [
                {
                    "uuid": uuid.uuid4().hex,
                    "name": f"{params['name']}-2024-05-01 12:34:56.789",
                    "volumeUuid": volume,
                    "groupUuid": group,
                    "type": kind,
                    "size": 4195352576,
                    "state": "Enabled",
                    "status": "Ready",
                    "createDate": "Apr 26, 2026 11:05:50 PM",
                }
                for volume, kind in ((root_volume, "Root"), (uuid.uuid4().hex, "Data"))
            ]
            self.backups.extend(members)
            return json_response(200, {"inventories": members})

        return outcome

    def _poll(self, job_uuid: str) -> httpx.Response:
        job = self.jobs.get(job_uuid)
        if job is None:
            return text(404, "the job has been expired")
        if not job.session_ok:
            return json_response(503, {"error": SESSION_EXPIRED})
        if job.polls_left > 0:
            job.polls_left -= 1
            return json_response(202, {})
        response = job.outcome()
        status, content, headers = response.status_code, response.content, response.headers

        def same_answer() -> httpx.Response:  # a finished job keeps its result; it does not run again
            return httpx.Response(status, content=content, headers=headers)

        job.outcome = same_answer
        return response


class FakeClock:
    """A monotonic clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
