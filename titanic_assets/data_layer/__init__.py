"""Storage: the DuckDB warehouse (I/O manager, resource, DDL) and the model registry."""
