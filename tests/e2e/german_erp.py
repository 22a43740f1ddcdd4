"""A German ERP month-end, generated: a ledger export of the bank account (semicolons, decimal comma with
thousands dots, Soll/Haben columns, umlauts, cp1252) against the bank's export (signed Betrag), with planted
cases whose right outcome is known.

Planted per period (`Period.truth` says what each record is):
- exact: same invoice number in the ledger's Rechnungsnr and the bank's Referenz, same amount;
- text: the bank line has no Referenz; the invoice number is inside its Verwendungszweck;
- noref: no reference at all; same amount, dates a day or two apart, the same payer name;
- many: three ledger invoices of one customer paid by one bank line (collective reference SAMMEL-...);
- skonto: a payment 2.50 short of its invoice (a loose pass suggests it; confirmed with a write-off);
- fee: bank charges with no ledger entry (written off as bank_fee);
- duplicate: a ledger posting entered twice (the copy is written off);
- dit / op: deposits in transit and outstanding payments at period end (ledger only: reconciling items),
  cleared by bank lines of the next period, except `op_late`, which stays outstanding another month.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

LEDGER_HEADER = [
    "Belegnr",
    "Buchungsdatum",
    "Rechnungsnr",
    "Soll",
    "Haben",
    "Währung",
    "Buchungstext",
    "Name",
]
BANK_HEADER = [
    "Buchungsnr",
    "Buchungstag",
    "Valuta",
    "Betrag",
    "Währung",
    "Verwendungszweck",
    "Auftraggeber/Empfänger",
    "Referenz",
]
NAMES = [
    "Gärtnerei Sonnenblüte GmbH",
    "Müller & Söhne KG",
    "Bäckerei Größl",
    "Schürmann Logistik AG",
    "Höfler Büroservice",
    "Weißbier Brauerei Jäger",
    "Öko-Möbel Krämer",
    "Zahnarztpraxis Dr. Müßig",
    "Schreinerei Kühn",
    "Blumenhaus Fröhlich",
    "Straßenbau Brückner GmbH",
    "Fleischerei Güldner",
]

LEDGER_READ = {
    "delimiter": ";",
    "decimal": ",",
    "thousands": ".",
    "date_format": "%d.%m.%Y",
    # The ledger's bank account: Soll (debit) is money in. credit - debit would be negative for it: invert.
    "amount": {"debit": "Soll", "credit": "Haben", "invert": True},
}
LEDGER_MAPPING = {
    "ext_id": "Belegnr",
    "date": "Buchungsdatum",
    "reference": "Rechnungsnr",
    "currency": "Währung",
    "description": "Buchungstext",
    "counterparty": "Name",
}
BANK_READ = {"delimiter": ";", "decimal": ",", "thousands": ".", "date_format": "%d.%m.%Y"}
BANK_MAPPING = {
    "ext_id": "Buchungsnr",
    "date": "Buchungstag",
    "value_date": "Valuta",
    "amount": "Betrag",
    "currency": "Währung",
    "description": "Verwendungszweck",
    "counterparty": "Auftraggeber/Empfänger",
    "reference": "Referenz",
}

RULES = """
version: 1
name: erp-vs-bank
left: {id: id, amount: amount}
right: {id: id, amount: amount}
passes:
  - name: exact_reference
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals, normalize: [trim, upper]}
      - {left: amount, right: amount, op: tolerance, abs: 0}
      - {left: date, right: date, op: within_days, days: 10}
  - name: collective
    kind: many_to_one
    group_by: [reference]
    match:
      - {left: reference, right: reference, op: equals, normalize: [trim, upper]}
    sum: {left: amount, right: amount, abs: 0}
  - name: reference_in_text
    kind: one_to_one
    match:
      - {left: reference, right: description, op: contains, direction: right_contains_left}
      - {left: amount, right: amount, op: tolerance, abs: 0}
      - {left: date, right: date, op: within_days, days: 10}
  - name: no_reference
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 0}
      - {left: date, right: date, op: within_days, days: 3}
      - {left: counterparty, right: counterparty, op: similarity, method: jaro_winkler, min: 0.9,
         normalize: [upper, collapse_spaces]}
  - name: short_payment
    kind: one_to_one
    suggest: true
    match:
      - {left: reference, right: description, op: contains, direction: right_contains_left}
      - {left: amount, right: amount, op: tolerance, abs: 5}
      - {left: date, right: date, op: within_days, days: 10}
