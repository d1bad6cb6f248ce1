"""A folder of results a later run may reuse instead of computing again (docs/cache.md).

Only what is the same with or without the folder goes here — trained models' answers and
coefficients, keyed by a digest of everything they depend on — so deleting it costs only
time. No text a person typed is stored: keys and contents are digests and numbers.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from .logs import log

KEEP = 16  # newest files kept per kind


def cache_dir() -> Path | None:
    """`SHEETCRM_CACHE_DIR`, else the user's cache folder; None when it is `off`."""
    env = os.environ.get("SHEETCRM_CACHE_DIR", "").strip()
    if env.lower() in ("off", "none", "0"):
        return None
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("sheetcrm", appauthor=False))


@lru_cache(maxsize=1)  # read from the installed packages' metadata once per process
def libraries() -> str:
    """The versions whose change could change a cached answer (part of every key)."""
    from importlib.metadata import version

    from . import __version__

    return "|".join([__version__, *(version(p) for p in ("scikit-learn", "scipy", "numpy"))])


def _path(kind: str, key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"{kind}-{key}.json"


def load(kind: str, key: str) -> Any | None:
    """What `save(kind, key, …)` stored, or None (absent, unreadable, turned off)."""
    path = _path(kind, key)
    if path is None or not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # damaged: computed again
        log.debug("cache %s unreadable (%s)", path, exc)
        return None


def save(kind: str, key: str, value: Any) -> None:
    """Store `value` (JSON) atomically: a concurrent run reads the old file or the new one.
    A folder that cannot be written costs only time."""
    path = _path(kind, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(value, f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        old = sorted(path.parent.glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for p in old[KEEP:]:
            p.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("cache %s not written (%s)", path, exc)
