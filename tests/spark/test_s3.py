"""`recon match` with `s3a://` inputs and output (moto in server mode), and Parquet inputs read by Spark."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from engine.helpers import side
from recon.cli.main import app
from recon.cli.match import MatchRequest, run_match
from recon.ingest import ReadOptions, read_file
from recon.ingest.remote import location, parse, read_table

pytestmark = pytest.mark.spark
runner = CliRunner()
OUTPUTS = ("matches", "unmatched_left", "unmatched_right")


@pytest.fixture
def files(tmp_path, near_rules):
    left = side(
        ["c", "a", "b", "d"],
        ["30.00", "10.00", "20.00", "55.00"],
        ["2024-04-01", "2024-03-01", "2024-03-10", "2024-05-01"],
        name=["Initech", "Acme GmbH", "Globex", "Umbrella"],
    )
    right = side(
        ["z", "x", "y"],
        ["99.00", "10.02", "20.00"],
        ["2024-04-01", "2024-03-02", "2024-03-11"],
        name=["Initech", "ACME GMBH", "Globex Ltd"],
    )
    pq.write_table(left, tmp_path / "left.parquet")
    pq.write_table(right, tmp_path / "right.parquet")
    (tmp_path / "rules.yaml").write_text(near_rules("s3"))
    return tmp_path


@pytest.fixture
def bucket(s3_bucket, moto_endpoint, monkeypatch, files):
    """The Parquet pair in a moto bucket; the AWS environment names moto's endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    for name in ("left.parquet", "right.parquet"):
        client.upload_file(str(files / name), s3_bucket, f"in/{name}")
    return s3_bucket


def _download(bucket: str, endpoint: str, prefix: str, folder: Path) -> None:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    folder.mkdir()
    for name in (*[f"{n}.parquet" for n in OUTPUTS], "summary.json"):
        client.download_file(bucket, f"{prefix}/{name}", str(folder / name))


def _same_results(one: Path, other: Path) -> None:
    for name in OUTPUTS:
        assert pq.read_table(one / f"{name}.parquet").equals(pq.read_table(other / f"{name}.parquet")), name
    summaries = [json.loads((folder / "summary.json").read_text()) for folder in (one, other)]
    for summary in summaries:
        summary.pop("elapsed_s")
        summary["inputs"].pop("left_file")
        summary["inputs"].pop("right_file")
    assert summaries[0] == summaries[1]


def _request(left, right, files, out, backend="spark", profile=False):
    return MatchRequest(
        Path(left), Path(right), files / "rules.yaml", Path(out), backend=backend, profile=profile
    )


def _read_stages(summary):
    return sorted(s["name"] for s in summary["profile"]["stages"] if s["name"].startswith("read "))


@pytest.mark.parametrize("backend", ["spark", "duckdb"])
def test_s3a_inputs_and_output_give_the_local_results(spark, files, bucket, moto_endpoint, backend):
    local = run_match(
        _request(files / "left.parquet", files / "right.parquet", files, files / "local", backend)
    )
    remote = run_match(
        _request(
            f"s3a://{bucket}/in/left.parquet",
            f"s3a://{bucket}/in/right.parquet",
            files,
            f"s3a://{bucket}/out/run",
            backend,
            profile=True,
        )
    )
    # this machine's Spark has no hadoop-aws jar: S3 is read and written through pyarrow on the driver
    assert _read_stages(remote) == [
        "read left file left.parquet (from S3 through pyarrow on the driver)",
        "read right file right.parquet (from S3 through pyarrow on the driver)",
    ]
    assert remote["inputs"]["left_file"] == f"s3a://{bucket}/in/left.parquet"
    assert remote["inputs"]["left_sha256"] == local["inputs"]["left_sha256"]
    assert remote["left"]["matched"] == local["left"]["matched"] == 2
    _download(bucket, moto_endpoint, "out/run", files / "fetched")
    _same_results(files / "local", files / "fetched")


