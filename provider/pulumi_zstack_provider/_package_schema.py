"""The Pulumi package schema of the native ``zstack`` plugin, generated from the resources' property models.

The schema is what every language's SDK is generated from and what the engine asks the plugin for
(GetSchema); ``provider/pulumi_zstack_provider/schema.json`` is the committed copy, written with the
reference pages by ``python -m pulumi_zstack_provider.docs``.

Property names are camelCase, as in every Pulumi package (each SDK turns them into its own convention); the
models name them in snake_case, and `wire_name` / `model_name` translate at the plugin's door. Values inside
object outputs (``members``, ``nics``...) keep the models' keys. ``owner_stack`` and ``owner_urn`` are not
in the schema: the plugin takes them from the URN of each request.
"""

from __future__ import annotations

import json
import types
import typing
from importlib.metadata import version
from typing import Any

from pydantic import JsonValue

from ._client._settings import SETTINGS
from ._docs import PAGES
from ._ownership import OWNER_INPUTS
from ._resource import ResourceDefinition
from ._schema import PropertySpec, ResourceModel, Role, wire_name
from ._vm_backup import VmBackupResource
from ._vm_backup_schedule import VmBackupScheduleResource
from ._vm_backup_series import VmBackupSeriesResource
from ._vm_from_backup import VmFromBackupResource

PACKAGE = "zstack"
#: Where the project lives; the Go SDK's module path is under it, as Go modules are named after their home.
REPOSITORY = "https://github.com/pulumi-zstack/pulumi-zstack"
#: The Go SDK's module and the npm package of the TypeScript SDK. The npm scope is the project's own:
#: `@pulumi` is Pulumi's.
GO_MODULE = "github.com/pulumi-zstack/pulumi-zstack/sdk/go"
NPM_PACKAGE = "@pulumi-zstack/zstack"
#: Inputs the Python SDK passes to the dynamic door; the native door takes them from the request's URN.
#: The type token of each resource and what implements it.
RESOURCES: dict[str, ResourceDefinition[Any]] = {
    f"{PACKAGE}:index:{definition.label}": definition
    for definition in (
        VmBackupResource(),
        VmBackupSeriesResource(),
        VmFromBackupResource(),
        VmBackupScheduleResource(),
    )
}
_ANY = {"$ref": "pulumi.json#/Any"}


def published(model: type[ResourceModel]) -> list[PropertySpec]:
    """The properties of `model` that the schema lists."""
    return [spec for spec in model.properties() if spec.name not in OWNER_INPUTS]


def _type_of(annotation: Any) -> dict[str, Any]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_of(args[0])
    if origin in (typing.Union, types.UnionType):
        (only,) = [a for a in args if a is not type(None)]
        return _type_of(only)
    if origin is typing.Literal:
        return {"type": "string"}
    if origin is list:
        return {"type": "array", "items": _type_of(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _ANY}
    if annotation is JsonValue or annotation is Any:
        return dict(_ANY)
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return {"type": simple[annotation]}
    raise TypeError(f"no package schema type for {annotation!r}")


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return next((v for a in typing.get_args(annotation) if (v := _literal_values(a))), ())


def _description(spec: PropertySpec) -> str:
    # The schema's strings carry no allowed values without a named enum type; the description says them.
    allowed = _literal_values(spec.annotation)
    if not allowed or all(f"`{v}`" in spec.description for v in allowed):
        return spec.description
    return f"{spec.description} One of {', '.join(f'`{v}`' for v in allowed)}."


def _property(spec: PropertySpec) -> dict[str, Any]:
    schema: dict[str, Any] = {**_type_of(spec.annotation), "description": _description(spec)}
    if spec.secret:
        schema["secret"] = True
    if spec.replace:
        schema["replaceOnChanges"] = True
    return schema


def _resource(definition: ResourceDefinition[Any], intro: str) -> dict[str, Any]:
    specs = published(definition.model)
    inputs = [s for s in specs if s.role in (Role.INPUT, Role.SETTING)]
    return {
        "description": intro,
        "properties": {wire_name(s.name): _property(s) for s in specs},
        "inputProperties": {wire_name(s.name): _property(s) for s in inputs},
        "requiredInputs": sorted(wire_name(s.name) for s in inputs if s.required),
        # What every create, update and read fills is no optional type in the SDKs: a Go program passes
        # `series.RootVolumeUuid` (a StringOutput) straight to another resource's required input.
        "required": sorted(wire_name(s.name) for s in specs if s.always_in_state),
    }


def _config() -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for setting in SETTINGS:
        name = setting.key.removeprefix(f"{PACKAGE}:")
        # The plugin reads the environment variable itself, in its own process: no `defaultInfo`, which
        # would have each SDK read it in the program and send it to the engine, into the state.
        variable: dict[str, Any] = {
            "type": setting.kind,
            "description": f"{setting.description} When unset, the provider reads `{setting.env_var}`.",
        }
        if setting.secret:
            variable["secret"] = True
        variables[name] = variable
    return variables


def package_schema() -> dict[str, Any]:
    intros = {title: intro for _model, title, intro in PAGES.values()}
    config = _config()
    return {
        "name": PACKAGE,
        "displayName": "ZStack",
        "version": version("pulumi-zstack"),
        "description": "ZStack Cloud VM backups as code: backups, rotating series, backup schedules and "
        "restores.",
        "keywords": ["pulumi", "zstack", "backup", "category/infrastructure", "kind/native"],
        "license": "Apache-2.0",
        "publisher": "pulumi-zstack",
        "repository": REPOSITORY,
        # supportPack: gen-sdk writes the Go SDK's go.mod and gives each SDK the schema's version (the
        # Python package's), instead of a `${VERSION}` placeholder to fill in at publishing.
        "meta": {"moduleFormat": "(.*)", "supportPack": True},
        "language": {
            "go": {"importBasePath": f"{GO_MODULE}/{PACKAGE}"},
            "nodejs": {"packageName": NPM_PACKAGE},
        },
        "config": {"variables": config},
        "provider": {
            "description": "The ZStack management node to talk to, and how. Stack config "
            "(`pulumi config set zstack:host ...`) wins over the `ZSTACK_*` environment variables.",
            "properties": config,
            "inputProperties": config,
        },
        "resources": {
            token: _resource(definition, intros[definition.label]) for token, definition in RESOURCES.items()
        },
    }


def package_schema_json() -> str:
    """The schema as GetSchema serves it and `schema.json` holds it."""
    return json.dumps(package_schema(), indent=2, sort_keys=False) + "\n"
