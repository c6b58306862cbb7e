"""The native Pulumi provider plugin ``zstack``: the same resources for every language.

``python -m pulumi_zstack_provider.native <engine address>`` serves Pulumi's provider gRPC protocol with
``pulumi.provider.experimental``; a plugin directory's launcher calls `main`. Every operation is `_core`'s,
shared with the dynamic provider; this module only translates between the engine's property values and the
core's plain dicts, and supplies what the dynamic door gets from the SDK: the owner of each resource.

- **Owner.** A dynamic provider never sees a URN, so the Python SDK passes ``owner_stack`` and ``owner_urn``
  as inputs. Here the engine sends the URN with every request, so they are not inputs of the package schema:
  a create takes them from the request's URN and keeps them in the state, where delete and update find
  them. The engine tells a provider no organization (no request of the 3.274 protocol carries one), so the
  stack is ``organization/<project>/<stack>``: the organization a self-managed backend gives every stack.
  `pulumi-zstack orphans` looks for both forms of a stack's groups.
- **Unknowns.** The experimental interface unmarshals the engine's unknown marker (a plain string while the
  provider does not accept output values, which `configure` declines) as that string, and cannot marshal
  its own `Computed` value. So unknowns travel as the marker string both ways, which `_schema` recognises.
- **Threads.** The server runs every call on one asyncio loop; each operation runs on a thread pool sized
  for the largest `zstack:maxConcurrentOperations`, which bounds the operations themselves.
- **Progress and warnings** go to the engine's Log service with the resource's URN, as `pulumi up` shows
  them: the engine keeps a resource plugin's stderr for its debug log only. Like check failures and errors,
  they name properties as the schema does (the core's lines, shared with the dynamic door, use the models'
  names).
- **Errors.** The server answers an exception with gRPC's ``Unexpected <class 'Exception'>:`` before its
  message, and recent releases append a traceback of the server's frames. `main` serves with a subclass of its
  servicer that answers pulumi-zstack's own errors with their message alone, as the dynamic door does;
  ``PULUMI_ZSTACK_DEBUG=1`` keeps the server's answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from importlib.metadata import version
from typing import Any, TypeVar

import grpc
from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental import server
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from . import _concurrency
from ._client._settings import MAX_CONCURRENT_OPERATIONS_LIMIT
from ._core import PartialResultError, ProviderError, ResourceCore, Runtime
from ._error_report import STATUS_DETAILS_TRAILER, debug_requested, initialization_failure
from ._ownership import DEFAULT_ORGANIZATION, OWNER_INPUTS, Owner
from ._package_schema import PACKAGE, RESOURCES, package_schema_json
from ._provider import logger
from ._resource import IncompleteOperation
from ._schema import UNKNOWN, Role, wire_name

#: Threads beyond the operation cap: checks, diffs and reads keep running while every slot is busy.
SPARE_WORKERS = 8
#: How long one log line may take to reach the engine before it goes to stderr instead.
LOG_TIMEOUT_S = 5.0

_operation_urn: ContextVar[str] = ContextVar("zstack_operation_urn", default="")
_operation_door: ContextVar[_Door | None] = ContextVar("zstack_operation_door", default=None)

T = TypeVar("T")


def owner_of(urn: str) -> Owner:
    """The resource `urn` names, as the ownership model records it: ``organization/project/stack`` and URN."""
    # urn:pulumi:<stack>::<project>::<qualified type>::<name>
    head, _, rest = urn.partition("::")
    stack = head.removeprefix("urn:pulumi:")
    project = rest.partition("::")[0]
    if not urn.startswith("urn:pulumi:") or not stack or not project:
        raise ProviderError(f"the engine sent a URN of an unexpected form: {urn!r}")
    return Owner(f"{DEFAULT_ORGANIZATION}/{project}/{stack}", urn)


def owner_inputs(owner: Owner) -> dict[str, str]:
    return {"owner_stack": owner.stack, "owner_urn": owner.urn}


def to_plain(value: PropertyValue) -> Any:
    """The core's form of one engine value: JSON-like, with the unknown marker for values not known yet."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {k: to_plain(v) for k, v in inner.items()}
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        return [to_plain(v) for v in inner]
    if isinstance(inner, (type(None), bool, float, str)):
        return inner
    raise ProviderError(f"pulumi-zstack takes no {value.type.value} values")


