"""S3 on Spark: the s3a settings built from the storage options, and the one-sentence answer
when the cluster lacks Hadoop's S3A connector. This machine has no hadoop-aws jar and no
network to fetch one, so Spark reading real objects is not exercised here (README: "Spark")."""

from __future__ import annotations

import pytest

import dsgrid_sql
from dsgrid_sql.engine.spark import s3a_conf, s3a_url
from dsgrid_sql.errors import EngineUnavailableError
from dsgrid_sql.storage import S3Path, StorageOptions

P = "spark.hadoop.fs.s3a."


def test_s3a_settings_come_from_the_same_options() -> None:
    options = StorageOptions.parse(
        [
            "endpoint=http://127.0.0.1:9000",
            "region=eu-west-1",
            "access_key_id=AKIDEXAMPLE",
            "secret_access_key=s3cr3t",
            "session_token=tok3n",
            "connect_timeout=2",
        ]
    )
    conf = s3a_conf(options)
    assert conf[P + "endpoint"] == "127.0.0.1:9000"
    assert conf[P + "connection.ssl.enabled"] == "false"
    assert conf[P + "path.style.access"] == "true"
    assert conf[P + "endpoint.region"] == "eu-west-1"
    assert (conf[P + "access.key"], conf[P + "secret.key"]) == ("AKIDEXAMPLE", "s3cr3t")
    assert conf[P + "session.token"] == "tok3n"
    assert conf[P + "aws.credentials.provider"].endswith("TemporaryAWSCredentialsProvider")
    assert conf[P + "connection.establish.timeout"] == "2000"
    public = s3a_conf(StorageOptions.parse(["anonymous=true", "path_style=false", "tls=true"]))
    assert public[P + "aws.credentials.provider"].endswith("AnonymousAWSCredentialsProvider")
    assert public[P + "path.style.access"] == "false"
    assert public[P + "connection.ssl.enabled"] == "true"
    assert P + "access.key" not in public
    assert s3a_url(S3Path.parse("s3://bucket/a/b.parquet")) == "s3a://bucket/a/b.parquet"


def test_the_environment_fills_what_options_leave_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://objects.example.test")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    conf = s3a_conf(StorageOptions())
    assert conf[P + "endpoint"] == "objects.example.test"
    assert conf[P + "connection.ssl.enabled"] == "true"
    assert conf[P + "endpoint.region"] == "us-west-2"
    # Credentials stay with the connector's own chain (it reads AWS_* itself).
    assert P + "access.key" not in conf


def test_a_missing_s3a_connector_names_the_package_to_add(s3_efs: str) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    with dsgrid_sql.connect(s3_efs, engine="spark") as session:
        with pytest.raises(EngineUnavailableError) as caught:
            session.sql("SELECT us_states, SUM(value) FROM data GROUP BY ALL").to_arrow()
        jvm = session.engine._spark.sparkContext._jvm  # type: ignore[attr-defined]
        version = jvm.org.apache.hadoop.util.VersionInfo.getVersion()
    message = caught.value.message
    assert f"spark.jars.packages=org.apache.hadoop:hadoop-aws:{version}" in message
    assert "s3a://" in message and "\n" not in message and "java." not in message
