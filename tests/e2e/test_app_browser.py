"""The Gradio apps in a real browser: `titanic app` as a subprocess on a warehouse the demo built.

The system's headless Chromium, driven by Playwright (tests/e2e/chromium.py), submits a passenger and reads the prediction
and its model version, opens each tab and checks the rendered numbers against SQL on the
warehouse, and sees new predictions arrive without a restart (a feature run and an inference
run write while the app serves). The page must load nothing from outside 127.0.0.1.

Screenshots go to the test's temporary folder; with ``TITANIC_UPDATE_DOCS=1`` they are also
written to docs/ (the README's images).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.chromium import chromium, wait_for
from tests.e2e.conftest import ROOT, free_port
from tests.warehouse_sql import CONFUSION_CELLS, LABELLED_SQL, confusion_counts, sql
from titanic_assets import settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
DOCS = ROOT / "docs"
STARTUP_S = 120
#: The demo simulates this day; the refresh test adds passengers and scores on the next one.
DEMO_DAY = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")
NEXT_DAY = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d")


MORE_PASSENGERS = """
import sys
import dagster as dg
from titanic_assets.definitions import build_definitions
from titanic_assets import names

day = sys.argv[1]
defs = build_definitions()
instance = dg.DagsterInstance.get()
config = {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"passengers_per_hour": 20}}}}
for job, kwargs in (
    ("feature_pipeline", {"partition_key": f"{day}-12:00", "run_config": config}),
    ("inference_pipeline", {"partition_key": day}),
):
    result = defs.resolve_job_def(job).execute_in_process(instance=instance, **kwargs)
    assert result.success, job
"""


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory) -> dict[str, str]:
    """`make demo`'s work (python -m titanic_assets.demo) in a temporary instance and warehouse."""
    base = tmp_path_factory.mktemp("app_demo")
    home = base / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TITANIC_DUCKDB": str(base / "app_e2e.duckdb"),
        "TITANIC_AUTOMATION": "off",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "titanic_assets.demo", "--day", DEMO_DAY],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


@pytest.fixture(scope="module")
def app_url(demo_env, tmp_path_factory) -> Iterator[str]:
    """`titanic app` on a free port of 127.0.0.1, its whole process group stopped at the end."""
    port = free_port()
    log = tmp_path_factory.mktemp("app_log") / "app.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "titanic"), "app", "--host", "127.0.0.1", "--port", str(port)],
            env=demo_env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    break
            assert time.monotonic() < deadline, f"no app after {STARTUP_S} s: {log.read_text()}"
            time.sleep(0.5)
        yield url
        assert proc.poll() is None, f"the app died: {log.read_text(errors='replace')}"
        assert "Traceback" not in log.read_text(errors="replace")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def requested() -> list[str]:
    """Every URL the page requested, from its first navigation on."""
    return []


@pytest.fixture(scope="module")
def page(app_url, requested) -> Iterator[Page]:
    with chromium() as system_chromium:
        tab = system_chromium.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(60_000)  # a loaded 2-core machine renders slowly
        tab.on("request", lambda request: requested.append(request.url))
        tab.goto(app_url)
        wait_for(tab, "the app", "!!document.querySelector('#predict-button')")
        yield tab


# --- page helpers ------------------------------------------------------------------------------


def set_value(page: Page, selector: str, value: str) -> None:
    """Type into an input as a person would, then leave it (the framework reads it on change)."""
    field = page.locator(selector).first
    field.fill(value)
    field.press("Tab")


def dataset(page: Page, testid: str, what: str, predicate: str = "true") -> dict:
    """The data-* attributes of a rendered element once ``predicate`` (JS on ``d``) holds."""
    return wait_for(
        page,
        what,
        f"""(() => {{
          const e = document.querySelector('[data-testid={testid}]');
          if (!e) return null;
          const d = {{...e.dataset}};
          return ({predicate}) && d;
        }})()""",
    )


