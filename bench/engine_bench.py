"""Engine benchmark (`make bench`): our waterfall against datacompy's exact-key compare on the same files.

    uv run python bench/engine_bench.py [--rows 1000000] [--seed 7] [--keep]

1. `recon demo --rows N` (in this process) into bench/out/data-N;
2. (a) the full waterfall of the demo rules with the CLI in a subprocess, (b) the same with
   --memory-limit 512MB, (c) datacompy (polars backend) joining the two files on normalised reference +
   amount, in a subprocess too; wall time and peak RSS of each subprocess come from os.wait4 (the kernel's
   own maxrss for that child);
3. quality of (a) against truth.csv: one-to-one pair precision/recall (pairs of our 1:1 groups against truth
   pairs of kind exact/near/break), the share of many-to-one truth groups found with exactly the same members,
   per-status counts;
4. prints the figures and writes bench/out/engine_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from recon.demo import generate

OUT = Path(__file__).resolve().parent / "out"
DATACOMPY_SCRIPT = """
import sys, polars as pl, datacompy
left, right = sys.argv[1], sys.argv[2]
def load(path):
    df = pl.read_csv(path, infer_schema=False)
    return df.with_columns(
        ref_key=pl.col("reference").fill_null("").str.replace_all(r"\\D", ""),
        amount=pl.col("amount").cast(pl.Decimal(18, 2)),
    )
compare = datacompy.PolarsCompare(load(left), load(right), join_columns=["ref_key", "amount"])
print(compare.intersect_rows.height, compare.df1_unq_rows.height, compare.df2_unq_rows.height)
"""


@dataclass
class Run:
    name: str
    wall_s: float
    peak_rss_mb: float
    exit_code: int
    stdout: str
    stderr: str


def run_measured(name: str, argv: list[str], log_dir: Path) -> Run:
    """Run argv as a child; wall time from the parent, peak RSS from the kernel's rusage of that child."""
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    rss_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    return Run(
        name, round(wall, 3), round(rss_mb, 1), child.returncode, out_path.read_text(), err_path.read_text()
    )


def recon_match(files_dir: Path, out_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "recon.cli",
        "match",
        str(files_dir / "ledger.csv"),
        str(files_dir / "bank.csv"),
        "--rules",
        str(files_dir / "rules.yaml"),
        "--out",
        str(out_dir),
        "--quiet",
        *extra,
    ]


def _members(matches: pl.DataFrame) -> pl.DataFrame:
    """One row per group: sorted left ids, sorted right ids, status."""
    return matches.group_by("group_id").agg(
        pl.col("id").filter(pl.col("side") == "left").sort().alias("left"),
        pl.col("id").filter(pl.col("side") == "right").sort().alias("right"),
        pl.col("status").first(),
        pl.col("pass").first(),
    )


