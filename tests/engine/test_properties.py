"""Property tests: random small tables and random rules keep the engine's invariants."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from decimal import Decimal

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.engine import parse_rules, reconcile

REFS = ["INV-1", "inv 1", "INV-2", " inv-2", "X9", "", None]
NAMES = ["Acme GmbH", "ACME", "Globex Ltd", "Initech", "acme gmbh munich", None]
DATES = [dt.date(2024, 1, 1) + dt.timedelta(days=k) for k in (0, 1, 2, 5)]


@st.composite
def tables(draw, prefix: str) -> pa.Table:
    n = draw(st.integers(0, 9))
    cents = draw(st.lists(st.sampled_from([100, 101, 250, 350, 600, -100, 0]), min_size=n, max_size=n))
    return pa.table(
        {
            "id": pa.array([f"{prefix}{i:02d}" for i in range(n)], pa.string()),
            "amount": pa.array([Decimal(c).scaleb(-2) for c in cents], pa.decimal128(38, 2)),
            "date": pa.array(draw(st.lists(st.sampled_from(DATES), min_size=n, max_size=n)), pa.date32()),
            "ref": pa.array(draw(st.lists(st.sampled_from(REFS), min_size=n, max_size=n)), pa.string()),
            "name": pa.array(draw(st.lists(st.sampled_from(NAMES), min_size=n, max_size=n)), pa.string()),
        }
    )


normalizers = st.lists(
    st.sampled_from(["trim", "upper", "lower", "alnum", "digits"]), max_size=2, unique=True
)
conditions = st.one_of(
    st.builds(lambda n: {"left": "ref", "right": "ref", "op": "equals", "normalize": n}, normalizers),
    st.builds(
        lambda t: {"left": "amount", "right": "amount", "op": "tolerance", "abs": t},
        st.sampled_from([0, 0.01, 1]),
    ),
    st.builds(
        lambda p: {"left": "amount", "right": "amount", "op": "tolerance", "pct": p}, st.sampled_from([1, 50])
    ),
    st.builds(
        lambda d: {"left": "date", "right": "date", "op": "within_days", "days": d},
        st.sampled_from([0, 1, 3]),
    ),
    st.builds(
        lambda m, x: {
            "left": "name",
            "right": "name",
            "op": "similarity",
            "method": m,
            "min": x,
            "normalize": ["upper"],
        },
        st.sampled_from(["jaro_winkler", "levenshtein", "token_set", "exact"]),
        st.sampled_from([0.0, 0.5, 0.9]),
    ),
    st.builds(
        lambda d: {"left": "name", "right": "name", "op": "contains", "direction": d},
        st.sampled_from(["left_contains_right", "either"]),
    ),
)
score_items = st.lists(
    st.builds(
        lambda m, w: {"left": "name", "right": "name", "method": m, "weight": w},
        st.sampled_from(["jaro_winkler", "levenshtein", "token_set", "exact"]),
        st.sampled_from([1, 2]),
    ),
    max_size=2,
)


ALL_KINDS = ("one_to_one", "one_to_one", "many_to_one", "one_to_many", "many_to_many")


@st.composite
def passes(draw, index: int, kinds: tuple[str, ...] = ALL_KINDS) -> dict:
    kind = draw(st.sampled_from(kinds))
    spec: dict = {"name": f"p{index}", "kind": kind}
    grouped = kind != "one_to_one"
    group_by = draw(st.sampled_from([[], ["ref"], ["date"]])) if grouped else []
    match = draw(st.lists(conditions, min_size=0 if group_by else 1, max_size=3))
    if match:
        spec["match"] = match
    if group_by:
        spec["group_by"] = group_by
    if grouped:
        spec["max_group_size"] = draw(st.integers(2, 4))
        tolerance = draw(st.sampled_from([{"abs": 0}, {"abs": 0.01}, {"abs": 1}, {"pct": 10}]))
        spec["sum"] = {"left": "amount", "right": "amount", **tolerance}
    scores = draw(score_items)
    if scores:
        spec["score"] = scores
    if draw(st.booleans()):
        spec["min_score"] = draw(st.sampled_from([0.3, 0.8]))
    if draw(st.booleans()):
        spec["compare"] = [{"left": "amount", "right": "amount", "abs": 0.01}]
    return spec


@st.composite
def rule_sets(draw, kinds: tuple[str, ...] = ALL_KINDS, max_passes: int = 3) -> str:
    """Random rule sets of 1..max_passes passes of the given kinds (tests/spark draws its own from here)."""
    count = draw(st.integers(1, max_passes))
    document = {
        "version": 1,
        "name": "random",
        "left": {"id": "id"},
        "right": {"id": "id"},
        "duplicates": draw(st.sampled_from(["flag", "allow"])),
        "passes": [draw(passes(i, kinds)) for i in range(count)],
    }
    return json.dumps(document)


def within(spec: dict, left_sum: Decimal, right_sum: Decimal) -> bool:
    tolerance = spec["sum"]
    diff = abs(left_sum - right_sum)
    if "abs" in tolerance:
        return diff <= Decimal(str(tolerance["abs"]))
    return diff * 100 <= Decimal(str(tolerance["pct"])) * max(abs(left_sum), abs(right_sum))


@settings(
    max_examples=int(os.environ.get("RECON_PROPERTY_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tables("L"), tables("R"), rule_sets(), st.randoms(use_true_random=False))
def test_invariants_hold_for_random_rules(left, right, text, rng):
    rules = parse_rules(text)
    result = reconcile(left, right, rules, threads=1)
    matches = result.matches.to_pylist()

    # every input record exactly once, no record in two groups
    for name, table, unmatched in (
        ("left", left, result.unmatched_left),
        ("right", right, result.unmatched_right),
    ):
        listed = [row["id"] for row in matches if row["side"] == name] + unmatched.column("id").to_pylist()
        assert sorted(listed) == sorted(table.column("id").to_pylist())
        figures = result.summary[name]
        parts = (
            figures["matched"]
            + figures["suggested"]
            + figures["break"]
            + figures["unmatched"]
            + figures["rejected"]
        )
        assert parts == figures["rows"] == table.num_rows

    # group shapes and sums
    specs = {spec["name"]: spec for spec in json.loads(text)["passes"]}
    amounts = {
        side: dict(zip(t.column("id").to_pylist(), t.column("amount").to_pylist(), strict=True))
        for side, t in (("left", left), ("right", right))
    }
    groups: dict[int, dict] = defaultdict(lambda: {"left": [], "right": []})
    for row in matches:
        groups[row["group_id"]][row["side"]].append(row["id"])
        groups[row["group_id"]]["pass"] = row["pass"]
    for group in groups.values():
        spec = specs[group["pass"]]
        assert group["left"] and group["right"]
        if spec["kind"] == "one_to_one":
            assert len(group["left"]) == len(group["right"]) == 1
            continue
        many = {"many_to_one": ["left"], "one_to_many": ["right"], "many_to_many": ["left", "right"]}[
            spec["kind"]
        ]
        for side in ("left", "right"):
            limit = spec["max_group_size"] if side in many else 1
            assert len(group[side]) <= limit
        sums = {side: sum(amounts[side][i] for i in group[side]) for side in ("left", "right")}
        assert within(spec, sums["left"], sums["right"])

    # determinism, also when the input rows come in another order
    again = reconcile(
        left.take(_shuffled(left.num_rows, rng)), right.take(_shuffled(right.num_rows, rng)), rules
    )
    assert again.matches.equals(result.matches)
    assert again.unmatched_left.equals(result.unmatched_left)
    assert again.unmatched_right.equals(result.unmatched_right)
    assert again.summary == result.summary


def _shuffled(n: int, rng) -> pa.Array:
    order = list(range(n))
    rng.shuffle(order)
    return pa.array(order, pa.int64())
