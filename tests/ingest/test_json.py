from __future__ import annotations

from decimal import Decimal

import pytest

from recon.ingest import IngestError, ReadOptions, read_bytes
from recon.ingest.limits import IngestLimits

from .helpers import rows_of


def read(data: bytes, **options: object):
    return read_bytes(data, filename="x.json", options=ReadOptions.from_mapping(options))


def test_json_path_and_exact_numbers() -> None:
    data = b'{"meta": {"n": 2}, "data": {"items": [{"id": 1, "v": 0.1}, {"id": 2, "v": 1e-7}]}}'
    result = read(data, json_path="$.data.items")
    assert result.table["v"].to_pylist() == [Decimal("0.1000000"), Decimal("1E-7")]
    assert str(result.table.schema.field("v").type) == "decimal128(38, 7)"
    with pytest.raises(IngestError, match=r"read.json_path: no 'item' under data \(did you mean 'items'\?\)"):
        read(data, json_path="data.item")
    with pytest.raises(IngestError, match=r"set read.json_path to its records \(e.g. 'rows'\)"):
        read(b'{"rows": [{"id": 1}]}')


def test_single_object_and_list_index_path() -> None:
    assert rows_of(read(b'{"id": "a", "x": {"y": true}}').table) == [["a", True]]
    assert rows_of(read(b'{"pages": [{"rows": [{"id": 7}]}]}', json_path="pages.0.rows").table) == [[7]]


def test_non_object_records_are_rejected_with_their_row() -> None:
    result = read(b'[{"id": 1}, 5, {"id": 3}]')
    assert rows_of(result.table) == [[1], [3]]
    assert [(e.row, e.value, e.reason) for e in result.errors] == [(2, "5", "is a number, not a JSON object")]


def test_objects_without_fields_are_skipped_like_blank_lines() -> None:
    result = read(b'{}\n{"a": {}}\n7\n{"a": 1}\n')
    assert rows_of(result.table) == [[1]]
    assert [(e.row, e.line, e.reason) for e in result.errors] == [(1, 3, "is a number, not a JSON object")]


def test_array_without_any_object() -> None:
    result = read(b"[1, null]")
    assert (result.table.num_columns, result.rows_read) == (0, 2)
    assert result.rejected.to_pylist() == [
        {"_row": 1, "_reason": "is a number, not a JSON object"},
        {"_row": 2, "_reason": "is null, not a JSON object"},
    ]


def test_document_errors_name_the_line() -> None:
    with pytest.raises(IngestError) as info:
        read(b'[\n{"id": 1},\n{"id": }\n]')
    assert str(info.value) == "x.json, line 3: invalid JSON: Expecting value (column 8)"
    with pytest.raises(IngestError, match="NaN is not a valid JSON number"):
        read(b'[{"v": NaN}]')
    with pytest.raises(IngestError, match="the JSON document is a string, not an array of objects"):
        read(b'"hello"')


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(IngestError, match=r"nests objects or arrays too deeply.*INGEST_MAX_DEPTH"):
        read(b"[" * 200_000 + b"]" * 200_000)


def test_deep_but_legal_objects_flatten_iteratively() -> None:
    depth = 500  # beyond the default INGEST_MAX_DEPTH (64), within a raised one
    data = b'[{"a": ' * 1 + b'{"a": ' * depth + b"1" + b"}" * depth + b"}]"
    options = ReadOptions(limits=IngestLimits(max_depth=depth + 10))
    result = read_bytes(data, filename="x.json", options=options)
    assert result.table.column_names == [".".join(["a"] * (depth + 1))]
    with pytest.raises(IngestError, match=r"row 1: the JSON nests .* the limit is 64 \(INGEST_MAX_DEPTH\)"):
        read(data)


def test_lines_forced_and_null_values() -> None:
    result = read(b'{"id": 1, "memo": "n/a"}\n', lines=True, null_values=["n/a"])
    assert rows_of(result.table) == [[1, None]]
    assert result.detected["json"] == "lines"


def test_empty_array() -> None:
    result = read(b"[]")
    assert (result.table.num_columns, result.rows_read) == (0, 0)
