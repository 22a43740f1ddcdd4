"""Sign conventions: build one signed amount column from debit/credit columns or an indicator column."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from recon.ingest.cells import Failure, as_array, failure
from recon.ingest.columns import Typed
from recon.ingest.errors import IngestError, did_you_mean
from recon.ingest.options import AmountSpec


def source_types(spec: AmountSpec | None) -> dict[str, str]:
    """Types the spec needs for its source columns."""
    if spec is None:
        return {}
    if spec.mode == "debit_credit":
        assert spec.debit is not None and spec.credit is not None
        return {spec.debit: "decimal", spec.credit: "decimal"}
    if spec.mode == "indicator":
        assert spec.indicator is not None
        return {spec.column: "decimal", spec.indicator: "string"}
    return {spec.column: "decimal"}


def check_columns(spec: AmountSpec | None, columns: list[str], where: str = "read.amount") -> None:
    """IngestError when the spec names a column the file lacks (or would overwrite one it has)."""
    if spec is None:
        return
    for key in ("debit", "credit", "indicator") + (() if spec.mode == "debit_credit" else ("column",)):
        name = getattr(spec, key)
        if name is not None and name not in columns:
            raise IngestError(f"{where}.{key}: no column {name!r} in the file{did_you_mean(name, columns)}")
    if spec.mode == "debit_credit" and spec.column in columns:
        raise IngestError(
            f"{where}.column: {spec.column!r} is already a column of the file; "
            "name the signed amount column differently"
        )


def _common_scale(left: pa.Array, right: pa.Array) -> tuple[pa.Array, pa.Array, int]:
    scale = max(left.type.scale, right.type.scale)
    wide = pa.decimal256(left.type.precision, scale)
    return pc.cast(left, wide), pc.cast(right, wide), scale


def _debit_credit(typed: Typed, spec: AmountSpec) -> None:
    assert spec.debit is not None and spec.credit is not None
    debit, credit, scale = _common_scale(
        as_array(typed.table[spec.debit]), as_array(typed.table[spec.credit])
    )
    zero = pa.scalar(0, debit.type)
    signed = pc.subtract(pc.coalesce(credit, zero), pc.coalesce(debit, zero))
    if spec.debit_sign == "positive":
        signed = pc.negate(signed)
    unknown = pc.and_(pc.is_null(debit), pc.is_null(credit))
    for failed in typed.failures.get(spec.debit, []) + typed.failures.get(spec.credit, []):
        unknown = pc.or_(unknown, failed.mask)  # a failed side makes the signed amount unknown too
    signed = pc.if_else(unknown, pa.scalar(None, signed.type), signed)
    try:
        amount = pc.cast(signed, pa.decimal128(38, scale))
    except pa.ArrowInvalid as exc:
        raise IngestError(f"credit - debit does not fit decimal(38, {scale})", column=spec.column) from exc
    at = min(typed.table.column_names.index(spec.debit), typed.table.column_names.index(spec.credit))
    typed.table = typed.table.add_column(at, spec.column, amount)


def _indicator(typed: Typed, spec: AmountSpec) -> None:
    assert spec.indicator is not None
    amount = as_array(typed.table[spec.column])
    flag = pc.utf8_upper(pc.utf8_trim_whitespace(as_array(typed.table[spec.indicator])))
    is_debit = pc.is_in(flag, pa.array([v.upper() for v in spec.debit_values]))
    is_credit = pc.is_in(flag, pa.array([v.upper() for v in spec.credit_values]))
    unknown = pc.and_(pc.is_valid(amount), pc.invert(pc.or_(is_debit, is_credit)))
    values = ", ".join(spec.debit_values), ", ".join(spec.credit_values)
    reason = f"is not a debit ({values[0]}) or credit ({values[1]}) indicator"
    failed: list[Failure] = failure(unknown, reason)
    if failed:
        typed.failures.setdefault(spec.indicator, []).extend(failed)
    negated = is_debit if spec.debit_sign == "negative" else is_credit
    signed = pc.if_else(negated, pc.negate(amount), amount)
    signed = pc.if_else(pc.fill_null(unknown, False), pa.scalar(None, amount.type), signed)
    typed.table = typed.table.set_column(typed.table.column_names.index(spec.column), spec.column, signed)


def apply_amount(typed: Typed, spec: AmountSpec | None) -> None:
    """Add or rewrite the signed amount column of an already typed table, in place."""
    if spec is None:
        return
    if spec.mode == "debit_credit":
        _debit_credit(typed, spec)
    elif spec.mode == "indicator":
        _indicator(typed, spec)
    if spec.invert:
        index = typed.table.column_names.index(spec.column)
        typed.table = typed.table.set_column(
            index, spec.column, pc.negate(as_array(typed.table[spec.column]))
        )
