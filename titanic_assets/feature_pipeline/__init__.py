"""Feature pipeline: historical backfill, hourly synthetic passengers, features, GX checks."""
