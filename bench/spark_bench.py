"""Spark backend benchmark: the demo's passes on DuckDB and on local Spark, same data, same run.

    uv run --group spark python bench/spark_bench.py [--rows 100000] [--master local[*]] [--driver-edges N]
        [--passes all|one_to_one] [--backends duckdb,spark] [--spark-conf key=value ...] [--progress FILE]

1. `recon demo --rows N` (in this process) into bench/out/spark-N, the demo rules (all passes, the grouped
   `batches` many_to_one pass included; `--passes one_to_one`: its one_to_one passes only), both sides
   written as Parquet;
2. in child processes, one after the other: the reconcile on DuckDB, then on Spark (local[*], a fresh JVM:
   its start-up is part of the time, and reported apart); each child reads Parquet, reconciles under the
   engine's stage profiler and writes Parquet; wall time here, peak memory as the highest sampled RSS of
   the child's whole process tree (Python driver + JVM + Python workers), every 0.2 s, and its CPU time
   (user + sys of the tree, as last sampled);
3. the outcomes are compared: groups (ids, pass, status), unmatched reasons and control totals must be
   identical; scores may differ in the last bits (Jaro-Winkler in a UDF vs in DuckDB), and the largest
   difference is printed.
Prints times, peak memory, the Spark/DuckDB ratios and Spark's ten slowest stages; writes
bench/out/spark_bench_N.json. `--backends spark` runs one backend only (no comparison: for 10M, where DuckDB's
figure is known); `--progress FILE` appends each ended stage (the child's DEBUG stage log) and, every 30 s,
the process tree's RSS and CPU so far, so a long run leaves figures even if it is stopped; `--reuse` keeps
the Parquet files of an earlier run of the same size.
`--driver-edges 0` makes Spark solve every assignment in Spark (components +
grouped pandas UDF) instead of on the driver.
`--read` says how a child gets its inputs: `arrow` (default: pyarrow.parquet.read_table, the engine alone),
`driver` (as `recon match` reads a file on the driver: recon.ingest, typed, rejected records split) or
`spark` (as `recon match --backend spark` reads a Parquet file on a local session: spark.read.parquet,
ordered by id in Spark, then typed by recon.ingest); `--order shuffled` gives the children the same rows
in a random order (seed 0; the demo writes its files in id order, so the engine's order_by_id copies
nothing there), as files in date or arrival order are.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def prepare(rows: int, passes: str, reuse: bool = False) -> Path:
    from recon.cli.match import read_side
    from recon.demo import generate
    from recon.engine import parse_rules

    folder = OUT / f"spark-{rows}"
    ready = [folder / name for name in ("left.parquet", "right.parquet", "rules_bench.yaml")]
    if reuse and all(path.exists() for path in ready):
        document = yaml.safe_load(ready[2].read_text())
        if any(p["kind"] != "one_to_one" for p in document["passes"]) == (passes == "all"):
            return folder  # 10M rows take 12 minutes to generate on a busy machine
    files = generate(rows, folder)
    document = yaml.safe_load(files.rules.read_text())
    if passes == "one_to_one":
        document["passes"] = [p for p in document["passes"] if p["kind"] == "one_to_one"]
    rules_path = folder / "rules_bench.yaml"
    rules_path.write_text(yaml.safe_dump(document))
    rules = parse_rules(rules_path.read_text(), source=str(rules_path))
    for side, path in (("left", files.left), ("right", files.right)):
        pq.write_table(read_side(path, rules, side, rules_path).table, folder / f"{side}.parquet")
    return folder


def shuffled(folder: Path) -> None:
    """left-shuffled.parquet and right-shuffled.parquet: the sides' rows in a random order (seed 0)."""
    import numpy as np

    for side in ("left", "right"):
        target = folder / f"{side}-shuffled.parquet"
        if not target.exists():
            table = pq.read_table(folder / f"{side}.parquet")
            order = np.random.default_rng(0).permutation(table.num_rows)
            pq.write_table(table.take(pa.array(order)), target)


def read_inputs(folder: Path, order: str, how: str, rules: Any, session: Any) -> tuple[Any, Any]:
    """Both sides as the child reconciles them (see --read); the objects are kept, as recon match keeps
    its IngestResults, for the whole reconcile."""
    names = {
        side: folder / f"{side}{'-shuffled' if order == 'shuffled' else ''}.parquet"
        for side in ("left", "right")
    }
    if how == "arrow":
        return pq.read_table(names["left"]), pq.read_table(names["right"])
    from recon.cli.match import LOCAL, SPARK, Inputs

    inputs = Inputs(session if how == "spark" else None)
    route = SPARK if how == "spark" else LOCAL
    rules_path = folder / "rules_bench.yaml"
    read = [inputs.read(route, str(names[side]), rules, side, rules_path) for side in ("left", "right")]
    return read[0], read[1]


