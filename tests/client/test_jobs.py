"""Async jobs: submission with X-Job-UUID, polling, failures, lost answers and deadlines."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from pulumi_zstack_provider._client import (
    APIError,
    JobFailedError,
    JobNotFoundError,
    JobProgress,
    OperationTimeoutError,
    RetryPolicy,
    TransportError,
    ZStackClient,
)

from tests.client.conftest import HOST, account_config
from tests.client.fake_zstack import SESSION_EXPIRED, FakeClock, FakeZStack, Forward, json_response, text

pytestmark = pytest.mark.unit

ROOT_VOLUME = "5f3d7a1c2b4e4f6a8b9c0d1e2f3a4b5c"
GROUP = "8c1f0b2d3e4a4b5c9d6e7f8091a2b3c4"
JOB_UUID = re.compile(r"^[0-9a-f]{32}$")


def create_backup(client: ZStackClient, clock: FakeClock, **options) -> dict:
    options.setdefault("deadline", clock() + 3600)
    return client.run_job(
        "POST",
        f"/volumes/{ROOT_VOLUME}/vm-backups",
        body={"params": {"name": "nightly", "backupStorageUuid": "b" * 32, "resourceUuid": GROUP}},
        operation="creation of VM backup nightly",
        **options,
    )


def lose_answer(request: httpx.Request, forward: Forward) -> httpx.Response:
    """ZStack handles the request, but its answer never arrives."""
    forward(request)
    raise httpx.ReadError("connection reset by peer", request=request)


def lose_request(request: httpx.Request, forward: Forward) -> httpx.Response:
    """The connection drops after the request was written, before ZStack accepted it."""
    raise httpx.ReadTimeout("timed out", request=request)


def test_job_is_followed_on_the_configured_host_until_done(
    client, fake: FakeZStack, clock: FakeClock
) -> None:
    fake.polls_before_done = 2
    progress: list[JobProgress] = []
    result = create_backup(client, clock, on_progress=progress.append)

    assert {m["type"] for m in result["inventories"]} == {"Root", "Data"}
    assert {m["groupUuid"] for m in result["inventories"]} == {GROUP}
    (post,) = fake.sent("POST")
    job_uuid = post.headers["X-Job-UUID"]
    assert JOB_UUID.match(job_uuid)
    assert json.loads(post.content)["params"]["resourceUuid"] == GROUP
    polls = fake.sent("GET", "/api-jobs/")
    assert [p.url.path for p in polls] == [f"/zstack/v1/api-jobs/{job_uuid}"] * 3
    # The 202 location names an internal host; nothing may go there.
    assert {r.url.host for r in fake.requests} == {HOST}
    assert all("Authorization" not in p.headers for p in polls)
    assert [p.state for p in progress] == ["submitted", "running", "running", "done"]
    assert [p.polls for p in progress] == [0, 1, 2, 3]
    assert {p.job_uuid for p in progress} == {job_uuid}


def test_location_is_rewritten_to_the_configured_scheme_and_port(make_client, fake, clock) -> None:
    client = make_client(account_config(**{"zstack:scheme": "https", "zstack:port": "8443"}))
    create_backup(client, clock)
    polls = fake.sent("GET", "/api-jobs/")
    assert polls, "the job was polled"
    for poll in polls:
        assert (poll.url.scheme, poll.url.host, poll.url.port) == ("https", HOST, 8443)


def test_polls_follow_the_run_time_up_to_the_maximum(client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.polls_before_done = 60
    create_backup(client, clock, max_poll_interval=4.0)
    assert len(clock.sleeps) == 60
    assert clock.sleeps == sorted(clock.sleeps)
    # Short waits growing to half a second while the job is young, so that a job that only writes a row
    # is seen done a tenth of a second or so after it ends, and any short job at most 0.5 s late...
    assert clock.sleeps[:10] == pytest.approx([0.1, 0.2, 0.4] + [0.5] * 7)
    # ...then a tenth of the time it has run, up to the maximum.
    elapsed = 0.0
    for slept in clock.sleeps:
        assert slept == pytest.approx(min(4.0, max(min(0.5, 0.1 + elapsed), elapsed / 10)))
        elapsed += slept
    assert max(clock.sleeps) == 4.0


def test_delete_puts_parameters_in_the_query_string(client, fake: FakeZStack, clock: FakeClock) -> None:
    create_backup(client, clock)
    result = client.run_job(
        "DELETE",
        f"/vm-backups/{GROUP}",
        params={"deleteMode": "Permissive"},
        deadline=clock() + 60,
        operation="deletion of VM backup",
    )
    assert result == {}
    (delete,) = fake.sent("DELETE", "/vm-backups/")
    assert delete.url.params["deleteMode"] == "Permissive"
    assert delete.content == b""
    assert fake.backups == []


def test_failed_job_raises_job_failed_with_the_zstack_code(
    client, fake: FakeZStack, clock: FakeClock
) -> None:
    fake.job_failure = {
        "code": "SYS.1006",
        "description": "An operation failed",
        "details": f"Failed to create backups for VM[uuid:{ROOT_VOLUME}], "
        "because it is not in state[Running, Paused]",
    }
    with pytest.raises(JobFailedError) as raised:
        create_backup(client, clock)
    error = raised.value
    assert (error.status, error.code) == (503, "SYS.1006")
    assert error.job_uuid == fake.sent("POST")[0].headers["X-Job-UUID"]
    message = str(error)
    assert "SYS.1006" in message
    assert "not in state[Running, Paused]" in message
    assert "creation of VM backup nightly" in message
    assert len(fake.sent("POST")) == 1  # a failed job is never re-submitted


def test_unknown_or_expired_job_raises_job_not_found(client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.polls_before_done = 3

    def expire_after_first_poll(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = forward(request)
        fake.forget_jobs()
        return response

    fake.on("GET", "/api-jobs/", expire_after_first_poll)
    with pytest.raises(JobNotFoundError) as raised:
        create_backup(client, clock)
    assert raised.value.job_uuid == fake.sent("POST")[0].headers["X-Job-UUID"]
    assert "the job has been expired" in str(raised.value)
    assert "pulumi refresh" in str(raised.value)


def test_lost_answer_is_recovered_by_polling_the_same_job(client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.on("POST", "/vm-backups", lose_answer)
    result = create_backup(client, clock)
    (post,) = fake.sent("POST")
    assert len(result["inventories"]) == 2
    assert {p.url.path.rsplit("/", 1)[1] for p in fake.sent("GET", "/api-jobs/")} == {
        post.headers["X-Job-UUID"]
    }
    assert len(fake.backups) == 2


def test_request_zstack_never_accepted_is_resent_with_the_same_job_uuid(client, fake, clock) -> None:
    fake.on("POST", "/vm-backups", lose_request)
    create_backup(client, clock)
    posts = fake.sent("POST")
    assert len(posts) == 2
    assert posts[0].headers["X-Job-UUID"] == posts[1].headers["X-Job-UUID"]
    assert len(fake.jobs) == 1
    assert len(fake.backups) == 2


def test_duplicate_job_uuid_means_the_first_request_was_accepted(client, fake, clock) -> None:
    # ZStack registers the first request only after the client gave up waiting and found no job yet.
    def register_late(request: httpx.Request, forward: Forward) -> httpx.Response:
        def register_then_forward(later: httpx.Request, forward_later: Forward) -> httpx.Response:
            forward(request)
            return forward_later(later)

        fake.on("POST", "/vm-backups", register_then_forward)
        raise httpx.ReadTimeout("timed out", request=request)

    fake.on("POST", "/vm-backups", register_late)
    result = create_backup(client, clock)
    assert len(result["inventories"]) == 2
    posts = fake.sent("POST")
    assert len(posts) == 2
    assert posts[0].headers["X-Job-UUID"] == posts[1].headers["X-Job-UUID"]
    assert len(fake.jobs) == 1
    assert len(fake.backups) == 2


def test_gateway_error_on_submit_is_checked_before_resending(client, fake, clock) -> None:
    fake.on("POST", "/vm-backups", lambda request, forward: text(502, "Bad Gateway"))
    create_backup(client, clock)
    posts = fake.sent("POST")
    assert len(posts) == 2
    assert posts[0].headers["X-Job-UUID"] == posts[1].headers["X-Job-UUID"]
    assert len(fake.backups) == 2


def test_an_error_while_probing_an_unsure_submission_is_probed_again_not_taken_for_a_failed_job(
    client, fake, clock
) -> None:
    internal_error = {"error": {"code": "SYS.1000", "description": "An internal error happened in system"}}
    fake.on("POST", "/vm-backups", lambda request, forward: json_response(503, internal_error))
    fake.on("GET", "/api-jobs/", lambda request, forward: json_response(503, internal_error))
    result = create_backup(client, clock)
    assert len(result["inventories"]) == 2
    posts = fake.sent("POST")
    assert len(posts) == 2
    assert posts[0].headers["X-Job-UUID"] == posts[1].headers["X-Job-UUID"]
    assert len(fake.jobs) == 1


def test_unsent_request_is_retried_with_the_same_job_uuid(client, fake, clock) -> None:
    def refuse(request: httpx.Request, forward: Forward) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake.on("POST", "/vm-backups", refuse, times=2)
    create_backup(client, clock)
    posts = fake.sent("POST")
    assert len(posts) == 3
    assert len({p.headers["X-Job-UUID"] for p in posts}) == 1
    assert fake.sent("GET", "/api-jobs/")[0].url.path.endswith(posts[0].headers["X-Job-UUID"])


def test_submission_that_keeps_failing_stops_after_the_retry_budget(make_client, fake, clock) -> None:
    def refuse(request: httpx.Request, forward: Forward) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake.on("POST", "/vm-backups", refuse, times=100)
    client = make_client(retry=RetryPolicy(attempts=3))
    with pytest.raises(TransportError) as raised:
        create_backup(client, clock)
    assert len(fake.sent("POST")) == 3
    assert raised.value.request_sent is False
    assert f"{HOST}:8080" in str(raised.value)


def test_job_refused_for_an_expired_session_is_resubmitted_once_after_login(client, fake, clock) -> None:
    client.query("volume-backups")
    fake.expire_sessions()  # ZStack accepts the job and reports the session on the poll
    result = create_backup(client, clock)
    assert len(result["inventories"]) == 2
    posts = fake.sent("POST")
    assert len(posts) == 2
    assert posts[0].headers["X-Job-UUID"] != posts[1].headers["X-Job-UUID"]
    assert posts[1].headers["Authorization"] == f"OAuth {fake.issued_sessions[1]}"
    assert fake.logins == 2
    assert len(fake.backups) == 2


def test_session_refused_synchronously_on_submit_is_renewed_and_sent_again(client, fake, clock) -> None:
    fake.on("POST", "/vm-backups", lambda request, forward: json_response(503, {"error": SESSION_EXPIRED}))
    create_backup(client, clock)
    posts = fake.sent("POST")
    assert len(posts) == 2
    assert posts[0].headers["X-Job-UUID"] == posts[1].headers["X-Job-UUID"]  # nothing was accepted
    assert fake.logins == 2


def test_plain_text_rejection_of_the_submission_is_not_retried(client, fake, clock) -> None:
    fake.on("POST", "/vm-backups", lambda request, forward: text(400, "[name] field is excepted a string"))
    with pytest.raises(APIError) as raised:
        create_backup(client, clock)
    assert (raised.value.status, raised.value.code) == (400, None)
    assert raised.value.details == "[name] field is excepted a string"
    assert len(fake.sent("POST")) == 1


def test_transient_poll_failures_are_retried(client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.on("GET", "/api-jobs/", lambda request, forward: text(503, "Service Unavailable"), times=2)
    result = create_backup(client, clock)
    assert len(result["inventories"]) == 2
    assert len(fake.sent("POST")) == 1


def test_deadline_raises_operation_timeout_with_the_hint(client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.polls_before_done = 10**6
    hint = "Raise it with the `timeouts` input, e.g. timeouts={'create': '2h'}."
    with pytest.raises(OperationTimeoutError) as raised:
        create_backup(client, clock, deadline=clock() + 120, timeout_hint=hint, max_poll_interval=10)
    error = raised.value
    job_uuid = fake.sent("POST")[0].headers["X-Job-UUID"]
    assert error.operation == "creation of VM backup nightly"
    assert error.timeout == 120
    assert hint in str(error)
    assert job_uuid in str(error)
    assert clock() <= 1000 + 120
    # A dozen polls in the first five seconds, a tenth of the run time up to 100 s, then one per 10 s.
    assert len(fake.sent("GET", "/api-jobs/")) < 50


def test_deadline_already_past_sends_nothing(client, fake: FakeZStack, clock: FakeClock) -> None:
    with pytest.raises(OperationTimeoutError):
        create_backup(client, clock, deadline=clock() - 1)
    assert fake.requests == []


def test_run_job_refuses_get(client, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="POST, PUT or DELETE"):
        client.run_job("GET", "/volume-backups", deadline=clock() + 10, operation="read")
