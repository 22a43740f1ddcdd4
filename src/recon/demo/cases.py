"""Case codes, mix and the row plans shared by the demo generator and the frame builder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

MAX_ROWS = 10_000_000
CURRENCIES = ("EUR", "USD", "GBP")
CURRENCY_P = (0.78, 0.14, 0.08)
START = date(2024, 9, 2)  # a Monday
DAYS = 90
YEAR = "2024"

EXACT, NEAR, MANY, BREAK, LEDGER_ONLY, BANK_ONLY, DECOY, DUPLICATE = range(8)
KIND_NAMES = ("exact", "near", "many_to_one", "break", "unmatched", "unmatched", "unmatched", "duplicate")

MIX = (0.73, 0.12, 0.08, 0.03, 0.04)  # exact, near, many_to_one, break, ledger_only (shares of ledger rows)
BANK_ONLY_SHARE = 0.04  # of bank lines, decoys included
DUPLICATE_SHARE = 0.005  # of bank lines
DECOY_SHARE = 0.20  # of near rows
TWIN_SHARE = 0.10  # of near rows
RECEIPT_SHARE = 0.6


@dataclass
class Ledger:
    case: np.ndarray
    cp: np.ndarray  # index into the name pool
    day: np.ndarray  # days after START
    cents: np.ndarray  # signed amount in cents
    cur: np.ndarray
    batch: np.ndarray  # batch number for many_to_one rows, -1 otherwise
    topic: np.ndarray


@dataclass
class Bank:
    case: np.ndarray
    partner: np.ndarray  # ledger row shown (1:1 cases), -1 otherwise
    batch: np.ndarray  # batch paid (many_to_one), -1 otherwise
    cp: np.ndarray  # name pool index, -1 = no counterparty
    variant: np.ndarray
    day: np.ndarray
    cents: np.ndarray
    cur: np.ndarray
    ref_style: np.ndarray  # -1: no reference shown (see _bank_references)
    text: np.ndarray  # index into a text pool, meaning depends on the case
    topic: np.ndarray
    copy_of: np.ndarray  # for duplicates: bank row copied, -1 otherwise
