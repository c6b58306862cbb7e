"""What a resource does on check, diff, create, read, update and delete, for either provider door.

Both doors call this with plain dicts: the dynamic provider (`_provider.SchemaProvider`, which Python programs
use through ``pulumi.dynamic``) and the native plugin (`native`, the ``zstack`` package every language uses).
A value the engine does not know yet (preview) is the engine's marker string or `pulumi.output.Unknown`;
`_schema.contains_unknown` recognises both.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from . import _concurrency
from ._client import ConnectionSettings, ZStackError
from ._client._errors import ConfigurationError
from ._ownership import Owner
from ._resource import IncompleteOperation, OperationContext, ReadOutcome, ResourceDefinition
from ._schema import CROSS_PROPERTY, UNKNOWN_INPUTS, ResourceModel, Role, contains_unknown

if TYPE_CHECKING:
    from ._client import ZStackClient

CONFIG_NAMESPACE = "zstack:"
T = TypeVar("T")


class ProviderError(Exception):
    """What the engine shows when an operation fails: the client's message, without its chain."""


class PartialResultError(ProviderError):
    """A failed operation whose resource exists: `status_details` (a serialized `google.rpc.Status` holding
    Pulumi's `ErrorResourceInitFailed`) tell the engine to keep it in the state and fail the operation."""

    def __init__(self, message: str, status_details: bytes) -> None:
        super().__init__(message)
        self.status_details = status_details


