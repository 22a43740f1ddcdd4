"""The default text form, frequency-weighted similarity and the margin rule (unit and property tests)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import frequency, normalize, reconcile
from recon.engine.model import DEFAULT_TEXT_NORMALIZE

from .helpers import groups_of, rules_for, side

FUZZY = """\
  - name: fuzzy
    kind: one_to_one
    match:
      - {{left: amount, right: amount, op: tolerance, abs: 0.01}}
    score:
      - {{left: name, right: name, method: {method}{extra}}}
    min_score: 0.8
"""


def _score(left_name: str, right_name: str, method: str, extra: str = "") -> float | None:
    rules = rules_for(FUZZY.format(method=method, extra=extra))
    result = reconcile(
        side(["L1"], ["10.00"], name=[left_name]), side(["R1"], ["10.00"], name=[right_name]), rules
    )
    scores = result.matches.column("score").to_pylist()
    return scores[0] if scores else None


def test_similarity_ignores_case_accents_and_punctuation_by_default():
    for method in ("jaro_winkler", "levenshtein", "token_set"):
        assert _score("ACME TRADING GMBH", "Acme Trading GmbH.", method) == 1.0
        assert _score("GÄRTNEREI SONNENBLÜTE", "Gaertnerei Sonnenbluete", method) == 1.0
        assert _score("Müller & Söhne, S.A.", "MUELLER SOEHNE SA", method) == 1.0


def test_normalize_empty_list_compares_raw_text():
    assert _score("ACME TRADING", "acme trading", "jaro_winkler", ", normalize: [], tf: false") is None
    assert _score("ACME TRADING", "ACME TRADING", "jaro_winkler", ", normalize: [], tf: false") == 1.0


def test_default_text_form_and_transliteration():
    values = pa.array(["Straße 5", "ÄRZTE-Kammer", "O'Neil & Co.", "  élan  vital ", None])
    assert normalize.apply(values, DEFAULT_TEXT_NORMALIZE).to_pylist() == [
        "STRASSE 5",
        "AERZTE KAMMER",
        "ONEIL CO",
        "ELAN VITAL",
        None,
    ]


def _vocabulary(common: int) -> frequency.Vocabulary:
    filler = [f"FILLER{k} COMMON" for k in range(common)] + [f"OTHER{k}" for k in range(50)]
    left = ["ALPHA COMMON", "ALPHA RARE", *filler]
    right = ["BRAVO COMMON", "BRAVO RARE", *filler]
    return frequency.build_vocabulary(pa.array(left), pa.array(right))


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 300), st.sampled_from(["jaro_winkler", "levenshtein", "token_set"]))
def test_a_common_word_moves_the_score_less_than_a_rare_one(common, method):
    vocabulary = _vocabulary(common)
    (shares_common, shares_rare), (plain_common, plain_rare) = frequency.weighted_similarity(
        vocabulary, np.array([0, 1]), np.array([0, 1]), method
    )
    assert plain_common == plain_rare  # without weights both pairs agree on one word of two
    raw = np.array([0.8, 0.8])
    adjusted_common, adjusted_rare = frequency.adjusted(
        raw, np.array([shares_common, shares_rare]), np.array([plain_common, plain_rare])
    )
    assert adjusted_common < adjusted_rare
    assert shares_common < shares_rare
    assert shares_rare - shares_common > 0.2


def test_names_sharing_only_legal_form_and_industry_score_low():
    names = [f"Brand{k} Trading GmbH" for k in range(300)]
    left = pa.array(["Acme Trading GmbH", *names])
    right = pa.array(["ACME TRADNG", *[n.upper() for n in names]])
    normal = [normalize.apply(v, DEFAULT_TEXT_NORMALIZE) for v in (left, right)]
    vocabulary = frequency.build_vocabulary(*normal)
    (true_pair, false_pair), _ = frequency.weighted_similarity(
        vocabulary, np.array([0, 1]), np.array([0, 2]), "jaro_winkler"
    )
    assert true_pair > 0.9
    assert false_pair < 0.3


def test_a_rare_shared_word_does_not_make_conflicting_names_equal():
    """One brand, two companies: the brand's weight must not lift the wrong name to the true one's score."""
    others = [f"Brand{k} {industry} {form}" for k in range(200) for industry, form in (("Print", "SARL"),)]
    others += [f"Firm{k} Consulting LLC" for k in range(200)]
    left = pa.array(["Greenfield Consulting LLC", "Greenfield Print Services SARL", *others])
    right = pa.array(["GREENFIELD PRINT SERVICES SARL", *[o.upper() for o in others]])
    normal = [normalize.apply(v, DEFAULT_TEXT_NORMALIZE) for v in (left, right)]
    vocabulary = frequency.build_vocabulary(*normal)
    pairs = np.array([0, 1]), np.array([0, 0])
    weighted, plain = frequency.weighted_similarity(vocabulary, *pairs, "jaro_winkler")
    raw = np.array([0.8, 1.0])  # the method's similarity: a shared first word lifts jaro_winkler
    wrong, true = frequency.adjusted(raw, weighted, plain)
    assert weighted[0] / plain[0] > 1  # the rare brand is the one agreeing word: weights raise the agreement
    assert wrong <= max(raw[0], weighted[0]) + 1e-12
    assert wrong < true - 0.1


def test_crowded_block_keys_survive_abbreviations_and_an_appended_city():
    """The bank's spelling ranks an abbreviation and a city above the words it shares with the ledger's."""
    fillers = [f"Brand{k} Print Services GmbH" for k in range(100)] + [
        f"Firm{k} Trading AG" for k in range(100)
    ]
    left = pa.array(["Kingfisher Print Services GmbH", *fillers])
    right = pa.array(["KINGFISHER PRINT SVCS GMBH COLOGNE", *[f"{f.upper()} BERLIN" for f in fillers]])
    normal = [normalize.apply(v, DEFAULT_TEXT_NORMALIZE) for v in (left, right)]
    vocabulary = frequency.build_vocabulary(*normal)
    keys = {}
    for name in ("left", "right"):
        rids, words = frequency.key_words(vocabulary, name)
        keys[name] = set(words[rids == 0].tolist())
    assert keys["left"] & keys["right"]
    assert max(len(k) for k in keys.values()) <= frequency.KEY_WORDS


def test_explanation_shows_the_word_weights():
    rules = rules_for(FUZZY.format(method="token_set", extra=""))
    names = [f"Brand{k} Trading GmbH" for k in range(20)]
    left = side(
        [f"L{k}" for k in range(21)], [f"{k}.00" for k in range(21)], name=["Acme Trading GmbH", *names]
    )
    right = side([f"R{k}" for k in range(21)], [f"{k}.00" for k in range(21)], name=["ACME TRADING", *names])
    result = reconcile(left, right, rules)
    first = json.loads(result.matches.column("explanation")[0].as_py())
    words = first["score"][0]["words"]
    assert set(words["left"]) == {"ACME", "TRADING", "GMBH"}
    assert words["left"]["ACME"] > 3 * words["left"]["TRADING"]


def test_near_tie_is_suggested_and_names_the_rival():
    rules = rules_for(
        """\
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
    score:
      - {left: name, right: name, method: jaro_winkler, tf: false}
    margin: 0.1
