# ruff: noqa: E501 (the generators write fixed statement layouts, one record per source line)
"""Bank statement parsers: ours against the libraries DESIGN.md names (mt-940, ofxtools, bai2).

1. Correctness on the golden corner cases (tests/data/banks): transactions, signed sum, closing balances.
2. Speed and memory on a large generated file per format (--entries, default 200,000 transactions):
   each parser runs in a fresh process; the figures are wall time, MB/s and the peak RSS growth over the
   process after its imports, with ratios against the library (CAMT: against defusedxml's DOM parse).

    uv run python bench/bank_parsers_bench.py [--entries 200000] [--skip-large]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "banks"


# -- parsers measured (each returns (transactions, signed sum, closing balances)) -------------------------------
def ours_streamed(path: Path) -> tuple[int, Decimal, list[str]]:
    from recon.ingest.statements import detect_format, read_statements

    with path.open("rb") as stream:
        fmt = detect_format(stream.read(8192))
        assert fmt is not None
        stream.seek(0)
        result = read_statements(stream, fmt)
    total = sum((s.amount_sum for s in result.summaries), Decimal(0))
    closing = [format(s.closing.amount, "f") for s in result.summaries if s.closing is not None]
    return result.transactions, total, closing


def ours_table(path: Path) -> tuple[int, Decimal, list[str]]:
    from recon.ingest import read_file

    result = read_file(path)
    total = sum(result.table["amount"].to_pylist(), Decimal(0))
    closing = [format(s.closing.amount, "f") for s in result.statements if s.closing is not None]
    return result.table.num_rows, total, closing


def lib_mt940(path: Path) -> tuple[int, Decimal, list[str]]:
    import mt940

    transactions = mt940.parse(str(path))
    total = sum((t.data["amount"].amount for t in transactions), Decimal(0))
    closing = transactions.data.get("final_closing_balance")
    return len(transactions), total, [format(closing.amount.amount, "f")] if closing else []


def lib_ofxtools(path: Path) -> tuple[int, Decimal, list[str]]:
    from ofxtools.Parser import OFXTree

    warnings.simplefilter("ignore")
    tree = OFXTree()
    tree.parse(str(path))
    ofx = tree.convert()
    count, total, closing = 0, Decimal(0), []
    for statement in ofx.statements:
        for transaction in statement.transactions:
            count += 1
            total += transaction.trnamt
        closing.append(format(statement.balance.balamt, "f"))
    return count, total, closing


_CREDIT = (range(100, 400), range(900, 920))


def lib_bai2(path: Path) -> tuple[int, Decimal, list[str]]:
    from bai2 import bai2

    with path.open() as handle:
        parsed = bai2.parse_from_file(handle)
    count, total, closing = 0, Decimal(0), []
    for group in parsed.children:
        for account in group.children:
            for transaction in account.children:
                code = int(transaction.type_code.code)
                sign = 1 if any(code in r for r in _CREDIT) else -1
                count += 1
                total += sign * Decimal(transaction.amount or 0).scaleb(
                    -2
                )  # the library leaves the scale to us
            for item in account.header.summary_items:
                if item.type_code and item.type_code.code == "015":
                    closing.append(format(Decimal(item.amount).scaleb(-2), "f"))
    return count, total, closing


def dom_camt(path: Path) -> tuple[int, Decimal, list[str]]:
    """The naive alternative: the whole document as a (defused) element tree."""
    from defusedxml.ElementTree import parse

    root = parse(str(path), forbid_dtd=True).getroot()
    count, total = 0, Decimal(0)
    for entry in root.iter():
        if entry.tag.endswith("}Ntry"):
            amount = next(e for e in entry if e.tag.endswith("}Amt"))
            sign = next(e for e in entry if e.tag.endswith("}CdtDbtInd")).text
            count += 1
            total += Decimal(amount.text or "0") * (1 if sign == "CRDT" else -1)
    return count, total, []


PARSERS = {
    "ours-streamed": ours_streamed,
    "ours-table": ours_table,
    "mt-940": lib_mt940,
    "ofxtools": lib_ofxtools,
    "bai2": lib_bai2,
    "dom-camt": dom_camt,
}
LIBRARY = {"mt940": "mt-940", "ofx": "ofxtools", "bai2": "bai2", "camt053": "dom-camt"}


# -- large files --------------------------------------------------------------------------------------------
def _amounts(n: int, rng: random.Random) -> list[int]:
    return [rng.randint(-500_000, 500_000) or 1 for _ in range(n)]  # cents, signed


def _money(cents: int, sep: str = ".") -> str:
    return f"{abs(cents) // 100}{sep}{abs(cents) % 100:02d}"


def gen_mt940(n: int, rng: random.Random) -> bytes:
    out, balance, day = io.StringIO(), 0, dt.date(2024, 1, 1)
    per = 1000
    for s in range(0, n, per):
        out.write(f"{{1:F01BANKDEFFAXXX0000000000}}{{2:O940{day:%y%m%d}BANKDEFFAXXX}}{{4:\r\n")
        out.write(f":20:STMT{s // per}\r\n:25:DE89370400440532013000\r\n:28C:{s // per + 1}/1\r\n")
        mark = "C" if balance >= 0 else "D"
        out.write(f":60F:{mark}{day:%y%m%d}EUR{_money(balance, ',')}\r\n")
        for i, cents in enumerate(_amounts(min(per, n - s), rng)):
            balance += cents
            out.write(
                f":61:{day:%y%m%d}{day:%m%d}{'C' if cents > 0 else 'D'}{_money(cents, ',')}NTRFREF{s + i}//B{i}\r\n"
            )
            out.write(
                f":86:166?00GUTSCHRIFT?20EREF+E2E-{s + i}?21SVWZ+Invoice {s + i} paid\r\n?32Customer {i % 97}\r\n"
            )
        mark = "C" if balance >= 0 else "D"
        out.write(f":62F:{mark}{day:%y%m%d}EUR{_money(balance, ',')}\r\n-}}\r\n")
        day += dt.timedelta(days=1)
    return out.getvalue().encode()


def gen_camt(n: int, rng: random.Random) -> bytes:
    out = io.StringIO()
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        "<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId><CreDtTm>2024-01-01T00:00:00</CreDtTm></GrpHdr>\n"
    )
    balance, per = 0, 10_000
    for s in range(0, n, per):
        amounts = _amounts(min(per, n - s), rng)
        closing = balance + sum(amounts)

        def bal(kind: str, cents: int) -> str:
            ind = "CRDT" if cents >= 0 else "DBIT"
            return (
                f'<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{_money(cents)}</Amt>'
                f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>2024-01-01</Dt></Dt></Bal>\n"
            )

        out.write(
            f"<Stmt><Id>S{s}</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        )
        out.write(bal("OPBD", balance) + bal("CLBD", closing))
        for i, cents in enumerate(amounts):
            ind = "CRDT" if cents > 0 else "DBIT"
            out.write(
                f'<Ntry><Amt Ccy="EUR">{_money(cents)}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
                f"<BookgDt><Dt>2024-01-01</Dt></BookgDt><ValDt><Dt>2024-01-01</Dt></ValDt><NtryDtls><TxDtls>"
                f"<Refs><EndToEndId>E2E-{s + i}</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>Customer {i % 97}"
                f"</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>Invoice {s + i}</Ustrd></RmtInf></TxDtls>"
                "</NtryDtls></Ntry>\n"
            )
        out.write("</Stmt>\n")
        balance = closing
    out.write("</BkToCstmrStmt></Document>\n")
    return out.getvalue().encode()


def gen_bai2(n: int, rng: random.Random) -> bytes:
    lines = ["01,SENDER,RECEIVER,240101,0000,1,,,2/", "02,RECEIVER,SENDER,1,240101,,USD,2/"]
    group_total, group_records, accounts, per = 0, 0, 0, 1000
    for s in range(0, n, per):
        amounts = _amounts(min(per, n - s), rng)
        opening = 0
        closing = opening + sum(amounts)
        records = [f"03,ACCT{s // per},USD,010,{opening},,,015,{closing},,/"]
        total = opening + closing
        for i, cents in enumerate(amounts):
            code = "195" if cents > 0 else "495"
            records.append(f"16,{code},{abs(cents)},0,B{s + i},C{s + i},PAYMENT {s + i}/")
            total += abs(cents)
        records.append(f"49,{total},{len(records) + 1}/")
        lines += records
        group_total += total
        group_records += len(records)
        accounts += 1
    lines.append(f"98,{group_total},{accounts},{group_records + 2}/")
    lines.append(f"99,{group_total},1,{group_records + 4}/")
    return ("\n".join(lines) + "\n").encode()


def gen_ofx(n: int, rng: random.Random) -> bytes:
    out = io.StringIO()
    out.write(
        "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\nCHARSET:1252\r\n"
        "COMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS>"
        "<CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20240101<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\r\n"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>USD"
        "<BANKACCTFROM><BANKID>1<ACCTID>1234<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>"
        "<DTSTART>20240101<DTEND>20241231\r\n"
    )
    balance = 0
    for i, cents in enumerate(_amounts(n, rng)):
        balance += cents
        sign = "-" if cents < 0 else ""
        out.write(
            f"<STMTTRN>\r\n<TRNTYPE>{'CREDIT' if cents > 0 else 'DEBIT'}\r\n<DTPOSTED>20240101\r\n"
            f"<TRNAMT>{sign}{_money(cents)}\r\n<FITID>{i}\r\n<NAME>Payee {i % 97}\r\n<MEMO>Invoice {i}\r\n</STMTTRN>\r\n"
        )
    out.write(
        f"</BANKTRANLIST><LEDGERBAL><BALAMT>{'-' if balance < 0 else ''}{_money(balance)}<DTASOF>20241231"
        "</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\r\n"
    )
    return out.getvalue().encode()


GENERATORS = {"mt940": gen_mt940, "camt053": gen_camt, "bai2": gen_bai2, "ofx": gen_ofx}


# -- measuring ----------------------------------------------------------------------------------------------
def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM), so the peak measured is the parse's own."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def child(parser: str, path: str) -> None:
    function = PARSERS[parser]
    # Import what the parser needs before the baseline, so the growth is the parse itself.
    with contextlib.suppress(Exception):
        function(
            GOLDEN
            / {
                "mt-940": "mt950.sta",
                "ofxtools": "ofx_sgml_bank.ofx",
                "bai2": "bai2_multi.bai",
                "dom-camt": "camt053_v02.xml",
            }.get(parser, "mt950.sta")
        )
    _reset_peak()
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    count, total, _closing = function(Path(path))
    wall = time.perf_counter() - started
    growth = _status_mb("VmHWM") - before
    print(json.dumps({"wall_s": wall, "rss_growth_mb": growth, "transactions": count, "sum": str(total)}))


def measure(parser: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", parser, str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:120]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def corner_cases() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    print("== correctness on the golden corner cases (transactions, signed sum, closing balances)")
    candidates = {"mt940": ["mt-940"], "mt950": ["mt-940"], "ofx": ["ofxtools"], "bai2": ["bai2"]}
    for path in sorted(p for p in GOLDEN.iterdir() if not p.name.endswith(".json")):
        expected = json.loads(
            path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json").read_text("utf-8")
        )
        inspect = expected["inspect"]
        truth = (
            inspect["transactions"],
            Decimal(inspect["amount_sum"]),
            [s["closing_balance"] for s in inspect["statements"] if s["closing_balance"] is not None],
        )
        for name in ["ours-streamed", *candidates.get(expected["format"], [])]:
            try:
                got = PARSERS[name](path)
                verdict = "OK" if got[0] == truth[0] and got[1] == truth[1] else f"WRONG {got[0]} / {got[1]}"
                if verdict == "OK" and name == "ours-streamed" and got[2] != truth[2]:
                    verdict = f"WRONG closing {got[2]}"
            except Exception as exc:
                verdict = f"FAILS {type(exc).__name__}: {str(exc)[:70]}"
            print(f"  {path.name:28} {name:14} {verdict}  (expected {truth[0]} / {truth[1]})")


def large(entries: int) -> None:
    print(f"\n== large files: {entries:,} transactions per format (fresh process per parser)")
    rng = random.Random(7)
    header = f"  {'format':8} {'parser':14} {'MB':>7} {'wall s':>8} {'MB/s':>7} {'RSS +MB':>8} {'x time':>7} {'x RSS':>7}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, generate in GENERATORS.items():
            path = Path(tmp) / f"large.{fmt}"
            path.write_bytes(generate(entries, rng))
            size = path.stat().st_size / 1e6
            library = LIBRARY[fmt]
            base = measure(library, path)
            for parser in (library, "ours-streamed", "ours-table"):
                figures = base if parser == library else measure(parser, path)
                if "error" in figures:
                    print(f"  {fmt:8} {parser:14} {size:7.1f}   fails: {figures['error']}")
                    continue
                ratio_t = ratio_m = "-"
                if "error" not in base and parser != library:
                    ratio_t = f"{figures['wall_s'] / base['wall_s']:.2f}"
                    ratio_m = f"{max(figures['rss_growth_mb'], 0.1) / max(base['rss_growth_mb'], 0.1):.2f}"
                print(
                    f"  {fmt:8} {parser:14} {size:7.1f} {figures['wall_s']:8.2f} {size / figures['wall_s']:7.1f} "
                    f"{figures['rss_growth_mb']:8.1f} {ratio_t:>7} {ratio_m:>7}   ({figures['transactions']:,} tx)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    corner_cases()
    if not args.skip_large:
        large(args.entries)


if __name__ == "__main__":
    main()
