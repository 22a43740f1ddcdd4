"""The demo generator: deterministic, the promised case mix, and a truth file that agrees with the data."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from recon.demo import DemoFiles, generate

ROWS = 20_000


def _read(files: DemoFiles) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    ledger = pl.read_csv(files.left, infer_schema=False)
    bank = pl.read_csv(files.right, infer_schema=False)
    truth = pl.read_csv(files.truth, schema_overrides={"group": pl.Int64, "id": pl.String})
    return ledger, bank, truth


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DemoFiles, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    files = generate(ROWS, tmp_path_factory.mktemp("demo"), seed=11)
    return (files, *_read(files))


@pytest.fixture(scope="module")
def groups(demo: tuple[DemoFiles, pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    """Truth joined with both files: one row per record with its group, kind, side and columns."""
    _files, ledger, bank, truth = demo
    records = pl.concat([ledger.with_columns(side=pl.lit("left")), bank.with_columns(side=pl.lit("right"))])
    joined = truth.join(records, on=["side", "id"], how="left")
    return joined.with_columns(
        cents=(pl.col("amount").str.replace(".", "", literal=True)).cast(pl.Int64),
        day=pl.col("date").str.to_date(),
        ref_digits=pl.col("reference").fill_null("").str.replace_all(r"\D", ""),
    )


def _hash(files: DemoFiles) -> list[bytes]:
    return [Path(p).read_bytes() for p in (files.left, files.right, files.rules, files.truth)]


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate(3_000, tmp_path / "a", seed=3)
    second = generate(3_000, tmp_path / "b", seed=3)
    other = generate(3_000, tmp_path / "c", seed=4)
    assert _hash(first) == _hash(second)
    assert _hash(first)[0] != _hash(other)[0]
    assert _hash(first)[1] != _hash(other)[1]


def test_files_have_the_contract_columns_and_formats(demo) -> None:
    files, ledger, bank, truth = demo
    columns = ["id", "date", "amount", "currency", "reference", "counterparty", "description"]
    assert ledger.columns == columns
    assert bank.columns == columns
    assert truth.columns == ["group", "kind", "side", "id"]
    assert ledger.height == ROWS
    for frame, prefix in ((ledger, "L"), (bank, "B")):
        assert frame["id"].n_unique() == frame.height
        assert frame["id"].str.contains(rf"^{prefix}\d{{7}}$").all()
        assert frame["amount"].str.contains(r"^-?\d+\.\d{2}$").all()
        assert frame["date"].str.to_date().is_not_null().all()
        assert set(frame["currency"].unique()) <= {"EUR", "USD", "GBP"}
    assert ledger["reference"].str.contains(r"^(INV|PAY)-2024-\d{6}$").all()
    assert ledger["reference"].n_unique() == ROWS
    rules = yaml.safe_load(files.rules.read_text())
    assert [p["name"] for p in rules["passes"]] == ["exact", "reference-breaks", "near", "batches"]


def test_every_record_is_in_the_truth_exactly_once(demo) -> None:
    _files, ledger, bank, truth = demo
    assert truth.height == ledger.height + bank.height
    assert truth.select("side", "id").is_unique().all()
    assert sorted(truth.filter(pl.col("side") == "left")["id"]) == sorted(ledger["id"])
    assert sorted(truth.filter(pl.col("side") == "right")["id"]) == sorted(bank["id"])
    assert truth.group_by("group").agg(pl.col("kind").n_unique())["kind"].max() == 1


def test_case_mix_is_within_bounds(demo) -> None:
    _files, _ledger, bank, truth = demo
    left = truth.filter(pl.col("side") == "left")["kind"].value_counts(normalize=True)
    share = dict(left.iter_rows())
    expected = {"exact": 0.73, "near": 0.12, "many_to_one": 0.08, "break": 0.03, "unmatched": 0.04}
    for kind, target in expected.items():
        assert share[kind] == pytest.approx(target, abs=0.01), kind
    right = dict(truth.filter(pl.col("side") == "right")["kind"].value_counts(normalize=True).iter_rows())
    assert right["unmatched"] == pytest.approx(0.04, abs=0.005)
    assert right["duplicate"] == pytest.approx(0.005, abs=0.002)
    assert bank.height < ROWS  # batches: one bank line pays several ledger lines


def _pairs(groups: pl.DataFrame, kind: str) -> pl.DataFrame:
    members = groups.filter(pl.col("kind") == kind)
    left = members.filter(pl.col("side") == "left")
    right = members.filter(pl.col("side") == "right")
    assert left["group"].is_unique().all() and right["group"].is_unique().all()
    return left.join(right, on="group", suffix="_b")


def test_exact_cases_recover_the_reference_by_digits(groups: pl.DataFrame) -> None:
    pairs = _pairs(groups, "exact")
    assert (pairs["ref_digits"] == pairs["ref_digits_b"]).all()
    assert (pairs["cents"] == pairs["cents_b"]).all()
    assert (pairs["currency"] == pairs["currency_b"]).all()
    lag = (pairs["day_b"] - pairs["day"]).dt.total_days()
    assert lag.min() >= 0 and lag.max() <= 2
    # The bank spells references differently most of the time.
    assert (pairs["reference"] != pairs["reference_b"]).mean() > 0.6


def test_near_cases_have_no_usable_reference_and_close_amount_and_date(groups: pl.DataFrame) -> None:
    pairs = _pairs(groups, "near")
    assert (pairs["ref_digits_b"] == "").all()
    assert (pairs["cents"] - pairs["cents_b"]).abs().max() <= 1
    lag = (pairs["day_b"] - pairs["day"]).dt.total_days()
    assert lag.min() >= 0 and lag.max() <= 3
    assert (pairs["counterparty"] != pairs["counterparty_b"]).all()  # the bank never prints the ledger's name


def test_near_cases_come_with_decoys(groups: pl.DataFrame) -> None:
    near = _pairs(groups, "near")
    bank_only = groups.filter((pl.col("kind") == "unmatched") & (pl.col("side") == "right"))
    decoys = near.join(bank_only, left_on=["cents", "currency"], right_on=["cents", "currency"], suffix="_d")
    decoys = decoys.filter(
        (pl.col("day_d") - pl.col("day")).dt.total_days().is_between(0, 3)
        & (pl.col("counterparty_d") != pl.col("counterparty_b"))
    )
    assert decoys["group"].n_unique() > 0.1 * near.height


def test_many_to_one_groups_sum_and_have_unique_keys(groups: pl.DataFrame) -> None:
    members = groups.filter(pl.col("kind") == "many_to_one")
    per_group = members.group_by("group").agg(
        left=(pl.col("side") == "left").sum(),
        right=(pl.col("side") == "right").sum(),
        left_sum=pl.col("cents").filter(pl.col("side") == "left").sum(),
        right_sum=pl.col("cents").filter(pl.col("side") == "right").sum(),
        keys=pl.struct("counterparty", "date", "currency").filter(pl.col("side") == "left").n_unique(),
        currencies=pl.col("currency").n_unique(),
    )
    assert per_group["left"].min() >= 2 and per_group["left"].max() <= 6
    assert (per_group["right"] == 1).all()
    assert (per_group["left_sum"] == per_group["right_sum"]).all()
    assert (per_group["keys"] == 1).all() and (per_group["currencies"] == 1).all()
    # No other ledger row shares a batch's (counterparty, date, currency): grouping by it is unambiguous.
    ledger = groups.filter(pl.col("side") == "left")
    per_key = ledger.group_by("counterparty", "date", "currency").agg(pl.col("group").n_unique())
    batch_keys = members.filter(pl.col("side") == "left").select("counterparty", "date", "currency").unique()
    assert (batch_keys.join(per_key, on=["counterparty", "date", "currency"])["group"] == 1).all()


def test_breaks_share_the_reference_and_differ_by_a_fee(groups: pl.DataFrame) -> None:
    pairs = _pairs(groups, "break")
    assert (pairs["ref_digits"] == pairs["ref_digits_b"]).all()
    fee = (pairs["cents"] - pairs["cents_b"]).abs()
    assert fee.min() >= 50 and fee.max() <= 2500


def test_duplicates_copy_an_earlier_bank_line_on_every_column_but_the_id(demo) -> None:
    _files, _ledger, bank, truth = demo
    columns = [c for c in bank.columns if c != "id"]
    dup_ids = truth.filter(pl.col("kind") == "duplicate")["id"]
    copies = bank.filter(pl.col("id").is_in(dup_ids.implode()))
    originals = bank.filter(~pl.col("id").is_in(dup_ids.implode()))
    joined = copies.join(originals, on=columns, suffix="_orig")
    assert joined.height == copies.height
    assert (joined["id_orig"] < joined["id"]).all()
    assert originals.select(columns).is_unique().all()  # no accidental duplicates elsewhere


@pytest.mark.parametrize("rows", [1, 7, 50])
def test_tiny_sizes_work(tmp_path: Path, rows: int) -> None:
    files = generate(rows, tmp_path)
    ledger, bank, truth = _read(files)
    assert ledger.height == rows
    assert truth.height == ledger.height + bank.height


def test_rows_out_of_range_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rows must be between"):
        generate(0, tmp_path)


def test_references_digits_are_unique_per_ledger_row(demo) -> None:
    _files, ledger, _bank, _truth = demo
    digits = ledger["reference"].str.replace_all(r"\D", "")
    assert digits.n_unique() == ledger.height
    assert all(re.fullmatch(r"2024\d{6}", d) for d in digits.head(100))
    assert Decimal(ledger["amount"][0]).as_tuple().exponent == -2


@pytest.fixture(scope="module")
def dense(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DemoFiles, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    files = generate(ROWS, tmp_path_factory.mktemp("dense"), seed=11, shape="dense")
    return (files, *_read(files))


def test_dense_shape_is_deterministic_and_unlike_classic(tmp_path: Path) -> None:
    first = generate(2_000, tmp_path / "a", seed=3, shape="dense")
    second = generate(2_000, tmp_path / "b", seed=3, shape="dense")
    classic = generate(2_000, tmp_path / "c", seed=3)
    assert _hash(first) == _hash(second)
    assert _hash(first)[0] != _hash(classic)[0]


def test_dense_shape_has_the_promised_traits(dense) -> None:
    _files, ledger, bank, truth = dense
    assert (
        ledger.columns
        == bank.columns
        == ["id", "date", "amount", "currency", "reference", "counterparty", "description"]
    )
    counts = ledger.group_by("counterparty").len().sort("len", descending=True)["len"].to_list()
    assert counts[0] > 20 * counts[len(counts) // 2]  # heavy tail
    cents = ledger["amount"].str.replace("-", "").str.replace(".", "", literal=True).cast(pl.Int64)
    assert (cents % 1000 == 0).mean() > 0.2  # many round amounts
    assert ledger["amount"].n_unique() < 0.7 * ledger.height  # repeated amounts
    assert ledger["date"].n_unique() <= 30  # dense dates
    assert bank["description"].str.len_chars().mean() > 45  # long free text
    kinds = set(truth["kind"].unique().to_list())
    assert kinds >= {"exact", "reference_in_text", "near", "break", "one_to_many", "many_to_one", "unmatched"}
    # references embedded in the text: the ledger reference appears in the bank description, not its field
    in_text = truth.filter(pl.col("kind") == "reference_in_text")
    pairs = in_text.filter(pl.col("side") == "left").join(
        in_text.filter(pl.col("side") == "right"), on="group"
    )
    joined = pairs.join(ledger, left_on="id", right_on="id").join(bank, left_on="id_right", right_on="id")
    assert joined.height > 0
    assert all(
        ref in text for ref, text in zip(joined["reference"], joined["description_right"], strict=True)
    )


def test_dense_truth_partial_payments_add_up(dense) -> None:
    _, ledger, bank, truth = dense
    records = pl.concat([ledger.with_columns(side=pl.lit("left")), bank.with_columns(side=pl.lit("right"))])
    partial = truth.filter(pl.col("kind") == "one_to_many").join(records, on=["side", "id"])
    sums = partial.group_by("group", "side").agg(pl.col("amount").cast(pl.Decimal(18, 2)).sum())
    wide = sums.pivot(on="side", index="group", values="amount")
    assert wide.height > 0
    assert (wide["left"] == wide["right"]).all()