def table(page: Page, elem_id: str, what: str, rows: int) -> list[dict[str, str]]:
    """A rendered data frame's rows as {column: cell text}, once it shows ``rows`` rows.

    Gradio draws a frame as an ARIA grid: column headers (their ``title`` is the column name)
    and virtual rows of grid cells; a small frame has every row drawn.
    """
    return wait_for(
        page,
        what,
        f"""(() => {{
          const grid = document.querySelector('#{elem_id} [role=grid]');
          if (!grid || +grid.getAttribute('aria-rowcount') !== {rows} + 1) return null;
          const heads = [...grid.querySelectorAll('th[role=columnheader]')].map(h => h.title);
          const body = [...grid.querySelectorAll('[role=row].virtual-row')].map(row =>
            Object.fromEntries([...row.querySelectorAll('[role=gridcell]')].map(
              cell => [heads[+cell.dataset.col], cell.textContent.trim()])));
          return body.length === {rows} && body;
        }})()""",
    )


def open_tab(page: Page, tab_id: str) -> None:
    page.click(f"button[role=tab][data-tab-id={tab_id}]")


def screenshot(page: Page, path: Path) -> Path:
    """The whole page (not only the window)."""
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 20_000
    if settings.value("TITANIC_UPDATE_DOCS"):
        from PIL import Image

        DOCS.mkdir(exist_ok=True)
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=64).save(DOCS / path.name, optimize=True)
    return path


# --- the tabs ----------------------------------------------------------------------------------


