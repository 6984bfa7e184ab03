"""titanic_assets: feature, training and batch-inference pipelines as Dagster assets.

Layers, top to bottom (imports only point down; ``tests/test_layering.py`` enforces it):
- ``definitions``, ``cli``, ``apps``, ``demo``: entry points.
- ``feature_pipeline``, ``training_pipeline``, ``inference_pipeline`` (+ ``automation``,
  ``partitions``):
  Dagster wiring, thin adapters over the layers below.
- ``data_layer``: the DuckDB warehouse (I/O manager, resource, DDL), the model registry and
  the other reads/writes of the warehouse.
- ``core``: plain pandas / XGBoost / GX rules with no Dagster, DuckDB or settings import; its
  functions take thresholds and paths as arguments.
- ``names`` (tables, asset keys, suites, jobs) and ``settings`` (every ``TITANIC_*`` variable,
  validated) are leaves; ``core`` uses ``names`` only.
"""

import os as _os


def _no_numpy_hugepages() -> None:
    """Ask numpy not to ``madvise(MADV_HUGEPAGE)`` its large arrays, unless the user chose.

    NumPy marks every array of 4 MiB or more for transparent huge pages. Where the kernel's
    policy is ``madvise`` (the common default) with ``defrag`` on ``madvise`` too, each first
    touch of such memory may stall in the kernel (compaction for a huge page). The pipelines
    build many short-lived arrays of a few MiB (a million passengers: every column is 8 MiB),
    and inside a run, where that memory is new each time, those stalls were a large share of
    generating an hour and of building its features (system time, not arithmetic). The
    documented ``NUMPY_MADVISE_HUGEPAGE`` variable is read once, when numpy is imported, which
    in a launched run (forked from a server that preloads pandas) is before this package; so
    the setting is applied here at run time, and an explicit ``NUMPY_MADVISE_HUGEPAGE`` wins.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in _os.environ:
        return
    import numpy

    # numpy's own switch behind NUMPY_MADVISE_HUGEPAGE; absent in some build: nothing to do.
    switch = getattr(getattr(numpy, "_core", None), "multiarray", None)
    switch = getattr(switch, "_set_madvise_hugepage", None)
    if switch is not None:
        switch(False)


_no_numpy_hugepages()