def child(
    folder: Path,
    backend: str,
    master: str | None,
    driver_edges: int | None,
    conf: dict[str, str],
    progress: Path | None,
    order: str = "file",
    read: str = "arrow",
) -> None:
    """Reconcile the folder's Parquet files on one backend; print the stages as JSON."""
    import logging

    from recon.engine import parse_rules, reconcile
    from recon.engine.timing import profiling

    if progress is not None:
        handler = logging.FileHandler(progress)
        handler.setFormatter(logging.Formatter(f"%(asctime)s {backend} %(message)s"))
        logger = logging.getLogger("recon.engine")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)

    rules = parse_rules((folder / "rules_bench.yaml").read_text())
    started = time.perf_counter()
    engine: Any = backend
    session = None
    if backend == "spark":
        from recon.engine.spark import SparkBackend, spark_session

        session = spark_session(master, conf or None)
        engine = SparkBackend(session) if driver_edges is None else SparkBackend(session, driver_edges)
    start_s = time.perf_counter() - started
    began = time.perf_counter()
    left, right = read_inputs(folder, order, read, rules, session)
    read_s = time.perf_counter() - began
    tables = (left, right) if read == "arrow" else (left.table, right.table)
    with profiling() as stages:
        began = time.perf_counter()
        result = reconcile(*tables, rules, backend=engine)
        reconcile_s = time.perf_counter() - began
    result.write(folder / f"out-{backend}", fmt="parquet")
    slowest = sorted(stages, key=lambda s: -s.wall_s)[:12]
    print(
        json.dumps(
            {
                "start_s": start_s,
                "read_s": read_s,
                "reconcile_s": reconcile_s,
                "stages": [(s.name, round(s.wall_s, 2)) for s in slowest],
            }
        )
    )


