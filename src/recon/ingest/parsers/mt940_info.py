"""MT940 field :86: (information to the account owner) split into its structured subfields where present.

Three layouts are recognised:
- the German GVC layout (DFÜ-Abkommen / DK): a 3-digit business transaction code, then subfields introduced by
  a separator (usually `?`) and two digits: ?00 booking text, ?10 primanota, ?20-?29 and ?60-?63 purpose,
  ?30 bank code, ?31 account, ?32-?33 name, ?34 text key extension. SEPA keywords inside the purpose
  (EREF+, KREF+, MREF+, CRED+, SVWZ+, ABWA+, ...) are split out too.
- the slash layout of SWIFT-style structured narratives (`/TRTP/.../IBAN/.../NAME/.../REMI/.../EREF/...`).
- anything else is free text.

SWIFT wraps the field at 65 characters wherever the limit falls, so structured text is joined without a
separator before it is split; free text lines are joined with a space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_GVC = re.compile(r"^(\d{3})([?>|@#^])\d\d")
_SEPA_KEYWORDS = (
    "EREF",
    "KREF",
    "MREF",
    "CRED",
    "DEBT",
    "SVWZ",
    "ABWA",
    "ABWE",
    "IBAN",
    "BIC",
    "PURP",
    "COAM",
    "OAMT",
    "SQTP",
)
_SEPA = re.compile(r"(?<![A-Z])(" + "|".join(_SEPA_KEYWORDS) + r")\+")
_SLASH_KEYS = (
    "TRTP",
    "IBAN",
    "BIC",
    "NAME",
    "REMI",
    "EREF",
    "MARF",
    "CSID",
    "PREF",
    "ORDP",
    "BENM",
    "ULTC",
    "ULTD",
    "ULTB",
    "PURP",
    "RTRN",
    "ADDR",
    "ACCW",
    "BUSP",
    "CDTRREFTP",
    "CDTRREF",
    "ISDT",
    "EXCH",
    "OCMT",
    "CHGS",
    "SVCL",
    "CNTP",
    "SUM",
)
_SLASH = re.compile(r"/(" + "|".join(_SLASH_KEYS) + r")/")
# Slash-layout keys kept as raw fields, under the same names as the GVC layout's subfields.
_SLASH_FIELDS = {
    "TRTP": "booking_text",
    "REMI": "purpose",
    "IBAN": "counterparty_account",
    "BIC": "counterparty_bank",
    "EREF": "end_to_end_reference",
    "MARF": "mandate_reference",
    "CSID": "creditor_id",
    "ULTD": "ultimate_debtor",
    "ULTC": "ultimate_creditor",
    "PURP": "purpose_code",
}
# Every raw field :86: can give (the GVC layout's and the slash layout's).
INFORMATION_FIELDS = (
    "gvc",
    "booking_text",
    "primanota",
    "purpose",
    "purpose_code",
    "counterparty_bank",
    "counterparty_account",
    "text_key_extension",
    "end_to_end_reference",
    "customer_reference_sepa",
    "mandate_reference",
    "creditor_id",
    "ultimate_debtor",
    "ultimate_creditor",
)
_PURPOSE_CODES = (*(f"{n}" for n in range(20, 30)), "60", "61", "62", "63")
_NOT_PROVIDED = frozenset({"", "NOTPROVIDED", "NONREF", "NONE"})


@dataclass(slots=True)
class Information:
    """What :86: says; `fields` are the raw subfields by name (kept with the entry)."""

    description: str | None = None
    counterparty: str | None = None
    reference: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


def _provided(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value.upper() in _NOT_PROVIDED else value


def _sepa(purpose: str) -> dict[str, str]:
    parts = _SEPA.split(purpose)
    if len(parts) < 3:
        return {}
    found: dict[str, str] = {}
    if parts[0].strip():
        found["text"] = parts[0].strip()
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        found.setdefault(key, value.strip())
    return found


def _german(joined: str, separator: str) -> Information:
    subfields: dict[str, str] = {}
    pieces = re.split(re.escape(separator) + r"(\d\d)", joined[3:])
    for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
        subfields[code] = subfields[code] + value if code in subfields else value

    def take(*codes: str) -> str:
        return "".join([subfields[code] for code in codes if code in subfields])

    purpose = take(*_PURPOSE_CODES)
    keywords = _sepa(purpose)
    name = take("32", "33").strip()
    fields = {"gvc": joined[:3]}
    for key, codes in (
        ("booking_text", ("00",)),
        ("primanota", ("10",)),
        ("purpose", ()),
        ("counterparty_bank", ("30",)),
        ("counterparty_account", ("31",)),
        ("text_key_extension", ("34",)),
    ):
        value = purpose if key == "purpose" else take(*codes)
        if value.strip():
            fields[key] = value.strip()
    for key, raw_key in (
        ("EREF", "end_to_end_reference"),
        ("KREF", "customer_reference_sepa"),
        ("MREF", "mandate_reference"),
        ("CRED", "creditor_id"),
        ("ABWA", "ultimate_debtor"),
        ("ABWE", "ultimate_creditor"),
    ):
        if keywords.get(key):
            fields[raw_key] = keywords[key]
    if keywords.get("IBAN") and "counterparty_account" not in fields:
        fields["counterparty_account"] = keywords["IBAN"]
    description = keywords.get("SVWZ") or (purpose.strip() if not keywords else keywords.get("text"))
    return Information(
        description=description or fields.get("booking_text"),
        counterparty=name or None,
        reference=_provided(keywords.get("EREF")) or _provided(keywords.get("KREF")),
        fields=fields,
    )


def _slashed(joined: str) -> Information:
    matches = list(_SLASH.finditer(joined))
    values: dict[str, str] = {}
    for here, after in zip(matches, [*matches[1:], None], strict=True):
        end = after.start() if after is not None else len(joined)
        values.setdefault(here.group(1), joined[here.end() : end].strip().rstrip("/"))
    counterparty = values.get("NAME")
    if "CNTP" in values:  # ING: /CNTP/account/BIC/name/city/
        parts = [*values["CNTP"].split("/"), "", "", ""]
        values.setdefault("IBAN", parts[0])
        values.setdefault("BIC", parts[1])
        counterparty = counterparty or parts[2] or None
    remittance = values.get("REMI", "")
    for prefix in ("USTD//", "STRD/CUR/", "STRD/ISO/", "STRD//"):
        remittance = remittance.removeprefix(prefix)
    fields = {_SLASH_FIELDS[key]: value for key, value in values.items() if value and key in _SLASH_FIELDS}
    return Information(
        description=remittance.strip() or values.get("TRTP") or None,
        counterparty=counterparty or None,
        reference=_provided(values.get("EREF")) or _provided(values.get("PREF")),
        fields=fields,
    )


def parse_information(lines: list[str]) -> Information:
    joined = "".join(lines)
    gvc = _GVC.match(joined)
    if gvc is not None:
        return _german(joined, gvc.group(2))
    if _SLASH.match(joined.lstrip()):
        return _slashed(joined.strip())
    text = " ".join(line.strip() for line in lines if line.strip())
    return Information(description=text or None)
