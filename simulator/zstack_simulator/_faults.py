"""Injectable misbehaviour, matched by method and path glob, optionally limited to the next N matches."""

from __future__ import annotations

import random
import threading
from fnmatch import fnmatchcase
from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic.alias_generators import to_camel
from typing_extensions import Unpack

FaultKind = Literal[
    "latency",
    "error",
    "drop",
    "lose_response",
    "fail_job",
    "job_duration",
    "expire_session",
    "expire_job_record",
    "fail_member_delete",
]
TRANSIENT_ERROR_CODE = "SYS.1000"
TRANSIENT_ERROR_DETAILS = (
    "simulated transient failure: the management node could not serve the request, retry it"
)


class FaultRule(BaseModel):
    """One fault. `count=None` fires on every match; `probability` draws from an RNG seeded with `seed`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    id: int = 0
    kind: FaultKind
    method: str = "*"
    path: str = "*"
    count: int | None = Field(default=None, ge=1)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    seed: int = 0
    seconds: float | None = Field(default=None, ge=0.0)
    polls: int | None = Field(default=None, ge=0)
    code: str | None = None
    description: str | None = None
    details: str | None = None
    target: str | None = None
    fired: int = 0
    _rng: random.Random = PrivateAttr(default_factory=random.Random)

    @model_validator(mode="after")
    def _complete(self) -> FaultRule:
        if self.kind == "latency" and self.seconds is None:
            raise ValueError("a latency fault needs `seconds`")
        if self.kind == "job_duration" and self.seconds is None and self.polls is None:
            raise ValueError("a job_duration fault needs `polls` and/or `seconds`")
        if self.kind == "error" and self.code is None:
            self.code = TRANSIENT_ERROR_CODE
            self.details = self.details or TRANSIENT_ERROR_DETAILS
        if self.kind == "fail_job" and self.code is None:
            self.code = "SYS.1006"
        self.method = self.method.upper()
        self._rng.seed(self.seed)
        return self

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else self.count - self.fired

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method == method.upper()) and fnmatchcase(path, self.path)

    def fire(self) -> bool:
        """Consume one firing if the rule is not used up and the RNG draw allows it."""
        if self.remaining == 0:
            return False
        if self.probability < 1.0 and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


class Scope(TypedDict, total=False):
    """Which requests a fault matches and how often it fires; unset keys take `FaultRule`'s defaults."""

    method: str
    path: str
    count: int | None
    probability: float
    seed: int


class Faults:
    """The fault rules of one simulator; thread-safe, shared by the HTTP server and the test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def _make(self, kind: FaultKind, scope: Scope, **extra: object) -> FaultRule:
        given = {k: v for k, v in extra.items() if v is not None}
        return self.add(FaultRule.model_validate({"kind": kind, **scope, **given}))

    # Every helper below also takes the `Scope` keywords: which requests it matches (`method`, `path` glob),
    # how many times it fires (`count`, None for always) and how likely (`probability`, drawn with `seed`).

    def latency(self, seconds: float, **scope: Unpack[Scope]) -> FaultRule:
        """Delay matching answers by `seconds`."""
        return self._make("latency", scope, seconds=seconds)

    def error_503(
        self,
        *,
        code: str = TRANSIENT_ERROR_CODE,
        description: str | None = None,
        details: str | None = None,
        **scope: Unpack[Scope],
    ) -> FaultRule:
        """Answer matching requests 503 `{"error": ...}` without processing them (no job is created)."""
        return self._make("error", scope, code=code, description=description, details=details)

    def drop_connection(self, **scope: Unpack[Scope]) -> FaultRule:
        """Close the connection without answering and without processing the request."""
        return self._make("drop", scope)

    def lose_response(self, **scope: Unpack[Scope]) -> FaultRule:
        """Process the request (an async job starts), then close the connection instead of answering."""
        return self._make("lose_response", scope)

    def fail_job(
        self,
        *,
        code: str = "SYS.1006",
        description: str | None = None,
        details: str | None = None,
        **scope: Unpack[Scope],
    ) -> FaultRule:
        """Matching async jobs run their whole duration, then fail with this error (records roll back)."""
        return self._make("fail_job", scope, code=code, description=description, details=details)

    def job_duration(
        self, *, polls: int | None = None, seconds: float | None = None, **scope: Unpack[Scope]
    ) -> FaultRule:
        """Matching async jobs finish at poll number `polls` or after `seconds`, whichever comes first."""
        return self._make("job_duration", scope, polls=polls, seconds=seconds)

    def expire_session_during_job(self, **scope: Unpack[Scope]) -> FaultRule:
        """The session that submitted a matching async call expires right after the 202; the job runs on."""
        return self._make("expire_session", scope)

    def expire_job_record(self, **scope: Unpack[Scope]) -> FaultRule:
        """A matching job runs to the end, but its record is gone when the result would be delivered (404)."""
        return self._make("expire_job_record", scope)

    def fail_member_delete(self, *, target: str | None = None, **scope: Unpack[Scope]) -> FaultRule:
        """Deleting a backup (`target`, or any) fails.

        DeleteVmBackup still succeeds (the member stays); DeleteVolumeBackup fails with SYS.1006.
        """
        return self._make("fail_member_delete", scope, target=target)

    def take(self, kind: FaultKind, method: str, path: str, *, target: str | None = None) -> FaultRule | None:
        """The first rule of `kind` that matches and fires, counting the firing."""
        with self._lock:
            for rule in self._rules:
                if rule.kind != kind or not rule.matches(method, path):
                    continue
                if rule.target is not None and rule.target != target:
                    continue
                if rule.fire():
                    return rule.model_copy()
            return None

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [rule.model_copy() for rule in self._rules]

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            return removed

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
