"""Load the dedupe rules TOML (file I/O kept out of the pure `sheetcrm.sync` package)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sheetcrm.schema import SCHEMA_DIR
from sheetcrm.sync.dedupe import DedupeRules

DEFAULT_PATH = SCHEMA_DIR / "dedupe.toml"


def load_rules_dict(path: str | Path = DEFAULT_PATH) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_default_rules(path: str | Path = DEFAULT_PATH) -> DedupeRules:
    return DedupeRules.from_dict(load_rules_dict(path))
