"""The Gradio layer: offline launch settings and the one-line messages (no server started)."""

from __future__ import annotations

import os

import pytest

from titanic_assets.apps import data


def test_serve_launches_offline_on_loopback(monkeypatch, tmp_path) -> None:
    from titanic_assets.apps import ui

    captured: dict = {}
    monkeypatch.setattr(ui.gr.Blocks, "launch", lambda self, **kwargs: captured.update(kwargs))
    ui.serve(warehouse=str(tmp_path / "absent.duckdb"))
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert captured["server_name"] == "127.0.0.1" and captured["server_port"] == 7860
    assert captured["share"] is False and captured["ssr_mode"] is False
    fonts = [str(f) for f in captured["theme"].font + captured["theme"].font_mono]
    assert not any("Google" in f for f in fonts)  # no web-font download


def test_build_app_has_the_four_tabs_and_analytics_off(tmp_path) -> None:
    from titanic_assets.apps import ui

    app = ui.build_app(data.WarehouseReader(str(tmp_path / "absent.duckdb")))
    assert app.analytics_enabled is False
    labels = {getattr(block, "label", None) for block in app.blocks.values()}
    assert {"Will they survive?", "Latest passengers", "Model monitoring", "Models"} <= labels


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (data.PassengerInputError("age", "must be within 0..100 (got 150)"), "**age** must be"),
        (data.AppDataError(data.NEED_CHAMPION), "training_pipeline"),
        (RuntimeError("boom"), "could not answer: RuntimeError: boom"),
    ],
)
def test_failures_become_one_line_messages(error, expected) -> None:
    from titanic_assets.apps import ui

    message = ui._message(error)
    assert expected in message and "\n" not in message and "Traceback" not in message
