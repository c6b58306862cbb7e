"""Submitting an async ZStack API and following its job to the end.

A submission carries a client-chosen ``X-Job-UUID``. ZStack refuses a second request with the same id
(400 ``Duplicate job uuid``) while the job record exists, so re-sending the *same* request with the *same*
id can never run it twice. That makes a lost answer recoverable: poll the id; if ZStack does not know it,
send again. The only time a new id is used is after a poll reports an invalid session, because then the job
was refused before it started.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from ._calls import Caller, is_transient_read
from ._errors import (
    APIError,
    JobFailedError,
    JobNotFoundError,
    OperationTimeoutError,
    TransportError,
    error_fields,
    truncate,
)
from ._polling import PollSchedule
from ._retry import DeadlineReached
from ._transport import QueryParams, error_object, parse_json

_log = logging.getLogger("pulumi_zstack")

_JOB_PATH = re.compile(r"/v1/api-jobs/([0-9A-Za-z]+)/?$")


@dataclass(frozen=True)
class JobProgress:
    """What `on_progress` receives: once when the job is accepted, after each poll, and at the end."""

    operation: str
    job_uuid: str
    elapsed: float  # seconds since run_job was called
    polls: int
    state: Literal["submitted", "running", "done"]


@dataclass(frozen=True)
class _Accepted:
    job_uuid: str
    generation: int  # credentials the submission carried
    first_poll: httpx.Response | None = None  # a poll already made while recovering a lost answer
    result: dict[str, Any] | None = None  # the API answered synchronously


def _is_transient_submit(exc: BaseException) -> bool:
    """Failures after which the same submission may be re-sent.

    Re-sending is safe because it carries the same job uuid: a submission ZStack had already accepted is
    answered `Duplicate job uuid` and then followed, never run twice.
    """
    return is_transient_read(exc)


class JobRun:
    """One `ZStackClient.run_job` call."""

    def __init__(
        self,
        caller: Caller,
        *,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        params: QueryParams | None,
        deadline: float,
        operation: str,
        timeout_hint: str,
        on_progress: Callable[[JobProgress], None] | None,
        max_poll_interval: float,
    ) -> None:
        self._caller = caller
        self._method = method.upper()
        self._api_path = "/v1/" + path.lstrip("/")
        self._body = body
        self._params = params
        self._deadline = deadline
        self._operation = operation
        self._hint = timeout_hint
        self._on_progress = on_progress
        self._max_poll_interval = max_poll_interval
        self._started = caller.clock()
        self._job_uuid: str | None = None  # the job that may exist on the server, for timeout messages
        self._submission_uuid: str | None = None

    def run(self) -> dict[str, Any]:
        try:
            return self._caller.with_session_renewal(self._submit_and_wait)
        except DeadlineReached as exc:
            raise self._timeout(str(exc.last)) from exc.last

    def _submit_and_wait(self) -> dict[str, Any]:
        self._check_deadline()
        # A session refused at submission time is retried under the same job uuid; once accepted, a refusal
        # (reported by the poll) means the job never started, so the next submission gets a new uuid.
        if self._submission_uuid is None:
            self._submission_uuid = uuid.uuid4().hex
        accepted = self._submit(self._submission_uuid)
        self._submission_uuid = None
        if accepted.result is not None:
            self._progress(accepted.job_uuid, 0, "done")
            return accepted.result
        return self._wait(accepted)

    def _submit(self, job_uuid: str) -> _Accepted:
        unsure = False  # the last send may have reached ZStack
        generation = 0

        def attempt() -> _Accepted:
            nonlocal unsure, generation
            if unsure:
                probe = self._poll_attempt(job_uuid)
                if probe.status_code >= 500:
                    # Ambiguous while we do not know whether ZStack took the job: probe again rather than
                    # read it as the job's failure.
                    raise self._caller.error(probe, generation, operation=self._operation)
                if probe.status_code != 404:
                    return _Accepted(job_uuid, generation, first_poll=probe)
                _log.info("ZStack never received job %s for %s; sending it again", job_uuid, self._operation)
                unsure = False
            request, generation = self._caller.request(
                self._method,
                self._api_path,
                json_body=self._body,
                params=self._params,
                headers={"X-Job-UUID": job_uuid},
                deadline=self._deadline,
            )
            try:
                response = self._caller.transport.send(request)
            except TransportError as exc:
                unsure = exc.request_sent
                if unsure:
                    self._job_uuid = job_uuid
                raise
            self._job_uuid = job_uuid
            status = response.status_code
            if status == 202:
                return _Accepted(self._job_from_location(response, job_uuid), generation)
            if 200 <= status < 300:
                return _Accepted(job_uuid, generation, result=self._result(response))
            error = self._caller.error(response, generation, operation=self._operation)
            if status == 400 and "duplicate job uuid" in (error.details or "").lower():
                _log.info("ZStack already has job %s for %s; following it", job_uuid, self._operation)
                return _Accepted(job_uuid, generation)
            unsure = _is_transient_submit(error)
            raise error

        return self._caller.retry(
            attempt,
            is_transient=_is_transient_submit,
            deadline=self._deadline,
            what=f"{self._operation} ({self._method} {self._api_path})",
        )

    def _wait(self, accepted: _Accepted) -> dict[str, Any]:
        job_uuid = accepted.job_uuid
        self._job_uuid = job_uuid
        polls = 0
        schedule = PollSchedule(self._max_poll_interval)
        self._progress(job_uuid, polls, "submitted")
        response = accepted.first_poll
        while True:
            if response is None:
                self._check_deadline()
                response = self._caller.retry(
                    lambda: self._poll_attempt(job_uuid),
                    is_transient=is_transient_read,
                    deadline=self._deadline,
                    what=f"poll of ZStack job {job_uuid}",
                )
            polls += 1
            status = response.status_code
            if status == 202:
                self._progress(job_uuid, polls, "running")
                remaining = self._deadline - self._caller.clock()
                if remaining <= 0:
                    raise self._timeout()
                self._caller.sleep(min(schedule.wait(self._caller.clock() - self._started), remaining))
                response = None
            elif 200 <= status < 300:
                result = self._result(response)
                self._progress(job_uuid, polls, "done")
                return result
            elif status == 404:
                raise JobNotFoundError(
                    job_uuid=job_uuid,
                    operation=self._operation,
                    details=truncate(self._caller.transport.redact(response.text)) or None,
                )
            else:
                error = self._caller.error(response, accepted.generation, operation=self._operation)
                if error_object(parse_json(response)) is None:
                    raise error
                fields = error_fields(error)
                fields.update(
                    method=self._method, path=self._caller.transport.redact("/zstack" + self._api_path)
                )
                raise JobFailedError(job_uuid=job_uuid, **fields)

    def _poll_attempt(self, job_uuid: str) -> httpx.Response:
        """One poll; transient server trouble is raised so that it can be retried. Polls carry no auth."""
        transport = self._caller.transport
        response = transport.send(transport.build("GET", f"/v1/api-jobs/{job_uuid}", deadline=self._deadline))
        if response.status_code in (502, 503, 504) and error_object(parse_json(response)) is None:
            raise transport.api_error(response, operation=f"poll of job {job_uuid}")
        return response

    def _job_from_location(self, response: httpx.Response, job_uuid: str) -> str:
        """The job id in the 202 ``location``; the URL itself is not used, since its host is internal."""
        body = parse_json(response)
        location = body.get("location") if isinstance(body, dict) else None
        if isinstance(location, str):
            match = _JOB_PATH.search(location.split("?", 1)[0])
            if match:
                return match.group(1)
        _log.warning(
            "ZStack accepted %s without a usable job location; polling job %s", self._operation, job_uuid
        )
        return job_uuid

    def _result(self, response: httpx.Response) -> dict[str, Any]:
        body = parse_json(response)
        if body is None and not response.content.strip():
            return {}
        if isinstance(body, dict):
            return body
        raise APIError(
            status=response.status_code,
            method=response.request.method,
            path=self._caller.transport.redact(response.request.url.path),
            operation=self._operation,
            details="the answer is not a JSON object: "
            + truncate(self._caller.transport.redact(response.text), 200),
            advice="Check that zstack:host and zstack:port point at a ZStack management node.",
        )

    def _progress(self, job_uuid: str, polls: int, state: Literal["submitted", "running", "done"]) -> None:
        if self._on_progress is not None:
            elapsed = self._caller.clock() - self._started
            self._on_progress(JobProgress(self._operation, job_uuid, elapsed, polls, state))

    def _check_deadline(self) -> None:
        if self._caller.clock() >= self._deadline:
            raise self._timeout()

    def _timeout(self, last_error: str | None = None) -> OperationTimeoutError:
        return OperationTimeoutError(
            operation=self._operation,
            timeout=self._deadline - self._started,
            hint=self._hint,
            job_uuid=self._job_uuid,
            last_error=last_error,
        )
