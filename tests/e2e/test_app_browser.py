"""The Gradio apps in a real browser: `titanic app` as a subprocess on a warehouse the demo built.

Headless Chromium (the CDP helper in browser.py) submits a passenger and reads the prediction
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

from tests import system_deps
from tests.e2e.browser import Browser, find_chromium
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

day = sys.argv[1]
defs = build_definitions()
instance = dg.DagsterInstance.get()
config = {"ops": {"features__synthetic_passengers": {"config": {"passengers_per_hour": 20}}}}
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
def page(app_url, tmp_path_factory) -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        system_deps.missing(
            "chromium is not installed (apt-get install chromium; CI's .ci/run does)"
        )
    base = tmp_path_factory.mktemp("app_chromium")
    browser = Browser(executable, base / "profile", free_port(), size=(1400, 1000))
    try:
        browser.goto(app_url)
        browser.wait_for("the app", "!!document.querySelector('#predict-button')")
        yield browser
    finally:
        browser.close()


# --- page helpers ------------------------------------------------------------------------------


def set_value(page: Browser, selector: str, value: str) -> None:
    """Type into an input as a person would (the framework listens to input events)."""
    page.evaluate(
        f"""(() => {{
          const el = document.querySelector({json.dumps(selector)});
          const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement : HTMLInputElement;
          Object.getOwnPropertyDescriptor(proto.prototype, 'value').set.call(el, {json.dumps(value)});
          el.dispatchEvent(new Event('input', {{bubbles: true}}));
          el.dispatchEvent(new Event('change', {{bubbles: true}}));
        }})()"""
    )


def click(page: Browser, selector: str) -> None:
    page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


def dataset(page: Browser, testid: str, what: str, predicate: str = "true") -> dict:
    """The data-* attributes of a rendered element once ``predicate`` (JS on ``d``) holds."""
    return page.wait_for(
        what,
        f"""(() => {{
          const e = document.querySelector('[data-testid={testid}]');
          if (!e) return null;
          const d = {{...e.dataset}};
          return ({predicate}) && d;
        }})()""",
    )


def text(page: Browser, selector: str) -> str:
    return page.evaluate(f"document.querySelector({json.dumps(selector)}).innerText")


def open_tab(page: Browser, tab_id: str) -> None:
    click(page, f"button[role=tab][data-tab-id={tab_id}]")


def screenshot(page: Browser, path: Path) -> Path:
    """The whole page (not only the window), then back to the window size."""
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    metrics = {"width": 1400, "deviceScaleFactor": 1, "mobile": False}
    page.call("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(height, 4000)})
    time.sleep(0.5)
    try:
        shot = page.screenshot(path)
    finally:
        page.call("Emulation.setDeviceMetricsOverride", {**metrics, "height": 1000})
    assert shot.stat().st_size > 20_000
    if settings.value("TITANIC_UPDATE_DOCS"):
        from PIL import Image

        DOCS.mkdir(exist_ok=True)
        with Image.open(shot) as image:
            image.convert("RGB").quantize(colors=64).save(DOCS / path.name, optimize=True)
    return shot


# --- the tabs ----------------------------------------------------------------------------------


def test_prediction_form_scores_with_the_champion(page, demo_env, tmp_path) -> None:
    page.evaluate(
        "[...document.querySelectorAll('input[type=radio]')].find(e => e.value === 'male').click()"
    )
    set_value(page, "#age input", "40")
    click(page, "#predict-button")
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
    assert f"v{shown['version']}" in text(page, "[data-testid=model-version]")
    assert "sex is female" in text(page, "#predict-contributions")
    screenshot(page, tmp_path / "app_predict.png")

    set_value(page, "#age input", "150")
    click(page, "#predict-button")
    message = page.wait_for(
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
    table = text(page, "#latest-history")
    positions = [table.index(pid) for pid in expected["passenger_id"]]
    assert positions == sorted(positions)  # all 20, newest first
    right = int((expected["survived"] == expected["predicted_survived"]).sum())
    assert f"right on {right} of 20" in page.evaluate("document.body.innerText")

    set_value(page, "#lookup-id textarea, #lookup-id input", top["passenger_id"])
    click(page, "#lookup-button")
    lineage = page.wait_for(
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
    click(page, "#monitoring-refresh")
    counts = confusion_counts(warehouse)
    total = sum(counts.values())
    shown = dataset(
        page,
        "confusion",
        "the all-history matrix",
        f"d.tn && (+d.tn + +d.fp + +d.fn + +d.tp) === {total}",
    )
    assert {k: int(shown[k]) for k in CONFUSION_CELLS} == counts
    daily = text(page, "#monitoring-daily")
    per_day = sql(
        warehouse,
        "SELECT day, model_version, accuracy, f1 FROM monitoring.model_performance ORDER BY day",
    )
    assert len(per_day) >= 1  # the demo's day (and the one the refresh test adds)
    for row in per_day.to_dict("records"):
        assert f"{row['day']:%Y-%m-%d}" in daily
        assert f"{round(row['accuracy'], 4):g}" in daily and f"{round(row['f1'], 4):g}" in daily
    versions = text(page, "#monitoring-versions")
    champion = sql(warehouse, "SELECT version FROM models.model_versions WHERE is_champion")
    assert "★ champion" in versions and str(int(champion["version"][0])) in versions
    reasons = sql(warehouse, "SELECT reason FROM models.promotions WHERE action = 'promote'")
    promotions = text(page, "#monitoring-promotions")
    assert all(r[:25] in promotions for r in reasons["reason"])
    psi = text(page, "#monitoring-psi")
    assert "age" in psi and "fare" in psi
    screenshot(page, tmp_path / "app_monitoring.png")


def test_monitoring_tab_shows_calibration_and_segments(page, demo_env) -> None:
    warehouse = demo_env["TITANIC_DUCKDB"]
    open_tab(page, "monitoring")
    click(page, "#monitoring-refresh")
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
    drawn = page.wait_for(
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
    click(page, "#models-refresh")
    card = page.wait_for(
        "the model card",
        f"""(() => {{
          const t = document.querySelector('#models-card').innerText;
          return t.includes('Model card: version {champion}') && t;
        }})()""",
    )
    for words in ("Intended use", "Calibration", "Segments", "Known limitations", "female/1"):
        assert words in card, words
    screenshot(page, tmp_path / "app_models.png")


def test_the_page_loads_nothing_from_outside(page, app_url) -> None:
    """Offline by construction: no CDN, no font service, no analytics."""
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded, "the resource timing list is empty"
    outside = [u for u in loaded if not u.startswith(app_url) and not u.startswith("data:")]
    assert outside == []
    links = page.evaluate(
        "[...document.querySelectorAll('link[href], script[src]')].map(e => e.href || e.src)"
    )
    assert all(u.startswith(app_url) for u in links), links
