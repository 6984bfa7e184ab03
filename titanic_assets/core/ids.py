"""Generated passenger ids: ``<prefix>-<YYYYMMDDHH of the passenger's hour>-<number>``.

The id names the hour its passenger arrived in, so a look-up by id (``titanic lineage``, the
app) can read that hour of a long history instead of all of it. No imports beyond the standard
library: the command line parses ids before it pays for pandas.
"""

from __future__ import annotations

import re
from datetime import datetime

#: The hour in a generated id, as ``strftime`` writes it.
HOUR_STAMP = "%Y%m%d%H"
_GENERATED_ID = re.compile(r"^[A-Za-z0-9_]+-(?P<hour>\d{10})-\d+$")


def id_prefix(prefix: str, hour_start: datetime) -> str:
    """What every id generated for ``hour_start`` starts with (the number follows)."""
    return f"{prefix}-{hour_start.strftime(HOUR_STAMP)}-"


def hour_of_id(passenger_id: str) -> datetime | None:
    """The hour a generated passenger's event time lies in; None for any other id."""
    match = _GENERATED_ID.match(passenger_id)
    if match is None:
        return None
    try:
        return datetime.strptime(match["hour"], HOUR_STAMP)
    except ValueError:  # ten digits that are no hour
        return None
