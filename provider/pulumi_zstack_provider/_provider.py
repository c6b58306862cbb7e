"""The Pulumi dynamic provider, driven by a resource's property model.

The provider object is pickled into every resource's state as ``__provider``. It therefore holds no
attributes at all: its class is pickled by reference (a few bytes that survive code upgrades), and the
configuration, credentials and the HTTP client live in this module, inside the provider process only. What
each operation does is `_core`'s, shared with the native plugin.
"""

from __future__ import annotations

import atexit
import logging
import sys
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
from ._core import ProviderError, ResourceCore, Runtime
from ._error_report import install as install_error_report
from ._resource import ResourceDefinition

logger = logging.getLogger("pulumi_zstack")

_runtime = Runtime()
atexit.register(lambda: _runtime.close())

__all__ = ["ProviderError", "SchemaProvider"]


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
        resource_id, outputs = self._core.create(props)
        return CreateResult(resource_id, outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outcome = self._core.read(id_, props)
        if outcome is None:
            return ReadResult(id_="", outs={})
        return ReadResult(id_, {**outcome.inputs, **outcome.outputs}, outcome.inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._core.update(id_, olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._core.delete(id_, props)
