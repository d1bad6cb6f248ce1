"""The sync-log row's `Lượt gọi API` is the number of requests the server received."""

from __future__ import annotations

import pytest

from sheetcrm import api
from sheetcrm.backends.retry import RetryPolicy
from sheetcrm.config import load_config
from sheetcrm.demo import generate_leads

from .fake import FAST
from .test_soak import TODAY, api_calls, exact_grid_sheet

SYNC_LOG = "Nhật ký đồng bộ"


def logged_calls(fake, sid) -> int:
    rows = fake.admin.values(sid, f"'{SYNC_LOG}'", "UNFORMATTED_VALUE")
    return int(rows[-1][rows[0].index("Lượt gọi API")])


@pytest.fixture
def target(fake, account, monkeypatch):
    monkeypatch.setattr(RetryPolicy, "from_settings", classmethod(lambda cls, s: FAST))
    info, keyfile = account
    sid = exact_grid_sheet(fake, info, generate_leads(120, seed=5, today=TODAY))
    return sid, load_config(None, sheet=sid, credentials=keyfile, api_endpoint=fake.url)


def test_every_request_is_counted(fake, target):
    sid, cfg = target
    counts = []
    for fault in (None, None, "503"):  # first sync, no change, a change and a retried read
        fake.admin.reset_counters()
        if fault:
            fake.admin.edit_as_person(sid, "'Khách hàng'!I2", [["Nóng"]])
            fake.admin.inject_fault(match="values.batchGet", status=503, count=1)
        api.sync(config=cfg, today=TODAY)
        counts.append((logged_calls(fake, sid), api_calls(fake)))
    assert all(logged == got for logged, got in counts), counts
    assert counts[2][1] == counts[1][1] + 1  # the 503 and its retry, each a request
