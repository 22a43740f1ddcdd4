"""Vocabulary for the demo data: counterparty names as the ledger keeps them and as the bank prints them.

A ledger knows a counterparty by its proper name ("Nordwind Logistics GmbH"); the bank statement shows
what the payer's bank transmitted: uppercased, abbreviated, truncated to a field width, with a city appended
or a typo. Pools are small (thousands of names), so building them with plain Python is cheap; the per-row
work happens in the generator with numpy indexing.
"""

from __future__ import annotations

import numpy as np


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


BRANDS = _words(
    "Acme Alpenrose Altair Amber Apex Arcadia Atlas Aurora Avalon Azure Baltic Beacon Bergland Birch "
    "Blackwood Bluebird Boreal Brightwater Cascade Cedar Celtic Citadel Cobalt Condor Coral Crescent "
    "Crystal Cypress Delta Eastgate Elbe Emerald Evergreen Falcon Fjord Flint Fortuna Foxglove Galaxy "
    "Garnet Glacier Granite Greenfield Harbor Harmony Hawthorn Helios Highland Horizon Iris Ivory Jade "
    "Juniper Keystone Kingfisher Lakeside Lantern Laurel Linden Lumen Magnolia Maple Meridian Mistral "
    "Monarch Nordwind Northstar Nova Oakridge Olympus Onyx Orbit Orion Pacific Panorama Pegasus Phoenix "
    "Pinnacle Polaris Quartz Rainier Raven Redwood Rhine Riverside Sapphire Saturn Sequoia Sierra "
    "Silverline Solstice Sparrow Sterling Stonebridge Summit Sunrise Tamarack Terra Thistle Titan Topaz "
    "Trident Tundra Unity Valiant Vanguard Vega Velvet Verdant Vertex Viking Willow Windmill Zenith "
    "Zephyr"
)

SURNAMES = _words(
    "Adler Bauer Becker Brandt Braun Dubois Fischer Fontaine Garcia Hartmann Hoffmann Jansen Keller "
    "Klein Koch Kowalski Krause Lambert Lange Laurent Lehmann Martin Meier Moreau Mueller Neumann Novak "
    "Peters Richter Rossi Schmidt Schneider Schulz Schwarz Smith Taylor Wagner Walker Weber Wolf "
    "Zimmermann"
)

INDUSTRIES = _words(
    "Logistics|Software|Trading|Foods|Consulting|Engineering|Pharma|Textiles|Electronics|Print Services|"
    "Medical Supplies|Construction|Energy|Packaging|Office Supplies|Facility Services|Marketing|"
    "Automotive|Chemicals|Furniture|Hotels|Insurance Brokers|IT Services|Laboratories|Machinery|Media|"
    "Metalworks|Plastics|Security Services|Telecom|Travel|Wholesale|Solutions|Technologies|International",
    "|",
)

LEGAL_FORMS = ("GmbH", "AG", "Ltd", "LLC", "Inc.", "S.A.", "B.V.", "SARL", "plc", "GmbH & Co. KG", "S.p.A.")
LEGAL_WEIGHTS = (0.30, 0.08, 0.15, 0.08, 0.08, 0.06, 0.07, 0.05, 0.04, 0.06, 0.03)

CITIES = _words(
    "BERLIN|MUNICH|HAMBURG|FRANKFURT|COLOGNE|VIENNA|ZURICH|PARIS|LYON|MILAN|MADRID|AMSTERDAM|ROTTERDAM|"
    "BRUSSELS|LONDON|MANCHESTER|DUBLIN|NEW YORK|CHICAGO|BOSTON|WARSAW|PRAGUE|LUXEMBOURG|STOCKHOLM|OSLO",
    "|",
)

# Abbreviations banks (or the payer's bank) apply to long words.
ABBREVIATIONS = {
    "INTERNATIONAL": "INTL",
    "SERVICES": "SVCS",
    "TECHNOLOGIES": "TECH",
    "CONSULTING": "CONSULT",
    "TRADING": "TRDG",
    "SOLUTIONS": "SOL",
    "ENGINEERING": "ENG",
    "LOGISTICS": "LOGIST",
    "ELECTRONICS": "ELECTR",
    "LABORATORIES": "LABS",
    "CONSTRUCTION": "CONSTR",
    "PHARMA": "PHARM",
    "SUPPLIES": "SUPPL",
    "INSURANCE": "INS",
    "BROKERS": "BRK",
    "MACHINERY": "MACH",
    "MARKETING": "MKTG",
    "AUTOMOTIVE": "AUTO",
    "WHOLESALE": "WHSL",
    "GMBH & CO. KG": "GMBH+CO KG",
    "S.A.": "SA",
    "B.V.": "BV",
    "INC.": "INC",
    "S.P.A.": "SPA",
}

