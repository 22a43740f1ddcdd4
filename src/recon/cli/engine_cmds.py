"""Engine commands of the `recon` CLI: match, rules check, demo, inspect."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recon.cli import console
from recon.cli.console import BadInput, fail
from recon.cli.inspect_cmd import inspect
from recon.cli.match import MatchRequest, check_columns, load_rules, read_side, run_match
from recon.cli.report import RunProgress, render_profile, render_summary


class OutputFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


class DemoShape(StrEnum):
    classic = "classic"
    dense = "dense"


def match(  # noqa: PLR0917 (Typer maps parameters to options)
    left: Annotated[Path, typer.Argument(help="Left file (e.g. the ledger): csv, parquet, xlsx or json.")],
    right: Annotated[Path, typer.Argument(help="Right file (e.g. the bank statement).")],
    rules: Annotated[Path, typer.Option("--rules", "-r", help="Rule set (YAML or JSON).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for summary.json and the result files.")
    ],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Format of the result files.")] = (
        OutputFormat.parquet
    ),
    memory_limit: Annotated[
        str | None,
        typer.Option("--memory-limit", help="Bound the engine's memory, e.g. 512MB (spills to disk)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Engine threads (default: all cores).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary table.")] = False,
    profile: Annotated[
        bool, typer.Option("--profile", help="Print where the time went, stage by stage (to stderr).")
    ] = False,
    backend: Annotated[
        str,
        typer.Option(
            "--backend", help="Where the plan runs: duckdb (in process) or spark (docs/scaling.md)."
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="With --backend spark: local[*] (default), spark://host:7077, or Spark Connect sc://host:15002.",
        ),
    ] = None,
    spark_inputs: Annotated[
        str,
        typer.Option(
            "--spark-inputs",
            help="With --backend spark: who reads Parquet inputs: spark (default, when it can) or driver "
            "(this process; on a local session Spark's read moves the memory into its JVM).",
        ),
    ] = "spark",
) -> None:
    """Reconcile LEFT against RIGHT with the rules; write summary.json, matches and unmatched files to OUT."""
    from recon.engine import EngineError

    request = MatchRequest(
        left,
        right,
        rules,
        out,
        fmt.value,
        memory_limit,
        threads,
        profile,
        backend,
        spark_master,
        spark_inputs,
    )
    try:
        if quiet:
            summary = run_match(request)
        else:
            with RunProgress(console.err) as progress:
                summary = run_match(request, progress)
    except BadInput as exc:
        fail(exc.lines)
    except EngineError as exc:
        fail([f"engine failure: {line}" for line in str(exc).splitlines()], code=console.EXIT_FAILURE)
    if not quiet:
        render_summary(console.out, summary, str(out))
    if profile:
        render_profile(console.err, summary["profile"])


def rules_check(
    rules: Annotated[Path, typer.Argument(help="Rule set (YAML or JSON).")],
    left: Annotated[
        Path | None, typer.Option("--left", help="Also check the columns of this left file.")
    ] = None,
    right: Annotated[Path | None, typer.Option("--right", help="... and of this right file.")] = None,
) -> None:
    """Validate a rule set and print its plan (blocking keys per pass); with --left/--right check columns."""
    try:
        if not rules.is_file():
            raise BadInput([f"{rules}: file not found (RULES)"])
        if (left is None) != (right is None):
            raise BadInput(["give both --left and --right to check the columns, or neither"])
        ruleset = load_rules(rules)
        if left is not None and right is not None:
            named = (("--left", left), ("--right", right))
            missing = [f"{path}: file not found ({label})" for label, path in named if not path.is_file()]
            if missing:
                raise BadInput(missing)
            sides = read_side(left, ruleset, "left", rules), read_side(right, ruleset, "right", rules)
            check_columns(ruleset, *sides)
    except BadInput as exc:
        fail(exc.lines)
    console.out.print(str(ruleset.plan()), markup=False, soft_wrap=True, highlight=False)
    if left is not None and right is not None:
        for path, side in zip((left, right), sides, strict=True):
            console.out.print(
                f"{path}: {side.rows_read:,} rows, {side.table.num_rows:,} accepted, "
                f"{side.rejected.num_rows:,} rejected; columns OK",
                markup=False,
                soft_wrap=True,
            )
            for problem in side.errors[:5]:
                console.out.print(f"  {path}: {problem}", markup=False, soft_wrap=True)
    console.out.print(f"{rules}: OK", markup=False, soft_wrap=True)


DEMO_OUT = Path("demo-data")


def _inside_data_dir(out: Path) -> Path | None:
    """The platform's data directory (DATA_DIR, default ./var) when `out` lies inside it."""
    data_dir = Path(os.environ.get("DATA_DIR") or "var").resolve()
    target = out.resolve()
    return data_dir if target == data_dir or data_dir in target.parents else None


def demo(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory for ledger.csv, bank.csv, rules.yaml, truth.csv (default demo-data).",
        ),
    ] = DEMO_OUT,
    rows: Annotated[int, typer.Option("--rows", "-n", min=1, help="Number of ledger rows.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same files.")] = 7,
    shape: Annotated[
        DemoShape,
        typer.Option(
            "--shape",
            help="classic: clean structure, one amount per invoice; dense: heavy-tailed counterparties, "
            "round and repeated amounts, dense dates, long texts with embedded references, fees, partial "
            "payments.",
        ),
    ] = DemoShape.classic,
    force: Annotated[
        bool, typer.Option("--force", help="Write even into the platform's data directory (DATA_DIR).")
    ] = False,
) -> None:
    """Generate seeded demo data: a ledger and a bank statement with known truth, and rules that suit them.
    Never into the platform's data directory (DATA_DIR, default ./var: the running platform's demo files
    live there) unless --force."""
    from recon.demo import generate
    from recon.demo.cases import MAX_ROWS

    if rows > MAX_ROWS:
        fail([f"--rows: at most {MAX_ROWS:,} (got {rows:,})"])
    if out.exists() and not out.is_dir():
        fail([f"{out}: exists and is not a directory (--out)"])
    data_dir = _inside_data_dir(out)
    if data_dir is not None and not force:
        fail(
            [
                f"{out}: inside the platform's data directory {data_dir} (DATA_DIR), whose demo files the "
                f"platform uses; choose another --out (default {DEMO_OUT}) or pass --force"
            ]
        )
    files = generate(rows, out, seed=seed, shape=shape.value)
    for label, path in (
        ("left", files.left),
        ("right", files.right),
        ("rules", files.rules),
        ("truth", files.truth),
    ):
        console.out.print(f"{label:>5}: {path}", markup=False, soft_wrap=True)
    console.out.print(
        f"Try: recon match {files.left} {files.right} --rules {files.rules} --out {out / 'out'}",
        markup=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("match")(match)
    rules_app = typer.Typer(help="Work with rule sets.", no_args_is_help=True)
    rules_app.command("check")(rules_check)
    app.add_typer(rules_app, name="rules")
    app.command("demo")(demo)
    app.command("inspect")(inspect)