"""
    )
    left = side(["L1"], ["10.00"], name=["ACME TRADING"])
    right = side(["R1", "R2"], ["10.00", "10.00"], name=["ACME TRADING", "ACME TRADIN"])
    result = reconcile(left, right, rules)
    assert groups_of(result) == [("near", "suggested", ("L1",), ("R1",))]
    explanation = json.loads(result.matches.column("explanation")[0].as_py())
    assert explanation["rival"]["id"] == "R2"
    assert result.unmatched_right.column("reason").to_pylist() == ["ambiguous"]
    wide = rules_for(
        """\
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
    score:
      - {left: name, right: name, method: jaro_winkler, tf: false}
    margin: 0
"""
    )
    assert groups_of(reconcile(left, right, wide)) == [("near", "matched", ("L1",), ("R1",))]


def test_a_rival_clearly_better_off_elsewhere_does_not_count():
    rules = rules_for(
        """\
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
    score:
      - {left: name, right: name, method: jaro_winkler, normalize: [], tf: false}
    margin: 0.04
"""
    )
    # L1-R1 0.978, L1-R2 0.95 (within the margin), but R2 is clearly L2's (1.0 > 0.95 + 0.04)
    left = side(["L1", "L2"], ["10.00", "10.00"], name=["NORDWIND", "NORDWINX"])
    right = side(["R1", "R2"], ["10.00", "10.00"], name=["NORDWINDE", "NORDWINX"])
    result = reconcile(left, right, rules)
    assert groups_of(result) == [("near", "matched", ("L1",), ("R1",)), ("near", "matched", ("L2",), ("R2",))]


DAYS = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-06"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([10, 20]), st.sampled_from(DAYS)), min_size=1, max_size=7),
    st.lists(st.tuples(st.sampled_from([10, 20]), st.sampled_from(DAYS)), min_size=1, max_size=7),
    st.sampled_from([0.0, 0.05, 0.2]),
)
def test_a_near_tie_never_ends_matched(left_rows, right_rows, margin):
    rules = rules_for(
        f"""\
  - name: near
    kind: one_to_one
    match:
      - {{left: amount, right: amount, op: tolerance, abs: 0.01}}
      - {{left: date, right: date, op: within_days, days: 4}}
    margin: {margin}
