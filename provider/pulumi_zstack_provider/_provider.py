"""The Pulumi dynamic provider, driven by a resource's property model.

The provider object is pickled into every resource's state as ``__provider``. It therefore holds no
attributes at all: its class is pickled by reference (a few bytes that survive code upgrades), and the
configuration, credentials and the HTTP client live in this module, inside the provider process only.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from . import _concurrency
from ._client import ConfigurationError, ConnectionSettings, ZStackError
from ._error_report import install as install_error_report
from ._error_report import reports_partial_results
from ._resource import IncompleteOperation, OperationContext, ResourceDefinition
from ._schema import CROSS_PROPERTY, UNKNOWN_INPUTS, ResourceModel, Role, contains_unknown

if TYPE_CHECKING:
    from ._client import ZStackClient

CONFIG_NAMESPACE = "zstack:"
T = TypeVar("T")
logger = logging.getLogger("pulumi_zstack")


class ProviderError(Exception):
    """What the engine shows when an operation fails: the client's message, without its chain."""


class PartialResultError(ProviderError):
    """A failed operation whose resource exists: `status_details` tell the engine to keep it in the state."""

    def __init__(self, message: str, status_details: bytes) -> None:
        super().__init__(message)
        self.status_details = status_details


#: google.rpc.Code UNKNOWN: the code the host aborts every failed call with; the details must carry the same.
_UNKNOWN_CODE = 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def initialization_failure(resource_id: str, properties: dict[str, Any], message: str) -> bytes:
    """A serialized `google.rpc.Status` whose one detail is Pulumi's `ErrorResourceInitFailed`.

    Encoded here (three fields) rather than with googleapis-common-protos, which the pulumi package only
    brings in indirectly.
    """
    from google.protobuf import any_pb2
    from pulumi.runtime import rpc
    from pulumi.runtime.proto import provider_pb2

    loop = asyncio.new_event_loop()
    try:
        struct = loop.run_until_complete(rpc.serialize_properties(properties, {}))
    finally:
        loop.close()
    detail = any_pb2.Any()
    detail.Pack(provider_pb2.ErrorResourceInitFailed(id=resource_id, properties=struct, reasons=[message]))
    return (
        _varint(1 << 3)
        + _varint(_UNKNOWN_CODE)
        + _field(2, message.encode())
        + _field(3, detail.SerializeToString())
    )


class _Runtime:
    """Process-wide provider state: the stack's ZStack configuration and one pooled, logged-in client."""

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


_runtime = _Runtime()
atexit.register(_runtime.close)