def unwrap(props: Mapping[str, PropertyValue]) -> tuple[dict[str, Any], set[str]]:
    """Plain properties, and the names of those that hold a secret (anywhere inside)."""
    return {k: to_plain(v) for k, v in props.items()}, {k for k, v in props.items() if v.contains_secret()}


def to_value(value: Any, *, secret: bool = False) -> PropertyValue:
    """The engine's form of one of the core's JSON values."""
    if isinstance(value, Mapping):
        converted: PropertyValue = PropertyValue({str(k): to_value(v) for k, v in value.items()})
    elif isinstance(value, (list, tuple)):
        converted = PropertyValue([to_value(v) for v in value])
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        converted = PropertyValue(value)
    elif isinstance(value, (int, float)):
        converted = PropertyValue(float(value))  # the protocol's one number type
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")
    return converted.with_secret(True) if secret else converted


def _config_value(value: Any) -> Any:
    # Config arrives typed as the schema declares it; the settings parse text, as stack config is.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class EngineLog(logging.Handler):
    """Shows the provider's log lines in the engine's output, with the URN of the operation they belong to."""

    def __init__(self, engine_address: str) -> None:
        super().__init__()
        self._engine = engine_pb2_grpc.EngineStub(grpc.insecure_channel(engine_address))

    def emit(self, record: logging.LogRecord) -> None:
        warning = record.levelno >= logging.WARNING
        message = self.format(record).removeprefix("warning: ")
        door = _operation_door.get()
        if door is not None:
            message = door.speak(message)
        request = engine_pb2.LogRequest(
            severity=engine_pb2.WARNING if warning else engine_pb2.INFO,
            message=message,
            urn=_operation_urn.get(),
        )
        try:
            self._engine.Log(request, timeout=LOG_TIMEOUT_S)
        except grpc.RpcError:
            print(f"zstack: {'warning: ' if warning else ''}{message}", file=sys.stderr, flush=True)


class _Door:
    """One resource type at the plugin's door: the schema's names outside, the model's inside."""

    def __init__(self, core: ResourceCore) -> None:
        self.core = core
        specs = core.model.properties()
        self._model_names = {wire_name(spec.name): spec.name for spec in specs}
        self._wire_names = {spec.name: wire_name(spec.name) for spec in specs}
        self._always_secret = {spec.name for spec in specs if spec.secret}
        compound = sorted((spec.name for spec in specs if "_" in spec.name), key=len, reverse=True)
        self._names_in_text = re.compile(r"\b(" + "|".join(compound) + r")\b")

    def inbound(self, props: Mapping[str, PropertyValue]) -> tuple[dict[str, Any], set[str]]:
        """The core's properties, and the names of those that hold a secret anywhere inside."""
        plain, secrets = unwrap(props)
        return (
            {self._model_names.get(k, k): v for k, v in plain.items()},
            {self._model_names.get(k, k) for k in secrets},
        )

    def outbound(self, props: Mapping[str, Any], secrets: set[str]) -> dict[str, PropertyValue]:
        return {
            self._wire_names.get(k, k): to_value(v, secret=k in secrets or k in self._always_secret)
            for k, v in props.items()
        }

    def wire(self, name: str) -> str:
        return self._wire_names.get(name, name)

    def partial_result(self, incomplete: IncompleteOperation, secrets: set[str]) -> PartialResultError:
        """The failure that hands a resource that exists to the engine: it keeps the resource with these
        properties, fails the operation, and updates the resource at the next `up`."""
        message = self.speak(str(incomplete))
        properties = PropertyValue.marshal_map(self.outbound(incomplete.outputs, secrets))
        details = initialization_failure(incomplete.resource_id, properties, message)
        return PartialResultError(message, details)

    def speak(self, message: str) -> str:
        """`message` (the core's, for either door) with the properties it names under the schema's names."""
        return self._names_in_text.sub(lambda m: self.wire(m.group(1)), message)


