"""The Pulumi dynamic provider, driven by a resource's property model.

The provider object is pickled into every resource's state as ``__provider``. It therefore holds no
attributes at all: its class is pickled by reference (a few bytes that survive code upgrades), and the
configuration, credentials and the HTTP client live in this module, inside the provider process only. What
each operation does is `_core`'s, shared with the native plugin.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

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

from . import _concurrency
from ._core import PartialResultError, ProviderError, ResourceCore, Runtime
from ._error_report import initialization_failure, reports_partial_results
from ._error_report import install as install_error_report
from ._resource import IncompleteOperation, ResourceDefinition

logger = logging.getLogger("pulumi_zstack")

_runtime = Runtime()
atexit.register(lambda: _runtime.close())

__all__ = ["PartialResultError", "ProviderError", "SchemaProvider"]


def setup_logging() -> None:
    # The engine shows what a provider writes to stderr; this is how long jobs report progress.
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("zstack: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class SchemaProvider(ResourceProvider):
    """A dynamic provider whose operations are `_core.ResourceCore`'s for `definition`."""

    serialize_as_secret_always = False  # the pickled provider holds no secret (see module docstring)
    definition: ClassVar[ResourceDefinition[Any]]

    @property
    def _core(self) -> ResourceCore:
        # Looked up per call: tests swap `_runtime` for a fresh one.
        return ResourceCore(self.definition, _runtime)

    def configure(self, req: ConfigureRequest) -> None:
        setup_logging()
        install_error_report(ProviderError)  # one-line errors; PULUMI_ZSTACK_DEBUG=1 keeps tracebacks
        _runtime.configure(getattr(req.config, "_props", {}))
        _concurrency.configure(getattr(req.config, "_props", {}))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = self._core.check(news)
        return CheckResult(checked.inputs, [CheckFailure(p, r) for p, r in checked.failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        difference = self._core.diff(olds, news)
        # Create-before-delete unless the user asks otherwise: a replacement never reuses the old id.
        return DiffResult(
            changes=difference.changes, replaces=difference.replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        try:
            resource_id, outputs = self._core.create(props)
        except IncompleteOperation as incomplete:
            return CreateResult(incomplete.resource_id, _keep(incomplete, props))
        return CreateResult(resource_id, outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outcome = self._core.read(id_, props)
        if outcome is None:
            return ReadResult(id_="", outs={})
        return ReadResult(id_, {**outcome.inputs, **outcome.outputs}, outcome.inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        try:
            return UpdateResult(self._core.update(id_, olds, news))
        except IncompleteOperation as incomplete:
            return UpdateResult(_keep(incomplete, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._core.delete(id_, props)


def _keep(incomplete: IncompleteOperation, props: Mapping[str, Any]) -> dict[str, Any]:
    """Hand a resource that exists to the engine, and fail the operation where the host allows both.

    Inside Pulumi's dynamic-provider host the failure carries the properties (the engine keeps the resource,
    fails the operation and updates the resource at the next `up`); elsewhere, or with PULUMI_ZSTACK_DEBUG=1,
    the operation succeeds with a warning, and the outputs record the work left.
    """
    if reports_partial_results():
        from pulumi.runtime import rpc

        recorded = {**incomplete.outputs, "__provider": props.get("__provider")}
        loop = asyncio.new_event_loop()
        try:
            struct = loop.run_until_complete(rpc.serialize_properties(recorded, {}))
        finally:
            loop.close()
        details = initialization_failure(incomplete.resource_id, struct, str(incomplete))
        raise PartialResultError(str(incomplete), details)
    logger.warning("warning: %s", incomplete)
    return incomplete.outputs
