"""Shrinks Babel's CLDR locale data (~35 MB of pickles) to what the platform reads of it: number symbols and
number formats (CSV exports take a locale's decimal separator: recon.exports.dialect). Names of languages,
territories, time zones, currencies, units and the date formats go. Every locale still parses.

The build proves nothing the platform uses changed: for every locale, the decimal and grouping symbols (latn
and the locale's default numbering system) and a formatted number are computed before and after, in fresh
interpreters, and must be identical. A feature that formats dates or currency names with Babel widens KEEP.
Usage: python slim-babel.py SITE_PACKAGES
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

KEEP = {
    "locale_id",
    "plural_form",
    "number_symbols",
    "default_numbering_system",
    "numbering_systems",
    "decimal_formats",
    "scientific_formats",
    "percent_formats",
    "currency_formats",
}

SNAPSHOT = """
import json, sys
from babel import Locale, localedata
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
out = {}
for name in sorted(localedata.locale_identifiers()):
    locale = Locale.parse(name)
    out[name] = [
        get_decimal_symbol(locale), get_group_symbol(locale),
        get_decimal_symbol(locale, numbering_system="default"), format_decimal(-1234567.891, locale=locale),
    ]
json.dump(out, sys.stdout)
"""


def snapshot() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", SNAPSHOT], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main(site: Path) -> None:
    before = snapshot()
    data_dir = site / "babel" / "locale-data"
    size_before = sum(p.stat().st_size for p in data_dir.glob("*.dat"))
    for path in data_dir.glob("*.dat"):
        with path.open("rb") as file:
            data = pickle.load(file)  # noqa: S301 - Babel's own data files, in the build
        with path.open("wb") as file:
            pickle.dump({k: v for k, v in data.items() if k in KEEP}, file, protocol=pickle.HIGHEST_PROTOCOL)
    after = snapshot()
    changed = sorted(name for name in before if after.get(name) != before[name])
    if changed or len(after) != len(before):
        sys.exit(f"slim-babel: number formatting changed for {len(changed)} locales, e.g. {changed[:5]}")
    size_after = sum(p.stat().st_size for p in data_dir.glob("*.dat"))
    print(f"babel locale data {size_before / 1e6:.1f} -> {size_after / 1e6:.1f} MB, {len(after)} locales verified")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
