"""`recon match` without the command line: read both files as the rules say, reconcile, write the outputs.

Bad input (rules, options, files, columns) raises BadInput with one line per problem; the engine's own
failures (EngineError) propagate.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from recon.cli.console import BadInput

log = logging.getLogger("recon.cli")
SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
FORMATS = ("parquet", "csv")
BACKENDS = ("duckdb", "spark")
SPARK_INPUTS = ("spark", "driver")  # who reads a Spark run's Parquet inputs (Inputs.route)


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
    spark_inputs: str = "spark"  # --backend spark: Parquet inputs read by Spark when it can, or "driver"


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
    from recon.ingest.remote import is_s3

    problems = []
    for label, path in (("LEFT", req.left), ("RIGHT", req.right), ("--rules", req.rules)):
        if is_s3(path) and label != "--rules":
            continue  # s3a://bucket/key: checked when read (a missing object is named then)
        if not path.exists():
            problems.append(f"{path}: file not found ({label})")
        elif not path.is_file():
            problems.append(f"{path}: not a regular file ({label})")
    if not is_s3(req.out) and req.out.exists() and not req.out.is_dir():
        problems.append(f"{req.out}: exists and is not a directory (--out)")
    if req.fmt not in FORMATS:
        problems.append(f"--format: {req.fmt!r} is not one of {', '.join(FORMATS)}")
    if req.memory_limit is not None and not SIZE.match(req.memory_limit):
        problems.append(f"--memory-limit: {req.memory_limit!r} is not a size like 512MB or 2GB")
    if req.backend not in BACKENDS:
        problems.append(f"--backend: {req.backend!r} is not one of {', '.join(BACKENDS)}")
    if req.spark_master is not None and req.backend != "spark":
        problems.append("--spark-master: only with --backend spark")
    if req.spark_inputs not in SPARK_INPUTS:
        problems.append(f"--spark-inputs: {req.spark_inputs!r} is not one of {', '.join(SPARK_INPUTS)}")
    elif req.spark_inputs != "spark" and req.backend != "spark":
        problems.append("--spark-inputs: only with --backend spark")
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
    from recon.ingest.remote import location

    try:
        yield
    except InputError as exc:
        files = {"left": location(req.left), "right": location(req.right)}
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


def read_both(
    req: MatchRequest, rules: Any, listener: Listener, inputs: Inputs | None = None
) -> tuple[Any, Any]:
    """Read the sides one after the other (a file's bytes and its parse buffers are held while it is read:
    two at once peaked ~0.93 GB at 1M classic rows a side, one after the other ~0.70 GB, in the same wall
    time on two cores, as the parser uses every core anyway); problems of both files are reported
    together. `inputs`: where S3 objects and Spark reads come from (see Inputs)."""
    inputs = inputs or Inputs()

    def read(path: Path, side: str) -> Any:
        from recon.engine.timing import stage
        from recon.engine.waterfall import release_free_memory
        from recon.ingest.remote import location

        where = location(path)
        route = inputs.route(where)
        name = where.rsplit("/", 1)[-1]
        log.debug("match_input: %s %s read %s", side, where, ROUTES[route])
        label = f"read {side} file {name}" + ("" if route == LOCAL else f" ({ROUTES[route]})")
        try:
            with _stage(listener, f"read {name}"), stage(label):
                return inputs.read(route, where, rules, side, req.rules)
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


SPARK, S3_DRIVER, LOCAL = "spark", "s3 driver", "local"
ROUTES = {
    SPARK: "by Spark: spark.read.parquet, ordered by id in Spark",
    S3_DRIVER: "from S3 through pyarrow on the driver",
    LOCAL: "on the driver",
}


class Inputs:
    """How `recon match` reaches its inputs and outputs: S3 objects (`s3a://` or `s3://`) through pyarrow's
    S3 filesystem on the driver (the platform's S3_ENDPOINT_URL / S3_REGION settings, else the AWS
    environment), and, with a Spark session, Parquet inputs read by Spark itself: a local path when the
    session runs on this machine, an `s3a://` URL when the session can load Hadoop's S3A filesystem."""

    def __init__(self, spark: Any = None, read_by_spark: bool = True) -> None:
        self.spark = spark
        # off (--spark-inputs driver): inputs are read on the driver; a local session's JVM would
        # otherwise hold the read and the sort beside the driver's copy (docs/scaling.md)
        self.read_by_spark = read_by_spark
        self._fs: Any = None
        self._s3a: bool | None = None

    @property
    def fs(self) -> Any:
        if self._fs is None:
            from recon.ingest.remote import filesystem

            self._fs = filesystem(*_s3_settings())
        return self._fs

    def spark_s3a(self, probe: str) -> bool:
        """Does the Spark session read and write `s3a://` itself (asked once; `probe`: an S3 location of
        the run, which a Spark Connect server is asked to read)?"""
        if self._s3a is None:
            from recon.engine.spark.inputs import can_read_s3a
            from recon.ingest.remote import parse

            self._s3a = self.spark is not None and can_read_s3a(self.spark, parse(probe).s3a)
            log.info("match_s3a: %s", "Spark's own S3A filesystem" if self._s3a else "pyarrow on the driver")
        return self._s3a

    def route(self, where: str) -> str:
        from recon.ingest.remote import is_s3

        parquet = where.lower().endswith(".parquet") and self.read_by_spark
        if is_s3(where):
            return SPARK if parquet and self.spark is not None and self.spark_s3a(where) else S3_DRIVER
        if parquet and self.spark is not None:
            from recon.engine.spark.inputs import reads_local_files

            if reads_local_files(self.spark):
                return SPARK
        return LOCAL

    def read(self, route: str, where: str, rules: Any, side: str, rules_path: Path) -> Any:
        from recon.ingest import IngestError, ReadOptions

        if route == LOCAL:
            return read_side(Path(where), rules, side, rules_path)
        try:
            options = ReadOptions.from_mapping(rules.read_options(side), where=f"{side}.read")
        except IngestError as exc:
            raise BadInput([f"{rules_path}: {exc}"]) from exc
        types, id_column = rules.column_types(side), rules.side(side).id
        try:
            if route == SPARK:
                read = self._by_spark(where, options, types, id_column)
                if read is not None:
                    return read
            return self._from_s3(where, options, types, id_column)
        except IngestError as exc:
            raise BadInput([str(exc.with_file(where))]) from exc

    def _from_s3(self, where: str, options: Any, types: Any, id_column: str) -> Any:
        from recon.ingest import read_bytes
        from recon.ingest.remote import is_s3, read_object

        if not is_s3(where):
            return read_side_path(Path(where), options, types, id_column)
        data = read_object(where, self.fs)
        return read_bytes(data, filename=where, options=options, types=types, id_column=id_column)

    def _by_spark(self, where: str, options: Any, types: Any, id_column: str) -> Any:
        """Spark reads the file and orders it by id; None (and a log line) when it reads it differently
        from the driver, which then reads it."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from recon.engine import InputError
        from recon.engine.spark.inputs import NotReadable, read_sorted
        from recon.ingest.remote import S3Object, is_s3, parse, read_table, sha256_of_object

        try:
            if is_s3(where):
                obj: S3Object = parse(where)
                expected = pq.read_schema(obj.path, filesystem=self.fs)
                digest = sha256_of_object(where, self.fs)
                table, rows = read_sorted(self.spark, obj.s3a, id_column, expected)
            else:
                path = Path(where)
                expected = pq.read_schema(path)
                digest = sha256_of(path)
                table, rows = read_sorted(self.spark, str(path.resolve()), id_column, expected)
        except (NotReadable, pa.ArrowInvalid) as why:  # e.g. not a Parquet file: the reader says so
            log.debug("match_input: %s read on the driver: %s", where, why)
            return None
        except (OSError, InputError) as exc:
            raise BadInput([f"{where}: cannot read ({str(exc).splitlines()[0]})"]) from exc
        return read_table(
            table, rows, filename=where, sha256=digest, options=options, types=types, id_column=id_column
        )

    def write(self, result: Any, out: str, fmt: str, extra: dict[str, Any]) -> None:
        """Write the result files to `out`: a local folder, or an S3 prefix (written to a temporary folder,
        then copied: by Spark's S3A filesystem when a classic session has it, else through pyarrow)."""
        from recon.ingest.remote import is_s3, upload_folder

        if not is_s3(out):
            result.write(Path(out), fmt=fmt, extra_summary=extra)
            return
        with tempfile.TemporaryDirectory(prefix="recon-out-") as folder:
            result.write(folder, fmt=fmt, extra_summary=extra)
            from recon.engine.spark.classic import is_classic

            # a classic session's JVM copies with its own S3A settings; a Connect client cannot reach
            # the server's filesystem API: pyarrow then
            if self.spark is not None and is_classic(self.spark) and self.spark_s3a(out):
                from recon.engine.spark.inputs import copy_to
                from recon.ingest.remote import parse

                log.info("match_output: %s written by Spark's S3A filesystem", out)
                copy_to(self.spark, sorted(Path(folder).iterdir()), parse(out).s3a)
            else:
                log.info("match_output: %s written through pyarrow on the driver", out)
                upload_folder(Path(folder), out, self.fs)

    def check_output(self, out: str) -> None:
        """A missing bucket is bad input, named before any work is done."""
        from recon.ingest import IngestError
        from recon.ingest.remote import check_bucket, is_s3

        if is_s3(out):
            try:
                check_bucket(out, self.fs)
            except IngestError as exc:
                raise BadInput([f"{exc} (--out)"]) from exc


def _s3_settings() -> tuple[str | None, str | None]:
    """The platform's S3 endpoint and region (S3_ENDPOINT_URL, S3_REGION), when its settings load."""
    try:
        from recon.config import get_settings

        settings = get_settings()
    except (ValueError, RuntimeError):  # settings this command does not need may be invalid here
        return None, None
    return settings.s3_endpoint_url, settings.s3_region


def read_side_path(path: Path, options: Any, types: Any, id_column: str) -> Any:
    from recon.ingest import read_file

    try:
        return read_file(path, options=options, types=types, id_column=id_column)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput([f"{path}: cannot read ({exc})"]) from exc


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
    from recon.ingest.remote import is_s3, location

    started = time.perf_counter()
    check_request(req)
    rules = load_rules(req.rules)
    backend = open_backend(req)
    inputs = Inputs(getattr(backend, "spark", None), read_by_spark=req.spark_inputs == "spark")
    out = location(req.out)
    try:
        inputs.check_output(out)
        left, right = read_both(req, rules, listener, inputs)
        check_columns(rules, left, right)
    except BaseException:
        if not isinstance(backend, str):
            backend.close()  # reconcile closes it from here on
        raise
    if not is_s3(out):
        req.out.mkdir(parents=True, exist_ok=True)
    # The tables are handed over (the read results keep empty ones): reconcile drops the file-order table
    # once it has the id-ordered copy, instead of both living through the run (ADR 0024).
    tables = [left.table, right.table]
    left, right = (replace(read, table=read.table.schema.empty_table()) for read in (left, right))
    with tempfile.TemporaryDirectory(prefix="recon-spill-") as spill, _input_errors(req):
        result = reconcile(
            tables.pop(0),
            tables.pop(0),
            rules,
            left_rejected=left.rejected,
            right_rejected=right.rejected,
            memory_limit=req.memory_limit,
            temp_dir=spill,
            threads=req.threads,
            progress=listener,
            backend=backend,
        )
    files = {
        "left_file": location(req.left),
        "right_file": location(req.right),
        "left_sha256": left.sha256,
        "right_sha256": right.sha256,
        "rules_sha256": sha256_of(req.rules),
    }
    extra = {"inputs": files, "elapsed_s": round(time.perf_counter() - started, 3)}
    with _stage(listener, f"write {req.fmt} to {out}"), stage(f"write {req.fmt} results"):
        inputs.write(result, out, req.fmt, extra)
    return {**result.summary, **extra}
