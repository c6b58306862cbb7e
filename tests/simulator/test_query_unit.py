"""The query language: operator detection order, SQL-like matching, paging, sorting and projection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from zstack_simulator._errors import ApiError, PlainTextError
from zstack_simulator._query import (
    DEFAULT_LIMIT,
    Condition,
    Nested,
    ResourceSchema,
    parse_condition,
    parse_query,
    run_query,
)

pytestmark = pytest.mark.unit

SCHEMA = ResourceSchema(
    inventory_class="org.example.ThingInventory",
    fields=frozenset({"uuid", "name", "size", "description", "createDate", "ready"}),
    nested={"refs": Nested("refs", frozenset({"storage"}), "org.example.RefInventory")},
    aliases={"storage.uuid": "refs.storage"},
)
RECORDS: list[dict[str, Any]] = [
    {"uuid": "a", "name": "alpha", "size": 10, "description": "first", "ready": True,
     "createDate": datetime(2024, 1, 1), "refs": [{"storage": "s1"}]},
    {"uuid": "b", "name": "beta", "size": 20, "description": None, "ready": False,
     "createDate": datetime(2024, 1, 2), "refs": [{"storage": "s1"}, {"storage": "s2"}]},
    {"uuid": "c", "name": "gamma_1", "size": 30, "description": "third", "ready": True,
     "createDate": datetime(2024, 1, 3), "refs": []},
]  # fmt: skip


def uuids(*conditions: str, **options: str) -> list[str]:
    params = [("q", c) for c in conditions] + list(options.items())
    inventories = run_query(RECORDS, parse_query(params), SCHEMA).inventories
    assert inventories is not None
    return [item["uuid"] for item in inventories]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name=foo", Condition("name", "=", "foo")),
        ("name!=foo", Condition("name", "!=", "foo")),
        ("size>=10", Condition("size", ">=", "10")),
        ("name?=a,b", Condition("name", "?=", "a,b")),
        ("name!?=a,b", Condition("name", "!?=", "a,b")),
        ("name~=a%", Condition("name", "~=", "a%")),
        ("name!~=a%", Condition("name", "!~=", "a%")),
        (" name =  foo ", Condition("name", "=", "  foo ")),  # names trimmed, values not
        ("description is null", Condition("description", "is null", "")),
        ("description not null", Condition("description", "not null", "")),
        # The first operator of the fixed list found anywhere wins: `>=` inside a value breaks the split.
        ("name=a>=b", Condition("name=a", ">=", "b")),
        ("name=x!=y", Condition("name=x", "!=", "y")),
    ],
)
def test_operators_are_found_by_ordered_substring_search(text: str, expected: Condition) -> None:
    assert parse_condition(text) == expected


def test_condition_without_operator_is_a_plain_text_400() -> None:
    with pytest.raises(PlainTextError) as refused:
        parse_condition("name")
    assert refused.value.status == 400
    assert refused.value.text.startswith("The 'name' in the parameter[q] doesn't contain any query operator")


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (("name=alpha",), ["a"]),
        (("name!=alpha",), ["b", "c"]),
        (("size>10",), ["b", "c"]),
        (("size<=20", "ready=true"), ["a"]),
        (("name?=alpha,gamma_1",), ["a", "c"]),
        (("name!?=alpha,gamma_1",), ["b"]),
        (("name~=%a_1",), ["c"]),
        (("name~=_eta",), ["b"]),
        (("name!~=%a",), ["c"]),
        (("description is null",), ["b"]),
        (("description not null",), ["a", "c"]),
        # SQL semantics: a NULL column matches no comparison, not even `!=`.
        (("description!=first",), ["c"]),
        (("createDate>2024-01-01 12:00:00",), ["b", "c"]),
        (("refs.storage=s2",), ["b"]),
        (("storage.uuid=s1",), ["a", "b"]),
    ],
)
def test_conditions_are_anded_with_sql_like_semantics(
    conditions: tuple[str, ...], expected: list[str]
) -> None:
    assert uuids(*conditions) == expected


def test_paging_counting_sorting_and_fields() -> None:
    assert uuids(sort="-size") == ["c", "b", "a"]
    assert uuids(sort=" size") == ["a", "b", "c"]  # an unencoded `+` arrives as a space
    assert uuids(sort="-size", limit="1", start="1") == ["b"]
    counted = run_query(RECORDS, parse_query([("count", "true")]), SCHEMA)
    assert (counted.inventories, counted.total) == (None, 3)
    with_total = run_query(RECORDS, parse_query([("limit", "1"), ("replyWithCount", "true")]), SCHEMA)
    assert with_total.total == 3
    assert with_total.inventories is not None
    assert len(with_total.inventories) == 1
    projected = run_query(RECORDS, parse_query([("fields", "uuid,size"), ("limit", "1")]), SCHEMA)
    assert projected.inventories == [{"uuid": "a", "size": 10}]
    assert parse_query([]).limit == DEFAULT_LIMIT == 1000


def test_reply_always_has_a_schema_and_empty_results_are_empty_lists() -> None:
    empty = run_query(RECORDS, parse_query([("q", "name=nothing")]), SCHEMA)
    assert empty.body(SCHEMA) == {"inventories": [], "schema": {}}
    one = run_query(RECORDS, parse_query([("q", "uuid=b")]), SCHEMA).body(SCHEMA)
    assert one["schema"] == {
        "inventories[0]": "org.example.ThingInventory",
        "inventories[0].refs[0]": "org.example.RefInventory",
        "inventories[0].refs[1]": "org.example.RefInventory",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("limit", "ten")], "Invalid query parameter. 'limit' must be an integer"),
        ([("start", "1.5")], "Invalid query parameter. 'start' must be an integer"),
        ([("fields", " , ")], "'fields' contains zero field"),
        ([("replyWithCount", "yes")], "[replyWithCount] field is excepted a boolean, but was [yes]."),
    ],
)
def test_malformed_parameters_are_plain_text_400(params: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(PlainTextError) as refused:
        parse_query(params)
    assert (refused.value.status, refused.value.text) == (400, message)


@pytest.mark.parametrize(
    "params",
    [[("q", "colour=red")], [("sort", "colour")], [("fields", "uuid,colour")], [("q", "refs.colour=x")]],
)
def test_unknown_fields_are_api_errors(params: list[tuple[str, str]]) -> None:
    with pytest.raises(ApiError) as refused:
        run_query(RECORDS, parse_query(params), SCHEMA)
    assert refused.value.code == "SYS.1007"


def test_values_that_do_not_fit_the_column_type_are_api_errors() -> None:
    with pytest.raises(ApiError) as refused:
        uuids("size>big")
    assert refused.value.code == "SYS.1007"
