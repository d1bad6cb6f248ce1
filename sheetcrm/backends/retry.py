"""Retrying Google API calls: which failures are worth another try, and how long to wait.

gspread's own BackOffHTTPClient retries forever without jitter and ignores Retry-After;
here the wait is exponential with full jitter, a server's Retry-After wins when present,
and both the number of attempts and the total time are bounded. Past the budget the
caller gets a BackendError (exit 3): the next run converges.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
import tenacity

from ..errors import BackendError

T = TypeVar("T")

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    max_seconds: float = 120.0  # total budget, waits included
    initial: float = 1.0  # first backoff ceiling, doubled per attempt
    max_wait: float = 32.0  # one wait never exceeds this (nor the remaining budget)

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        """From `config.RetrySettings` (attempts, max_seconds)."""
        return cls(attempts=int(settings.attempts), max_seconds=float(settings.max_seconds))


def status_of(exc: BaseException) -> int | None:
    resp = getattr(exc, "response", None)
    code = getattr(resp, "status_code", None)
    return int(code) if code is not None else None


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts and dropped connections are transient, at the token endpoint
    too (google-auth's TransportError, or a RefreshError it marks retryable)."""
    import google.auth.exceptions as auth_errors

    code = status_of(exc)
    if code is not None:
        return code in RETRY_STATUS
    if isinstance(exc, auth_errors.TransportError):
        return True
    if isinstance(exc, auth_errors.RefreshError):
        return bool(getattr(exc, "retryable", False))
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError))


def retry_after(exc: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (Retry-After: seconds or an HTTP date)."""
    resp = getattr(exc, "response", None)
    headers = getattr(resp, "headers", None) or {}
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not raw:
        return None
    raw = str(raw).strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class _Wait(tenacity.wait.wait_base):
    """Full-jitter exponential backoff; Retry-After overrides; never past the budget."""

    def __init__(self, policy: RetryPolicy, rng: random.Random, started: Callable[[], float]):
        self.policy, self.rng, self.started = policy, rng, started

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        asked = retry_after(exc) if exc is not None else None
        if asked is not None:
            wait = asked
        else:
            ceiling = min(self.policy.max_wait, self.policy.initial * 2 ** (retry_state.attempt_number - 1))
            wait = self.rng.uniform(0, ceiling)
        left = self.policy.max_seconds - (time.monotonic() - self.started())
        return max(0.0, min(wait, left))


def call(
    fn: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    *,
    rng: random.Random | None = None,
    on_retry: Callable[[BaseException, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `fn`, retrying transient failures within `policy`; raise BackendError after."""
    t0 = time.monotonic()
    rng = rng or random.Random()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry and state.outcome is not None:
            on_retry(state.outcome.exception(), state.attempt_number)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_retryable),
        stop=tenacity.stop_after_attempt(max(1, policy.attempts)) | tenacity.stop_after_delay(policy.max_seconds),
        wait=_Wait(policy, rng, lambda: t0),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except BaseException as exc:
        if not is_retryable(exc):
            raise
        took = time.monotonic() - t0
        raise BackendError(
            f"Google Sheets did not answer {what} after {policy.attempts} attempt(s) "
            f"in {took:.0f}s ({describe(exc)}). Nothing more was written; the next run "
            "picks up from here."
        ) from None


def describe(exc: BaseException) -> str:
    code = status_of(exc)
    if code is not None:
        return f"HTTP {code}"
    return type(exc).__name__