class ZStackProvider(p.Provider):
    """Serves the four resources of the ``zstack`` package over one configuration."""

    def __init__(self) -> None:
        self._runtime = Runtime()
        self._doors = {token: _Door(ResourceCore(d, self._runtime)) for token, d in RESOURCES.items()}
        self._pool = ThreadPoolExecutor(
            max_workers=MAX_CONCURRENT_OPERATIONS_LIMIT + SPARE_WORKERS, thread_name_prefix="zstack"
        )

    def _door(self, type_token: str) -> _Door:
        door = self._doors.get(type_token)
        if door is None:
            raise ProviderError(f"the zstack package has no resource type {type_token!r}")
        return door

    async def _run(self, door: _Door, urn: str, operation: Callable[[], T]) -> T:
        def logged_under_urn() -> T:
            urn_token, door_token = _operation_urn.set(urn), _operation_door.set(door)
            try:
                return operation()
            except ProviderError as error:
                raise type(error)(door.speak(str(error))) from None
            finally:
                _operation_urn.reset(urn_token)
                _operation_door.reset(door_token)

        return await asyncio.get_running_loop().run_in_executor(self._pool, logged_under_urn)

    async def get_schema(self, request: p.GetSchemaRequest) -> p.GetSchemaResponse:
        return p.GetSchemaResponse(schema=package_schema_json())

    async def diff_config(self, request: p.DiffRequest) -> p.DiffResponse:
        # New credentials or a new host serve the next operation: never a reason to replace resources.
        olds, _ = unwrap(request.old_state)
        news, _ = unwrap(request.new_inputs)
        changed = sorted(k for k in set(olds) | set(news) if olds.get(k) != news.get(k) and k != "version")
        return p.DiffResponse(changes=bool(changed), diffs=changed)

    async def configure(self, request: p.ConfigureRequest) -> p.ConfigureResponse:
        if request.args:
            config = {f"{PACKAGE}:{k}": _config_value(to_plain(v)) for k, v in request.args.items()}
        else:  # an engine that sends only the flattened variables
            config = {k.replace(f"{PACKAGE}:config:", f"{PACKAGE}:"): v for k, v in request.variables.items()}
        self._runtime.configure(config)
        _concurrency.configure(config, dynamic_host=False)
        # Output values stay off: the experimental interface cannot unmarshal an unknown one.
        return p.ConfigureResponse(
            accept_secrets=True, supports_preview=True, accept_resources=False, accept_outputs=False
        )

    async def check(self, request: p.CheckRequest) -> p.CheckResponse:
        door = self._door(request.type)
        news, secrets = door.inbound(request.new_inputs)
        set_by_hand = [k for k in OWNER_INPUTS if k in news]
        owned = {**news, **owner_inputs(owner_of(request.urn))}
        checked = await self._run(door, request.urn, lambda: door.core.check(owned))
        failures = [p.CheckFailure(door.wire(prop), door.speak(reason)) for prop, reason in checked.failures]
        failures += [
            p.CheckFailure(
                door.wire(k),
                f"{door.wire(k)} is not a property of {door.core.definition.label}: the provider takes it "
                "from the resource's URN",
            )
            for k in set_by_hand
        ]
        inputs = {k: v for k, v in checked.inputs.items() if k not in OWNER_INPUTS}
        return p.CheckResponse(inputs=door.outbound(inputs, secrets), failures=failures)

    async def diff(self, request: p.DiffRequest) -> p.DiffResponse:
        door = self._door(request.type)
        olds, _ = door.inbound(request.old_state)
        news, _ = door.inbound(request.new_inputs)
        difference = await self._run(door, request.urn, lambda: door.core.diff(olds, news))
        inputs = {spec.name for spec in door.core.model.properties_with(Role.INPUT, Role.SETTING)}
        detailed = {
            door.wire(name): p.PropertyDiff(p.PropertyDiffKind.UPDATE_REPLACE, name in inputs)
            for name in difference.replaces
        }
        detailed.update(
            (door.wire(name), p.PropertyDiff(p.PropertyDiffKind.UPDATE, True)) for name in difference.updates
        )
        return p.DiffResponse(
            changes=difference.changes,
            replaces=[door.wire(name) for name in difference.replaces],
            diffs=sorted(detailed),
            detailed_diff=detailed,
            # Create-before-delete unless the user asks otherwise: a replacement never reuses the old id.
            delete_before_replace=False,
        )

    async def create(self, request: p.CreateRequest) -> p.CreateResponse:
        door = self._door(request.type)
        props, secrets = door.inbound(request.properties)
        props.update(owner_inputs(owner_of(request.urn)))
        if request.preview:
            # Outputs, and the id an identity input left unset becomes, are known once ZStack made them.
            computed = {
                spec.name: UNKNOWN
                for spec in door.core.model.properties()
                if spec.role is Role.OUTPUT or spec.identity
            }
            return p.CreateResponse(resource_id="", properties=door.outbound({**computed, **props}, secrets))
        try:
            resource_id, outputs = await self._run(door, request.urn, lambda: door.core.create(props))
        except IncompleteOperation as incomplete:
            raise door.partial_result(incomplete, secrets) from None
        return p.CreateResponse(resource_id=resource_id, properties=door.outbound(outputs, secrets))

    async def read(self, request: p.ReadRequest) -> p.ReadResponse:
        door = self._door(request.type)
        state, secrets = door.inbound(request.properties)
        importer = None
        if not state:  # `pulumi import` (or a read-only `get`): the engine knows nothing but the id
            importer = owner_of(request.urn)
            state = owner_inputs(importer)
        outcome = await self._run(
            door, request.urn, lambda: door.core.read(request.resource_id, state, importer)
        )
        if outcome is None:
            return p.ReadResponse(resource_id="")
        inputs = {k: v for k, v in outcome.inputs.items() if k not in OWNER_INPUTS and v is not None}
        return p.ReadResponse(
            resource_id=request.resource_id,
            properties=door.outbound({**outcome.inputs, **outcome.outputs}, secrets),
            inputs=door.outbound(inputs, secrets),
        )

    async def update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        door = self._door(request.type)
        olds, old_secrets = door.inbound(request.olds)
        news, secrets = door.inbound(request.news)
        news.update({k: olds[k] for k in OWNER_INPUTS if olds.get(k)} or owner_inputs(owner_of(request.urn)))
        if request.preview:
            return p.UpdateResponse(properties=door.outbound({**olds, **news}, secrets | old_secrets))
        try:
            outputs = await self._run(
                door, request.urn, lambda: door.core.update(request.resource_id, olds, news)
            )
        except IncompleteOperation as incomplete:
            raise door.partial_result(incomplete, secrets | old_secrets) from None
        return p.UpdateResponse(properties=door.outbound(outputs, secrets | old_secrets))

    async def delete(self, request: p.DeleteRequest) -> None:
        door = self._door(request.type)
        state, _ = door.inbound(request.properties)
        await self._run(door, request.urn, lambda: door.core.delete(request.resource_id, state))


