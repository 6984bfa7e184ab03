"""Model signatures: HMAC-SHA256 with a key kept outside the warehouse.

Why: the registry row holds the artifact *and* its SHA-256, so whoever can write that row can
swap in another valid model and fix the hash. A signature made with a key the warehouse does
not hold closes that gap: every load recomputes it and refuses a version whose signature is
missing or wrong.

The key comes from, in order:

1. ``$TITANIC_MODEL_SIGNING_KEY`` (deployments: put it in the secret store that feeds the
   environment of the daemon, the run workers, the CLI and the app) — at least 32 characters;
2. else the file ``titanic_model_signing.key`` in ``$DAGSTER_HOME`` (the project's
   ``.dagster_home`` when unset, the folder the ``make`` targets default to), created on first
   use with a random 256-bit key and permissions 0600. A key file readable by group or others
   is refused.

What is signed: the version number, the model's input columns (JSON) and the artifact's
SHA-256, so an artifact cannot be moved to another version or another column list either.

What this protects against: someone who can write the warehouse (or restore a doctored copy
of it) but cannot read the key. They can no longer get a model of their choosing served.

What it does NOT protect against: anyone who can read the key (``$DAGSTER_HOME``, the process
environment) — they can sign anything; promoting or rolling back to *another correctly signed*
version by editing ``is_champion``; edits of the metrics, lineage or promotion log, which are
not signed. Losing the key makes every version unloadable: retrain (or restore the key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from titanic_assets import settings

KEY_ENV = "TITANIC_MODEL_SIGNING_KEY"
KEY_FILE_NAME = "titanic_model_signing.key"
MIN_KEY_CHARS = settings.MIN_SIGNING_KEY_CHARS
#: The make targets' default instance folder, used when DAGSTER_HOME is unset.
DEFAULT_DAGSTER_HOME = Path(__file__).resolve().parents[2] / ".dagster_home"
_SCHEME = "titanic-model-signature-v1"


class SigningKeyError(Exception):
    """The signing key is missing, malformed or unsafely stored."""


def _setting(name: str) -> str | None:
    """DAGSTER_HOME, as Dagster reads it (TITANIC_* variables go through ``settings``)."""
    value = os.environ.get(name)
    return value if value is not None and value.strip() else None


def key_path() -> Path:
    """Where the key file lives when ``$TITANIC_MODEL_SIGNING_KEY`` is not set."""
    home = _setting("DAGSTER_HOME")
    return (Path(home) if home else DEFAULT_DAGSTER_HOME) / KEY_FILE_NAME


def signing_key() -> bytes:
    """The key from the environment, else from (or newly into) the key file."""
    try:
        key = settings.value(KEY_ENV)  # validated there: length, never echoed
    except settings.SettingsError as error:
        raise SigningKeyError(str(error)) from None
    if key is not None:
        return key.encode()
    return _key_from_file(key_path())


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: a process racing to create
        # the key never reads a half-written file, and the first link wins (link never replaces).
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningKeyError(
            f"model signing key {path} is readable by others (mode {mode:o}); "
            f"run `chmod 600 {path}` (or set {KEY_ENV})"
        )
    key = path.read_text().strip()
    if len(key) < MIN_KEY_CHARS:
        raise SigningKeyError(
            f"model signing key {path} holds {len(key)} characters, fewer than {MIN_KEY_CHARS}: "
            f"it was truncated or edited; restore it, or delete it and retrain (or set {KEY_ENV})"
        )
    return key.encode()


def _message(version: int, features: Sequence[str], artifact_sha256: str) -> bytes:
    return "\n".join(
        [_SCHEME, str(int(version)), json.dumps(list(features)), artifact_sha256]
    ).encode()


def sign(version: int, features: Sequence[str], artifact: bytes, key: bytes | None = None) -> str:
    """The hex HMAC-SHA256 of a version's identity and artifact."""
    digest = hashlib.sha256(artifact).hexdigest()
    mac = hmac.new(key or signing_key(), _message(version, features, digest), hashlib.sha256)
    return mac.hexdigest()


def verify(
    version: int,
    features: Sequence[str],
    artifact: bytes,
    signature: str | None,
    key: bytes | None = None,
) -> bool:
    """True iff ``signature`` is this artifact's signature under the key (constant-time)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(version, features, artifact, key), str(signature))
