"""The ZStack query language of `GET /zstack/v1/<resources>?q=...`, reproduced with its quirks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._errors import ApiError, PlainTextError
from ._wire import parse_zstack_date

# The server looks for each operator as a substring, in this order, and splits at the first one found.
OPERATORS = ("!=", ">=", "<=", "!?=", "!~=", "~=", "?=", "=", ">", "<", "is null", "not null")
DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str


@dataclass(frozen=True)
class QuerySpec:
    conditions: tuple[Condition, ...] = ()
    limit: int = DEFAULT_LIMIT
    start: int = 0
    count: bool = False
    reply_with_count: bool = False
    sort: tuple[str, bool] | None = None
    """(field, descending)"""
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Nested:
    """A list-valued expansion such as `backupStorageRefs`; `fields` are the names allowed after the dot."""

    key: str
    fields: frozenset[str]
    inventory_class: str | None = None


@dataclass(frozen=True)
class ResourceSchema:
    inventory_class: str
    fields: frozenset[str]
    nested: Mapping[str, Nested] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)


def parse_condition(text: str) -> Condition:
    for operator in OPERATORS:
        index = text.find(operator)
        if index < 0:
            continue
        name = text[:index].strip()
        value = "" if operator in ("is null", "not null") else text[index + len(operator) :]
        return Condition(name, operator, value)
    raise PlainTextError(
        400,
        f"The '{text}' in the parameter[q] doesn't contain any query operator. "
        f"Valid query operators are [{', '.join(OPERATORS)}]",
    )


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise PlainTextError(400, f"Invalid query parameter. '{name}' must be an integer") from None


def parse_boolean(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise PlainTextError(400, f"[{name}] field is excepted a boolean, but was [{raw}].")
    return lowered == "true"


def normalize_collection_parameters(params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """`k.0=a&k.1=b` means the same as `k=a&k=b`."""
    normalized: list[tuple[str, str]] = []
    for key, value in params:
        base, dot, index = key.rpartition(".")
        normalized.append((base, value) if dot and index.isdigit() else (key, value))
    return normalized


def parse_query(params: Sequence[tuple[str, str]]) -> QuerySpec:
    """Read the query parameters the REST layer understands; unknown ones are ignored like the server does."""
    conditions: list[Condition] = []
    options: dict[str, Any] = {}
    for key, value in normalize_collection_parameters(params):
        if key == "q":
            conditions.append(parse_condition(value))
        elif key in ("limit", "start"):
            options[key] = _integer(key, value)
        elif key == "count":
            options["count"] = parse_boolean(key, value)
        elif key == "replyWithCount":
            options["reply_with_count"] = parse_boolean(key, value)
        elif key == "sort":
            text = value.strip()
            if text:
                descending = text.startswith("-")
                options["sort"] = (text.lstrip("+-").strip(), descending)
        elif key == "fields":
            names = tuple(part.strip() for part in value.split(",") if part.strip())
            if not names:
                raise PlainTextError(400, "'fields' contains zero field")
            options["fields"] = names
    return QuerySpec(conditions=tuple(conditions), **options)


def _unknown_field(schema: ResourceSchema, name: str) -> ApiError:
    return ApiError(
        "SYS.1007", f"[{name}] is not a queryable field of {schema.inventory_class.rsplit('.', 1)[-1]}"
    )


def _accessor(schema: ResourceSchema, name: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    """Return a function giving the candidate values of `name` in a record (a join gives several)."""
    name = schema.aliases.get(name, name)
    if "." not in name:
        if name not in schema.fields:
            raise _unknown_field(schema, name)

        def native(record: Mapping[str, Any]) -> list[Any]:
            value = record.get(name)
            if isinstance(value, list):
                return list(value) or [None]
            return [value]

        return native
    head, _, tail = name.partition(".")
    nested = schema.nested.get(head)
    if nested is None or tail not in nested.fields:
        raise _unknown_field(schema, name)

    def joined(record: Mapping[str, Any]) -> list[Any]:
        items = record.get(nested.key) or []
        return [item.get(tail) for item in items] or [None]

    return joined


def _like(pattern: str) -> re.Pattern[str]:
    translated = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(translated, re.DOTALL)


def _coerce(sample: Any, raw: str, name: str) -> Any:
    try:
        if isinstance(sample, bool):
            return parse_boolean(name, raw)
        if isinstance(sample, (int, float)):
            return float(raw)
        if isinstance(sample, datetime):
            return _parse_date(raw)
    except (ValueError, PlainTextError):
        raise ApiError("SYS.1007", f"invalid value[{raw}] for field[{name}]") from None
    return raw


def _parse_date(raw: str) -> datetime:
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw) / 1000)
    for layout in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, layout)
        except ValueError:
            continue
    return parse_zstack_date(raw)


def _matches(candidate: Any, condition: Condition) -> bool:
    op, raw = condition.operator, condition.value
    if op == "is null":
        return candidate is None
    if op == "not null":
        return candidate is not None
    if candidate is None:
        # SQL: every comparison with NULL is unknown, so `!=` does not match a missing field either.
        return False
    if op in ("~=", "!~="):
        text = candidate if isinstance(candidate, str) else str(candidate)
        found = _like(raw).fullmatch(text) is not None
        return found if op == "~=" else not found
    if op in ("?=", "!?="):
        inside = candidate in [_coerce(candidate, part, condition.field) for part in raw.split(",")]
        return inside if op == "?=" else not inside
    target = _coerce(candidate, raw, condition.field)
    if op == "=":
        return bool(candidate == target)
    if op == "!=":
        return bool(candidate != target)
    if op == ">":
        return bool(candidate > target)
    if op == "<":
        return bool(candidate < target)
    if op == ">=":
        return bool(candidate >= target)
    return bool(candidate <= target)


@dataclass(frozen=True)
class QueryResult:
    inventories: list[dict[str, Any]] | None
    total: int | None

    def body(self, schema: ResourceSchema) -> dict[str, Any]:
        """The reply: `inventories`, `total` when asked for, and the `schema` key that is always there."""
        reply: dict[str, Any] = {}
        if self.inventories is not None:
            reply["inventories"] = self.inventories
        if self.total is not None:
            reply["total"] = self.total
        reply["schema"] = json_schema(schema, self.inventories or [])
        return reply


def json_schema(schema: ResourceSchema, inventories: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """JSON path → Java class, as `JsonSchemaBuilder` adds it; clients are expected to ignore it."""
    paths: dict[str, str] = {}
    for index, inventory in enumerate(inventories):
        paths[f"inventories[{index}]"] = schema.inventory_class
        for nested in schema.nested.values():
            items = inventory.get(nested.key)
            if nested.inventory_class is None or not isinstance(items, list):
                continue
            for position in range(len(items)):
                paths[f"inventories[{index}].{nested.key}[{position}]"] = nested.inventory_class
    return paths


def run_query(records: Sequence[Mapping[str, Any]], spec: QuerySpec, schema: ResourceSchema) -> QueryResult:
    """Filter (conditions ANDed), sort, count, page and project `records` like the ZQL path does."""
    checks = [(_accessor(schema, c.field), c) for c in spec.conditions]
    selected = [
        record
        for record in records
        if all(any(_matches(value, c) for value in access(record)) for access, c in checks)
    ]
    if spec.sort is not None:
        name, descending = spec.sort
        if name not in schema.fields:
            raise _unknown_field(schema, name)
        selected.sort(key=lambda r: (r.get(name) is not None, r.get(name)), reverse=descending)
    total = len(selected)
    if spec.count:
        return QueryResult(inventories=None, total=total)
    page = selected[max(spec.start, 0) :][: max(spec.limit, 0)]
    if spec.fields is not None:
        for name in spec.fields:
            if name not in schema.fields:
                raise _unknown_field(schema, name)
        page = [{name: r.get(name) for name in spec.fields} for r in page]
    # `__systemTag__`-style keys are queryable but never part of an inventory.
    visible = [{k: v for k, v in r.items() if not k.startswith("__")} for r in page]
    return QueryResult(inventories=visible, total=total if spec.reply_with_count else None)
