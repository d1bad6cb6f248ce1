"""Exceptions a user can act on. Each carries its process exit code (docs/architecture.md#exit-codes)."""

from __future__ import annotations


class SheetcrmError(Exception):
    """Something went wrong."""

    exit_code = 2

    def __init__(self, message: str | None = None):
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(SheetcrmError):
    """The configuration or a command-line option is not usable."""

    exit_code = 2


class SchemaError(ConfigError):
    """A schema file is broken."""

    def __init__(self, file: str, field: str, problem: str):
        self.file, self.field = file, field
        super().__init__(f"{file}: field '{field}': {problem}")


class HeaderError(ConfigError):
    """A required header is missing from a tab."""


class WorkbookError(ConfigError):
    """The workbook cannot be opened (missing, not a workbook, locked)."""


class BackendError(SheetcrmError):
    """The backend failed after retries; the next run converges."""

    exit_code = 3


class LockHeldError(SheetcrmError):
    """Another sync holds the lock."""

    exit_code = 4


class OfficeLockError(LockHeldError):
    """The workbook is open in an office app: try later (transient for cron, exit 4)."""
