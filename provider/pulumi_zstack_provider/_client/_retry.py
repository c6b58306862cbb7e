"""Retrying safe calls with exponential backoff and full jitter, bounded by attempts and a deadline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

_log = logging.getLogger("pulumi_zstack")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    At most `attempts` tries in total; before try *n* the client waits a random time between 0 and
    ``min(maximum, initial * 2**(n-2))`` seconds ("full jitter"). A retry whose wait would end past the
    operation's deadline is not made.
    """

    attempts: int = 6
    initial: float = 0.2
    maximum: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.initial < 0 or self.maximum < self.initial:
            raise ValueError("RetryPolicy needs 0 <= initial <= maximum")


class DeadlineReached(Exception):
    """Retries stopped because the next attempt would start past the deadline; `last` is the last failure."""

    def __init__(self, last: BaseException) -> None:
        super().__init__(str(last))
        self.last = last


class _Stop:
    def __init__(self, attempts: int, clock: Callable[[], float], deadline: float | None) -> None:
        self._attempts = attempts
        self._clock = clock
        self._deadline = deadline
        self.deadline_hit = False

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= self._attempts:
            return True
        # tenacity (>= 8.3) draws the upcoming wait before asking whether to stop.
        if self._deadline is not None and self._clock() + state.upcoming_sleep >= self._deadline:
            self.deadline_hit = True
            return True
        return False


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    is_transient: Callable[[BaseException], bool],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    deadline: float | None,
    what: str,
) -> T:
    """Call `fn`, retrying failures that `is_transient` accepts.

    Re-raises the last failure when attempts run out, or raises `DeadlineReached` when the deadline stops
    the retries. Failures that are not transient propagate at once.
    """
    stop = _Stop(policy.attempts, clock, deadline)

    def log_retry(state: tenacity.RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        _log.info(
            "%s failed (attempt %d of %d), retrying in %.1f s: %s",
            what,
            state.attempt_number,
            policy.attempts,
            state.upcoming_sleep,
            failure,
        )

    def sleep_within_deadline(seconds: float) -> None:
        # tenacity < 8.3 decides to stop before it draws the wait, so the wait may reach past the deadline.
        sleep(seconds if deadline is None else max(min(seconds, deadline - clock()), 0.0))

    retrying = tenacity.Retrying(
        stop=stop,
        wait=tenacity.wait_random_exponential(multiplier=policy.initial, max=policy.maximum),
        retry=tenacity.retry_if_exception(is_transient),
        sleep=sleep_within_deadline,
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return retrying(fn)
    except Exception as exc:
        if stop.deadline_hit and is_transient(exc):
            raise DeadlineReached(exc) from exc
        raise
