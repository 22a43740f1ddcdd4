"""Wide files: how typing and mapping scale with the number of columns (linear means ~2x per doubling).

    uv run python bench/wide_columns_bench.py            # 1,000 / 2,000 / 4,096 columns, 1 and 1,000 rows

Each file goes through the platform's ingestion path (`recon.datasets.parsing.parse_dataset`: probe the
header, resolve the mapping, read and type the mapped columns, build the extra-columns JSON) three times;
the best time is reported with the ratio to the previous width (the column count roughly doubles) and to
the 1,000-column run of the same process (the baseline). Before the fix, 2,000 / 4,000 / 8,000 columns of
one row took 9.8 / 32 / 96 s (quadratic). Prints the machine load; writes bench/out/wide_columns.json.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from recon.datasets.parsing import parse_dataset
from recon.ingest import ReadOptions

WIDTHS = (1000, 2000, 4096)
ROWS = (1, 1000)
REPEAT = 3


def _write(path: Path, columns: int, rows: int) -> None:
    header = ",".join(["id", "amount", "date", *(f"c{i}" for i in range(columns - 3))])
    lines = [header]
    for r in range(rows):
        lines.append(",".join([f"R{r}", f"{r}.25", "2024-03-01", *(f"v{i}" for i in range(columns - 3))]))
    path.write_text("\n".join(lines) + "\n")


def _best(path: Path) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        parsed = parse_dataset(path, filename=path.name, fmt="csv", options=ReadOptions(), requested={})
        times.append(time.perf_counter() - started)
        assert parsed.records.num_rows > 0
    return min(times)


def main() -> None:
    load = os.getloadavg()
    print(f"machine load (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in ROWS:
            baseline = previous = None
            for width in WIDTHS:
                path = Path(folder) / f"w{width}_r{rows}.csv"
                _write(path, width, rows)
                best = _best(path)
                per_doubling = best / previous if previous else None
                vs_baseline = best / baseline if baseline else 1.0
                baseline = baseline or best
                previous = best
                results.append(
                    {
                        "columns": width,
                        "rows": rows,
                        "best_s": round(best, 4),
                        "ratio_to_previous": per_doubling and round(per_doubling, 2),
                        "ratio_to_1000_columns": round(vs_baseline, 2),
                        "bytes": path.stat().st_size,
                    }
                )
                shown = f"{per_doubling:.2f}x" if per_doubling else "-"
                print(
                    f"{width:>5} columns x {rows:>4} rows: {best:7.3f} s  per doubling {shown:>6}  "
                    f"vs 1,000 columns {vs_baseline:5.2f}x  ({path.stat().st_size:,} bytes)"
                )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "wide_columns.json").write_text(json.dumps({"load": load, "results": results}, indent=2))


if __name__ == "__main__":
    main()
