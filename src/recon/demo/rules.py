"""The rule set that suits the demo data (written next to it as rules.yaml).

Why each pass looks the way it does:
- exact: the bank shows the ledger reference with other case, spacing and prefixes ("/REF/INV2024000123",
  "inv 2024 000123"); its digits are the part that survives every variant, so `digits` recovers it.
- reference-breaks (second, before the loose passes): the reference agrees but the bank deducted a fee, so
  the amount differs: a break. A shared reference is stronger evidence than a fuzzy name with a coincidentally
  equal amount, so it goes before `near` (after it, ~0.4% of the breaks lost their bank line to `near` at 1M).
- near: no usable reference on the bank side; amount within a cent, date within 3 days, and the counterparty
  and description as printed by the bank decide between candidates (decoys have the same amount and currency).
- batches: a customer pays several invoices of one day with one transfer; the ledger lines of one
  counterparty, date and currency add up to the bank line, which names that counterparty (the similarity
  condition stops a lone leftover ledger line from taking an unrelated bank line of the same amount).
"""


def rules(name: str, *passes: str) -> str:
    """A rule set of these passes over the demo columns (also the instant bench's)."""
    header = (
        f"version: 1\nname: {name}\nleft: {{id: id}}\nright: {{id: id}}\n"
        "columns: {amount: decimal, date: date, id: string, reference: string}\npasses:\n"
    )
    return header + "".join(passes)


def exact_pass(name: str) -> str:
    """The reference (its digits), amount and currency agree."""
    return f"""\
  - name: {name}
    kind: one_to_one
    match:
      - {{left: reference, right: reference, op: equals, normalize: [digits]}}
      - {{left: amount, right: amount, op: equals}}
      - {{left: currency, right: currency, op: equals}}
"""


def _reference_breaks(name: str) -> str:
    """The reference agrees (its digits) but the amount does not: a break, compared within a cent."""
    return f"""\
  - name: {name}
    kind: one_to_one
    match:
      - {{left: reference, right: reference, op: equals, normalize: [digits]}}
      - {{left: currency, right: currency, op: equals}}
    compare:
      - {{left: amount, right: amount, abs: 0.01}}
"""


def near_pass(window: str, normalize: str = "", min_score: str | None = None) -> str:
    """No usable reference: amount within a cent and a date window; with `min_score`, names and texts score
    the candidates (without: the first candidate in the window wins)."""
    matched = f"""\
  - name: near
    kind: one_to_one
    match:
      - {{left: currency, right: currency, op: equals}}
      - {{left: amount, right: amount, op: tolerance, abs: 0.01}}
      - {{left: date, right: date, {window}}}
"""
    if min_score is None:
        return matched
    return (
        matched
        + f"""\
    score:
      - {{left: counterparty, right: counterparty, method: jaro_winkler, weight: 2{normalize}}}
      - {{left: description, right: description, method: token_set, weight: 1{normalize}}}
    min_score: {min_score}
"""
    )


def _batches(name: str, window: str, normalize: str) -> str:
    """Several ledger lines of one counterparty, day and currency paid by one bank line (their sum)."""
    normalize = normalize.replace(", ", ",\n         ")  # the line would be too long
    return f"""\
  - name: {name}
    kind: many_to_one
    group_by: [counterparty, date, currency]
    max_group_size: 10
    match:
      - {{left: currency, right: currency, op: equals}}
      - {{left: date, right: date, {window}}}
      - {{left: counterparty, right: counterparty, op: similarity, method: jaro_winkler, min: 0.8{normalize}}}
    sum: {{left: amount, right: amount, abs: 0.01}}
"""


CALENDAR_DAYS, BUSINESS_DAYS = "op: within_days, days: 3", "op: within_business_days, days: 4"
UPPER = ", normalize: [upper]"
NEAR_MIN_SCORE = "0.65"

DEMO_RULES = rules(
    "demo-ledger-vs-bank",
    exact_pass("exact"),
    _reference_breaks("reference-breaks"),
    near_pass(CALENDAR_DAYS, UPPER, "{min_score}"),
    _batches("batches", CALENDAR_DAYS, UPPER),
)


def demo_rules_text() -> str:
    return DEMO_RULES.replace("{min_score}", NEAR_MIN_SCORE)


# The dense shape (recon.demo.dense): references in another spelling, or only inside the remittance text,
# partial payments before fee breaks (a part would otherwise become a break), business-day windows.
DENSE_RULES = rules(
    "demo-dense-ledger-vs-bank",
    exact_pass("reference"),
    """\
  - name: reference-in-text
    kind: one_to_one
    match:
      - {left: reference, right: description, op: contains, direction: right_contains_left,
         normalize: [upper]}
      - {left: currency, right: currency, op: equals}
      - {left: amount, right: amount, op: equals}
  - name: partial-payments
    kind: one_to_many
    group_by: [reference]
    match:
      - {left: reference, right: reference, op: equals, normalize: [digits]}
      - {left: currency, right: currency, op: equals}
    sum: {left: amount, right: amount, abs: 0.01}
""",
    _reference_breaks("fee-breaks"),
    near_pass(BUSINESS_DAYS, "", "0.6"),
    _batches("collective", BUSINESS_DAYS, ""),
)

SHAPES = ("classic", "dense")


def rules_text(shape: str = "classic") -> str:
    return DENSE_RULES if shape == "dense" else demo_rules_text()
