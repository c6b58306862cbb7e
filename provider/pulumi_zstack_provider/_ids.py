"""How resources choose the ids of what they make in ZStack, so that a retry finds its own work.

Every id is a name-based UUID (RFC 4122 version 5) written as ZStack writes UUIDs: 32 hex characters. The
namespaces are fixed forever: changing one would make existing stacks compute other ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

#: Ids derived by the SDK from the stack, the resource name and the inputs (a resource's first create).
DERIVED_NAMESPACE = uuid.UUID("5f0c2b8e-4c1f-4f7a-9d2e-7a1b3c9d0e42")
#: Ids a resource that is already in the state would be made under if it were replaced.
SUCCESSOR_NAMESPACE = uuid.UUID("b1d7e0c4-2f86-4a5e-93c1-6e0f4d2a8b57")
#: The backup groups of a series, one per take.
TAKE_NAMESPACE = uuid.UUID("0a6c3f19-7d24-4b8e-a5f2-c93e1d70b46a")


def derived_id(scope: str, inputs: Mapping[str, Any]) -> str:
    """The id of a resource's first create: the same scope and inputs always give the same id."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return uuid.uuid5(DERIVED_NAMESPACE, f"{scope}\n{canonical}").hex


def successor_id(previous: str) -> str:
    """The id a replacement of the resource recorded under `previous` is made under.

    Never `previous` itself, and the same for every attempt at one replacement, so an interrupted
    replacement is resumed instead of being made twice.
    """
    return uuid.uuid5(SUCCESSOR_NAMESPACE, previous).hex


def take_id(series_uuid: str, take: int) -> str:
    """The backup group of the `take`-th backup of a series (counting from 1)."""
    return uuid.uuid5(TAKE_NAMESPACE, f"{series_uuid}\n{take}").hex