""",
        "duplicates: allow\n",
    )
    left = side(
        [f"L{k}" for k in range(len(left_rows))], [f"{a}.00" for a, _ in left_rows], [d for _, d in left_rows]
    )
    right = side(
        [f"R{k}" for k in range(len(right_rows))],
        [f"{a}.00" for a, _ in right_rows],
        [d for _, d in right_rows],
    )
    result = reconcile(left, right, rules)

    def score(i: int, j: int) -> float | None:
        (a, da), (b, db) = left_rows[i], right_rows[j]
        days = abs((np.datetime64(da) - np.datetime64(db)).astype(int))
        if a != b or days > 4:
            return None
        return (1.0 + (1.0 - days / 5)) / 2

    groups = groups_of(result)
    own_left = {int(g[2][0][1:]): score(int(g[2][0][1:]), int(g[3][0][1:])) for g in groups}
    own_right = {int(g[3][0][1:]): score(int(g[2][0][1:]), int(g[3][0][1:])) for g in groups}
    for _, status, (lid,), (rid,) in groups:
        if status != "matched":
            continue
        i, j = int(lid[1:]), int(rid[1:])
        s = score(i, j)
        assert s is not None
        for other in range(len(right_rows)):
            s2 = score(i, other)
            if other != j and s2 is not None and s2 >= s - margin - 1e-9:
                assert own_right.get(other, -1.0) > s2 + margin + 1e-9, (i, j, other)
        for other in range(len(left_rows)):
            s2 = score(other, j)
            if other != i and s2 is not None and s2 >= s - margin - 1e-9:
                assert own_left.get(other, -1.0) > s2 + margin + 1e-9, (i, j, other)
    assert sum(Decimal(1) for _ in groups) == len(groups)


def test_a_rare_city_appended_does_not_pull_a_name_below_its_similarity():
    """Only one text has the city: it costs at most what an agreeing word weighs, not its own weight."""
    names = [f"Brand{k} Consulting GmbH" for k in range(300)]
    left = pa.array(["Phoenix Consulting GmbH", "Phoenix Consulting GmbH", *names])
    right = pa.array(["PHOENIX CONSULTING GMBH NEW YORK", "PHOENIX CONSULTING", *[n.upper() for n in names]])
    normal = [normalize.apply(v, DEFAULT_TEXT_NORMALIZE) for v in (left, right)]
    vocabulary = frequency.build_vocabulary(*normal)
    weighted, plain = frequency.weighted_similarity(
        vocabulary, np.array([0, 1]), np.array([0, 1]), "jaro_winkler"
    )
    raw = np.array([0.94, 0.95])
    with_city, without_form = frequency.adjusted(raw, weighted, plain)
    assert with_city >= raw[0] - 1e-9  # main: 0.71 (the rare city outweighed the name)
    assert without_form >= raw[1] - 1e-9  # a missing legal form (common) costs little, as before
