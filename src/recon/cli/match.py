"""`recon match` without the command line: read both files as the rules say, reconcile, write the outputs.

Bad input (rules, options, files, columns) raises BadInput with one line per problem; the engine's own
failures (EngineError) propagate.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recon.cli.console import BadInput

SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
FORMATS = ("parquet", "csv")
BACKENDS = ("duckdb", "spark")


@dataclass(frozen=True)
class MatchRequest:
    left: Path
    right: Path
    rules: Path
    out: Path
    fmt: str = "parquet"
    memory_limit: str | None = None
    threads: int | None = None
    profile: bool = False
    backend: str = "duckdb"
    spark_master: str | None = None  # --backend spark: local[*] by default, spark://..., sc://... (Connect)


@dataclass(frozen=True)
class Stage:
    """What the progress display hears about: a named step starting ("start") or ending ("done")."""

    name: str
    state: str
    detail: str = ""


Listener = Callable[[Any], None]  # receives Stage and recon.engine.ProgressEvent objects


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_request(req: MatchRequest) -> None:
    problems = []
    for label, path in (("LEFT", req.left), ("RIGHT", req.right), ("--rules", req.rules)):
        if not path.exists():
            problems.append(f"{path}: file not found ({label})")
        elif not path.is_file():
            problems.append(f"{path}: not a regular file ({label})")
    if req.out.exists() and not req.out.is_dir():
        problems.append(f"{req.out}: exists and is not a directory (--out)")
    if req.fmt not in FORMATS:
        problems.append(f"--format: {req.fmt!r} is not one of {', '.join(FORMATS)}")
    if req.memory_limit is not None and not SIZE.match(req.memory_limit):
        problems.append(f"--memory-limit: {req.memory_limit!r} is not a size like 512MB or 2GB")
    if req.backend not in BACKENDS:
        problems.append(f"--backend: {req.backend!r} is not one of {', '.join(BACKENDS)}")
    if req.spark_master is not None and req.backend != "spark":
        problems.append("--spark-master: only with --backend spark")
    if req.threads is not None and req.threads < 1:
        problems.append(f"--threads: must be at least 1 (got {req.threads})")
    if problems:
        raise BadInput(problems)


def load_rules(path: Path) -> Any:
    from recon.engine import RulesError, load_rules

    try:
        return load_rules(path)
    except RulesError as exc:
        raise BadInput(str(exc).splitlines()) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput([f"{path}: cannot read the rules file ({exc})"]) from exc


def read_side(path: Path, rules: Any, side: str, rules_path: Path) -> Any:
    """Ingest one file with the column types and read options the rules give for that side."""
    from recon.ingest import IngestError, ReadOptions, read_file

    try:
        options = ReadOptions.from_mapping(rules.read_options(side), where=f"{side}.read")
    except IngestError as exc:
        raise BadInput([f"{rules_path}: {exc}"]) from exc
    try:
        return read_file(path, options=options, types=rules.column_types(side), id_column=rules.side(side).id)
    except IngestError as exc:
        raise BadInput([str(exc.with_file(str(path)))]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput([f"{path}: cannot read ({exc})"]) from exc


def check_columns(rules: Any, left: Any, right: Any) -> None:
    from recon.engine import RulesError

    try:
        rules.check_columns(left.table.column_names, right.table.column_names)
    except RulesError as exc:
        raise BadInput(str(exc).splitlines()) from exc


@contextmanager
def _input_errors(req: MatchRequest) -> Iterator[None]:
    """The engine's InputError (e.g. duplicate or missing ids) is bad input, not a failure of the engine;
    its lines start with the side, which we name by its file."""
    from recon.engine import InputError

    try:
        yield
    except InputError as exc:
        files = {"left": req.left, "right": req.right}
        lines = []
        for line in str(exc).splitlines():
            side, _, rest = line.partition(": ")
            lines.append(f"{files[side]} ({side}): {rest}" if side in files and rest else line)
        raise BadInput(lines) from exc


@contextmanager
def _stage(listener: Listener, name: str) -> Iterator[None]:
    listener(Stage(name, "start"))
    yield
    listener(Stage(name, "done"))


def read_both(req: MatchRequest, rules: Any, listener: Listener) -> tuple[Any, Any]:
    """Read the sides one after the other (a file's bytes and its parse buffers are held while it is read:
    two at once peaked ~0.93 GB at 1M classic rows a side, one after the other ~0.70 GB, in the same wall
    time on two cores, as the parser uses every core anyway); problems of both files are reported
    together."""

    def read(path: Path, side: str) -> Any:
        from recon.engine.timing import stage
        from recon.engine.waterfall import release_free_memory

        try:
            with _stage(listener, f"read {path.name}"), stage(f"read {side} file {path.name}"):
                return read_side(path, rules, side, req.rules)
        finally:
            release_free_memory()  # the parse buffers (Arrow's pool kept ~130 MB per 1M rows)

    with ThreadPoolExecutor(max_workers=1) as pool:
        futures = [pool.submit(read, req.left, "left"), pool.submit(read, req.right, "right")]
    problems: list[str] = []
    for future in futures:
        failure = future.exception()
        if isinstance(failure, BadInput):
            problems.extend(failure.lines)
    if problems:
        raise BadInput(problems)
    return futures[0].result(), futures[1].result()


def run_match(req: MatchRequest, listener: Listener = lambda _event: None) -> dict[str, Any]:
    """Run one reconciliation end to end; return the summary as written to summary.json (with
    `req.profile`, plus "profile": the stages and their times, see recon.engine.timing)."""
    if not req.profile:
        return _run_match(req, listener)
    from recon.engine.timing import profiling

    with profiling() as stages:
        started = time.perf_counter()
        summary = _run_match(req, listener)
    summary["profile"] = {
        "total_s": round(time.perf_counter() - started, 3),
        "stages": [
            {
                "name": item.name,
                "wall_s": round(item.wall_s, 3),
                "cpu_s": round(item.cpu_s, 3),
                "started_s": round(item.started_s, 3),
                "thread": item.thread,
                "rss_mb": round(item.rss_mb, 1),
                "peak_mb": round(item.peak_mb, 1),
            }
            for item in stages
        ],
    }
    return summary


def open_backend(req: MatchRequest) -> Any:
    """The engine backend the request names: "duckdb", or a Spark backend on `req.spark_master`."""
    if req.backend != "spark":
        return req.backend
    try:
        from recon.engine.spark import SparkBackend, spark_session
    except ImportError as exc:
        raise BadInput(
            [f"--backend spark: {exc.name} is not installed (uv sync --group spark; Java 17+)"]
        ) from exc
    return SparkBackend(spark_session(req.spark_master))


def _run_match(req: MatchRequest, listener: Listener) -> dict[str, Any]:
    from recon.engine import reconcile
    from recon.engine.timing import stage

    started = time.perf_counter()
    check_request(req)
    rules = load_rules(req.rules)
    left, right = read_both(req, rules, listener)
    check_columns(rules, left, right)
    req.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="recon-spill-") as spill, _input_errors(req):
        result = reconcile(
            left.table,
            right.table,
            rules,
            left_rejected=left.rejected,
            right_rejected=right.rejected,
            memory_limit=req.memory_limit,
            temp_dir=spill,
            threads=req.threads,
            progress=listener,
            backend=open_backend(req),
        )
    inputs = {
        "left_file": str(req.left),
        "right_file": str(req.right),
        "left_sha256": left.sha256,
        "right_sha256": right.sha256,
        "rules_sha256": sha256_of(req.rules),
    }
    extra = {"inputs": inputs, "elapsed_s": round(time.perf_counter() - started, 3)}
    with _stage(listener, f"write {req.fmt} to {req.out}"), stage(f"write {req.fmt} results"):
        result.write(req.out, fmt=req.fmt, extra_summary=extra)
    return {**result.summary, **extra}
