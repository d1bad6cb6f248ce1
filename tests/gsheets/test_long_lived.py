"""One process, many syncs: a scheduler or a notebook reuses one Credentials object."""

from __future__ import annotations

import datetime as dt

import google.auth.exceptions
import google.auth.transport.requests
from google.oauth2 import service_account

from sheetcrm.backends.gsheets import SCOPES, GSheetsBackend
from sheetcrm.changes import CellUpdate, ChangeSet

from .fake import FAST

TAB = "Khách hàng"
HEAD = ["Mã KH", "Tên khách hàng", "Trạng thái"]


def setup(fake, account):
    info, _ = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: [HEAD, ["KH-000001", "An", "Mới"]]}, owner=info["client_email"])
    creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
    return sid, creds


def one_sync(fake, sid, creds, value):
    b = GSheetsBackend(sid, creds, api_endpoint=fake.url, retry_policy=FAST, timeout=5)
    with b.lock():
        grid = b.read()[TAB].values
        res = b.apply(ChangeSet(updates=[CellUpdate(TAB, 2, 3, value, old=grid[1][2], lead_id="KH-000001")]))
    assert res.skipped == []


def soon(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=seconds)


def test_same_credentials_across_many_syncs_refresh_before_expiry(fake, account):
    sid, creds = setup(fake, account)
    email = account[0]["client_email"]
    for i, value in enumerate(["Nóng", "Chốt", "Tiềm năng", "Nóng", "Chốt", "Mới", "Nóng"]):
        if i:
            # Ten minutes left on the token by the client's clock, less than a sync may
            # take; the server already expired it (clocks differ), so a token not
            # refreshed at the start would meet a 401 half-way.
            creds.token, creds.expiry = fake.admin.token(email, ttl=-1), soon(600)
        fake.admin.reset_counters()
        one_sync(fake, sid, creds, value)
        c = fake.admin.counters()
        assert c["requests"].get("oauth2.token") == 1, (i, c["requests"])
        assert "401" not in c["statuses"], (i, c["statuses"])
    assert fake.admin.values(sid, f"'{TAB}'!C2") == [["Nóng"]]


def test_a_valid_token_is_kept(fake, account):
    sid, creds = setup(fake, account)
    one_sync(fake, sid, creds, "Nóng")
    fake.admin.reset_counters()
    one_sync(fake, sid, creds, "Chốt")
    assert "oauth2.token" not in fake.admin.counters()["requests"]


def test_token_endpoint_failures_are_retried(fake, account, monkeypatch):
    sid, creds = setup(fake, account)
    real = google.auth.transport.requests.Request.__call__
    failures = []

    def flaky(self, url, *args, **kwargs):
        if url.endswith("/token") and len(failures) < 2:
            failures.append(url)
            raise google.auth.exceptions.TransportError("connection reset")
        return real(self, url, *args, **kwargs)

    monkeypatch.setattr(google.auth.transport.requests.Request, "__call__", flaky)
    one_sync(fake, sid, creds, "Chốt")
    assert len(failures) == 2
    assert fake.admin.counters()["requests"]["oauth2.token"] == 1
    assert fake.admin.values(sid, f"'{TAB}'!C2") == [["Chốt"]]
