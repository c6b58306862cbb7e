"""Markdown reference pages generated from a resource's property model."""

from __future__ import annotations

import types
import typing
from typing import Any

from ._schema import PropertySpec, ResourceModel, Role

_ROLE_TITLES = {
    Role.INPUT: "Inputs",
    Role.SETTING: "Operation settings (changed in place, never replace)",
    Role.OUTPUT: "Outputs",
}


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _behaviour(spec: PropertySpec) -> str:
    notes = []
    if spec.required:
        notes.append("required")
    if spec.replace:
        notes.append("replaces on change")
    if spec.updates_in_place:
        notes.append("updates in place")
    elif spec.role is Role.INPUT and not spec.replace:
        notes.append("used at create only")
    if spec.ordered:
        notes.append("order matters")
    if spec.create_only and spec.replace:
        notes.append("not reported by ZStack; kept from state")
    if spec.secret:
        notes.append("secret")
    return ", ".join(notes)


def render_reference(model: type[ResourceModel], title: str, intro: str) -> str:
    lines = [f"# {title}", "", "<!-- Generated from the property model; do not edit. -->", "", intro, ""]
    for role, heading in _ROLE_TITLES.items():
        specs = list(model.properties_with(role))
        if not specs:
            continue
        lines += [f"## {heading}", "", "| property | type | behaviour | description |", "|---|---|---|---|"]
        lines += [
            f"| `{s.name}` | `{_type_name(s.annotation)}` | {_behaviour(s)} | {s.description} |"
            for s in specs
        ]
        lines.append("")
    return "\n".join(lines)
