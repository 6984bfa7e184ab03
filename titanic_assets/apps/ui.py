"""The Gradio app: three tabs wired to :mod:`~titanic_assets.apps.data` and rendered by
:mod:`~titanic_assets.apps.render`; no warehouse logic here.

Offline by construction: analytics off before Gradio is imported (it otherwise phones home
for a version check), no share link, no server-side rendering (it would start Node), and a
theme with system fonts only (the default theme may fetch Google Fonts).
"""

from __future__ import annotations

import logging
import os
from typing import Any

# Set before gradio is imported anywhere in this process: the import itself reads it.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr

from titanic_assets.apps import data, render
from titanic_assets.core.predict import PassengerInputError
from titanic_assets.core.schema import AGE_RANGE, FAMILY_RANGE, FARE_RANGE

LOG = logging.getLogger(__name__)

#: Seconds between automatic refreshes of the Latest passengers and Model monitoring tabs.
REFRESH_S = 10.0
TITLE = "Titanic survival"

CLASSES = [("1st class", 1), ("2nd class", 2), ("3rd class", 3)]
PORTS = [("Cherbourg (C)", "C"), ("Queenstown (Q)", "Q"), ("Southampton (S)", "S")]
SEXES = [("female", "female"), ("male", "male")]


def _message(error: Exception) -> str:
    """A failure as one line for the page (never a traceback)."""
    if isinstance(error, PassengerInputError):
        return f"⚠ **{error.field}** {error.reason}"
    if isinstance(error, data.AppDataError):
        return f"⚠ {error}"
    LOG.exception("app request failed")
    return f"⚠ The app could not answer: {type(error).__name__}: {error}"


def build_app(reader: data.WarehouseReader | None = None) -> gr.Blocks:
    """The Blocks app on ``reader`` (a new reader of ``$TITANIC_DUCKDB`` by default)."""
    reader = reader or data.WarehouseReader()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\nWarehouse: `{reader.path}`")
        with gr.Tab("Will they survive?", id="predict"):
            _predict_tab(reader)
        with gr.Tab("Latest passengers", id="latest"):
            latest_outputs, refresh_latest = _latest_tab(reader)
        with gr.Tab("Model monitoring", id="monitoring"):
            monitoring_outputs, refresh_monitoring = _monitoring_tab(reader)
        with gr.Tab("Models", id="models"):
            models_outputs, refresh_models = _models_tab(reader)
        app.load(refresh_models, outputs=models_outputs)
        timer = gr.Timer(REFRESH_S)
        for fn, outputs in (
            (refresh_latest, latest_outputs),
            (refresh_monitoring, monitoring_outputs),
        ):
            app.load(fn, outputs=outputs)
            timer.tick(fn, outputs=outputs)
    return app


def _predict_tab(reader: data.WarehouseReader) -> None:
    gr.Markdown(
        "Enter a passenger: the champion model scores it through the same feature function "
        "as the pipelines and explains its answer. Leave age or fare empty if unknown."
    )
    with gr.Row():
        with gr.Column():
            pclass = gr.Dropdown(CLASSES, value=3, label="Ticket class")
            sex = gr.Radio(SEXES, value="female", label="Sex")
            age = gr.Number(
                value=29, elem_id="age", label=f"Age in years ({AGE_RANGE[0]:g}-{AGE_RANGE[1]:g})"
            )
            fare = gr.Number(
                value=14.45, label=f"Fare in pounds ({FARE_RANGE[0]:g}-{FARE_RANGE[1]:g})"
            )
            embarked = gr.Dropdown(PORTS, value="S", label="Port of embarkation")
            sibsp = gr.Slider(*FAMILY_RANGE, value=0, step=1, label="Siblings / spouses aboard")
            parch = gr.Slider(*FAMILY_RANGE, value=0, step=1, label="Parents / children aboard")
            submit = gr.Button("Will they survive?", variant="primary", elem_id="predict-button")
        with gr.Column():
            message = gr.Markdown(elem_id="predict-message")
            verdict = gr.HTML(elem_id="predict-verdict")
            why = gr.Plot(label="Why", format="png")
            table = gr.Dataframe(
                headers=["feature", "value", "contribution (log-odds)"],
                label="Contributions",
                interactive=False,
                elem_id="predict-contributions",
            )

    def run(*values: Any) -> tuple:
        names = ("pclass", "sex", "age", "fare", "embarked", "sibsp", "parch")
        try:
            result = data.predict(reader, **dict(zip(names, values, strict=True)))
        except Exception as error:
            return _message(error), "", None, None
        return (
            render.status_md(result.view.status()),
            render.prediction_html(result),
            render.explanation_figure(result),
            render.explanation_table(result),
        )

    submit.click(
        run,
        inputs=[pclass, sex, age, fare, embarked, sibsp, parch],
        outputs=[message, verdict, why, table],
    )


