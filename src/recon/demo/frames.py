"""Turn the numeric row plans of the demo generator into the text columns of ledger.csv and bank.csv.

All string work is done by polars expressions (gather from small pools, concatenation), never per row in
Python.
Columns on both sides: id, date, amount, currency, reference, counterparty, description.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from recon.demo import names as vocab
from recon.demo.cases import BANK_ONLY, CURRENCIES, MANY, START, YEAR, Bank, Ledger

REFERENCE_OFFSET = 101  # invoice numbers do not start at 1
COLUMNS = ("id", "date", "amount", "currency", "reference", "counterparty", "description")


def _pool(values: tuple[str, ...] | list[str]) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String)


def _ids(prefix: str, position: np.ndarray) -> pl.Expr:
    width = max(7, len(str(position.size)))
    return pl.concat_str(pl.lit(prefix), pl.col("_pos").add(1).cast(pl.String).str.zfill(width))


def _amount(cents: pl.Expr) -> pl.Expr:
    magnitude = cents.abs()
    return pl.concat_str(
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // 100).cast(pl.String),
        pl.lit("."),
        (magnitude % 100).cast(pl.String).str.zfill(2),
    )


def _date(day: pl.Expr) -> pl.Expr:
    return (pl.lit(START) + pl.duration(days=day)).cast(pl.Date).cast(pl.String)


def _reference_number(ledger_position: np.ndarray, total: int) -> pl.Series:
    width = max(6, len(str(total + REFERENCE_OFFSET)))
    return pl.Series(ledger_position + REFERENCE_OFFSET).cast(pl.String).str.zfill(width)


def _common(day: np.ndarray, cents: np.ndarray, cur: np.ndarray, position: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {"_pos": position, "_day": day, "_cents": cents, "currency": _pool(CURRENCIES).gather(cur)}
    )


def _common_columns(id_prefix: str, position: np.ndarray) -> dict[str, pl.Expr | str]:
    """The output columns both sides build alike from `_common` (after `_pos`): id, date, amount, currency."""
    return {
        "id": _ids(id_prefix, position),
        "date": _date(pl.col("_day")),
        "amount": _amount(pl.col("_cents")),
        "currency": "currency",
    }


def ledger_frame(ledger: Ledger, position: np.ndarray, names: list[str]) -> pl.DataFrame:
    counterparty = _pool(names).gather(ledger.cp)
    receipt = ledger.cents > 0
    verbs = np.where(receipt, 0, len(vocab.LEDGER_RECEIPT_VERBS)) + (
        ledger.cp + ledger.day + ledger.topic
    ) % len(vocab.LEDGER_RECEIPT_VERBS)
    topics = np.where(receipt, 0, len(vocab.RECEIPT_TOPICS)) + ledger.topic
    df = _common(ledger.day, ledger.cents, ledger.cur, position).with_columns(
        _prefix=pl.Series(np.where(receipt, "INV", "PAY")),
        _number=_reference_number(position, position.size),
        counterparty=counterparty,
        _verb=_pool(vocab.LEDGER_RECEIPT_VERBS + vocab.LEDGER_PAYMENT_VERBS).gather(verbs),
        _topic=_pool(vocab.RECEIPT_TOPICS + vocab.PAYMENT_TOPICS).gather(topics),
        # Half the descriptions name the counterparty, the others only the purpose.
        _named=pl.Series((ledger.cp + ledger.day) % 2 == 0),
    )
    return df.select(
        "_pos",
        **_common_columns("L", position),
        reference=pl.concat_str("_prefix", pl.lit(f"-{YEAR}-"), "_number"),
        counterparty="counterparty",
        description=pl.when("_named")
        .then(pl.concat_str("_verb", pl.lit(" "), "counterparty", pl.lit(" - "), "_topic"))
        .otherwise(pl.col("_topic").str.slice(0, 1).str.to_uppercase() + pl.col("_topic").str.slice(1)),
    )


def _bank_reference(style: pl.Expr, prefix: pl.Expr, number: pl.Expr) -> pl.Expr:
    """How the bank shows a ledger reference: the digits survive, case, separators and prefixes do not."""
    lower = prefix.str.to_lowercase()
    forms = (
        pl.concat_str(prefix, pl.lit(f"-{YEAR}-"), number),
        pl.concat_str(lower, pl.lit(f" {YEAR} "), number),
        pl.concat_str(prefix, pl.lit(YEAR), number),
        pl.concat_str(pl.lit("/REF/"), prefix, pl.lit(YEAR), number),
        pl.concat_str(pl.lit("EREF+"), prefix, pl.lit(f"-{YEAR}-"), number),
        pl.concat_str(lower, pl.lit(f"{YEAR}/"), number),
    )
    expr: Any = pl.when(style == 0).then(forms[0])  # Then, then ChainedThen
    for k, form in enumerate(forms[1:], start=1):
        expr = expr.when(style == k).then(form)
    result: pl.Expr = expr.otherwise(pl.lit(None, dtype=pl.String))
    return result


def bank_frame(
    bank: Bank, position: np.ndarray, ledger: Ledger, ledger_position: np.ndarray, variants: np.ndarray
) -> pl.DataFrame:
    flat = _pool([*variants.ravel().tolist(), ""])
    cp_text = flat.gather(np.where(bank.cp >= 0, bank.cp * vocab.N_VARIANTS + bank.variant, flat.len() - 1))
    partner = np.maximum(bank.partner, 0)
    receipt = bank.cents > 0
    n_verbs = len(vocab.BANK_RECEIPT_VERBS)
    verbs = np.where(receipt, 0, n_verbs) + (bank.cp + bank.day) % n_verbs
    topic = np.where(receipt, 0, len(vocab.RECEIPT_TOPICS)) + np.maximum(bank.topic, 0)
    bank_only = bank.case == BANK_ONLY
    other_text = np.where(
        bank.case == MANY,
        _pool(vocab.BATCH_REFERENCES).gather(bank.text % len(vocab.BATCH_REFERENCES)),
        _pool(vocab.NO_REFERENCE).gather(bank.text % len(vocab.NO_REFERENCE)),
    )
    df = _common(bank.day, bank.cents, bank.cur, position).with_columns(
        _style=pl.Series(bank.ref_style),
        _prefix=pl.Series(np.where(ledger.cents[partner] > 0, "INV", "PAY")),
        _number=_reference_number(ledger_position[partner], ledger_position.size),
        _other=pl.Series(other_text, dtype=pl.String),
        counterparty=cp_text,
        _verb=_pool(vocab.BANK_RECEIPT_VERBS + vocab.BANK_PAYMENT_VERBS).gather(verbs),
        _topic=_pool(vocab.RECEIPT_TOPICS + vocab.PAYMENT_TOPICS).gather(topic).str.to_uppercase(),
        _has_topic=pl.Series(bank.topic >= 0),
        _bank_only=pl.Series(bank_only),
        _bank_text=_pool(vocab.BANK_ONLY_TEXTS).gather(bank.text % len(vocab.BANK_ONLY_TEXTS)),
    )
    words = pl.concat_str("_verb", pl.lit(" "), "counterparty")
    return df.select(
        "_pos",
        **_common_columns("B", position),
        reference=pl.when(pl.col("_style") >= 0)
        .then(_bank_reference(pl.col("_style"), pl.col("_prefix"), pl.col("_number")))
        .otherwise("_other"),
        counterparty="counterparty",
        description=pl.when("_bank_only")
        .then(pl.concat_str("_bank_text", pl.lit(" "), "counterparty").str.strip_chars())
        .when("_has_topic")
        .then(pl.concat_str(words, pl.lit(" "), "_topic"))
        .otherwise(words),
    )