def quality(out_dir: Path, truth_path: Path) -> dict[str, object]:
    matches = pl.read_parquet(out_dir / "matches.parquet")
    truth = pl.read_csv(truth_path, schema_overrides={"id": pl.String})
    ours = _members(matches)
    ours_1to1 = ours.filter((pl.col("left").list.len() == 1) & (pl.col("right").list.len() == 1)).select(
        pl.col("left").list.first().alias("l"), pl.col("right").list.first().alias("r"), "status"
    )
    truth_groups = truth.group_by("group").agg(
        pl.col("kind").first(),
        pl.col("id").filter(pl.col("side") == "left").sort().alias("left"),
        pl.col("id").filter(pl.col("side") == "right").sort().alias("right"),
    )
    truth_1to1 = truth_groups.filter(pl.col("kind").is_in(["exact", "near", "break"])).select(
        "kind", pl.col("left").list.first().alias("l"), pl.col("right").list.first().alias("r")
    )
    hits = ours_1to1.join(truth_1to1, on=["l", "r"], how="inner")
    by_kind = {
        kind: round(hits.filter(pl.col("kind") == kind).height / max(1, n), 5)
        for kind, n in truth_1to1.group_by("kind").len().iter_rows()
    }
    breaks = truth_1to1.filter(pl.col("kind") == "break").height
    many = truth_groups.filter(pl.col("kind") == "many_to_one").select("left", "right")
    found = many.join(ours.select("left", "right"), on=["left", "right"], how="semi").height
    summary = json.loads((out_dir / "summary.json").read_text())
    return {
        "pairs_ours": ours_1to1.height,
        "pairs_truth": truth_1to1.height,
        "pairs_correct": hits.height,
        "precision_1to1": round(hits.height / max(1, ours_1to1.height), 5),
        "recall_1to1": round(hits.height / max(1, truth_1to1.height), 5),
        "recall_by_kind": by_kind,
        "breaks_flagged_as_break": round(hits.filter(pl.col("status") == "break").height / max(1, breaks), 5),
        "many_to_one_groups": many.height,
        "many_to_one_found_exactly": round(found / max(1, many.height), 5),
        "status_counts": {
            side: {
                k: summary[side][k]
                for k in ("rows", "matched", "suggested", "break", "unmatched", "rejected")
            }
            for side in ("left", "right")
        },
        "unmatched_reasons": summary.get("unmatched_reasons"),
        "passes": summary.get("passes"),
        "engine_elapsed_s": summary.get("elapsed_s"),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def print_report(report: dict[str, object]) -> None:
    runs: list[dict[str, object]] = report["runs"]  # type: ignore[assignment]
    rows, bank_rows = report["rows"], report["bank_rows"]
    print(f"\nrows: {rows:,} ledger, {bank_rows:,} bank; demo generated in {report['demo_s']} s")
    print(f"load average (1 min) before/after: {report['load_average']}")
    print(f"{'run':<28}{'wall s':>10}{'peak RSS MB':>14}{'exit':>6}")
    for run in runs:
        print(f"{run['name']:<28}{run['wall_s']:>10.2f}{run['peak_rss_mb']:>14.1f}{run['exit_code']:>6}")
    for key, value in report["ratios"].items():  # type: ignore[attr-defined]
        print(f"ratio {key:<34}{value}")
    q: dict[str, object] = report["quality"]  # type: ignore[assignment]
    if not q:
        print("no quality figures: the recon run failed")
        return
    for key in (
        "precision_1to1",
        "recall_1to1",
        "recall_by_kind",
        "breaks_flagged_as_break",
        "many_to_one_found_exactly",
        "pairs_ours",
        "pairs_truth",
        "many_to_one_groups",
    ):
        print(f"{key:<34}{q.get(key)}")
    for side, counts in q["status_counts"].items():  # type: ignore[attr-defined]
        print(f"{side:<6}" + "  ".join(f"{k} {v:,}" for k, v in counts.items()))
    for side, reasons in (q.get("unmatched_reasons") or {}).items():  # type: ignore[attr-defined]
        print(f"{side:<6}unmatched: " + "  ".join(f"{k} {v:,}" for k, v in reasons.items()))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the generated data and outputs")
    parser.add_argument("--skip-datacompy", action="store_true")
    args = parser.parse_args()

    data = OUT / f"data-{args.rows}"
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    files = generate(args.rows, data, seed=args.seed)
    demo_s = round(time.perf_counter() - started, 2)
    bank_rows = sum(1 for _ in files.right.open("rb")) - 1
    print(f"demo data: {args.rows:,} ledger rows in {demo_s} s -> {data}", flush=True)

    runs = [run_measured("recon waterfall", recon_match(data, data / "out"), logs)]
    print(f"recon waterfall: {runs[-1].wall_s} s, {runs[-1].peak_rss_mb} MB", flush=True)
    limited = recon_match(data, data / "out-512mb", "--memory-limit", "512MB")
    runs.append(run_measured("recon --memory-limit 512MB", limited, logs))
    print(f"recon 512MB: {runs[-1].wall_s} s, {runs[-1].peak_rss_mb} MB", flush=True)
    if not args.skip_datacompy:
        argv = [sys.executable, "-c", DATACOMPY_SCRIPT, str(files.left), str(files.right)]
        runs.append(run_measured("datacompy polars exact-key", argv, logs))
        print(f"datacompy: {runs[-1].wall_s} s, {runs[-1].peak_rss_mb} MB", flush=True)
    for run in runs:
        if run.exit_code != 0:
            print(f"{run.name} failed (exit {run.exit_code}):\n{run.stderr[-3000:]}", file=sys.stderr)
    ours, dc = runs[0], runs[-1]
    ratios = {}
    if not args.skip_datacompy and ours.exit_code == 0 and dc.exit_code == 0:
        ratios = {
            "wall ours/datacompy": _ratio(ours.wall_s, dc.wall_s),
            "peak RSS ours/datacompy": _ratio(ours.peak_rss_mb, dc.peak_rss_mb),
        }
    report: dict[str, object] = {
        "rows": args.rows,
        "bank_rows": bank_rows,
        "seed": args.seed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        # Wall times are only comparable on a quiet machine; the 1-minute load average tells how quiet it was.
        "load_average": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "demo_s": demo_s,
        "runs": [{k: v for k, v in asdict(r).items() if k not in ("stdout", "stderr")} for r in runs],
        "datacompy_rows": dc.stdout.split() if dc is not ours else None,
        "ratios": ratios,
        "quality": quality(data / "out", files.truth) if ours.exit_code == 0 else {},
    }
    (OUT / "engine_bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"\nwritten: {OUT / 'engine_bench.json'}")
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    return 0 if all(r.exit_code == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