def _latest_tab(reader: data.WarehouseReader):
    with gr.Row():
        status = gr.Markdown(elem_id="latest-status")
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="latest-refresh")
    message = gr.Markdown(elem_id="latest-message")
    newest = gr.HTML(elem_id="latest-newest")
    summary = gr.Markdown()
    history = gr.Dataframe(
        label="Recent predictions (newest first)", interactive=False, elem_id="latest-history"
    )
    gr.Markdown("### Look up a passenger\nWhat `titanic lineage` shows for one passenger id.")
    with gr.Row():
        passenger_id = gr.Textbox(label="Passenger id", elem_id="lookup-id", scale=3)
        look = gr.Button("Look up", elem_id="lookup-button", scale=1)
    lineage = gr.Markdown(elem_id="lookup-result")

    def refresh_fn() -> tuple:
        try:
            view = reader.view()
            found = data.latest(view.snapshot)
        except Exception as error:
            return "", _message(error), "", "", None
        return (
            render.status_md(view.status()),
            "",
            render.newest_html(found),
            render.recent_summary_md(found),
            found.history[render.HISTORY_COLUMNS],
        )

    def lookup_fn(key: str) -> str:
        try:
            return render.lineage_md(data.lookup(reader, key))
        except Exception as error:
            return _message(error)

    outputs = [status, message, newest, summary, history]
    refresh.click(refresh_fn, outputs=outputs)
    look.click(lookup_fn, inputs=passenger_id, outputs=lineage)
    passenger_id.submit(lookup_fn, inputs=passenger_id, outputs=lineage)
    return outputs, refresh_fn


def _monitoring_tab(reader: data.WarehouseReader):
    with gr.Row():
        status = gr.Markdown(elem_id="monitoring-status")
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="monitoring-refresh")
    message = gr.Markdown(elem_id="monitoring-message")
    gr.Markdown("### Accuracy and F1 per day and model version")
    performance = gr.Plot(show_label=False, format="png")
    daily = gr.Dataframe(interactive=False, elem_id="monitoring-daily")
    gr.Markdown("### Confusion matrix over all labelled history")
    with gr.Row():
        confusion = gr.Plot(show_label=False, format="png")
        confusion_text = gr.HTML(elem_id="monitoring-confusion")
    gr.Markdown("### Drift: PSI per feature (latest day) and its trend")
    psi = gr.Plot(show_label=False, format="png")
    psi_table = gr.Dataframe(interactive=False, elem_id="monitoring-psi")
    gr.Markdown("### Calibration: does 30% mean 30%? (latest day)")
    with gr.Row():
        reliability = gr.Plot(show_label=False, format="png")
        calibration = gr.HTML(elem_id="monitoring-calibration")
    gr.Markdown("### Segments: accuracy per sex and ticket class, recent days")
    segments = gr.HTML(elem_id="monitoring-segments")
    gr.Markdown("### Champion vs shadow challengers (same labelled passengers)")
    shadow = gr.Dataframe(interactive=False, elem_id="monitoring-shadow")
    gr.Markdown("### Model versions (★ = champion) and the promotion log")
    versions = gr.Dataframe(interactive=False, elem_id="monitoring-versions")
    promotions = gr.Dataframe(interactive=False, elem_id="monitoring-promotions")

    def refresh_fn() -> tuple:
        try:
            view = reader.view()
            found = data.monitoring(view.snapshot)
        except Exception as error:
            return ("", _message(error), None, None, None, "", None, None, None, None,
                    None, "", "", None)  # fmt: skip
        return (
            render.status_md(view.status()),
            "",
            render.performance_figure(found),
            found.daily.round(4),
            render.confusion_figure(found),
            render.confusion_html(found),
            render.psi_figure(found),
            found.psi_latest.round(4),
            found.versions.round(4),
            found.promotions,
            render.reliability_figure(found),
            render.calibration_html(found),
            render.segments_html(found),
            found.shadow.round(4),
        )

    outputs = [status, message, performance, daily, confusion, confusion_text, psi, psi_table,
               versions, promotions, reliability, calibration, segments, shadow]  # fmt: skip
    refresh.click(refresh_fn, outputs=outputs)
    return outputs, refresh_fn


def _models_tab(reader: data.WarehouseReader):
    """Every version's model card: pick a version, read its card (registry + monitoring)."""
    with gr.Row():
        choice = gr.Dropdown(label="Model version", choices=[], elem_id="models-version", scale=3)
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="models-refresh")
    message = gr.Markdown(elem_id="models-message")
    card = gr.Markdown(elem_id="models-card")

    def show(picked: str | None) -> tuple:
        if not picked:
            return "", ""
        try:
            return "", data.card(reader, picked)
        except Exception as error:
            return _message(error), ""

    def refresh_fn() -> tuple:
        try:
            choices = data.version_choices(reader.view().snapshot)
        except Exception as error:
            return gr.update(choices=[], value=None), _message(error), ""
        if not choices:
            return gr.update(choices=[], value=None), data.NEED_CHAMPION, ""
        first = next((c for c in choices if "champion" in c), choices[0])
        shown_message, shown_card = show(first)
        return gr.update(choices=choices, value=first), shown_message, shown_card

    choice.input(show, inputs=choice, outputs=[message, card])
    outputs = [choice, message, card]
    refresh.click(refresh_fn, outputs=outputs)
    return outputs, refresh_fn


def theme() -> gr.themes.Base:
    """The default look with system fonts: nothing is fetched from a font CDN."""
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def serve(host: str = "127.0.0.1", port: int = 7860, warehouse: str | None = None) -> None:
    """Run the app until interrupted (``titanic app``); never shares a public link."""
    app = build_app(data.WarehouseReader(warehouse))
    app.queue(default_concurrency_limit=4)
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        show_error=False,
        inbrowser=False,
        theme=theme(),
        footer_links=[],
    )
