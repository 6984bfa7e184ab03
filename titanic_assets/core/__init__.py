"""Plain ML library code: no Dagster imports, so it is usable from notebooks, the CLI and tests."""
