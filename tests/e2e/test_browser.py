"""A real browser look at the live UI: the system's headless Chromium, driven by Playwright,
renders the asset graph and the monitoring asset's plots, as a newcomer would see them.

Shares the live webserver/daemon with test_live_system.py (session fixtures in conftest.py)
and waits for the first cycle (backfill, then the sensor-launched training and inference) and
for ``scored_day`` (yesterday, with passengers and batch scores) so that there is something to
plot. Screenshots go to the test's temporary folder; with
``TITANIC_UPDATE_DOCS=1`` the graph and plots are also written to docs/ (the README's images).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

from tests.e2e.chromium import chromium, wait_for
from tests.e2e.conftest import ROOT, LiveDagster
from titanic_assets import settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GROUPS = ("feature_pipeline", "training_pipeline", "inference_pipeline")
#: Group ids in the UI's "expanded" URL state: open all three groups in the global graph.
EXPANDED = ",".join(f"global@global:{group}" for group in GROUPS)
GRAPH_ASSETS = ("passenger_features", "training_data", "model_versions", "predictions")
PLOTTED_METRICS = ("accuracy", "max_psi", "n_predictions")
DOCS = ROOT / "docs"


def _texts_inside(selector: str) -> str:
    """JS: the exact texts of leaf elements inside ``selector`` (e.g. the graph's SVG)."""
    return f"""[...document.querySelectorAll({json.dumps(selector)} + ' *')]
      .filter(e => e.children.length === 0).map(e => e.textContent.trim())"""


@pytest.fixture(scope="module")
def browser(live: LiveDagster) -> Iterator[Page]:
    # Dismiss the "Join the Dagster community" dialog once, as its Skip button does.
    live.graphql("mutation { setNuxSeen }")
    with chromium() as system_chromium:
        # The UI's Content-Security-Policy forbids eval, which waiting on a JS predicate uses.
        page = system_chromium.new_page(viewport={"width": 1500, "height": 850}, bypass_csp=True)
        page.set_default_timeout(60_000)  # a loaded 2-core machine renders slowly
        # Collapse the navigation once (stored by the UI) so the graph gets the width.
        page.goto(f"{live.url}/asset-groups")
        wait_for(page, "the UI to render", "document.body.innerText.includes('Lineage')")
        _button(page, "Hide navigation").click()
        yield page


def _button(page: Page, label: str) -> Locator:
    """The button whose text is exactly ``label`` (Dagster's icons add their own aria names)."""
    return page.locator("button", has_text=re.compile(f"^{re.escape(label)}$")).first


def _save(shot: Path, name: str) -> None:
    """With TITANIC_UPDATE_DOCS=1, keep the screenshot as a small palette PNG in docs/."""
    if settings.value("TITANIC_UPDATE_DOCS"):
        from PIL import Image

        DOCS.mkdir(exist_ok=True)
        with Image.open(shot) as image:
            image.convert("RGB").quantize(colors=64).save(DOCS / name, optimize=True)


def test_asset_graph_renders_the_three_pipelines(live, first_cycle, browser, tmp_path):
    browser.goto(f"{live.url}/asset-groups?expanded={EXPANDED}")
    in_graph = _texts_inside("svg foreignObject")
    rendered = wait_for(
        browser,
        "the three groups and their assets drawn in the graph",
        f"""(() => {{
          const texts = new Set({in_graph});
          const wanted = {json.dumps([*GROUPS, *GRAPH_ASSETS])};
          return wanted.every(t => texts.has(t)) && [...texts];
        }})()""",
    )
    assert set(GROUPS) <= set(rendered)
    assert set(GRAPH_ASSETS) <= set(rendered)
    # Edges are SVG paths between the nodes: the lineage is drawn, not only the boxes.
    assert browser.evaluate("document.querySelectorAll('svg path').length") >= 8
    shot = tmp_path / "asset_graph.png"
    browser.screenshot(path=shot)
    assert shot.stat().st_size > 10_000
    _save(shot, "asset_graph.png")


def test_monitoring_asset_page_shows_the_plots(live, scored_day, browser, tmp_path):
    browser.goto(f"{live.url}/assets/monitoring/model_performance")
    wait_for(
        browser,
        "the asset page's metadata",
        "document.body.innerText.includes('Latest materialization')",
    )
    _button(browser, "Plots").click()
    wait_for(
        browser,
        "one chart per numeric monitoring figure",
        f"""(() => {{
          const texts = new Set({_texts_inside("body")});
          return document.querySelectorAll('canvas').length >= {len(PLOTTED_METRICS)}
            && {json.dumps(PLOTTED_METRICS)}.every(m => texts.has(m));
        }})()""",
    )
    # The group and the automation sensor that evaluates the day's condition are on the page.
    page = browser.evaluate("document.body.innerText")
    assert "inference_pipeline" in page
    assert "default_automation_condition_sensor" in page
    browser.evaluate("document.querySelector('canvas').scrollIntoView({block: 'center'})")
    shot = tmp_path / "monitoring_plots.png"
    browser.screenshot(path=shot)
    assert shot.stat().st_size > 10_000
    _save(shot, "monitoring_plots.png")
