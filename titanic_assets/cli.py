"""The ``titanic`` command line: small, read-only views of the warehouse.

Each subcommand is registered by one small ``_add_<name>`` function and handled by one
``_run_<name>`` function, so adding a command touches nothing else. Error protocol: a command
raises :class:`CommandError` (a message and an exit code); :func:`main` alone prints it as one
line on stderr and returns the code. Exit codes: 0 success, 1 the warehouse cannot answer (no
champion yet, corrupted artifact, no warehouse file, locked by another process), 2 bad input
(a message naming the field), including a bad ``TITANIC_*`` setting.

The warehouse is ``$TITANIC_DUCKDB`` (see :mod:`titanic_assets.data_layer.warehouse`), opened
read-only so the CLI never blocks a running pipeline's writes for longer than a query.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_BAD_INPUT = 2

#: Seconds to wait for a writer to release the warehouse before giving up.
CONNECT_TIMEOUT_S = 30.0

T = TypeVar("T")


class CommandError(Exception):
    """A command cannot do what was asked; ``main`` prints the message and exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_UNAVAILABLE) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``titanic`` console script: the one place errors become exit codes."""
    from titanic_assets import settings

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        settings.load()  # a bad TITANIC_* value: one line naming it, before any work
        args.handler(args)
    except settings.SettingsError as error:
        print(f"titanic: invalid setting: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CommandError as error:
        print(str(error), file=sys.stderr)
        return error.code
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="titanic",
        description="Titanic survival: predict one passenger, follow a prediction's lineage.",
    )
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_predict(subcommands)
    _add_lineage(subcommands)
    _add_models(subcommands)
    _add_card(subcommands)
    _add_promote(subcommands)
    _add_rollback(subcommands)
    _add_app(subcommands)
    return parser


# --- predict -------------------------------------------------------------------------------


def _add_predict(subcommands) -> None:
    cmd = subcommands.add_parser(
        "predict",
        help="score one passenger with the champion model",
        description=(
            "Score one passenger with the current champion model, through the same feature "
            "code as training. Unknown age, fare or port may be left out."
        ),
    )
    # Values are taken as text and validated by PassengerInput, so every bad value gets the
    # same one-line, field-naming message (argparse's own type errors print a usage block).
    cmd.add_argument("--pclass", required=True, help="ticket class: 1, 2 or 3")
    cmd.add_argument("--sex", required=True, help="female or male")
    cmd.add_argument("--age", default=None, help="years, 0-100 (optional)")
    cmd.add_argument("--fare", default=None, help="ticket fare, 0-1000 (optional)")
    cmd.add_argument("--embarked", default=None, help="port: C, Q or S (optional)")
    cmd.add_argument("--sibsp", default="0", help="siblings/spouses aboard, 0-10 (default 0)")
    cmd.add_argument("--parch", default="0", help="parents/children aboard, 0-10 (default 0)")
    cmd.add_argument("--json", action="store_true", help="print the result as JSON")
    cmd.set_defaults(handler=_run_predict)


def _run_predict(args: argparse.Namespace) -> None:
    from titanic_assets.core.predict import PassengerInput, PassengerInputError

    try:
        passenger = PassengerInput.parse(
            pclass=args.pclass,
            sex=args.sex,
            age=args.age,
            fare=args.fare,
            embarked=args.embarked,
            sibsp=args.sibsp,
            parch=args.parch,
        )
    except PassengerInputError as error:
        raise CommandError(
            f"titanic predict: invalid --{error.field}: {error.field} {error.reason}",
            EXIT_BAD_INPUT,
        ) from None

    result = _with_warehouse(_predict_with(passenger))
    if args.json:
        import json

        print(json.dumps(result))
    else:
        outcome = "survived" if result["prediction"] == 1 else "did not survive"
        print(f"prediction: {result['prediction']} ({outcome})")
        print(f"probability: {result['probability']:.3f}")
        print(f"model_version: {result['model_version']}")


def _predict_with(passenger) -> Callable:
    def run(conn) -> dict:
        from titanic_assets.data_layer.serving import predict_one

        return predict_one(conn, passenger)

    return run


# --- lineage -------------------------------------------------------------------------------


def _add_lineage(subcommands) -> None:
    cmd = subcommands.add_parser(
        "lineage",
        help="trace one passenger: source, features, checks, predictions, model versions",
        description=(
            "Show where a passenger came from (historical file row or synthetic partition), "
            "its feature row and data-quality verdict, every prediction with the model "
            "version that made it, and each version's training data and metrics."
        ),
    )
    cmd.add_argument("passenger_id", help="e.g. titanic3-41330420f6f5a8cf or syn-2026112705-000001")
    cmd.add_argument("--json", action="store_true", help="print the full record as JSON")
    cmd.set_defaults(handler=_run_lineage)


def _run_lineage(args: argparse.Namespace) -> None:
    from titanic_assets.data_layer.lineage import PassengerNotFoundError, passenger_lineage

    passenger_id = args.passenger_id.strip()
    if not passenger_id:
        raise CommandError(
            "titanic lineage: invalid PASSENGER_ID: must not be empty", EXIT_BAD_INPUT
        )

    def run(conn):
        try:
            return passenger_lineage(conn, passenger_id)
        except PassengerNotFoundError as error:
            raise CommandError(f"titanic lineage: {error}") from None

    result = _with_warehouse(run)
    if args.json:
        import json

        print(json.dumps(result, indent=2, default=str))
    else:
        print(_lineage_text(result))


def _lineage_text(record: dict) -> str:
    """The lineage as a short human-readable report, newest facts last."""
    from titanic_assets.data_layer.lineage import lineage_facts

    lines = [f"passenger {record['passenger_id']}"]
    lines += [f"  {label:<11} {text}" for label, text in lineage_facts(record)]
    return "\n".join(lines)


# --- registry: models, promote, rollback --------------------------------------------------


def _add_models(subcommands) -> None:
    cmd = subcommands.add_parser("models", help="list registered model versions")
    cmd.set_defaults(handler=_run_models)


def _run_models(args: argparse.Namespace) -> None:
    def run(conn):
        from titanic_assets.data_layer import registry

        return registry.list_versions(conn)

    versions = _with_warehouse(run)
    columns = ["version", "is_champion", "accuracy", "f1", "roc_auc", "training_rows",
               "training_cutoff", "created_at"]  # fmt: skip
    print(versions[columns].to_string(index=False) if len(versions) else "no model versions yet")


def _add_card(subcommands) -> None:
    cmd = subcommands.add_parser(
        "card",
        help="print the model card of one version (Markdown)",
        description="Print VERSION's model card as Markdown, from the registry and monitoring: "
        "intended use, training window and rows, data hash, parameters, holdout metrics with "
        "calibration (Brier, ECE) and segments, live results as champion or in the shadow, "
        "promotion decisions, signature status and known limitations.",
    )
    cmd.add_argument("version", help="registered model version (integer)")
    cmd.set_defaults(handler=_run_card)


def _version_arg(command: str, text: str) -> int:
    """A VERSION argument as an integer, or the bad-input error naming it."""
    try:
        return int(text)
    except ValueError:
        raise CommandError(
            f"titanic {command}: invalid VERSION: must be an integer (got {text!r})",
            EXIT_BAD_INPUT,
        ) from None


def _run_card(args: argparse.Namespace) -> None:
    version = _version_arg("card", args.version)

    def run(conn) -> str:
        from titanic_assets.data_layer.cards import model_card

        return model_card(conn, version)

    print(_with_warehouse(run), end="")


def _add_promote(subcommands) -> None:
    cmd = subcommands.add_parser(
        "promote",
        help="make a registered version the champion (by hand)",
        description="Promote VERSION to champion; the reason is logged in models.promotions. "
        "The change is reported to the Dagster instance at $DAGSTER_HOME (models/champion), "
        "which re-scores today's predictions as the promote_model job does.",
    )
    cmd.add_argument("version", help="registered model version (integer)")
    cmd.add_argument("--reason", required=True, help="why the champion changes")
    cmd.set_defaults(handler=_run_promote)


def _run_promote(args: argparse.Namespace) -> None:
    version = _version_arg("promote", args.version)
    if not args.reason.strip():
        raise CommandError("titanic promote: invalid --reason: must not be empty", EXIT_BAD_INPUT)

    def run(conn) -> None:
        from titanic_assets.data_layer import registry

        registry.promote(conn, version, f"manual (CLI): {args.reason}")

    _with_warehouse(run, read_only=False)
    print(f"champion: v{version}")
    _announce_champion(version, f"promote (CLI): v{version}: {args.reason}")


def _add_rollback(subcommands) -> None:
    cmd = subcommands.add_parser(
        "rollback",
        help="return to the previous champion",
        description="Return to the previous champion; reported to the Dagster instance like "
        "`titanic promote`, so today's predictions are re-scored.",
    )
    cmd.add_argument("--reason", required=True, help="why the champion changes")
    cmd.set_defaults(handler=_run_rollback)


def _run_rollback(args: argparse.Namespace) -> None:
    if not args.reason.strip():
        raise CommandError("titanic rollback: invalid --reason: must not be empty", EXIT_BAD_INPUT)

    def run(conn) -> int:
        from titanic_assets.data_layer import registry

        return registry.rollback(conn, f"manual (CLI): {args.reason}")

    version = _with_warehouse(run, read_only=False)
    print(f"champion: v{version}")
    _announce_champion(version, f"rollback (CLI): to v{version}: {args.reason}")


def _announce_champion(version: int, decision: str) -> None:
    """Report the champion change to the Dagster instance, as the promote_model job does: the
    predictions' automation condition then re-scores today (models/champion is their input).

    Without ``$DAGSTER_HOME`` there is no instance to tell: say so rather than pretend."""
    if not os.environ.get("DAGSTER_HOME"):
        print(
            "note: DAGSTER_HOME is not set, so no Dagster instance was told of the change; "
            "predictions use the new champion from their next run",
            file=sys.stderr,
        )
        return
    import dagster as dg

    from titanic_assets.training_pipeline.champion import report_champion_change

    with dg.DagsterInstance.get() as instance:
        report_champion_change(instance, version, decision, "titanic CLI")
    print("reported to Dagster (models/champion): today's predictions will be re-scored")


# --- app -----------------------------------------------------------------------------------


def _add_app(subcommands) -> None:
    cmd = subcommands.add_parser(
        "app",
        help="start the Gradio apps (prediction form, latest passengers, monitoring)",
        description="Serve the Gradio apps on the warehouse $TITANIC_DUCKDB names, offline "
        "(no analytics, no share link). Reads use short read-only connections, so the app "
        "can run next to the pipelines.",
    )
    cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    cmd.add_argument("--port", default="7860", help="port, 1-65535 (default 7860)")
    cmd.set_defaults(handler=_run_app)


def _run_app(args: argparse.Namespace) -> None:
    try:
        port = int(args.port)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise CommandError(
            f"titanic app: invalid --port: must be an integer 1-65535 (got {args.port!r})",
            EXIT_BAD_INPUT,
        )
    from titanic_assets.apps.ui import serve

    try:
        serve(args.host, port)
    except OSError as error:  # e.g. the port is taken
        raise CommandError(f"titanic app: cannot serve on {args.host}:{port}: {error}") from None


# --- shared --------------------------------------------------------------------------------


def _with_warehouse(action: Callable[[Any], T], *, read_only: bool = True) -> T:
    """``action(conn)`` on a warehouse connection; known failures become a :class:`CommandError`.

    Read-only unless the command changes the registry (promote, rollback).
    """
    import duckdb

    from titanic_assets.data_layer.registry_errors import NoChampionError, RegistryError
    from titanic_assets.data_layer.warehouse import WarehouseLockedError, connect, warehouse_path

    path = warehouse_path()
    try:
        if not read_only and not Path(path).exists():
            raise FileNotFoundError(f"warehouse {path} does not exist yet: run `make demo` first")
        with connect(path, read_only=read_only, timeout_s=CONNECT_TIMEOUT_S) as conn:
            return action(conn)
    except FileNotFoundError as error:
        raise CommandError(f"titanic: {error}") from None
    except NoChampionError as error:
        raise CommandError(
            f"titanic: no champion model yet: run the training pipeline first ({error})"
        ) from None
    except RegistryError as error:
        raise CommandError(f"titanic: {error}") from None
    except duckdb.CatalogException:
        # The registry tables do not exist yet: nothing has been trained in this warehouse.
        raise CommandError(
            f"titanic: no champion model in {path}: run the training pipeline first "
            "(e.g. `make demo`)"
        ) from None
    except WarehouseLockedError as error:
        raise CommandError(f"titanic: {error}") from None
    except duckdb.IOException as error:
        raise CommandError(f"titanic: cannot open warehouse {path}: {error}") from None


if __name__ == "__main__":
    sys.exit(main())
