"""What every resource of the SDK does before it registers: check the arguments, tell the provider who owns
the resource, and list every property so that the engine's values reach the resource's attributes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_zstack_provider import ResourceModel


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


def owner_inputs(type_token: str, resource_name: str, opts: pulumi.ResourceOptions | None) -> dict[str, Any]:
    """`owner_stack` and `owner_urn`: the stack and the full URN the engine gives this resource.

    The provider makes every id of what the resource creates in ZStack from them (a dynamic provider's create
    is never told the URN). The URN includes the type and the parent chain, so two resources of one name
    under different components, or of two types, never share an id.
    """
    project, stack = pulumi.get_project(), pulumi.get_stack()
    owner_stack = f"{pulumi.get_organization()}/{project}/{stack}"
    parent = opts.parent if opts is not None else None

    def urn(parent_type: str | None) -> str:
        qualified = f"{parent_type}${type_token}" if parent_type else type_token
        return f"urn:pulumi:{stack}::{project}::{qualified}::{resource_name}"

    if parent is None:
        return {"owner_stack": owner_stack, "owner_urn": urn(None)}
    # The parent's URN without the parent as a dependency: depending on a component means depending on
    # its children, this resource among them, which the SDK refuses as a circular dependency.
    parent_urn: pulumi.Output[str] = pulumi.Output(
        set(),
        parent.urn.future(),  # type: ignore[arg-type]  # a resource's URN is never None once known
        parent.urn.is_known(),
        parent.urn.is_secret(),
    )
    return {"owner_stack": owner_stack, "owner_urn": parent_urn.apply(lambda p: urn(_qualified_type(p)))}


def _qualified_type(parent_urn: str) -> str | None:
    # urn:pulumi:<stack>::<project>::<qualified type>::<name>; children's URNs leave the stack resource out.
    qualified = parent_urn.split("::")[2]
    return None if qualified == "pulumi:pulumi:Stack" else qualified
