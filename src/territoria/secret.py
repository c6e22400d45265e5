"""The pseudonymisation key is guarded: never lost, never replaced without a word.

Pseudonyms (:func:`territoria.ingest.privacy.pseudonymise`) are keyed hashes: with another
key the same participant gets another pseudonym and panels, votes and follow-ups no longer
link. So:

- when ingest pseudonymises anything, the store records the key's *fingerprint* (a hash of
  a hash: it reveals nothing of the key) in its ``meta`` table;
- every time the workspace's store is opened, the key in ``.secret`` is compared with that
  fingerprint; if it is missing or different, the command stops with one line saying how to
  put it back (from a backup) or how to re-key on purpose (``territoria secret rotate``);
- a key file readable by others is set back to mode 0600 with a warning.

Examples
--------
>>> fingerprint(b"k" * 32)
'...'
>>> len(fingerprint(b"k" * 32)), fingerprint(b"k" * 32) == fingerprint(b"j" * 32)
(16, False)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import stat
import sys
from pathlib import Path

from territoria.exceptions import ConfigError
from territoria.i18n import catalogue, tr

META_KEY = "secret_fingerprint"
SECRET_FILE = ".secret"
CITY_FILE = "city.yml"

MESSAGES = catalogue(__name__)


def _lang() -> str:
    lang = os.environ.get("TERRITORIA_LANG", "es")
    return lang if lang in ("es", "en") else "es"


def fingerprint(key: bytes) -> str:
    """16 hex characters identifying a key without revealing it."""
    inner = hashlib.sha256(b"territoria-key\0" + key).digest()
    return hashlib.sha256(inner).hexdigest()[:16]


def read_key(path: Path) -> bytes:
    """The key in ``path``; a mode other than 0600 is set back to 0600 with a warning.

    Raises
    ------
    ConfigError
        When the file cannot be read or does not hold a key (one line).
    """
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != 0o600:
            os.chmod(path, 0o600)
            print(tr(MESSAGES, "mode", _lang(), path=path, mode=mode), file=sys.stderr)
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise ConfigError(tr(MESSAGES, "unreadable", _lang(), path=path, why=why)) from None
    if len(key) < 16:
        raise ConfigError(tr(MESSAGES, "unreadable", _lang(), path=path, why="too short"))
    return key


def new_key(path: Path) -> bytes:
    """Write a fresh random key to ``path`` (mode 0600; the file must not exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return read_key(path)


def _workspace_of(store) -> Path | None:
    if store.path == ":memory:":
        return None
    root = Path(store.path).resolve().parent
    return root if (root / CITY_FILE).exists() else None


def recorded(store) -> str | None:
    """The fingerprint recorded in the store, if any."""
    row = store.con.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]).fetchall()
    return row[0][0] if row else None


def check_store_key(store) -> None:
    """Refuse (:class:`ConfigError`, one line) when the workspace's key is missing or is not
    the one that made the store's pseudonyms. Called each time a store is opened."""
    root = _workspace_of(store)
    if root is None:
        return
    try:
        fp = recorded(store)
    except Exception:  # a store without meta yet (being created)
        return
    key_path = root / SECRET_FILE
    if not key_path.exists():
        if fp is not None:
            raise ConfigError(tr(MESSAGES, "missing", _lang(), path=key_path, fp=fp, ws=root))
        return
    key = read_key(key_path)
    if fp is not None and fingerprint(key) != fp:
        raise ConfigError(tr(MESSAGES, "different", _lang(), path=key_path,
                             have=fingerprint(key), fp=fp, ws=root))


def mark_pseudonymised(store, key: bytes) -> None:
    """Record the fingerprint of the key that made pseudonyms (inside a transaction)."""
    fp = fingerprint(key)
    have = recorded(store)
    if have == fp:
        return
    if have is not None:  # pragma: no cover - refused at open already
        raise ConfigError(f"pseudonymisation key {fp} is not the store's ({have})")
    store.execute("INSERT INTO meta VALUES (?, ?)", [META_KEY, fp])


def rotate(store, root: Path) -> tuple[str | None, str]:
    """Re-key on purpose: the current key (if any) is kept as ``.secret.retired-<fp>``, a new
    one is written and its fingerprint recorded. Returns (old fingerprint, new fingerprint).

    Pseudonyms made before and after cannot be linked: that is the point of rotating (after
    a leak of the key) and the price of a lost key.
    """
    key_path = Path(root) / SECRET_FILE
    old = recorded(store)
    if key_path.exists():
        try:
            old_fp = fingerprint(read_key(key_path))
        except ConfigError:
            old_fp = old or "unreadable"
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        os.replace(key_path, key_path.with_name(f"{SECRET_FILE}.retired-{old_fp}-{stamp}"))
    key = new_key(key_path)
    fp = fingerprint(key)
    with store.transaction():
        store.execute("DELETE FROM meta WHERE key = ?", [META_KEY])
        store.execute("INSERT INTO meta VALUES (?, ?)", [META_KEY, fp])
        store.execute("DELETE FROM meta WHERE key = 'secret_rotated_at'")
        store.execute("INSERT INTO meta VALUES ('secret_rotated_at', ?)",
                      [dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")])
    return old, fp
