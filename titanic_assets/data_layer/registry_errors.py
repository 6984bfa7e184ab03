"""The registry's failures, apart from the registry itself.

A command that only reads the warehouse (``titanic lineage``) still has to tell a registry
failure from others, and importing :mod:`titanic_assets.data_layer.registry` for its exception
classes would load pandas and the model code, the largest part of the command's start-up
(`tests/test_lineage_cycle.py` checks it loads neither). The registry raises these and
re-exports them.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base class of registry failures."""


class ModelNotFoundError(RegistryError):
    """No model version with that number."""


class NoChampionError(RegistryError):
    """No version has been promoted yet (train one first)."""


class ArtifactIntegrityError(RegistryError):
    """The stored artifact does not match its SHA-256 or signature, or is not a loadable model."""
