"""pytest fixtures for the fake Sheets server. Use with
``pytest_plugins = ["sheetcrm.testing.fakesheets.pytest_plugin"]`` in a root conftest
(or import the fixtures into a conftest).

* ``fake_sheets`` — a running ``FakeSheetsServer`` (one per session), reset before
  each test.
* ``fake_sheets_account`` — credentials info for a fresh service account on it.
* ``fake_gspread`` — a gspread client for that account, pointed at the fake."""
from __future__ import annotations

import pytest

from .server import FakeSheetsServer


@pytest.fixture(scope="session")
def _fake_sheets_server():
    with FakeSheetsServer() as fake:
        yield fake


@pytest.fixture
def fake_sheets(_fake_sheets_server):
    _fake_sheets_server.admin.reset()
    yield _fake_sheets_server
    _fake_sheets_server.admin.reset()


@pytest.fixture
def fake_sheets_account(fake_sheets):
    return fake_sheets.admin.service_account("sheetcrm-bot@sheetcrm-test.iam.gserviceaccount.com")


@pytest.fixture
def fake_gspread(fake_sheets, fake_sheets_account):
    from sheetcrm.google_http import make_gspread_client

    return make_gspread_client(fake_sheets_account, api_endpoint=fake_sheets.url, timeout=30)
