"""Rule language v1: parsing, strict validation (locations, suggestions, all problems at once), plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from recon.engine import RulesError, load_rules, parse_rules

ISSUE_RULES = """\
version: 1
name: ledger-vs-bank
left:  {id: id}
right: {id: id}
columns: {amount: decimal, date: date}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals, normalize: [trim, upper, alnum]}
      - {left: amount, right: amount, op: equals}
  - name: near
    kind: one_to_one
    match:
      - {left: currency, right: currency, op: equals}
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
      - {left: date, right: date, op: within_days, days: 3}
    score:
      - {left: counterparty, right: counterparty, method: jaro_winkler, weight: 2}
      - {left: description, right: description, method: token_set, weight: 1}
    min_score: 0.5
  - name: batches
    kind: many_to_one
    group_by: [counterparty, date, currency]
    max_group_size: 10
    match:
      - {left: currency, right: currency, op: equals}
      - {left: date, right: date, op: within_days, days: 3}
    sum: {left: amount, right: amount, abs: 0.01}
  - name: reference-breaks
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals, normalize: [trim, upper]}
    compare:
      - {left: amount, right: amount, abs: 0.01}
"""

COLUMNS = ["id", "date", "amount", "currency", "reference", "counterparty", "description"]


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, source="rules.yaml")
    return [str(problem) for problem in caught.value.problems]


def with_pass(body: str) -> str:
    return f"version: 1\nname: t\nleft: {{id: id}}\nright: {{id: id}}\npasses:\n{body}"


def test_issue_rules_parse_with_the_documented_model():
    rules = parse_rules(ISSUE_RULES, source="rules.yaml")
    assert rules.name == "ledger-vs-bank"
    assert [p.name for p in rules.passes] == ["exact", "near", "batches", "reference-breaks"]
    assert rules.passes[1].match[1].abs is not None and str(rules.passes[1].match[1].abs) == "0.01"
    assert rules.passes[2].group_by == ("counterparty", "date", "currency")
    assert rules.left.id == "id"
    assert len(rules.sha256) == 64


def test_json_is_accepted_and_equivalent_to_yaml():
    as_json = json.dumps(yaml.safe_load(ISSUE_RULES))
    rules = parse_rules(as_json, source="rules.json")
    assert [p.kind for p in rules.passes] == ["one_to_one", "one_to_one", "many_to_one", "one_to_one"]
    assert str(rules.plan()) == str(parse_rules(ISSUE_RULES).plan())


def test_unknown_key_is_named_with_location_and_suggestion():
    text = ISSUE_RULES.replace("op: tolerance, abs: 0.01", "op: tolerance, toleranse: 0.01")
    found = problems(text)
    assert "passes[1].match[1]: unknown key 'toleranse' (did you mean 'tolerance'?)" in found
    assert str(RulesError([], "x")) == ""


def test_every_problem_is_reported_at_once():
    text = with_pass(
        """\
  - name: a
    kind: one_to_oen
    match:
      - {left: amount, right: amount, op: toleranse, abs: x}
      - {left: d, right: d, op: within_days, days: -1}
  - name: a
    kind: one_to_one
    sum: {left: a, right: b, abs: 1}
    match: [{left: a, right: a, op: equals, normalize: [uper]}]
    score: [{left: a, right: a, method: jaro, weight: 0}]
    min_score: 1.5
  - name: g
    kind: many_to_one
    match: [{left: a, right: a, op: equals, days: 3}]
"""
    ).replace("version: 1", "version: 2")
    found = problems(text)
    expected = [
        "version: unsupported version 2 (only version 1 exists)",
        "passes[0].kind: unknown kind 'one_to_oen' (did you mean 'one_to_one'?)",
        "passes[0].match[0].op: unknown op 'toleranse' (did you mean 'tolerance'?)",
        "passes[0].match[0].abs: expected a number, got 'x'",
        "passes[0].match[1].days: must be at least 0, got -1",
        "passes[1]: key 'sum' is only allowed for grouped kinds (one_to_many, many_to_one, many_to_many)",
        "passes[1].match[0].normalize[0]: unknown normalizer 'uper' (did you mean 'upper'?)",
        "passes[1].score[0].method: unknown method 'jaro' (did you mean 'jaro_winkler'?)",
        "passes[1].score[0].weight: must be greater than 0, got 0",
        "passes[1].min_score: must be between 0 and 1, got 1.5",
        "passes[1].name: duplicate pass name 'a' (also used by passes[0])",
        "passes[2]: missing required key 'sum'",
        "passes[2].match[0]: key 'days' does not apply to op 'equals'",
    ]
    for line in expected:
        assert line in found, f"{line!r} not in {found}"


def test_error_text_has_one_line_per_problem_with_source():
    with pytest.raises(RulesError) as caught:
        parse_rules(ISSUE_RULES.replace("kind: many_to_one", "kind: many_to_won"), source="rules.yaml")
    assert str(caught.value).splitlines() == [
        "rules.yaml: passes[2].kind: unknown kind 'many_to_won' (did you mean 'many_to_one'?)"
    ]


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ("abs: 0.01}     # or", "passes[1].match[1]: give either 'abs' or 'pct', not both"),
        ("days: 3}\n    score", "passes[1].match[2].days: expected a whole number, got 'x'"),
        ("max_group_size: 10", "passes[2].max_group_size: must be at least 2, got 1"),
        ("weight: 2}", "passes[1].score[0].weight: expected a number, got true (a boolean)"),
    ],
)
def test_wrong_types_and_ranges(replacement, expected):
    substitutions = {
        "abs: 0.01}     # or": "abs: 0.01, pct: 1}     # or",
        "days: 3}\n    score": "days: x}\n    score",
        "max_group_size: 10": "max_group_size: 1",
        "weight: 2}": "weight: true}",
    }
    text = ISSUE_RULES.replace("abs: 0.01}\n      - {left: date", "abs: 0.01}     # or\n      - {left: date")
    text = text.replace(replacement, substitutions[replacement])
    assert expected in problems(text)


def test_kind_specific_keys():
    found = problems(
        with_pass(
            """\
  - name: one
    kind: one_to_one
    group_by: [a]
    match: [{left: a, right: a, op: equals}]
  - name: grouped
    kind: one_to_many
    match: [{left: a, right: a, op: equals}]
    sum: {left: amount, right: amount}
