from sheetcrm.testing.fakesheets.pytest_plugin import (  # noqa: F401  (fixtures)
    _fake_sheets_server,
    fake_gspread,
    fake_sheets,
    fake_sheets_account,
)