def test_prediction_form_scores_with_the_champion(page, demo_env, tmp_path) -> None:
    page.locator("input[type=radio][value=male]").check()
    set_value(page, "#age input", "40")
    page.click("#predict-button")
    shown = dataset(page, "prediction", "the prediction")
    cli = subprocess.run(
        [str(BIN / "titanic"), "predict", "--pclass", "3", "--sex", "male", "--age", "40",
         "--fare", "14.45", "--embarked", "S", "--json"],
        env=demo_env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    expected = json.loads(cli.stdout)
    assert int(shown["version"]) == expected["model_version"]
    assert float(shown["probability"]) == pytest.approx(expected["probability"], abs=1e-6)
    assert int(shown["survived"]) == expected["prediction"]
    champion = sql(
        demo_env["TITANIC_DUCKDB"], "SELECT version FROM models.model_versions WHERE is_champion"
    )
    assert int(shown["version"]) == int(champion["version"][0])
    assert f"v{shown['version']}" in page.inner_text("[data-testid=model-version]")
    assert "sex is female" in page.inner_text("#predict-contributions")
    screenshot(page, tmp_path / "app_predict.png")

    set_value(page, "#age input", "150")
    page.click("#predict-button")
    message = wait_for(
        page,
        "the message naming the field",
        "(() => { const t = document.querySelector('#predict-message').innerText;"
        " return t.includes('age') && t; })()",
    )
    assert "must be within 0..100" in message
    assert "Traceback" not in page.evaluate("document.body.innerText")


def test_latest_passengers_show_the_newest_and_the_history(page, demo_env, tmp_path) -> None:
    warehouse = demo_env["TITANIC_DUCKDB"]
    open_tab(page, "latest")
    newest = dataset(page, "newest", "the newest passenger")
    expected = sql(
        warehouse,
        f"SELECT * FROM ({LABELLED_SQL}) ORDER BY event_time DESC, passenger_id DESC LIMIT 20",
    )
    top = expected.iloc[0]
    outcome = {0: "died", 1: "survived"}
    assert newest["passenger"] == top["passenger_id"]
    assert newest["predicted"] == outcome[int(top["predicted_survived"])]
    assert newest["actual"] == outcome[int(top["survived"])]
    assert int(newest["version"]) == int(top["model_version"])
    table = page.inner_text("#latest-history")
    positions = [table.index(pid) for pid in expected["passenger_id"]]
    assert positions == sorted(positions)  # all 20, newest first
    right = int((expected["survived"] == expected["predicted_survived"]).sum())
    assert f"right on {right} of 20" in page.evaluate("document.body.innerText")

    set_value(page, "#lookup-id textarea, #lookup-id input", top["passenger_id"])
    page.click("#lookup-button")
    lineage = wait_for(
        page,
        "the passenger's lineage",
        "(() => { const t = document.querySelector('#lookup-result').innerText;"
        " return t.includes('synthetic partition') && t; })()",
    )
    assert top["passenger_id"] in lineage
    assert f"model v{int(top['model_version'])}" in lineage
    assert "trained on" in lineage
    screenshot(page, tmp_path / "app_latest.png")


def test_new_predictions_show_up_without_a_restart(page, demo_env) -> None:
    """A feature run and an inference run write while the app serves; the timer shows them."""
    open_tab(page, "latest")
    before = dataset(page, "newest", "the newest passenger")["passenger"]
    subprocess.run(
        [sys.executable, "-c", MORE_PASSENGERS, NEXT_DAY],
        env=demo_env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    newest = sql(
        demo_env["TITANIC_DUCKDB"],
        "SELECT passenger_id FROM inference.predictions ORDER BY event_time DESC, passenger_id DESC LIMIT 1",
    )["passenger_id"][0]
    assert newest != before
    # No click: the page's timer refreshes it (every 10 s).
    shown = dataset(page, "newest", "the new passenger", f"d.passenger === {json.dumps(newest)}")
    assert shown["passenger"] == newest
    assert "Traceback" not in page.evaluate("document.body.innerText")


def test_monitoring_tab_numbers_equal_the_warehouse(page, demo_env, tmp_path) -> None:
    warehouse = demo_env["TITANIC_DUCKDB"]
    open_tab(page, "monitoring")
    page.click("#monitoring-refresh")
    counts = confusion_counts(warehouse)
    total = sum(counts.values())
    shown = dataset(
        page,
        "confusion",
        "the all-history matrix",
        f"d.tn && (+d.tn + +d.fp + +d.fn + +d.tp) === {total}",
    )
    assert {k: int(shown[k]) for k in CONFUSION_CELLS} == counts
    per_day = sql(
        warehouse,
        "SELECT day, model_version, accuracy, f1 FROM monitoring.model_performance "
        "ORDER BY day, model_version",
    )
    assert len(per_day) >= 1  # the demo's day (and the one the refresh test adds)
    daily = table(page, "monitoring-daily", "the daily table", len(per_day))
    shown_daily = sorted(
        (row["day"], int(row["model_version"]), float(row["accuracy"]), float(row["f1"]))
        for row in daily
    )
    assert shown_daily == [
        (f"{r.day:%Y-%m-%d}", int(r.model_version), round(r.accuracy, 4), round(r.f1, 4))
        for r in per_day.itertuples()
    ]
    # Model versions: one row per registered version, the champion marked on exactly its row.
    registered = sql(warehouse, "SELECT version, is_champion FROM models.model_versions")
    versions = table(page, "monitoring-versions", "the versions table", len(registered))
    marked = [row["version"] for row in versions if row["champion"] == "★ champion"]
    champion = registered.loc[registered["is_champion"], "version"].tolist()
    assert marked == [str(v) for v in champion] and len(champion) == 1, (marked, champion)
    assert sorted(int(row["version"]) for row in versions) == sorted(registered["version"])
    # The promotion log, newest first, every reason in full.
    log = sql(
        warehouse,
        "SELECT action, version, reason FROM models.promotions ORDER BY event_id DESC",
    )
    promotions = table(page, "monitoring-promotions", "the promotion log", len(log))
    shown_log = [(row["action"], int(row["version"]), row["reason"]) for row in promotions]
    expected_log = [(r.action, int(r.version), r.reason) for r in log.itertuples()]
    assert shown_log == expected_log
    assert any(action == "promote" for action, _, _ in shown_log)
    # PSI per feature of the latest day, from the row of the version that scored most of it.
    latest = sql(
        warehouse,
        "SELECT n_predictions, psi_by_feature FROM monitoring.model_performance "
        "WHERE day = (SELECT max(day) FROM monitoring.model_performance) "
        "ORDER BY n_predictions DESC",
    )
    assert len(latest) == 1 or latest["n_predictions"][0] > latest["n_predictions"][1]
    expected_psi = json.loads(latest["psi_by_feature"][0])
    psi = table(page, "monitoring-psi", "the PSI table", len(expected_psi))
    shown_psi = {row["feature"]: float(row["psi"]) for row in psi}
    assert shown_psi == pytest.approx({f: round(v, 4) for f, v in expected_psi.items()}, abs=1e-9)
    assert len(shown_psi) >= 2 and any(v > 0 for v in shown_psi.values())
    screenshot(page, tmp_path / "app_monitoring.png")


def test_monitoring_tab_shows_calibration_and_segments(page, demo_env) -> None:
    warehouse = demo_env["TITANIC_DUCKDB"]
    open_tab(page, "monitoring")
    page.click("#monitoring-refresh")
    latest = sql(
        warehouse,
        "SELECT strftime(day, '%Y-%m-%d') AS day, brier, ece, n_labelled "
        "FROM monitoring.model_performance ORDER BY day DESC, n_predictions DESC LIMIT 1",
    ).iloc[0]
    shown = dataset(page, "calibration", "the calibration figures", f"d.day === '{latest['day']}'")
    assert float(shown["brier"]) == pytest.approx(latest["brier"])
    assert float(shown["ece"]) == pytest.approx(latest["ece"])
    assert int(shown["n"]) == latest["n_labelled"]
    cells = sql(
        warehouse,
        "SELECT s.segment, strftime(s.day, '%Y-%m-%d') AS day, s.n_labelled "
        "FROM monitoring.segment_performance s JOIN monitoring.model_performance p "
        "USING (day, model_version)",
    )
    drawn = wait_for(
        page,
        "the segment heatmap",
        f"""(() => {{
          const cells = [...document.querySelectorAll('[data-testid=segment-cell]')];
          return cells.length >= {len(cells)} && cells.map(c => ({{...c.dataset}}));
        }})()""",
    )
    by_cell = {(c["segment"], c["day"]): int(c["n"]) for c in drawn}
    for r in cells.itertuples():
        assert by_cell[(r.segment, r.day)] == r.n_labelled


def test_models_tab_shows_the_champions_card(page, demo_env, tmp_path) -> None:
    warehouse = demo_env["TITANIC_DUCKDB"]
    champion = int(
        sql(warehouse, "SELECT version FROM models.model_versions WHERE is_champion")["version"][0]
    )
    open_tab(page, "models")
    page.click("#models-refresh")
    card = wait_for(
        page,
        "the model card",
        f"""(() => {{
          const t = document.querySelector('#models-card').innerText;
          return t.includes('Model card: version {champion}') && t;
        }})()""",
    )
    for words in ("Intended use", "Calibration", "Segments", "Known limitations", "female/1"):
        assert words in card, words
    screenshot(page, tmp_path / "app_models.png")


def test_the_page_loads_nothing_from_outside(page, app_url, requested) -> None:
    """Offline by construction: no CDN, no font service, no analytics. Every request the page
    made since it opened (Playwright saw each one) went to the app itself."""
    assert len(requested) > 10, requested  # the page, its scripts, styles and API calls
    outside = [u for u in requested if not u.startswith((app_url, "data:", "blob:"))]
    assert outside == []
    links = page.evaluate(
        "[...document.querySelectorAll('link[href], script[src]')].map(e => e.href || e.src)"
    )
    assert links and all(u.startswith(app_url) for u in links), links
