"""Seeded, vectorised demo data: company ledger (left) against bank statement (right), with ground truth.

Every ledger row gets a case, and the bank side is derived from the ledger so the truth is known exactly:

- exact (~73%): the bank line shows the ledger reference in another spelling, same amount, 0-2 days later;
- near (~12%): no usable reference on the bank line, amount equal or a cent off, 0-3 days later, counterparty
  as the bank prints it (uppercased, abbreviated, truncated, typo). Some near rows come with a decoy bank line
  (same amount and currency, another counterparty, date in the window), some in twin pairs (two ledger rows of
  equal amount, currency and date for different counterparties) so the fuzzy score has to decide;
- many_to_one (~8%): 2-6 ledger lines of one counterparty, date and currency paid by one bank line (their
  sum);
  the (counterparty, date, currency) of a batch is unique and its counterparties never appear elsewhere;
- break (~3%): same reference, but the bank deducted a fee of 0.50-25.00;
- ledger-only (~4%): no bank line;
plus bank-only lines (~4% of the bank, decoys included) and ~0.5% duplicate bank lines (exact copies of a
bank line but for the id, listed right after the original).

truth.csv has one row per record of both files: group, kind, side, id. kind is exact | near | many_to_one |
break | duplicate, or unmatched for ledger-only and bank-only records (each its own group).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from recon.demo import frames
from recon.demo import names as vocab
from recon.demo.cases import (
    BANK_ONLY,
    BANK_ONLY_SHARE,
    BREAK,
    CURRENCIES,
    CURRENCY_P,
    DAYS,
    DECOY,
    DECOY_SHARE,
    DUPLICATE,
    DUPLICATE_SHARE,
    EXACT,
    KIND_NAMES,
    MANY,
    MAX_ROWS,
    MIX,
    NEAR,
    RECEIPT_SHARE,
    START,
    TWIN_SHARE,
    Bank,
    Ledger,
)
from recon.demo.rules import SHAPES, demo_rules_text, rules_text


@dataclass(frozen=True)
class DemoFiles:
    left: Path
    right: Path
    rules: Path
    truth: Path


def generate(rows: int, out_dir: Path, seed: int = 7, shape: str = "classic") -> DemoFiles:
    """Write ledger.csv, bank.csv, rules.yaml and truth.csv for `rows` ledger rows into out_dir.

    shape: `classic` (this module) or `dense` (recon.demo.dense: heavy-tailed, round amounts, long texts)."""
    if not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be between 1 and {MAX_ROWS:,}, got {rows}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(
        out_dir / "ledger.csv", out_dir / "bank.csv", out_dir / "rules.yaml", out_dir / "truth.csv"
    )
    if shape == "dense":
        from recon.demo.dense import generate_dense

        frames = generate_dense(rows, out_dir, seed)
        for frame, path in zip(frames, (files.left, files.right, files.truth), strict=True):
            frame.write_csv(path)
        files.rules.write_text(rules_text("dense"), encoding="utf-8")
        return files
    rng = np.random.default_rng(seed)
    names = vocab.company_names(rng)
    variants = vocab.bank_variants(names, rng)
    ledger, n_regular = _ledger_rows(rows, len(names), rng)
    bank = _bank_rows(ledger, n_regular, rng)
    left, right, truth = _tables(ledger, bank, names, variants, rng)
    left.write_csv(files.left)
    right.write_csv(files.right)
    truth.write_csv(files.truth)
    files.rules.write_text(demo_rules_text(), encoding="utf-8")
    return files


def _case_counts(rows: int, rng: np.random.Generator) -> tuple[list[int], np.ndarray]:
    counts = [int(rows * share) for share in MIX]
    counts[0] += rows - sum(counts)
    sizes = rng.integers(2, 7, size=counts[MANY] // 2 + 1)
    n_batches = int(np.searchsorted(np.cumsum(sizes), counts[MANY], side="right"))
    sizes = sizes[:n_batches]
    counts[EXACT] += counts[MANY] - int(sizes.sum())
    counts[MANY] = int(sizes.sum())
    return counts, sizes


def _business_days() -> np.ndarray:
    offsets = np.arange(DAYS - 4)  # leave room for the bank's lag inside the 90 days
    weekday = (START.weekday() + offsets) % 7
    return offsets[weekday < 5]


def _magnitudes(rng: np.random.Generator, size: int, mu: float, sigma: float) -> np.ndarray:
    cents = np.rint(np.exp(rng.normal(mu, sigma, size)) * 100).astype(np.int64)
    clipped: np.ndarray = np.clip(cents, 100, 500_000_000)
    return clipped


def _ledger_rows(rows: int, n_names: int, rng: np.random.Generator) -> tuple[Ledger, int]:
    counts, sizes = _case_counts(rows, rng)
    case = np.repeat(np.arange(5), counts)
    bdays = _business_days()
    n_batches = len(sizes)
    n_regular = min(3000, max(20, rows // 100))
    n_batch_names = min(n_names - n_regular, max(5, n_batches // 10 + 5))

    # Popular counterparties book more often (a Zipf-like tail).
    popularity = 1.0 / np.power(np.arange(n_regular) + 10.0, 0.9)
    cp = rng.choice(n_regular, size=rows, p=popularity / popularity.sum())
    day = bdays[rng.integers(0, len(bdays), size=rows)]
    cur = rng.choice(len(CURRENCIES), size=rows, p=np.asarray(CURRENCY_P))
    sign = np.where(rng.random(rows) < RECEIPT_SHARE, 1, -1)
    cents = _magnitudes(rng, rows, 6.2, 1.25)
    topic = rng.integers(0, len(vocab.RECEIPT_TOPICS), size=rows)
    batch = np.full(rows, -1, dtype=np.int64)

    # Batches: one (counterparty, date, currency) per batch, drawn without replacement from batch-only names.
    members = np.flatnonzero(case == MANY)
    batch[members] = np.repeat(np.arange(n_batches), sizes)
    key_p = np.tile(np.repeat(np.asarray(CURRENCY_P), len(bdays)), n_batch_names)
    keys = rng.choice(key_p.size, size=n_batches, replace=False, p=key_p / key_p.sum())
    per_name = len(bdays) * len(CURRENCIES)
    b_cp, rest = np.divmod(keys, per_name)
    b_cur, b_day = np.divmod(rest, len(bdays))
    b_sign = np.where(rng.random(n_batches) < 0.7, 1, -1)
    mb = batch[members]
    cp[members] = n_regular + b_cp[mb]
    day[members] = bdays[b_day[mb]]
    cur[members] = b_cur[mb]
    sign[members] = b_sign[mb]
    cents[members] = _magnitudes(rng, members.size, 5.6, 1.0)

    # Twins among the near rows: equal amount, currency, sign and date, different counterparty.
    near = np.flatnonzero(case == NEAR)
    n_twins = int(near.size * TWIN_SHARE) // 2
    a, b = near[:n_twins], near[n_twins : 2 * n_twins]
    for column in (cents, cur, sign, day):
        column[b] = column[a]
    same = cp[b] == cp[a]
    cp[b[same]] = (cp[a[same]] + 1) % n_regular

    # Breaks need room for the fee.
    breaks = case == BREAK
    cents[breaks] = np.maximum(cents[breaks], 5000)
    return Ledger(case, cp, day, cents * sign, cur, batch, topic), n_regular


def _bank_rows(ledger: Ledger, n_regular: int, rng: np.random.Generator) -> Bank:
    parts = [_one_to_one_lines(ledger, rng), _batch_lines(ledger, rng)]
    decoys = _decoy_lines(ledger, n_regular, rng)
    base = sum(p.case.size for p in parts)
    n_bank_only = round(BANK_ONLY_SHARE / (1 - BANK_ONLY_SHARE - DUPLICATE_SHARE) * base)
    parts += [decoys, _bank_only_lines(max(0, n_bank_only - decoys.case.size), n_regular, rng)]
    bank = _concat(parts)
    n_dup = round(DUPLICATE_SHARE / (1 - BANK_ONLY_SHARE - DUPLICATE_SHARE) * base)
    return _concat([bank, _duplicates(bank, n_dup, rng)])


def _lines(case: np.ndarray, **columns: np.ndarray) -> Bank:
    size = case.size
    minus = np.full(size, -1, dtype=np.int64)
    defaults = {name: minus for name in ("partner", "batch", "cp", "ref_style", "copy_of")}
    zeros = np.zeros(size, dtype=np.int64)
    defaults |= {name: zeros for name in ("variant", "day", "cents", "cur", "text", "topic")}
    return Bank(case=case, **(defaults | columns))


def _concat(parts: list[Bank]) -> Bank:
    fields = Bank.__dataclass_fields__
    return Bank(
        **{f: np.concatenate([getattr(p, f) for p in parts]).astype(np.int64, copy=False) for f in fields}
    )


def _variants(rng: np.random.Generator, size: int, p: tuple[float, ...]) -> np.ndarray:
    return rng.choice(vocab.N_VARIANTS, size=size, p=np.asarray(p))


def _one_to_one_lines(ledger: Ledger, rng: np.random.Generator) -> Bank:
    rows = np.flatnonzero(np.isin(ledger.case, (EXACT, NEAR, BREAK)))
    case = ledger.case[rows]
    near = case == NEAR
    near_lag = rng.choice(4, size=rows.size, p=(0.2, 0.35, 0.3, 0.15))
    lag = np.where(near, near_lag, rng.choice(3, size=rows.size, p=(0.5, 0.35, 0.15)))
    cents = ledger.cents[rows].copy()
    # A near line is a cent off now and then (FX rounding), except the twins, which must stay interchangeable.
    twins = _twin_rows(ledger)
    cent_off = near & ~np.isin(rows, twins) & (rng.random(rows.size) < 0.25)
    cents[cent_off] += rng.choice((-1, 1), size=int(cent_off.sum()))
    fee = rng.integers(50, 2501, size=rows.size)
    cents = np.where(case == BREAK, cents - fee, cents)
    variant = np.where(
        near,
        _variants(rng, rows.size, vocab.NOISY_VARIANT_P),
        _variants(rng, rows.size, vocab.CLEAN_VARIANT_P),
    )
    ref_style = np.where(near, -1, rng.integers(0, 6, size=rows.size))
    return _lines(
        case,
        partner=rows,
        cp=ledger.cp[rows],
        variant=variant,
        day=ledger.day[rows] + lag,
        cents=cents,
        cur=ledger.cur[rows],
        ref_style=ref_style,
        text=rng.integers(0, len(vocab.NO_REFERENCE), size=rows.size),
        topic=np.where(rng.random(rows.size) < 0.5, ledger.topic[rows], -1),
    )


def _twin_rows(ledger: Ledger) -> np.ndarray:
    near = np.flatnonzero(ledger.case == NEAR)
    n_twins = int(near.size * TWIN_SHARE) // 2
    return near[: 2 * n_twins]


def _batch_lines(ledger: Ledger, rng: np.random.Generator) -> Bank:
    members = np.flatnonzero(ledger.batch >= 0)
    batch = ledger.batch[members]
    n = int(batch.max()) + 1 if batch.size else 0
    first = np.searchsorted(batch, np.arange(n))  # members are contiguous and in batch order
    total = np.bincount(batch, weights=ledger.cents[members], minlength=n)
    return _lines(
        np.full(n, MANY),
        batch=np.arange(n),
        cp=ledger.cp[members[first]],
        variant=_variants(rng, n, vocab.CLEAN_VARIANT_P),
        day=ledger.day[members[first]] + rng.choice(3, size=n, p=(0.5, 0.35, 0.15)),
        cents=np.rint(total).astype(np.int64),  # float64 is exact for sums of int64 cents far below 2**53
        cur=ledger.cur[members[first]],
        text=rng.integers(0, len(vocab.BATCH_REFERENCES), size=n),
        topic=np.full(n, -1),
    )


def _decoy_lines(ledger: Ledger, n_regular: int, rng: np.random.Generator) -> Bank:
    near = np.setdiff1d(np.flatnonzero(ledger.case == NEAR), _twin_rows(ledger))
    rows = rng.choice(near, size=min(near.size, round(DECOY_SHARE * np.count_nonzero(ledger.case == NEAR))))
    rows = np.unique(rows)
    cp = (ledger.cp[rows] + rng.integers(1, n_regular, size=rows.size)) % n_regular
    return _lines(
        np.full(rows.size, DECOY),
        cp=cp,
        variant=_variants(rng, rows.size, vocab.NOISY_VARIANT_P),
        day=ledger.day[rows] + rng.integers(0, 4, size=rows.size),
        cents=ledger.cents[rows],
        cur=ledger.cur[rows],
        text=rng.integers(0, len(vocab.NO_REFERENCE), size=rows.size),
        topic=np.where(
            rng.random(rows.size) < 0.5, rng.integers(0, len(vocab.RECEIPT_TOPICS), rows.size), -1
        ),
    )


def _bank_only_lines(n: int, n_regular: int, rng: np.random.Generator) -> Bank:
    bdays = _business_days()
    sign = np.where(rng.random(n) < 0.35, 1, -1)
    has_cp = rng.random(n) < 0.7
    return _lines(
        np.full(n, BANK_ONLY),
        cp=np.where(has_cp, rng.integers(0, n_regular, size=n), -1),
        variant=_variants(rng, n, vocab.CLEAN_VARIANT_P),
        day=bdays[rng.integers(0, len(bdays), size=n)] + rng.integers(0, 3, size=n),
        cents=_magnitudes(rng, n, 4.0, 1.4) * sign,
        cur=rng.choice(len(CURRENCIES), size=n, p=np.asarray(CURRENCY_P)),
        text=rng.integers(0, len(vocab.BANK_ONLY_TEXTS), size=n),
        topic=np.full(n, -1),
    )


def _duplicates(bank: Bank, n: int, rng: np.random.Generator) -> Bank:
    exact = np.flatnonzero(bank.case == EXACT)
    src = np.sort(rng.choice(exact, size=min(n, exact.size), replace=False))
    copy = Bank(**{f: getattr(bank, f)[src] for f in Bank.__dataclass_fields__})
    copy.case = np.full(src.size, DUPLICATE)
    copy.copy_of = src
    return copy


def _order(day: np.ndarray, rng: np.random.Generator, copy_of: np.ndarray | None = None) -> np.ndarray:
    """Position of each row in its file: by date, shuffled within a day; a duplicate follows its original."""
    tiebreak = rng.permutation(day.size).astype(np.int64) * 2
    if copy_of is not None:
        dup = copy_of >= 0
        tiebreak[dup] = tiebreak[copy_of[dup]] + 1
    order = np.argsort(day.astype(np.int64) << 32 | tiebreak, kind="stable")
    position = np.empty(day.size, dtype=np.int64)
    position[order] = np.arange(day.size)
    return position


def _tables(
    ledger: Ledger, bank: Bank, names: list[str], variants: np.ndarray, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    l_pos = _order(ledger.day, rng)
    b_pos = _order(bank.day, rng, bank.copy_of)
    left = frames.ledger_frame(ledger, l_pos, names)
    right = frames.bank_frame(bank, b_pos, ledger, l_pos, variants)
    truth = _truth(ledger, bank, (l_pos, b_pos), (left["id"], right["id"]))
    return left.sort("_pos").drop("_pos"), right.sort("_pos").drop("_pos"), truth


def _truth(
    ledger: Ledger, bank: Bank, positions: tuple[np.ndarray, np.ndarray], ids: tuple[pl.Series, pl.Series]
) -> pl.DataFrame:
    """Groups numbered by the first ledger position of their members; bank-only lines, duplicates last."""
    l_pos, b_pos = positions
    n = ledger.case.size
    l_key = np.where(ledger.batch >= 0, n + ledger.batch, np.arange(n))
    first = np.full(n + int(ledger.batch.max(initial=-1)) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, l_key, l_pos)
    used = np.flatnonzero(first < np.iinfo(np.int64).max)
    rank = np.empty(first.size, dtype=np.int64)
    rank[used[np.argsort(first[used], kind="stable")]] = np.arange(used.size)

    paired = np.isin(bank.case, (EXACT, NEAR, BREAK, MANY))
    b_key = np.where(bank.batch >= 0, n + bank.batch, bank.partner)
    b_group = np.empty(bank.case.size, dtype=np.int64)
    b_group[paired] = rank[b_key[paired]]
    alone = np.flatnonzero(~paired)
    b_group[alone] = used.size + np.argsort(np.argsort(b_pos[alone], kind="stable"), kind="stable")

    kinds = pl.Series(KIND_NAMES)
    return (
        pl.concat(
            [
                pl.DataFrame({"group": rank[l_key] + 1, "kind": kinds.gather(ledger.case), "side": "left"}),
                pl.DataFrame({"group": b_group + 1, "kind": kinds.gather(bank.case), "side": "right"}),
            ]
        )
        .with_columns(id=pl.concat(ids))
        .sort("group", "side", "id")
    )
