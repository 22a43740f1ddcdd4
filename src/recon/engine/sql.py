"""SQL expression builders (DuckDB dialect) shared by the planner and the executor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from recon.engine.model import DEFAULT_TEXT_NORMALIZE

# Column categories the planner distinguishes (see executor.column_categories).
STRING, NUMBER, DATE, TIMESTAMP, OTHER = "string", "number", "date", "timestamp", "other"

NORMALIZER_SQL: dict[str, str] = {
    "trim": "trim({})",
    "upper": "replace(upper({}), 'ẞ', 'SS')",  # ß -> SS as in normalize.apply
    "lower": "lower({})",
    "alnum": r"regexp_replace({}, '[^\p{{L}}\p{{N}}]', '', 'g')",
    "digits": "regexp_replace({}, '[^0-9]', '', 'g')",
    "collapse_spaces": r"trim(regexp_replace({}, '\s+', ' ', 'g'))",
    "strip_leading_zeros": r"regexp_replace({}, '^0+(.)', '\1')",
    "transliterate": "{}",  # filled in below
    "words": r"trim(regexp_replace(regexp_replace({}, '[.''’]+', '', 'g'), '[^\p{{L}}\p{{N}}]+', ' ', 'g'))",
}
# ä -> ae etc. before strip_accents drops the remaining accents (the Arrow version is recon.engine.normalize).
_SPELLED = (
    ("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("æ", "ae"), ("ø", "oe"), ("œ", "oe"), ("å", "aa"),
    ("þ", "th"), ("ð", "d"), ("ł", "l"), ("đ", "d"), ("ı", "i"), ("ĳ", "ij"), ("ẞ", "SS"),
)  # fmt: skip
_SPELLED_UPPER = (
    ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("Æ", "Ae"), ("Ø", "Oe"), ("Œ", "Oe"), ("Å", "Aa"), ("Þ", "Th"),
    ("Ð", "D"), ("Ł", "L"), ("Đ", "D"), ("Ĳ", "Ij"),
)  # fmt: skip


def _transliterate_sql() -> str:
    expr = "{}"
    for letter, pair in _SPELLED_UPPER:  # capitalised before a lower-case letter, else upper-case
        expr = "regexp_replace(" + expr + f", '{letter}(\\p{{{{Ll}}}})', '{pair}\\1', 'g')"
        expr = "replace(" + expr + f", '{letter}', '{pair.upper()}')"
    for letter, spelled in _SPELLED:
        expr = "replace(" + expr + f", '{letter}', '{spelled}')"
    return f"strip_accents({expr})"


NORMALIZER_SQL["transliterate"] = _transliterate_sql()
# Normalizers after which a preceding trim is redundant (they drop spaces themselves).
_SPACE_DROPPING = ("alnum", "digits", "collapse_spaces", "words")
# Normalizers that need a regular expression in SQL (slow on millions of rows; see normalize.py).
REGEX_NORMALIZERS = ("alnum", "digits", "collapse_spaces", "strip_leading_zeros", "transliterate", "words")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Decimal | int | float) -> str:
    """An exact SQL literal for a tolerance (Decimal keeps its digits)."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        digits = len(text.replace("-", "").replace(".", ""))
        scale = len(text.split(".")[1]) if "." in text else 0
        return f"CAST('{text}' AS DECIMAL({max(digits, scale + 1, 18)}, {scale}))"
    return repr(value)


def string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def as_text(column: str, category: str) -> str:
    return quote(column) if category == STRING else f"CAST({quote(column)} AS VARCHAR)"


def normalized(column: str, category: str, normalizers: Sequence[str]) -> str:
    """Text operand with normalizers applied in order; empty text counts as missing (NULL)."""
    steps = list(normalizers)
    if "trim" in steps and any(step in _SPACE_DROPPING for step in steps[steps.index("trim") + 1 :]):
        steps.remove("trim")
    expr = as_text(column, category)
    for step in steps:
        expr = NORMALIZER_SQL[step].format(expr)
    return f"NULLIF({expr}, '')"


def normalized_label(column: str, normalizers: Sequence[str]) -> str:
    """`upper(trim(ref))`; the default text form of similarity items reads `text(name)`."""
    if tuple(normalizers) == DEFAULT_TEXT_NORMALIZE:
        return f"text({column})"
    label = column
    for step in normalizers:
        label = f"{step}({label})"
    return label


def number(column: str, category: str) -> str:
    if category == NUMBER:
        return quote(column)
    return f"CAST({quote(column)} AS DECIMAL(38, 6))"


def day(column: str, category: str) -> str:
    return quote(column) if category == DATE else f"CAST({quote(column)} AS DATE)"


def business_day(date_expr: str) -> str:
    """Business-day number of a date, weekends skipped (Saturday and Sunday count as the next Monday);
    holidays need the executor's derived column (recon.engine.calendar)."""
    n = f"({date_expr} - DATE '1970-01-05')"  # a Monday
    return f"(5 * CAST(floor({n} / 7) AS BIGINT) + least(({n} % 7 + 7) % 7, 5))"


def similarity(method: str, left: str, right: str) -> str | None:
    """SQL similarity in [0, 1] (NULL operands give 0); None when the method runs in rapidfuzz."""
    if method == "jaro_winkler":
        return f"coalesce(jaro_winkler_similarity({left}, {right}), 0.0)"
    if method == "levenshtein":
        longest = f"greatest(length({left}), length({right}))"
        return (
            f"CASE WHEN {left} IS NULL OR {right} IS NULL THEN 0.0 WHEN {longest} = 0 THEN 1.0 "
            f"ELSE 1.0 - levenshtein({left}, {right}) / {longest} END"
        )
    if method == "exact":
        return f"CASE WHEN {left} = {right} THEN 1.0 ELSE 0.0 END"
    return None


def within_amount(
    diff_of: str, left: str, right: str, abs_tol: Decimal | None, pct_tol: Decimal | None
) -> str:
    """Predicate: |left - right| within abs, or within pct percent of the larger absolute value."""
    if abs_tol is not None:
        return f"abs({diff_of}) <= {literal(abs_tol)}"
    assert pct_tol is not None
    return f"100 * abs({diff_of}) <= {literal(pct_tol)} * greatest(abs({left}), abs({right}))"


def amount_closeness(left: str, right: str, abs_tol: Decimal | None, pct_tol: Decimal | None) -> str:
    """1 - |diff| / allowed difference, in [0, 1]; 1 when nothing is allowed (then diff is 0)."""
    diff = f"CAST(abs({left} - {right}) AS DOUBLE)"
    if abs_tol is not None:
        if abs_tol == 0:
            return "1.0"
        return f"greatest(0.0, 1.0 - {diff} / {float(abs_tol)!r})"
    assert pct_tol is not None
    allowed = f"({float(pct_tol) / 100!r} * CAST(greatest(abs({left}), abs({right})) AS DOUBLE))"
    return f"CASE WHEN {allowed} = 0 THEN 1.0 ELSE greatest(0.0, 1.0 - {diff} / {allowed}) END"


def days_closeness(left: str, right: str, days: int) -> str:
    return f"(1.0 - abs({right} - {left}) / {days + 1}.0)"


def mean(parts: Sequence[str]) -> str:
    if not parts:
        return "CAST(1 AS DOUBLE)"
    return f"CAST(({' + '.join(parts)}) / {len(parts)} AS DOUBLE)"


def json_text(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def select_list(columns: Mapping[str, str]) -> str:
    return ", ".join(f"{sql} AS {quote(alias)}" for alias, sql in columns.items())