def test_cli_with_s3a_paths(spark, files, bucket, moto_endpoint):
    result = runner.invoke(
        app,
        [
            "match",
            f"s3a://{bucket}/in/left.parquet",
            f"s3://{bucket}/in/right.parquet",
            "--rules",
            str(files / "rules.yaml"),
            "--out",
            f"s3a://{bucket}/out/cli",
            "--backend",
            "spark",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    _download(bucket, moto_endpoint, "out/cli", files / "fetched")
    summary = json.loads((files / "fetched" / "summary.json").read_text())
    assert summary["inputs"]["right_file"] == f"s3://{bucket}/in/right.parquet"
    assert summary["checks"] == {"exactly_once": True, "control_totals": True}


NO_BUCKET = "s3a://recon-no-such-bucket"


@pytest.mark.parametrize(
    ("left", "out", "message"),
    [
        (
            "s3a://{bucket}/in/nothing.parquet",
            "{tmp}/out",
            "s3a://{bucket}/in/nothing.parquet: no such S3 object 'in/nothing.parquet'",
        ),
        (
            f"{NO_BUCKET}/left.parquet",
            "{tmp}/out",
            f"{NO_BUCKET}/left.parquet: no such S3 bucket 'recon-no-such-bucket'",
        ),
        (
            "{tmp}/left.parquet",
            f"{NO_BUCKET}/out",
            f"{NO_BUCKET}/out: no such S3 bucket 'recon-no-such-bucket' (--out)",
        ),
    ],
)
def test_missing_bucket_or_key_is_bad_input(spark, files, bucket, left, out, message):
    result = runner.invoke(
        app,
        [
            "match",
            left.format(bucket=bucket, tmp=files),
            f"s3a://{bucket}/in/right.parquet",
            "--rules",
            str(files / "rules.yaml"),
            "--out",
            out.format(bucket=bucket, tmp=files),
            "--backend",
            "spark",
        ],
    )
    assert result.exit_code == 2, result.output
    assert message.format(bucket=bucket) in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_local_parquet_inputs_are_read_by_spark_in_id_order(spark, files):
    summary = run_match(
        _request(files / "left.parquet", files / "right.parquet", files, files / "spark", profile=True)
    )
    assert _read_stages(summary) == [
        "read left file left.parquet (by Spark: spark.read.parquet, ordered by id in Spark)",
        "read right file right.parquet (by Spark: spark.read.parquet, ordered by id in Spark)",
    ]
    # ordered by id already: the engine's order_by_id takes no copy (it would be a stage of its own
    # here only through its time, so check the input the engine gets instead)
    run_match(_request(files / "left.parquet", files / "right.parquet", files, files / "duck", "duckdb"))
    _same_results(files / "spark", files / "duck")


def test_spark_inputs_driver_reads_parquet_on_the_driver(spark, files):
    """The opt-out (--spark-inputs driver): a local session's run reads its Parquet inputs on the driver,
    with the same results."""
    from dataclasses import replace

    request = _request(files / "left.parquet", files / "right.parquet", files, files / "driver", profile=True)
    summary = run_match(replace(request, spark_inputs="driver"))
    assert _read_stages(summary) == ["read left file left.parquet", "read right file right.parquet"]
    run_match(_request(files / "left.parquet", files / "right.parquet", files, files / "spark"))
    _same_results(files / "driver", files / "spark")


def test_spark_read_types_and_rejects_as_the_driver_does(spark, tmp_path):
    """A file with unsorted ids, a cell that is no amount and a record without an id: Spark's read ordered
    by id gives the driver's accepted records (in id order), rejected records and errors (file rows)."""
    from recon.engine.spark.inputs import read_sorted

    path = tmp_path / "side.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["k", "b", None, "a", "c"],
                "amount": ["1.50", "2", "3", "oops", "4.25"],
                "day": pa.array([19000, 19001, 19002, 19003, 19004], pa.int32()).cast(pa.date32()),
                "note": pa.array(["x", "y", "z", "w", "v"], pa.large_string()),
            }
        ),
        path,
    )
    types = {"amount": "decimal", "day": "date"}
    driver = read_file(path, options=ReadOptions(), types=types, id_column="id")
    table, rows = read_sorted(spark, str(path), "id", pq.read_schema(path))
    assert rows.to_pylist() == [3, 4, 2, 5, 1]  # null first, then a, b, c, k
    there = read_table(table, rows, filename=str(path), sha256="s", types=types, id_column="id")
    assert there.table.equals(driver.table.sort_by("id"))
    assert there.rejected.equals(driver.rejected)
    assert there.errors == driver.errors
    assert [e.row for e in there.errors] == [3, 4]


def test_a_missing_local_file_read_by_spark_is_named(spark, tmp_path):
    from recon.engine import InputError
    from recon.engine.spark.inputs import read_sorted

    missing = tmp_path / "nothing.parquet"
    with pytest.raises(InputError, match=r"nothing\.parquet: no such file"):
        read_sorted(spark, str(missing), "id", pa.schema([("id", pa.string())]))


def test_locations():
    assert location(Path("s3a://bucket/in/left.parquet")) == "s3a://bucket/in/left.parquet"
    assert location(Path("S3://bucket/k")) == "s3://bucket/k"
    assert location(Path("/data/left.parquet")) == "/data/left.parquet"
    obj = parse("s3://bucket/in/left.parquet")
    assert (obj.bucket, obj.key, obj.s3a, obj.path) == (
        "bucket",
        "in/left.parquet",
        "s3a://bucket/in/left.parquet",
        "bucket/in/left.parquet",
    )
    assert parse("s3a://bucket/out").child("summary.json").url == "s3a://bucket/out/summary.json"


def test_this_spark_has_no_s3a(spark):
    """The machine cannot download hadoop-aws: the session says so (and S3 goes through pyarrow)."""
    from recon.engine.spark.inputs import can_read_s3a

    assert can_read_s3a(spark, "s3a://bucket/left.parquet") is False


def test_a_broken_parquet_file_is_named_by_the_driver_read(spark, files):
    """Spark's route steps aside for a file it cannot read: the driver's reader names the problem."""
    (files / "left.parquet").write_bytes(b"not parquet at all")
    result = runner.invoke(
        app,
        [
            "match",
            str(files / "left.parquet"),
            str(files / "right.parquet"),
            "--rules",
            str(files / "rules.yaml"),
            "--out",
            str(files / "out"),
            "--backend",
            "spark",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "left.parquet: not a readable Parquet file" in " ".join(result.output.split())
    assert "Traceback" not in result.output