def _one_line_errors(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def answer(self: server.ProviderServicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except Exception as error:
            # Newer servers re-raise with the traceback appended; ours is then the exception it handled.
            ours = error if isinstance(error, ProviderError) else error.__context__
            if isinstance(ours, ProviderError):
                details = getattr(ours, "status_details", None)
                trailer = ((STATUS_DETAILS_TRAILER, details),) if isinstance(details, bytes) else ()
                await context.abort(grpc.StatusCode.UNKNOWN, str(ours), trailing_metadata=trailer)
            raise

    return answer


class _Servicer(server.ProviderServicer):
    """The server's servicer, answering pulumi-zstack's own errors with their message alone."""


for _name in ("Check", "Diff", "Create", "Read", "Update", "Delete", "Configure"):
    setattr(_Servicer, _name, _one_line_errors(getattr(server.ProviderServicer, _name)))


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the provider: print the port, as the engine expects, then answer until stopped.

    `argv` is what the engine passes a plugin: its own address first, then flags.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    engine_address = next((a for a in args if not a.startswith("-")), None)
    if engine_address is not None and not logger.handlers:
        logger.addHandler(EngineLog(engine_address))
        logger.setLevel(logging.INFO)
        logger.propagate = False
    if not debug_requested():
        # `server.main` builds the servicer it finds under this name.
        server.ProviderServicer = _Servicer  # type: ignore[misc]
    server.main(args, version("pulumi-zstack"), ZStackProvider())


if __name__ == "__main__":
    main()
