"""The `dense` demo shape: what real bank and ledger exports look like, unlike the `classic` shape.

- counterparties with heavy-tailed (Zipf-like, 1 / (rank + 10)) frequencies: the top customer books ~1.5%
  of all rows, thousands of others a handful each;
- many round and repeated amounts: recurring payments of a counterparty repeat one of its few fixed amounts,
  a third of one-off amounts are round (10, 50, 100, 250, 1000, ...);
- dense dates: everything within 25 business days;
- long free-text descriptions on both sides (payment-scheme boilerplate: SEPA CT, EREF, SVWZ, PAYMENT ...);
- the invoice reference sits in the bank's reference field in another spelling, or only inside the
  remittance text (as the payer typed it), or nowhere;
- fees deducted by the bank (a break), partial payments (one invoice paid by 2-3 bank lines), collective
  payments (one bank line for 2-8 invoices of a customer on one day), records on one side only (with round
  amounts too), duplicate bank lines.

Columns on both sides: id, date, amount, currency, reference, counterparty, description. truth.csv as for the
classic shape; kinds: exact, reference_in_text, near, break, one_to_many, many_to_one, unmatched, duplicate.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from recon.demo import names as vocab
from recon.demo.cases import START

KINDS = (
    "exact",
    "reference_in_text",
    "near",
    "break",
    "one_to_many",
    "many_to_one",
    "unmatched",
    "duplicate",
)
EXACT, IN_TEXT, NEAR, BREAK, PARTIAL, BATCH, ALONE, DUPLICATE = range(8)
# shares of ledger rows (the rest: exact)
SHARES = {IN_TEXT: 0.16, NEAR: 0.12, BREAK: 0.04, PARTIAL: 0.03, BATCH: 0.08, ALONE: 0.04}
BANK_ONLY_SHARE = 0.04
DUPLICATE_SHARE = 0.003
BUSINESS_DAYS = 25
ROUND = np.array([1000, 2000, 2500, 5000, 10000, 15000, 20000, 25000, 50000, 100000, 250000, 500000])
LEDGER_WORDS = ("Invoice", "Payment", "Receipt", "Settlement", "Customer payment", "Incoming payment")
BANK_PREFIX = (
    "SEPA CT",
    "SEPA CREDIT TRANSFER",
    "SEPA-GUTSCHRIFT",
    "INCOMING PAYMENT",
    "SEPA CT FROM",
    "PAYMENT RECEIVED",
)
BANK_FILLER = ("SVWZ+", "EREF+NOTPROVIDED", "KREF+", "MREF+", "PURP+SUPP", "IBAN+DE", "BIC+", "ABWA+")


def _business_days(n: int) -> np.ndarray:
    days: list[int] = []
    day = 0
    while len(days) < n:
        if (START + timedelta(days=day)).weekday() < 5:
            days.append(day)
        day += 1
    return np.array(days)


def _amounts(rng: np.random.Generator, cp: np.ndarray, n_cp: int) -> np.ndarray:
    """Cents: recurring amounts per counterparty (a big customer has more of them: about one per 5 of its
    records, at least 3), round one-offs, free amounts."""
    volume = np.bincount(cp, minlength=n_cp)
    n_fixed = np.maximum(3, volume // 5)
    pool = np.where(
        rng.random(1 << 16) < 0.5,
        ROUND[rng.integers(0, len(ROUND), 1 << 16)],
        np.rint(np.exp(rng.normal(6.0, 1.2, 1 << 16)) * 100),
    ).astype(np.int64)
    which = (rng.random(len(cp)) * n_fixed[cp]).astype(np.int64)
    fixed = pool[(cp * 7919 + which * 104729) % len(pool)]
    kind = rng.random(len(cp))
    free = np.rint(np.exp(rng.normal(6.2, 1.4, len(cp))) * 100).astype(np.int64)
    one_off_round = ROUND[rng.integers(0, len(ROUND), len(cp))]
    cents = np.where(kind < 0.35, fixed, np.where(kind < 0.55, one_off_round, free))
    return np.clip(cents, 100, 900_000_000)


def generate_dense(rows: int, out_dir: Path, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(ledger, bank, truth) frames of the dense shape for `rows` ledger rows."""
    rng = np.random.default_rng(seed + 1_000_003)
    names = vocab.company_names(rng)
    variants = vocab.bank_variants(names, rng)
    n_cp = min(len(names), max(50, rows // 40))
    popularity = 1.0 / (np.arange(1, n_cp + 1) + 10.0)  # Zipf-like: the top customer ~1.5% of rows
    days = _business_days(BUSINESS_DAYS + 6)

    # ---- ledger rows and their cases -------------------------------------------------------------
    case = np.full(rows, EXACT, np.int64)
    cut = 0
    order = rng.permutation(rows)
    for code, portion in SHARES.items():
        take = int(rows * portion)
        case[order[cut : cut + take]] = code
        cut += take
    cp = rng.choice(n_cp, size=rows, p=popularity / popularity.sum())
    day = days[rng.integers(0, BUSINESS_DAYS, rows)]
    cur = rng.choice(3, size=rows, p=(0.85, 0.1, 0.05))
    cents = _amounts(rng, cp, n_cp)
    batch = np.full(rows, -1, np.int64)
    # collective payments: consecutive batch rows share counterparty, day and currency
    members = np.flatnonzero(case == BATCH)
    sizes = rng.integers(2, 9, size=len(members))
    bounds = np.cumsum(sizes)
    n_batches = int(np.searchsorted(bounds, len(members), side="right"))
    batch_of = np.repeat(np.arange(n_batches + 1), np.diff(np.r_[0, bounds[: n_batches + 1]]))[: len(members)]
    alone = batch_of >= n_batches  # the tail that does not fill a batch is paid one by one
    case[members[alone]] = EXACT
    members, batch_of = members[~alone], batch_of[~alone]
    batch[members] = batch_of
    first = members[np.searchsorted(batch_of, np.arange(n_batches))]
    cp[members], day[members], cur[members] = cp[first][batch_of], day[first][batch_of], cur[first][batch_of]
    _clear_batch_keys(batch, cp, day, cur, days)
    ledger_ids = np.array([f"GL{k + 1:08d}" for k in range(rows)])
    refs = np.array([f"INV-2024-{k + 100001:07d}" for k in range(rows)])

    # ---- bank lines ------------------------------------------------------------------------------
    bank: dict[str, list[np.ndarray]] = {
        k: [] for k in ("case", "group", "cp", "day", "cents", "cur", "ref", "text")
    }

    def add(  # noqa: PLR0917 (one column per argument, in the order of `bank`)
        code: int, group: np.ndarray, cp_: np.ndarray, day_: np.ndarray, cents_: np.ndarray,
        cur_: np.ndarray, ref: np.ndarray, text: np.ndarray,
    ) -> None:  # fmt: skip
        for key, value in zip(
            bank, (np.full(len(group), code), group, cp_, day_, cents_, cur_, ref, text), strict=True
        ):
            bank[key].append(np.asarray(value))

    lag = rng.choice(5, size=rows, p=(0.35, 0.3, 0.2, 0.1, 0.05))
    prefix = np.array(BANK_PREFIX)[rng.integers(0, len(BANK_PREFIX), rows)]
    filler = np.array(BANK_FILLER)[rng.integers(0, len(BANK_FILLER), rows)]
    upper_names = np.array([n.upper() for n in names])
    variant = variants[cp, rng.integers(0, vocab.N_VARIANTS, rows)]
    digits = np.array([r.replace("INV-2024-", "2024") for r in refs])
    spelled = np.where(
        rng.random(rows) < 0.5,
        np.char.add("INV", digits),
        np.char.add("RE ", np.char.replace(refs, "INV-", "")),
    )
    topic = np.array(vocab.RECEIPT_TOPICS)[rng.integers(0, len(vocab.RECEIPT_TOPICS), rows)]
    topic = np.char.upper(topic.astype(str))
    base_text = np.char.add(
        np.char.add(np.char.add(prefix, " "), variant.astype(str)), np.char.add(" ", filler)
    )
    for code in (EXACT, IN_TEXT, NEAR, BREAK):
        rows_ = np.flatnonzero(case == code)
        text = np.char.add(np.char.add(base_text[rows_], " "), topic[rows_])
        ref = spelled[rows_]
        if code == IN_TEXT:
            text = np.char.add(np.char.add(text, " "), refs[rows_])  # as the payer typed it
            ref = np.full(len(rows_), "NOTPROVIDED")
        elif code == NEAR:
            ref = np.where(rng.random(len(rows_)) < 0.5, "NOTPROVIDED", "")
        amount = cents[rows_].copy()
        if code == BREAK:
            amount = amount - rng.integers(50, 3500, len(rows_))
        add(code, rows_, cp[rows_], day[rows_] + lag[rows_], amount, cur[rows_], ref, text)
    # partial payments: 2-3 bank lines, each naming the invoice
    rows_ = np.flatnonzero(case == PARTIAL)
    parts = rng.integers(2, 4, len(rows_))
    owner = np.repeat(np.arange(len(rows_)), parts)
    raw_share: np.ndarray = rng.random(len(owner)) + 0.3
    share = raw_share / np.bincount(owner, weights=raw_share)[owner]
    split = np.floor(cents[rows_][owner] * share).astype(np.int64)
    last = np.r_[owner[1:] != owner[:-1], True]
    split[last] += cents[rows_] - np.bincount(owner, weights=split, minlength=len(rows_)).astype(np.int64)
    r = rows_[owner]
    add(PARTIAL, r, cp[r], day[r] + lag[r] + rng.integers(0, 3, len(r)), split, cur[r], spelled[r],
        np.char.add(np.char.add(base_text[r], " PART PAYMENT "), refs[r]))  # fmt: skip
    # collective payments
    totals = np.bincount(batch_of, weights=cents[members], minlength=n_batches).astype(np.int64)
    batch_text = np.char.add(np.char.add(prefix[first], " "), variant[first].astype(str))
    add(BATCH, first, cp[first], day[first] + lag[first], totals, cur[first],
        np.full(n_batches, "NOTPROVIDED"), np.char.add(batch_text, " COLLECTIVE PAYMENT"))  # fmt: skip
    # bank-only lines: fees, interest, card payments and unrelated credits, round amounts too
    n_bank = sum(len(v) for v in bank["case"])
    n_only = int(n_bank * BANK_ONLY_SHARE)
    only_cp = rng.choice(n_cp, size=n_only, p=popularity / popularity.sum())
    only_text = np.array(vocab.BANK_ONLY_TEXTS)[rng.integers(0, len(vocab.BANK_ONLY_TEXTS), n_only)]
    only_day = days[rng.integers(0, BUSINESS_DAYS, n_only)] + rng.integers(0, 3, n_only)
    only_cur = rng.choice(3, size=n_only, p=(0.85, 0.1, 0.05))
    only_desc = np.char.add(np.char.add(only_text.astype(str), " "), upper_names[only_cp])
    add(ALONE, np.full(n_only, -1), only_cp, only_day, _amounts(rng, only_cp, n_cp), only_cur,
        np.full(n_only, ""), only_desc)  # fmt: skip
    flat = {key: np.concatenate(values) for key, values in bank.items()}
    flat["variant"] = rng.integers(0, vocab.N_VARIANTS, len(flat["case"]))  # copied with a duplicate
    # duplicates: a few exact lines exported twice
    exact_lines = np.flatnonzero(flat["case"] == EXACT)
    dup = np.sort(
        rng.choice(
            exact_lines, size=min(len(exact_lines), int(len(flat["case"]) * DUPLICATE_SHARE)), replace=False
        )
    )
    copy_of = np.r_[np.full(len(flat["case"]), -1), dup]
    flat = {key: np.r_[value, value[dup]] for key, value in flat.items()}
    flat["case"][len(copy_of) - len(dup) :] = DUPLICATE

    # ---- frames ----------------------------------------------------------------------------------
    currencies = np.array(["EUR", "USD", "GBP"])
    sign = np.where(rng.random(n_cp) < 0.8, 1, -1)[cp]
    ledger_text = np.char.add(
        np.char.add(np.array(LEDGER_WORDS)[rng.integers(0, len(LEDGER_WORDS), rows)], " "),
        np.char.add(
            np.char.add(refs, " "), np.char.add(np.array(names)[cp], np.char.add(" ", np.char.lower(topic)))
        ),
    )
    ledger_sign_of = sign
    ledger = pl.DataFrame(
        {
            "_order": np.lexsort((rng.random(rows), day)),
            "id": ledger_ids,
            "date": [str(START + timedelta(days=int(d))) for d in day],
            "amount": _money(cents * ledger_sign_of),
            "currency": currencies[cur],
            "reference": refs,
            "counterparty": np.array(names)[cp],
            "description": ledger_text,
        }
    )
    n = len(flat["case"])
    position = np.argsort(np.lexsort((rng.random(n), flat["day"])), kind="stable")
    position[len(copy_of) - len(dup) :] = position[dup]  # a duplicate right after its original (same day)
    bank_ids = np.empty(n, dtype=object)
    rank = np.argsort(np.lexsort((np.arange(n) >= len(copy_of) - len(dup), position)), kind="stable")
    bank_ids[:] = [f"BK{k + 1:08d}" for k in rank]
    bank_sign = np.where(flat["group"] >= 0, ledger_sign_of[np.maximum(flat["group"], 0)], -1)
    right = pl.DataFrame(
        {
            "id": bank_ids.astype(str),
            "date": [str(START + timedelta(days=int(d))) for d in flat["day"]],
            "amount": _money(flat["cents"] * bank_sign),
            "currency": currencies[flat["cur"]],
            "reference": flat["ref"].astype(str),
            "counterparty": np.where(
                flat["case"] == ALONE,
                "",
                variants[flat["cp"], flat["variant"]].astype(str),
            ),
            "description": flat["text"].astype(str),
        }
    ).with_columns(pl.col("reference").replace("", None), pl.col("counterparty").replace("", None))
    truth = _truth(case, batch, ledger_ids, flat, bank_ids.astype(str), copy_of, dup)
    return ledger.sort("_order").drop("_order"), right.sort("id"), truth


def _clear_batch_keys(
    batch: np.ndarray, cp: np.ndarray, day: np.ndarray, cur: np.ndarray, days: np.ndarray
) -> None:
    """A collective payment covers every invoice of its customer, day and currency (what a rule grouping by
    counterparty, date and currency can find): other invoices of that key move to a neighbouring day."""

    def key(rows: np.ndarray) -> np.ndarray:
        keys: np.ndarray = (cp[rows].astype(np.int64) * 4096 + day[rows]) * 4 + cur[rows]
        return keys

    taken = np.unique(key(np.flatnonzero(batch >= 0)))
    others = np.flatnonzero(batch < 0)
    for step in range(1, BUSINESS_DAYS):
        clash = others[np.isin(key(others), taken)]
        if len(clash) == 0:
            break
        position = np.searchsorted(days, day[clash]) + (1 if step % 2 else -2)
        day[clash] = days[np.clip(position, 0, BUSINESS_DAYS - 1)]


def _money(cents: np.ndarray) -> list[str]:
    magnitude = np.abs(cents)
    return [
        f"{'-' if c < 0 else ''}{m // 100}.{m % 100:02d}"
        for c, m in zip(cents.tolist(), magnitude.tolist(), strict=True)
    ]


def _truth(  # noqa: PLR0917
    case: np.ndarray,
    batch: np.ndarray,
    ledger_ids: np.ndarray,
    bank: dict[str, np.ndarray],
    bank_ids: np.ndarray,
    copy_of: np.ndarray,
    dup: np.ndarray,
) -> pl.DataFrame:
    rows = len(case)
    key = np.where(batch >= 0, rows + batch, np.arange(rows))
    bank_key = np.where(bank["case"] == BATCH, rows + batch[np.maximum(bank["group"], 0)], bank["group"])
    n_orig = len(copy_of) - len(dup)
    left = pl.DataFrame({"key": key, "kind": np.array(KINDS)[case], "side": "left", "id": ledger_ids})
    kinds = np.array(KINDS)[bank["case"]]
    alone = (bank["case"] == ALONE) | (np.arange(len(bank_ids)) >= n_orig)
    bank_key = np.where(alone, 10 * rows + np.arange(len(bank_ids)), bank_key)
    right = pl.DataFrame({"key": bank_key, "kind": kinds, "side": "right", "id": bank_ids})
    frame = pl.concat([left, right])
    ranks = frame.group_by("key").agg(pl.col("id").min().alias("first")).sort("first")
    ranks = ranks.with_columns(group=pl.int_range(1, ranks.height + 1))
    return (
        frame.join(ranks.select("key", "group"), on="key")
        .select("group", "kind", "side", "id")
        .sort("group", "side", "id")
    )
