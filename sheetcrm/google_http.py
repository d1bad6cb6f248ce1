"""gspread plumbing shared by the Google backend and the tests: a gspread HTTP client
that can talk to another base URL (the fake Sheets server) and a client factory.

gspread copies its URL constants at import, so patching ``gspread.urls`` does not
redirect it; rewriting in ``HTTPClient.request`` does."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gspread
from gspread.http_client import HTTPClient

SHEETS_BASE = "https://sheets.googleapis.com"
DRIVE_BASE = "https://www.googleapis.com"
SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
)

Timeout = None | float | tuple[float, float]


class EndpointHTTPClient(HTTPClient):
    """``HTTPClient`` that sends requests for the Google API hosts to ``api_endpoint``
    instead, and applies ``timeout`` to every request. Set the two class-level
    defaults with ``configured()`` since gspread constructs the client itself."""

    api_endpoint: str | None = None
    default_timeout: Timeout = None

    def __init__(self, auth, session=None) -> None:
        super().__init__(auth, session)
        if self.default_timeout is not None:
            self.set_timeout(self.default_timeout)

    @classmethod
    def configured(cls, api_endpoint: str | None = None, timeout: Timeout = None) -> type[EndpointHTTPClient]:
        """A subclass bound to ``api_endpoint`` (e.g. ``http://127.0.0.1:8099``)."""
        return type(cls.__name__, (cls,), {"api_endpoint": api_endpoint.rstrip("/") if api_endpoint else None, "default_timeout": timeout})

    def rewrite(self, url: str) -> str:
        if self.api_endpoint:
            for base in (SHEETS_BASE, DRIVE_BASE):
                if url.startswith(base + "/"):
                    return self.api_endpoint + url[len(base):]
        return url

    def request(self, method: str, endpoint: str, params=None, data=None, json: Mapping[str, Any] | None = None, files=None, headers=None):
        return super().request(method, self.rewrite(endpoint), params=params, data=data, json=json, files=files, headers=headers)


def make_gspread_client(credentials: Any, api_endpoint: str | None = None, timeout: Timeout = 60.0) -> gspread.Client:
    """A gspread client for ``credentials`` (google-auth credentials, or a
    service-account info dict) that talks to ``api_endpoint`` when given (the fake
    server's URL) and otherwise to Google."""
    if isinstance(credentials, Mapping):
        from google.oauth2.service_account import Credentials

        credentials = Credentials.from_service_account_info(dict(credentials), scopes=list(SCOPES))
    keep_off_google(credentials, api_endpoint)
    return gspread.Client(auth=credentials, http_client=EndpointHTTPClient.configured(api_endpoint, timeout))


def keep_off_google(credentials: Any, api_endpoint: str | None) -> None:
    """google-auth otherwise looks a service account's access boundary up at
    iamcredentials.googleapis.com in the background; credentials aimed at another
    endpoint must not call Google. "0x0" is google-auth's own no-op boundary."""
    if api_endpoint and hasattr(credentials, "_set_regional_access_boundary"):
        import datetime as _dt

        far = _dt.datetime.now(_dt.UTC).replace(tzinfo=None) + _dt.timedelta(days=3650)
        credentials._set_regional_access_boundary({"encodedLocations": "0x0", "expiry": far})
