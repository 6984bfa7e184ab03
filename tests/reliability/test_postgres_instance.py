"""Scale-out path: the pipelines on a Dagster instance backed by a real PostgreSQL server.

Starts its own server (initdb + pg_ctl in a temp dir, a free loopback port, password auth), points
DAGSTER_HOME at ``deploy/dagster.postgres.yaml`` with the DAGSTER_PG_* variables, runs the
historical backfill, one hourly feature partition and the training pipeline, and checks that the
runs, their events and the asset records are in PostgreSQL.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests import system_deps
from tests.reliability._support import PROJECT
from titanic_assets import names
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

DEPLOY_YAML = PROJECT / "deploy" / "dagster.postgres.yaml"
HOUR = "2026-11-05-09:00"
PASSWORD = "titanic-test-pw"
SHARED_SECTIONS = (
    "run_queue",
    "concurrency",
    "run_monitoring",
    "telemetry",
)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        system_deps.missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            system_deps.missing(
                "running as root and there is no 'postgres' user to run the server as"
            )
    root = Path(tempfile.mkdtemp(prefix="titanic-pg-"))
    if os.geteuid() == 0:
        os.chown(root, server_user.pw_uid, server_user.pw_gid)
    data, log = root / "data", root / "server.log"
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, server_user.pw_uid, server_user.pw_gid)
    port = _free_port()

    def tool(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(
            _as_server_user([str(bin_dir / args[0]), *args[1:]]),
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}\n{done.stderr}"
        return done

    tool("initdb", "-D", str(data), "-U", "dagster", f"--pwfile={pwfile}",
         "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -k {root} -c fsync=off"
    tool("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        import psycopg2

        admin = psycopg2.connect(
            host="127.0.0.1", port=port, user="dagster", password=PASSWORD, dbname="postgres"
        )
        admin.autocommit = True  # CREATE DATABASE cannot run in a transaction
        admin.cursor().execute("CREATE DATABASE dagster")
        admin.close()
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_USER": "dagster",
            "DAGSTER_PG_PASSWORD": PASSWORD,
            "DAGSTER_PG_DB": "dagster",
        }
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_deploy_yaml_keeps_the_project_run_policy():
    project = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    deploy = yaml.safe_load(DEPLOY_YAML.read_text())
    for section in SHARED_SECTIONS:
        assert deploy.get(section) == project.get(section), section
    assert set(deploy["storage"]) == {"postgres"}
    db = dict(deploy["storage"]["postgres"]["postgres_db"])
    assert db.pop("scheme") == "postgresql+psycopg2"
    assert {k: v for k, v in db.items()} == {
        key: {"env": f"DAGSTER_PG_{name}"}
        for key, name in [("hostname", "HOST"), ("port", "PORT"), ("username", "USER"),
                          ("password", "PASSWORD"), ("db_name", "DB")]
    }  # fmt: skip


def test_pipelines_run_on_a_postgres_backed_instance(postgres, tmp_path, monkeypatch):
    import psycopg2

    for name, value in postgres.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    warehouse = str(tmp_path / "warehouse.duckdb")
    defs = build_definitions(warehouse)

    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        runs = {
            "historical_backfill": {},
            "feature_pipeline": {"partition_key": HOUR},
            "training_pipeline": {
                "run_config": {"ops": {names.MODEL_VERSIONS_OP: {"config": {"cv_folds": 2}}}}
            },
        }
        run_ids = {}
        for job, kwargs in runs.items():
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, **kwargs)
            assert result.success, job
            run_ids[job] = result.run_id

        # Through the instance: the runs, their status and the partition.
        stored = {r.run_id: r for r in instance.get_runs()}
        assert set(stored) == set(run_ids.values())
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in stored.values())
        assert stored[run_ids["feature_pipeline"]].tags["dagster/partition"] == HOUR
        materialized = instance.get_materialized_partitions(
            dg.AssetKey(["features", "synthetic_passengers"])
        )
        assert materialized == {HOUR}
        # The duckdb pool's limit is enforced from PostgreSQL too.
        assert instance.event_log_storage.get_concurrency_info("duckdb").slot_count == 1
    finally:
        instance.dispose()

    # Straight from PostgreSQL: the rows really are there.
    with psycopg2.connect(
        host=postgres["DAGSTER_PG_HOST"], port=int(postgres["DAGSTER_PG_PORT"]),
        user=postgres["DAGSTER_PG_USER"], password=postgres["DAGSTER_PG_PASSWORD"],
        dbname=postgres["DAGSTER_PG_DB"],
    ) as conn, conn.cursor() as cur:  # fmt: skip
        cur.execute("SELECT pipeline_name, status FROM runs ORDER BY create_timestamp")
        assert cur.fetchall() == [(job, "SUCCESS") for job in runs]
        cur.execute("SELECT run_id, count(*) FROM event_logs GROUP BY run_id")
        events = dict(cur.fetchall())
        assert set(events) == set(run_ids.values()) and min(events.values()) > 10
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
        assert cur.fetchone()[0] >= 8
        cur.execute("SELECT asset_key FROM asset_keys")
        keys = {row[0] for row in cur.fetchall()}
        assert (
            '["models", "model_versions"]' in keys and '["features", "passenger_features"]' in keys
        )

    # And the pipelines did their work in the warehouse.
    with connect(warehouse, read_only=True) as conn:
        served = conn.execute(
            "SELECT source, count(*) FROM features.passenger_features GROUP BY 1 ORDER BY 1"
        ).fetchall()
        versions = conn.execute("SELECT run_id FROM models.model_versions").fetchall()
    assert served == [("historical", 1309), ("synthetic", 20)]
    assert versions == [(run_ids["training_pipeline"],)]
