"""The ``titanic`` command line: small, read-only views of the warehouse.

Each subcommand is registered by one small ``_add_<name>`` function and handled by one
``_run_<name>`` function, so adding a command touches nothing else. Exit codes: 0 success,
1 the warehouse cannot answer (no champion yet, corrupted artifact, no warehouse file), 2 bad
input (a one-line message naming the field).

The warehouse is ``$TITANIC_DUCKDB`` (see :mod:`titanic_assets.data_layer.warehouse`), opened
read-only so the CLI never blocks a running pipeline's writes for longer than a query.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_BAD_INPUT = 2

#: Seconds to wait for a writer to release the warehouse before giving up.
CONNECT_TIMEOUT_S = 30.0

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``titanic`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    return args.handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="titanic",
        description="Titanic survival: predict one passenger, follow a prediction's lineage.",
    )
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_predict(subcommands)
    # --- lineage: registered by the lead (`titanic lineage PASSENGER_ID`) -------------------
    # Add `_add_lineage(subcommands)` here, defined like `_add_predict` below.
    # -------------------------------------------------------------------------------------
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


def _run_predict(args: argparse.Namespace) -> int:
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
        return _fail(
            f"titanic predict: invalid --{error.field}: {error.field} {error.reason}",
            EXIT_BAD_INPUT,
        )

    result = _with_warehouse(_predict_with(passenger))
    if isinstance(result, int):
        return result
    if args.json:
        import json

        print(json.dumps(result))
    else:
        outcome = "survived" if result["prediction"] == 1 else "did not survive"
        print(f"prediction: {result['prediction']} ({outcome})")
        print(f"probability: {result['probability']:.3f}")
        print(f"model_version: {result['model_version']}")
    return EXIT_OK


def _predict_with(passenger) -> Callable:
    def run(conn) -> dict:
        from titanic_assets.core.predict import predict_one

        return predict_one(conn, passenger)

    return run


# --- shared --------------------------------------------------------------------------------


def _with_warehouse(action: Callable) -> object:
    """Run ``action(conn)`` on a read-only warehouse connection, mapping known failures to exit 1.

    Returns the action's result, or an exit code after printing one line to stderr.
    """
    import duckdb

    from titanic_assets.data_layer.registry import RegistryError
    from titanic_assets.data_layer.warehouse import connect, warehouse_path

    path = warehouse_path()
    try:
        with connect(path, read_only=True, timeout_s=CONNECT_TIMEOUT_S) as conn:
            return action(conn)
    except FileNotFoundError as error:
        return _fail(f"titanic: {error}", EXIT_UNAVAILABLE)
    except RegistryError as error:
        return _fail(f"titanic: {_registry_message(error)}", EXIT_UNAVAILABLE)
    except duckdb.CatalogException:
        # The registry tables do not exist yet: nothing has been trained in this warehouse.
        return _fail(
            f"titanic: no champion model in {path}: run the training pipeline first "
            "(e.g. `make demo`)",
            EXIT_UNAVAILABLE,
        )
    except duckdb.IOException as error:
        return _fail(f"titanic: cannot open warehouse {path}: {error}", EXIT_UNAVAILABLE)


def _registry_message(error: Exception) -> str:
    from titanic_assets.data_layer.registry import NoChampionError

    if isinstance(error, NoChampionError):
        return f"no champion model yet: run the training pipeline first ({error})"
    return str(error)


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