"""
        )
    )
    assert (
        "passes[0]: key 'group_by' is only allowed for grouped kinds (one_to_many, many_to_one, many_to_many)"
        in found
    )
    assert "passes[1].sum: missing required key 'abs' or 'pct' (the allowed difference)" in found


def test_missing_required_keys_and_bad_top_level():
    found = problems("version: 1\nleft: {idd: id}\nright: id\npasses: []\nextra: 1\n")
    assert "missing required key 'name'" in found
    assert "left: unknown key 'idd' (did you mean 'id'?)" in found
    assert "left: missing required key 'id'" in found
    assert "passes: expected a non-empty list of passes, got a list" in found
    assert "unknown key 'extra'" in found


def test_yaml_and_json_syntax_errors_and_duplicate_keys_have_lines():
    assert problems("version: 1\nname: [unclosed\n")[0].startswith("line 3 column 1: invalid YAML")
    assert problems('{"version": 1,, }')[0].startswith("line 1 column 15: invalid JSON")
    assert "line 2: duplicate key 'version'" in problems("version: 1\nversion: 1\n")


def test_type_hint_that_contradicts_an_op():
    text = ISSUE_RULES.replace(
        "columns: {amount: decimal, date: date}", "columns: {amount: string, date: date}"
    )
    assert (
        "passes[1].match[1]: column 'amount' is typed string in columns, but it is used as decimal"
        in problems(text)
    )


def test_percent_must_be_below_100_and_similarity_needs_method_and_min():
    found = problems(
        with_pass(
            """\
  - name: p
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, pct: 100}
      - {left: name, right: name, op: similarity}
"""
        )
    )
    assert "passes[0].match[0].pct: must be below 100 (a percentage), got 100" in found
    assert "passes[0].match[1]: missing required key 'method'" in found
    assert "passes[0].match[1]: missing required key 'min'" in found


def test_check_columns_names_location_pass_and_suggestion():
    rules = parse_rules(ISSUE_RULES, source="rules.yaml")
    right = [c if c != "reference" else "refrence" for c in COLUMNS]
    with pytest.raises(RulesError) as caught:
        rules.check_columns(COLUMNS, right)
    lines = str(caught.value).splitlines()
    assert (
        "rules.yaml: passes[0].match[0].right: unknown right column 'reference' in pass 'exact' "
        "(did you mean 'refrence'?)"
    ) in lines
    assert len(lines) == 2  # exact and reference-breaks
    rules.check_columns(COLUMNS, COLUMNS)


def test_check_columns_reports_ids_and_group_by():
    rules = parse_rules(ISSUE_RULES)
    with pytest.raises(RulesError) as caught:
        rules.check_columns(["ident", "date", "amount", "currency", "reference", "description"], COLUMNS)
    found = [str(p) for p in caught.value.problems]
    assert "left.id: unknown left column 'id' (did you mean 'ident'?)" in found
    assert "passes[2].group_by[0]: unknown left column 'counterparty' in pass 'batches'" in found


def test_column_types_and_read_options():
    text = ISSUE_RULES.replace("left:  {id: id}", "left:  {id: id, read: {delimiter: ';'}}")
    rules = parse_rules(text)
    assert rules.column_types("left") == {"amount": "decimal", "date": "date"}
    assert rules.read_options("left") == {"delimiter": ";"}
    assert rules.read_options("right") is None
    assert rules.amount_column("left") == "amount"


def test_plan_names_blocking_keys_per_pass():
    plan = str(parse_rules(ISSUE_RULES).plan())
    assert "pass 1 'exact' (one_to_one)" in plan
    assert (
        "blocking keys: alnum(upper(trim(reference))) = alnum(upper(trim(reference))); amount = amount"
        in plan
    )
    assert "blocking keys: currency = currency; band |amount - amount| <= 0.01 (buckets of 0.02)" in plan
    assert "band |sum(amount) - amount| <= 0.01" in plan
    assert "checks after join: currency = currency" not in plan
    only_similarity = parse_rules(
        with_pass(
            "  - name: fuzzy\n    kind: one_to_one\n    match:\n"
            "      - {left: name, right: name, op: similarity, method: token_set, min: 0.8}\n"
        )
    )
    assert "shared tokens of text(name) ~ text(name)" in str(only_similarity.plan())


def test_load_rules_reads_files(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text(ISSUE_RULES, encoding="utf-8")
    assert load_rules(path).source == str(path)
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path / "missing.yaml")
    assert "cannot read rules file" in str(caught.value)
