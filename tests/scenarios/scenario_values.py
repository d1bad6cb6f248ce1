"""Values the scenario harness reads back (a module of its own: `conftest` is not
importable by name when several test folders each have one)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Formula:
    text: str