def _setup_logging() -> None:
    # The engine shows what a provider writes to stderr; this is how long jobs report progress.
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("zstack: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _reason(error: ErrorDetails) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "value"
    message = error["msg"].removeprefix("Value error, ")
    kind = error["type"]
    if kind == CROSS_PROPERTY:
        return message
    if kind == "missing":
        return f"{field} is required"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{field} must be one of {expected}, got {error['input']!r}"
    if kind == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        return f"{field} must be at most {limit} characters, got {len(str(error['input']))}"
    if kind == "string_too_short":
        return f"{field} must not be empty"
    return f"{field} {message[0].lower()}{message[1:]}" if message else f"{field} is invalid"


class SchemaProvider(ResourceProvider):
    """A dynamic provider whose check, diff and update come from `definition.model`."""

    serialize_as_secret_always = False  # the pickled provider holds no secret (see module docstring)
    definition: ClassVar[ResourceDefinition[Any]]

    def configure(self, req: ConfigureRequest) -> None:
        _setup_logging()
        install_error_report(ProviderError)  # one-line errors; PULUMI_ZSTACK_DEBUG=1 keeps tracebacks
        _runtime.configure(getattr(req.config, "_props", {}))
        _concurrency.configure(getattr(req.config, "_props", {}))

    @property
    def _model(self) -> type[ResourceModel]:
        return self.definition.model

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        specs = {p.name: p for p in self._model.properties()}
        failures: list[CheckFailure] = []
        declared: dict[str, Any] = {}
        for key, value in news.items():
            spec = specs.get(key)
            if key.startswith("__"):
                continue
            if spec is None:
                valid = ", ".join(sorted(n for n, s in specs.items() if s.is_user_supplied))
                failures.append(
                    CheckFailure(
                        key, f"{key} is not a property of {self.definition.label}; valid inputs: {valid}"
                    )
                )
            elif spec.role is Role.OUTPUT:
                if value is not None:
                    failures.append(CheckFailure(key, f"{key} is computed by ZStack and cannot be set"))
            elif value is not None:
                declared[key] = value

        unknown = {k for k, v in declared.items() if contains_unknown(v)}
        known = {k: v for k, v in declared.items() if k not in unknown}
        checked = dict(declared)
        try:
            # Rules across properties skip those not known yet (see `_schema.unknown_in`).
            validated = self._model.model_validate(known, context={UNKNOWN_INPUTS: frozenset(unknown)})
        except ValidationError as error:
            for detail in error.errors():
                field = str(detail["loc"][0]) if detail["loc"] else detail.get("ctx", {}).get("property", "")
                if detail["type"] == "missing" and field in unknown:
                    continue  # computed by another resource; checked again once it is known
                failures.append(CheckFailure(field, _reason(detail)))
        else:
            checked.update(validated.model_dump(include=set(known)))
            failures += [CheckFailure(f, m) for f, m in validated.conflicts(frozenset(unknown))]

        try:
            _runtime.settings()
        except ConfigurationError as error:
            failures.append(CheckFailure(error.setting, str(error)))
        return CheckResult(checked, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Nothing here reaches ZStack or waits for it: a preview of any size costs no request.
        replaces = self.definition.drift_replaces(olds)
        changed = self.definition.pending_update(olds)
        for spec in self._model.properties_with(Role.INPUT, Role.SETTING):
            old, new = olds.get(spec.name), news.get(spec.name)
            differs = contains_unknown(new) or spec.canonical(old) != spec.canonical(new)
            if spec.replace and differs:
                replaces.append(spec.name)
            elif (spec.role is Role.SETTING or spec.updates_in_place) and differs:
                changed = True
        # Create-before-delete unless the user asks otherwise: a replacement never reuses the old id.
        return DiffResult(changes=bool(replaces) or changed, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        model = self._model.model_validate(self._model.user_supplied(props))
        try:
            resource_id, outputs = self._call(lambda ctx: self.definition.create(ctx, model))
        except IncompleteOperation as incomplete:
            return CreateResult(incomplete.resource_id, self._keep(incomplete, props))
        return CreateResult(resource_id, outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outcome = self._call(lambda ctx: self.definition.read(ctx, id_, props))
        if outcome is None:
            return ReadResult(id_="", outs={})
        return ReadResult(id_, {**outcome.inputs, **outcome.outputs}, outcome.inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        in_place = [
            p
            for p in self._model.properties()
            if p.updates_in_place and p.canonical(olds.get(p.name)) != p.canonical(news.get(p.name))
        ]
        if in_place or self.definition.pending_update(olds):
            model = self._model.model_validate(self._model.user_supplied(news))
            try:
                return UpdateResult(self._call(lambda ctx: self.definition.update(ctx, id_, olds, model)))
            except IncompleteOperation as incomplete:
                return UpdateResult(self._keep(incomplete, news))
        # Only settings changed: they change how later operations run, and nothing in ZStack. Create-only
        # inputs keep the values the resource was made with.
        settings = {p.name: news.get(p.name) for p in self._model.properties_with(Role.SETTING)}
        return UpdateResult({**olds, **settings})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._call(lambda ctx: self.definition.delete(ctx, id_, props))

    @staticmethod
    def _keep(incomplete: IncompleteOperation, props: Mapping[str, Any]) -> dict[str, Any]:
        """Hand a resource that exists to the engine, and fail the operation where the host allows both.

        Inside Pulumi's dynamic-provider host the failure carries the properties (the engine keeps the
        resource, fails the operation and updates the resource at the next `up`); elsewhere, or with
        PULUMI_ZSTACK_DEBUG=1, the operation succeeds with a warning, and the outputs record the work left.
        """
        if reports_partial_results():
            recorded = {**incomplete.outputs, "__provider": props.get("__provider")}
            details = initialization_failure(incomplete.resource_id, recorded, str(incomplete))
            raise PartialResultError(str(incomplete), details)
        logger.warning("warning: %s", incomplete)
        return incomplete.outputs

    def _call(self, operation: Callable[[OperationContext], T]) -> T:
        try:
            with _concurrency.operation_slot():
                return operation(OperationContext(_runtime.client()))
        except IncompleteOperation:
            raise
        except ZStackError as error:
            raise ProviderError(str(error)) from None
