"""What every resource of the SDK does before it registers: check the arguments, derive the id of a first
create, and list every property so that the engine's values reach the resource's attributes."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
from pulumi_zstack_provider import ResourceModel, derived_id


def inputs_of(
    kind: str, args_type: type[Any], resource_name: str, args: Any, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The inputs given as an `args_type` instance and/or keywords, without the unset ones.

    An unknown keyword is refused here, in the program, naming the valid ones.
    """
    names = [f.name for f in dataclasses.fields(args_type)]
    unknown = sorted(set(kwargs) - set(names))
    if unknown:
        raise TypeError(
            f"{kind} {resource_name!r}: unknown argument(s) {', '.join(unknown)}; "
            f"valid ones: {', '.join(names)}"
        )
    given = dataclasses.asdict(args) if args is not None else {}
    given.update(kwargs)
    return {k: v for k, v in given.items() if v is not None}


def every_property(model: type[ResourceModel], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`inputs` plus every other property as None: the engine fills a resource's attribute only if its key
    was registered."""
    return {**{p.name: None for p in model.properties()}, **inputs}


def derived_identity(
    resource_name: str, inputs: dict[str, Any], *, exclude: Collection[str]
) -> pulumi.Output[str]:
    """An id from the organization, project, stack, resource name and the inputs that shape the object.

    `exclude` names inputs that do not (operation settings): changing a timeout must not change the id.
    """
    shaping = {k: v for k, v in inputs.items() if k not in exclude}
    scope = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
    return pulumi.Output.all(**shaping).apply(lambda resolved: derived_id(scope, resolved))
