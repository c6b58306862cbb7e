"""What a resource module implements, and what the provider hands it for each operation."""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ._client import ZStackError
from ._ownership import GroupTags
from ._schema import ResourceModel

if TYPE_CHECKING:
    from ._client import JobProgress, ZStackClient

logger = logging.getLogger("pulumi_zstack")

ModelT = TypeVar("ModelT", bound=ResourceModel)

#: A long job reports progress at most this often, so the engine's output stays readable.
PROGRESS_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class ReadOutcome:
    outputs: dict[str, Any]
    inputs: dict[str, Any]


class IncompleteOperation(ZStackError):
    """A create or update that failed after its resource came to exist (e.g. a backup taken, its copy not).

    `outputs` are the resource's properties as they now are: the engine must keep them in the state, so the
    next `pulumi up` finishes the work (an update) instead of making the resource again.
    """

    def __init__(self, message: str, resource_id: str, outputs: dict[str, Any]) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.outputs = outputs


class OperationContext:
    """One create, read or delete: the shared client plus progress reporting for long jobs."""

    def __init__(self, client: ZStackClient) -> None:
        self.client = client
        self._last_report = 0.0
        self._looked_up: dict[str, Any] = {}

    def remember(self, key: str, value: Any) -> None:
        """Keep what a look-up found for the next step of this same operation, to spare a second query."""
        self._looked_up[key] = value

    def recall(self, key: str) -> Any:
        """What `remember` kept under `key` (once), or None."""
        return self._looked_up.pop(key, None)

    def progress(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_report >= PROGRESS_EVERY_SECONDS:
            self._last_report = now
            logger.info("%s", message)

    def _on_job_progress(self, progress: JobProgress) -> None:
        self.progress(
            f"{progress.operation}: ZStack job {progress.job_uuid} {progress.state}, "
            f"{progress.elapsed:.0f}s elapsed"
        )

    def run_job(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.client.run_job(method, path, on_progress=self._on_job_progress, **kwargs)


class ResourceDefinition(abc.ABC, Generic[ModelT]):
    """The ZStack side of one resource type. The provider does check, diff and update from `model`."""

    model: ClassVar[type[ResourceModel]]
    label: ClassVar[str]

    @abc.abstractmethod
    def create(self, ctx: OperationContext, props: ModelT) -> tuple[str, dict[str, Any]]:
        """Make the resource and return its id and every property.

        Under the ownership rules of `_ownership`: resume only this resource's own earlier attempt for the
        same inputs, never an object another state may hold (apart from explicit adoption).
        """

    @abc.abstractmethod
    def read(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> ReadOutcome | None:
        """Current outputs and observed inputs, or None when the resource is truly gone."""

    def owner_tags(self, ctx: OperationContext, resource_id: str) -> GroupTags | None:
        """The owner tags of the object `resource_id` names, for `pulumi import`; None: not importable."""
        return None

    def drift_replaces(self, state: Mapping[str, Any]) -> list[str]:
        """Outputs in `state` that show the resource can no longer serve and must be made again."""
        return []

    def pending_update(self, state: Mapping[str, Any]) -> bool:
        """Whether `state` records work left over that the next update must finish (e.g. a failed prune)."""
        return False

    def update(
        self, ctx: OperationContext, resource_id: str, olds: Mapping[str, Any], props: ModelT
    ) -> dict[str, Any]:
        """Apply changed in-place inputs to the existing resource; return every property."""
        raise NotImplementedError(f"{self.label} has no input that changes in place")

    @abc.abstractmethod
    def delete(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> None:
        """Delete and confirm; a resource that is already gone is a success."""
