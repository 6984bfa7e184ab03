"""Time partitions shared by the pipelines: hourly synthetic arrivals, daily batch scoring.

The start date is fixed in code (Dagster partition definitions must be stable); the last
partition is always the last complete hour or day.
"""

import dagster as dg

PARTITIONS_START = "2026-11-01"

HOURLY_PARTITIONS = dg.HourlyPartitionsDefinition(start_date=f"{PARTITIONS_START}-00:00")
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START)