def measure(folder: Path, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", backend, "--folder", str(folder)]
    if args.master:
        command += ["--master", args.master]
    if args.driver_edges is not None:
        command += ["--driver-edges", str(args.driver_edges)]
    for setting in args.spark_conf:
        command += ["--spark-conf", setting]
    if args.progress:
        command += ["--progress", str(args.progress)]
    command += ["--order", args.order, "--read", args.read]
    started = time.perf_counter()
    errors = open(args.progress.with_suffix(".stderr"), "a") if args.progress else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
    peak = [0.0]
    parts = {"driver": 0.0, "jvm": 0.0}  # peak RSS of the Python driver and of the JVM, apart
    cpu: dict[int, float] = {}  # per process of the tree: user + sys as last sampled
    stop = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        last = time.perf_counter()
        while not stop.is_set():
            if args.progress and time.perf_counter() - last >= 30:
                last = time.perf_counter()
                with open(args.progress, "a") as log:
                    log.write(
                        f"{time.strftime('%H:%M:%S')} {backend} sample: wall {last - started:.0f} s, "
                        f"cpu {sum(cpu.values()):.0f} s, peak RSS {peak[0]:,.0f} MB "
                        f"(driver {parts['driver']:,.0f}, JVM {parts['jvm']:,.0f}), "
                        f"load {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}\n"
                    )
            try:
                tree = [root, *root.children(recursive=True)]
                rss = {p.pid: p.memory_info().rss / 2**20 for p in tree}
                peak[0] = max(peak[0], sum(rss.values()))
                parts["driver"] = max(parts["driver"], rss[root.pid])
                jvm = sum(rss[p.pid] for p in tree if p.name() == "java")
                parts["jvm"] = max(parts["jvm"], jvm)
                for p in tree:
                    times = p.cpu_times()
                    cpu[p.pid] = times.user + times.system
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{backend} child failed ({process.returncode})")
    report = json.loads(out.strip().splitlines()[-1])
    return {
        "backend": backend,
        "wall_s": round(wall, 2),
        "cpu_s": round(sum(cpu.values()), 1),
        "peak_mb": round(peak[0]),
        "peak_driver_mb": round(parts["driver"]),
        "peak_jvm_mb": round(parts["jvm"]),
        "load": [round(x, 2) for x in psutil.getloadavg()],
        **report,
    }


def compare(folder: Path) -> dict[str, Any]:
    found = {}
    for backend in ("duckdb", "spark"):
        tables = {n: pq.read_table(folder / f"out-{backend}" / f"{n}.parquet") for n in ("matches",)}
        tables["unmatched_left"] = pq.read_table(folder / f"out-{backend}" / "unmatched_left.parquet")
        tables["unmatched_right"] = pq.read_table(folder / f"out-{backend}" / "unmatched_right.parquet")
        found[backend] = tables
    a, b = found["duckdb"], found["spark"]
    keys = ["group_id", "pass", "status", "side", "id"]
    same_groups = a["matches"].select(keys).equals(b["matches"].select(keys))
    same_unmatched = all(a[n].equals(b[n]) for n in ("unmatched_left", "unmatched_right"))
    import numpy as np

    sa = np.asarray(a["matches"].column("score").to_numpy(zero_copy_only=False), dtype=float)
    sb = np.asarray(b["matches"].column("score").to_numpy(zero_copy_only=False), dtype=float)
    max_diff = float(np.max(np.abs(sa - sb))) if same_groups and len(sa) else float("nan")
    summaries = [json.loads((folder / f"out-{x}" / "summary.json").read_text()) for x in ("duckdb", "spark")]
    same_totals = all(summaries[0][s] == summaries[1][s] for s in ("left", "right"))
    return {
        "identical_groups": same_groups,
        "identical_unmatched": same_unmatched,
        "identical_control_totals": same_totals,
        "max_score_diff": max_diff,
        "groups": pa.compute.max(a["matches"].column("group_id")).as_py(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--master", default=None)
    parser.add_argument("--driver-edges", type=int, default=None)
    parser.add_argument("--child", choices=["duckdb", "spark"])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--passes", choices=["all", "one_to_one"], default="all")
    parser.add_argument("--backends", default="duckdb,spark")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--progress", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run of N rows")
    parser.add_argument("--order", choices=["file", "shuffled"], default="file")
    parser.add_argument("--read", choices=["arrow", "driver", "spark"], default="arrow")
    args = parser.parse_args()
    conf = dict(setting.split("=", 1) for setting in args.spark_conf)
    if args.child:
        child(
            args.folder,
            args.child,
            args.master,
            args.driver_edges,
            conf,
            args.progress,
            args.order,
            args.read,
        )
        return
    if args.read == "spark" and "duckdb" in args.backends.split(","):
        raise SystemExit("--read spark needs --backends spark")
    backends = [b for b in ("duckdb", "spark") if b in args.backends.split(",")]
    began = time.perf_counter()
    folder = prepare(args.rows, args.passes, args.reuse)
    if args.order == "shuffled":
        shuffled(folder)
    print(f"data prepared in {time.perf_counter() - began:.0f} s", flush=True)
    runs = [measure(folder, backend, args) for backend in backends]
    print(f"rows {args.rows:,} x demo bank; passes: the demo's {args.passes} passes")
    for run in runs:
        print(
            f"{run['backend']:>7}: wall {run['wall_s']:8.2f} s  read ({args.read}, {args.order}) "
            f"{run['read_s']:6.2f} s  reconcile {run['reconcile_s']:8.2f} s  "
            f"engine start {run['start_s']:6.2f} s  cpu {run['cpu_s']:8.1f} s  "
            f"peak RSS (process tree) {run['peak_mb']:6,} MB (driver {run['peak_driver_mb']:,}, "
            f"JVM {run['peak_jvm_mb']:,})  load {run['load']}"
        )
    OUT.mkdir(exist_ok=True)
    if len(runs) < 2:
        for name, seconds in runs[0]["stages"]:
            print(f"  {seconds:8.2f} s  {name}")
        record = {
            "rows": args.rows,
            "passes": args.passes,
            "read": args.read,
            "order": args.order,
            "runs": runs,
        }
        name = f"spark_bench_{args.rows}_{backends[0]}_{args.read}_{args.order}.json"
        (OUT / name).write_text(json.dumps(record))
        return
    outcome = compare(folder)
    duck, spark = runs
    print(
        f"spark/duckdb: reconcile x{spark['reconcile_s'] / duck['reconcile_s']:.1f}, "
        f"wall x{spark['wall_s'] / duck['wall_s']:.1f}, peak memory x{spark['peak_mb'] / duck['peak_mb']:.1f}"
    )
    print("outcome:", json.dumps(outcome))
    for run in runs:
        print(f"{run['backend']}'s slowest stages:")
        for name, seconds in run["stages"]:
            print(f"  {seconds:8.2f} s  {name}")
    record = {"rows": args.rows, "passes": args.passes, "runs": runs, "outcome": outcome}
    (OUT / f"spark_bench_{args.rows}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