"""


def german(amount: Decimal) -> str:
    """1234.5 -> '1.234,50' (no sign: Soll/Haben carry the direction; the bank adds '-')."""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ("-" if amount < 0 else "") + ".".join(groups) + "," + cents


def day(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


@dataclass
class Period:
    """One month: the two files' rows and what each planted record is (by Belegnr / Buchungsnr)."""

    start: dt.date
    end: dt.date
    ledger: list[list[str]] = field(default_factory=list)
    bank: list[list[str]] = field(default_factory=list)
    truth: dict[str, str] = field(default_factory=dict)  # record id -> planted case
    ledger_total: Decimal = Decimal(0)
    bank_total: Decimal = Decimal(0)

    def csv(self, side: str) -> bytes:
        header, rows = (LEDGER_HEADER, self.ledger) if side == "ledger" else (BANK_HEADER, self.bank)
        lines = [";".join(header)] + [";".join(row) for row in rows]
        return ("\r\n".join(lines) + "\r\n").encode("cp1252")

    def ids(self, *cases: str) -> list[str]:
        return [record for record, planted in self.truth.items() if planted in cases]


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.beleg = 40000
        self.bank_no = 900000
        self.invoice = 10000

    def amount(self, low: int = 20, high: int = 25000) -> Decimal:
        return Decimal(self.rng.randint(low * 100, high * 100)) / 100

    def date_in(self, period: Period, last_day_margin: int = 4) -> dt.date:
        days = (period.end - period.start).days - last_day_margin
        return period.start + dt.timedelta(days=self.rng.randint(0, max(days, 0)))

    def ledger(
        self, period: Period, when: dt.date, amount: Decimal, ref: str, text: str, name: str, case: str
    ) -> str:
        self.beleg += 1
        beleg = f"BL{self.beleg}"
        soll, haben = (german(amount), "") if amount > 0 else ("", german(-amount))
        period.ledger.append([beleg, day(when), ref, soll, haben, "EUR", text, name])
        period.truth[beleg] = case
        period.ledger_total += amount
        return beleg

    def bank(
        self, period: Period, when: dt.date, amount: Decimal, text: str, name: str, ref: str, case: str
    ) -> str:
        self.bank_no += 1
        number = f"KA{self.bank_no}"
        valuta = when + dt.timedelta(days=1)
        period.bank.append([number, day(when), day(valuta), german(amount), "EUR", text, name, ref])
        period.truth[number] = case
        period.bank_total += amount
        return number

    def next_invoice(self) -> str:
        self.invoice += 1
        return f"RE-{self.invoice}"

    def sign(self) -> int:
        return 1 if self.rng.random() < 0.6 else -1  # customers paying in, suppliers paid out

    def regular(self, period: Period, counts: dict[str, int]) -> None:
        for _ in range(counts["exact"]):
            amount, when, ref, name = (
                self.sign() * self.amount(),
                self.date_in(period),
                self.next_invoice(),
                self.name(),
            )
            self.ledger(period, when, amount, ref, f"Rechnung {ref}", name, "exact")
            self.bank(
                period,
                when + dt.timedelta(days=self.rng.randint(0, 2)),
                amount,
                f"Zahlung {ref}",
                name,
                ref,
                "exact",
            )
        for _ in range(counts["text"]):
            amount, when, ref, name = (
                self.sign() * self.amount(),
                self.date_in(period),
                self.next_invoice(),
                self.name(),
            )
            self.ledger(period, when, amount, ref, f"Rechnung {ref} Lieferung", name, "text")
            text = f"SEPA-Überweisung {name.upper()} {ref} Danke für Ihren Auftrag"
            self.bank(
                period, when + dt.timedelta(days=self.rng.randint(0, 3)), amount, text, name, "", "text"
            )
        for _ in range(counts["noref"]):
            amount, when, name = self.sign() * self.amount(), self.date_in(period), self.name()
            self.ledger(period, when, amount, "", "Barverkauf", name, "noref")
            self.bank(
                period,
                when + dt.timedelta(days=self.rng.randint(1, 2)),
                amount,
                "Gutschrift",
                name.upper(),
                "",
                "noref",
            )
        for n in range(counts["many"]):
            name, when = self.name(), self.date_in(period)
            collective = f"SAMMEL-{period.start:%Y%m}-{n:03d}"
            parts = [self.amount(50, 3000) for _ in range(3)]
            for part in parts:
                self.ledger(
                    period, when, part, collective, f"Teilrechnung {self.next_invoice()}", name, "many"
                )
            self.bank(
                period,
                when + dt.timedelta(days=2),
                sum(parts, Decimal(0)),
                "Sammelzahlung",
                name,
                collective,
                "many",
            )
        for _ in range(counts["skonto"]):
            amount, when, ref, name = (
                self.amount(500, 5000),
                self.date_in(period),
                self.next_invoice(),
                self.name(),
            )
            self.ledger(period, when, amount, ref, f"Rechnung {ref}", name, "skonto")
            self.bank(
                period,
                when + dt.timedelta(days=3),
                amount - Decimal("2.50"),
                f"Zahlung {ref} abzgl. Skonto",
                name,
                "",
                "skonto",
            )
        for _ in range(counts["fee"]):
            when = self.date_in(period, 0)
            self.bank(
                period,
                when,
                -Decimal(self.rng.randint(150, 1500)) / 100,
                "Kontoführungsgebühr",
                "Sparkasse",
                "",
                "fee",
            )
        for _ in range(counts["duplicate"]):
            amount, when, ref, name = -self.amount(), self.date_in(period), self.next_invoice(), self.name()
            self.ledger(period, when, amount, ref, f"Eingangsrechnung {ref}", name, "exact")
            self.bank(period, when + dt.timedelta(days=1), amount, f"Zahlung {ref}", name, ref, "exact")
            self.ledger(period, when, amount, ref, f"Eingangsrechnung {ref}", name, "duplicate")

    def name(self) -> str:
        return self.rng.choice(NAMES)

    def open_items(self, period: Period, dit: int, op: int) -> list[tuple[str, Decimal, str, str]]:
        """Ledger-only items at the end of the period: (case, amount, invoice ref, name)."""
        planted = []
        for i in range(dit):
            amount, ref, name = self.amount(100, 9000), self.next_invoice(), self.name()
            self.ledger(
                period,
                period.end - dt.timedelta(days=i % 2),
                amount,
                ref,
                f"Bareinzahlung {ref}",
                name,
                "dit",
            )
            planted.append(("dit", amount, ref, name))
        for i in range(op):
            amount, ref, name = -self.amount(100, 9000), self.next_invoice(), self.name()
            case = "op_late" if i == 0 else "op"
            self.ledger(
                period,
                period.end - dt.timedelta(days=1 + i % 3),
                amount,
                ref,
                f"Überweisung {ref}",
                name,
                case,
            )
            planted.append((case, amount, ref, name))
        return planted

    def clear(self, period: Period, planted: list[tuple[str, Decimal, str, str]]) -> None:
        """The next period's bank lines for last period's open items (all but `op_late`)."""
        for case, amount, ref, name in planted:
            if case == "op_late":
                continue
            when = period.start + dt.timedelta(days=self.rng.randint(0, 3))
            self.bank(period, when, amount, f"Buchung {ref}", name, ref, "cleared_" + case)


def month_end(rows: int = 2000, seed: int = 7) -> tuple[Period, Period]:
    """March and April. `rows` is about the size of each side of March."""
    gen = Generator(seed)
    march = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    april = Period(dt.date(2025, 4, 1), dt.date(2025, 4, 30))
    scale = max(rows // 100, 1)
    counts = {
        "exact": 50 * scale,
        "text": 20 * scale,
        "noref": 10 * scale,
        "many": 4 * scale,
        "skonto": 1,
        "fee": 3,
        "duplicate": 1,
    }
    gen.regular(march, counts)
    planted = gen.open_items(march, dit=25, op=20)
    gen.regular(april, {k: max(v // 4, 1) for k, v in counts.items()})
    gen.clear(april, planted)
    gen.open_items(april, dit=2, op=2)
    return march, april