class Runtime:
    """A provider process's ZStack configuration and its one pooled, logged-in client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: dict[str, str] = {}
        self._client: ZStackClient | None = None

    def configure(self, config: Mapping[str, Any]) -> None:
        raw = {
            k: v if isinstance(v, str) else json.dumps(v)
            for k, v in config.items()
            if k.startswith(CONFIG_NAMESPACE) and v is not None
        }
        with self._lock:
            if raw != self._config and self._client is not None:
                self._client.close()
                self._client = None
            self._config = raw

    def settings(self) -> ConnectionSettings:
        return ConnectionSettings.resolve(self._config, os.environ)

    def client(self) -> ZStackClient:
        with self._lock:
            if self._client is None:
                from ._client import ZStackClient  # httpx loads with the first operation, not at check

                self._client = ZStackClient(ConnectionSettings.resolve(self._config, os.environ))
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _reason(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "value"
    message = error["msg"].removeprefix("Value error, ")
    kind = error["type"]
    if kind == CROSS_PROPERTY:
        return message
    if kind == "missing":
        return f"{name} is required"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{name} must be one of {expected}, got {error['input']!r}"
    if kind == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        return f"{name} must be at most {limit} characters, got {len(str(error['input']))}"
    if kind == "string_too_short":
        return f"{name} must not be empty"
    return f"{name} {message[0].lower()}{message[1:]}" if message else f"{name} is invalid"


@dataclass(frozen=True)
class Checked:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]
    """(property, reason) pairs."""


@dataclass(frozen=True)
class Difference:
    replaces: list[str]
    """Properties whose change (or value not known yet) makes a new resource."""
    updates: list[str] = field(default_factory=list)
    """Properties changed in place (or not known yet); empty with `pending` for left-over work."""
    pending: bool = False
    """The state records work a previous update left over, which the next update finishes."""

    @property
    def changes(self) -> bool:
        return bool(self.replaces or self.updates or self.pending)


class ImportRefused(ProviderError):
    """`pulumi import` named an object another resource holds."""


class ResourceCore:
    """One resource type's operations over plain property dicts, with the ZStack client of `runtime`."""

    def __init__(self, definition: ResourceDefinition[Any], runtime: Runtime) -> None:
        self.definition = definition
        self.runtime = runtime

    @property
    def model(self) -> type[ResourceModel]:
        return self.definition.model

    def check(self, news: Mapping[str, Any]) -> Checked:
        specs = {p.name: p for p in self.model.properties()}
        failures: list[tuple[str, str]] = []
        declared: dict[str, Any] = {}
        for key, value in news.items():
            spec = specs.get(key)
            if key.startswith("__"):
                continue
            if spec is None:
                valid = ", ".join(sorted(n for n, s in specs.items() if s.is_user_supplied))
                failures.append(
                    (key, f"{key} is not a property of {self.definition.label}; valid inputs: {valid}")
                )
            elif spec.role is Role.OUTPUT:
                if value is not None:
                    failures.append((key, f"{key} is computed by ZStack and cannot be set"))
            elif value is not None:
                declared[key] = value

        unknown = {k for k, v in declared.items() if contains_unknown(v)}
        known = {k: v for k, v in declared.items() if k not in unknown}
        checked = dict(declared)
        try:
            # Rules across properties skip those not known yet (see `_schema.unknown_in`).
            validated = self.model.model_validate(known, context={UNKNOWN_INPUTS: frozenset(unknown)})
        except ValidationError as error:
            for detail in error.errors():
                name = str(detail["loc"][0]) if detail["loc"] else detail.get("ctx", {}).get("property", "")
                if detail["type"] == "missing" and name in unknown:
                    continue  # computed by another resource; checked again once it is known
                failures.append((name, _reason(detail)))
        else:
            checked.update(validated.model_dump(include=set(known)))
            failures += validated.conflicts(frozenset(unknown))

        try:
            self.runtime.settings()
        except ConfigurationError as error:
            failures.append((error.setting, str(error)))
        return Checked(checked, failures)

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Difference:
        # Nothing here reaches ZStack or waits for it: a preview of any size costs no request.
        replaces = self.definition.drift_replaces(olds)
        updates: list[str] = []
        for spec in self.model.properties_with(Role.INPUT, Role.SETTING):
            old, new = olds.get(spec.name), news.get(spec.name)
            differs = contains_unknown(new) or spec.canonical(old) != spec.canonical(new)
            if spec.replace and differs:
                replaces.append(spec.name)
            elif (spec.role is Role.SETTING or spec.updates_in_place) and differs:
                updates.append(spec.name)
        return Difference(replaces, updates, self.definition.pending_update(olds))

    def create(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        model = self.model.model_validate(self.model.user_supplied(props))
        return self._call(lambda ctx: self.definition.create(ctx, model))

    def read(
        self, resource_id: str, state: Mapping[str, Any], importer: Owner | None = None
    ) -> ReadOutcome | None:
        """The resource as ZStack has it, or None when it is gone.

        With `importer` (an import: the engine knows nothing but the id), an object another resource holds
        is refused, and one that `importer` itself holds is read with the claim in its owner tag.
        """

        def read(ctx: OperationContext) -> ReadOutcome | None:
            claim = self._imported_claim(ctx, resource_id, importer) if importer is not None else None
            outcome = self.definition.read(ctx, resource_id, state)
            if outcome is None or importer is None:
                return outcome
            # The id is the resource's; an identity input would make the program adopt the object again at
            # each replacement instead of making a new one.
            identity = {spec.name for spec in self.model.properties() if spec.identity}
            inputs = {k: v for k, v in outcome.inputs.items() if k not in identity}
            return ReadOutcome(outputs={**outcome.outputs, "owner_claim": claim}, inputs=inputs)

        return self._call(read)

    def _imported_claim(self, ctx: OperationContext, resource_id: str, importer: Owner) -> str | None:
        label = self.definition.label
        tags = self.definition.owner_tags(ctx, resource_id)
        if tags is None:
            raise ImportRefused(f"{label} cannot be imported: `pulumi import` supports VmBackup")
        others = [o for o in tags.owners if (o.stack_key, o.urn) != (importer.stack_key, importer.urn)]
        if others:
            holders = ", ".join(sorted({o.urn for o in others}))
            raise ImportRefused(
                f"{label} {resource_id} belongs to {holders} (its owner tag in ZStack): importing it would "
                f"share it. Import it into the stack that holds it; or, to move it here, declare a {label} "
                f"with `groupUuid` set to {resource_id}, which takes the owner tag over (the other stack's "
                f"resource then leaves it alone)."
            )
        if tags.legacy_recorded and not tags.owners:
            raise ImportRefused(
                f"{label} {resource_id} was handed to a stack by pulumi-zstack 0.1.0 (tag "
                f"`pulumi-zstack::recorded`) and may still be held there: importing it could share it. To "
                f"move it here, declare a {label} with `groupUuid` set to {resource_id}."
            )
        return tags.owners[0].claim if tags.owners else None

    def update(self, resource_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        in_place = [
            p
            for p in self.model.properties()
            if p.updates_in_place and p.canonical(olds.get(p.name)) != p.canonical(news.get(p.name))
        ]
        if in_place or self.definition.pending_update(olds):
            model = self.model.model_validate(self.model.user_supplied(news))
            return self._call(lambda ctx: self.definition.update(ctx, resource_id, olds, model))
        # Only settings changed: they change how later operations run, and nothing in ZStack. Create-only
        # inputs keep the values the resource was made with.
        settings = {p.name: news.get(p.name) for p in self.model.properties_with(Role.SETTING)}
        return {**olds, **settings}

    def delete(self, resource_id: str, state: Mapping[str, Any]) -> None:
        self._call(lambda ctx: self.definition.delete(ctx, resource_id, state))

    def _call(self, operation: Callable[[OperationContext], T]) -> T:
        try:
            with _concurrency.operation_slot():
                return operation(OperationContext(self.runtime.client()))
        except IncompleteOperation:
            raise  # each door hands the resource to the engine its own way
        except ZStackError as error:
            raise ProviderError(str(error)) from None