BANK_FIELD_WIDTH = 22
N_VARIANTS = 6  # see bank_variants()

# Variant probabilities for a row that the bank reports cleanly (exact cases) and for the hard (near) cases.
CLEAN_VARIANT_P = (0.35, 0.25, 0.15, 0.05, 0.10, 0.10)
NOISY_VARIANT_P = (0.12, 0.18, 0.22, 0.22, 0.10, 0.16)

RECEIPT_TOPICS = _words(
    "consulting services|software licence|maintenance contract|goods delivered|freight charges|"
    "project milestone|subscription renewal|spare parts|training workshop|support retainer|"
    "hardware order|advertising campaign",
    "|",
)
PAYMENT_TOPICS = _words(
    "office rent|raw materials|courier services|cloud hosting|legal advice|cleaning services|utilities|"
    "travel expenses|insurance premium|equipment lease|catering|temporary staff",
    "|",
)
LEDGER_RECEIPT_VERBS = ("Receipt from", "Customer payment", "Incoming payment", "Settlement of invoice")
LEDGER_PAYMENT_VERBS = ("Payment to", "Supplier payment", "Outgoing payment", "Paid invoice")
BANK_RECEIPT_VERBS = ("SEPA CREDIT TRANSFER", "SEPA CT FROM", "INCOMING TRANSFER", "CREDIT")
BANK_PAYMENT_VERBS = ("SEPA DIRECT DEBIT", "SEPA CT TO", "OUTGOING TRANSFER", "DEBIT")
BANK_ONLY_TEXTS = _words(
    "ACCOUNT MAINTENANCE FEE|INTEREST CREDIT|CARD PAYMENT|CASH WITHDRAWAL|STANDING ORDER|"
    "CHARGES FOREIGN TRANSFER|DIRECT DEBIT RETURN|CHEQUE DEPOSIT|FX CONVERSION|POS TERMINAL SETTLEMENT",
    "|",
)
NO_REFERENCE = ("", "NOTPROVIDED", "NONREF", "")
BATCH_REFERENCES = ("MULTIPLE INVOICES", "SEE PAYMENT ADVICE", "COLLECTIVE PAYMENT", "")


def company_names(rng: np.random.Generator) -> list[str]:
    """All distinct company names, in a seeded order. Each (brand, industry) pair gets one legal form, so two
    names never differ only by legal form (that would make a fair fuzzy match impossible)."""
    stems = [f"{b} {i}" for b in BRANDS for i in INDUSTRIES]
    stems += [f"{s} {i}" for s in SURNAMES for i in INDUSTRIES[:12]]
    stems += [f"{a}, {b} & Partner" for k, a in enumerate(SURNAMES) for b in SURNAMES[k + 1 :: 7]]
    forms = rng.choice(len(LEGAL_FORMS), size=len(stems), p=np.asarray(LEGAL_WEIGHTS))
    names = [
        s if s.endswith("Partner") else f"{s} {LEGAL_FORMS[f]}" for s, f in zip(stems, forms, strict=True)
    ]
    order = rng.permutation(len(names))
    return [names[i] for i in order]


def _abbreviate(name: str) -> str:
    out = name
    for long, short in ABBREVIATIONS.items():
        out = out.replace(long, short)
    return out


def _typo(name: str, rng: np.random.Generator) -> str:
    letters = [k for k, c in enumerate(name) if c.isalpha()]
    k = letters[int(rng.integers(1, len(letters) - 1))]
    kind = int(rng.integers(0, 3))
    if kind == 0 and name[k + 1 : k + 2].isalpha():  # swap two neighbours
        return name[:k] + name[k + 1] + name[k] + name[k + 2 :]
    if kind == 1:  # drop a letter
        return name[:k] + name[k + 1 :]
    return name[:k] + name[k] + name[k:]  # double a letter


def bank_variants(names: list[str], rng: np.random.Generator) -> np.ndarray:
    """Array [len(names), N_VARIANTS] of how a bank prints each name: 0 upper, 1 upper + city, 2 abbreviated,
    3 typo, 4 truncated to the bank's field width, 5 abbreviated + city."""
    cities = rng.integers(0, len(CITIES), size=len(names))
    table = np.empty((len(names), N_VARIANTS), dtype=object)
    for row, (name, city) in enumerate(zip(names, cities, strict=True)):
        upper = name.upper()
        short = _abbreviate(upper)
        table[row] = (
            upper,
            f"{upper} {CITIES[city]}",
            short,
            _typo(upper, rng),
            upper[:BANK_FIELD_WIDTH].rstrip(" ,&."),
            f"{short} {CITIES[city]}",
        )
    return table
