"""Parquet inputs and outputs through Spark itself: `spark.read.parquet` of a local path or an `s3a://` URL,
the records ordered by id in Spark, and result files copied to `s3a://` by Spark's Hadoop filesystem.

Ordering by id in Spark means the driver receives each side once, already in the engine's order: the
engine's `order_by_id` then finds it sorted and takes no copy (read on the driver, a side was held twice
for the whole run: as read, and ordered by id). Each record keeps its row number in the file
(`_metadata.row_index`), so rejected records and errors name the file's rows, as a read on the driver does.

`s3a://` needs Hadoop's S3A filesystem (`org.apache.hadoop.fs.s3a.S3AFileSystem`, in the hadoop-aws jar with
the AWS SDK bundle) on Spark's classpath: clusters, Databricks and EMR have it; a local session gets it
with `spark.jars`. Without it the caller reads and writes S3 through pyarrow on the driver
(recon.ingest.remote).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from recon.engine.errors import InputError
from recon.engine.spark.classic import is_classic

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

S3A_CLASS = "org.apache.hadoop.fs.s3a.S3AFileSystem"
ROW = "__recon_file_row"
log = logging.getLogger("recon.engine")


class NotReadable(Exception):
    """Spark cannot read this input as the driver would (a type it reads differently, several files):
    the caller reads it on the driver."""


def can_read_s3a(spark: SparkSession, probe: str) -> bool:
    """Can the session's Hadoop filesystem layer load S3A? A classic session asks its Hadoop configuration's
    class loader (which sees `spark.jars`); a Spark Connect client has the server read the schema of
    `probe` (an `s3a://` input of the run) and reads the error: a missing S3A class or scheme means no."""
    if is_classic(spark):
        jvm_conf = spark.sparkContext._jsc.hadoopConfiguration()
        return jvm_conf.getClassByNameOrNull(S3A_CLASS) is not None
    try:
        spark.read.parquet(probe).schema  # noqa: B018
    except Exception as exc:  # the server's errors come as several pyspark classes
        text = str(exc)
        return not ("S3AFileSystem" in text or 'scheme "s3a"' in text or "UnsupportedFileSystem" in text)
    return True


def reads_local_files(spark: SparkSession) -> bool:
    """Does the session run on this machine (a `local` master, classic or a local Connect server), so
    that a path on this machine is one Spark can read?"""
    try:
        master = str(spark.conf.get("spark.master", "") or "")
    except Exception:  # a remote Connect server may refuse to tell
        return False
    return master.startswith("local")


def read_sorted(
    spark: SparkSession, location: str, id_column: str, expected: pa.Schema
) -> tuple[pa.Table, pa.Array]:
    """The records of one Parquet file ordered by id as text (the engine's order), and each one's 1-based
    row number in the file. `expected`: the file's Arrow schema (its footer): columns Spark reads as other
    Arrow types (e.g. large strings, timestamps with a time zone) are cast back to it; NotReadable when
    that fails or the location holds several files; InputError naming the location when it does not
    exist."""
    from pyspark.sql import functions as F

    try:
        frame = spark.read.parquet(location)
        files = frame.inputFiles()
    except Exception as exc:  # the JVM's errors come as several pyspark classes
        text = str(exc)
        if "PATH_NOT_FOUND" in text or "does not exist" in text or "NoSuchBucket" in text:
            raise InputError(f"{location}: no such file or object") from None
        raise NotReadable(f"Spark cannot read it ({text.splitlines()[0][:200]})") from None
    if len(files) != 1:
        raise NotReadable(f"{len(files)} Parquet files: the driver reads one file")
    if id_column not in frame.columns:
        raise NotReadable(f"no column {id_column!r}: the reader names the problem")
    ordered = frame.select(
        *[F.col(f"`{name}`") for name in frame.columns],
        (F.col("_metadata.row_index") + 1).alias(ROW),
    ).orderBy(F.col(f"`{id_column}`").cast("string").asc_nulls_first(), F.col(ROW))
    try:
        table: pa.Table = ordered.toArrow()
    except Exception as exc:
        raise NotReadable(f"Spark cannot read it ({str(exc).splitlines()[0][:200]})") from None
    rows = table.column(ROW).combine_chunks().cast(pa.int64())
    table = table.drop_columns([ROW])
    if not table.schema.equals(expected):
        try:
            table = table.cast(expected)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise NotReadable(f"its types differ from the file's ({exc})") from None
    return table, rows


def copy_to(spark: SparkSession, files: list[Any], target: str) -> list[str]:
    """Copy local files (pathlib.Path) under the `s3a://` prefix `target` with Spark's own Hadoop
    filesystem (classic sessions with S3A: the JVM's credentials and settings); their URLs."""
    jvm: Any = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    base = target.rstrip("/")
    written = []
    for path in files:
        destination = jvm.org.apache.hadoop.fs.Path(f"{base}/{path.name}")
        filesystem = destination.getFileSystem(conf)
        filesystem.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(str(path)), destination)
        written.append(f"{base}/{path.name}")
    return written
