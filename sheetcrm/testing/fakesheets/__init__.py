"""A fake Google Sheets v4 / Drive v3 API server for tests, in the spirit of moto.

    from sheetcrm.testing.fakesheets import FakeSheetsServer

    with FakeSheetsServer() as fake:
        info = fake.admin.service_account("bot@proj.iam.gserviceaccount.com")
        sid = fake.admin.create_spreadsheet("CRM", tabs={"Sheet1": [["Name"], ["An"]]},
                                            owner=info["client_email"])
        gc = sheetcrm.google_http.make_gspread_client(info, api_endpoint=fake.url)
        gc.open_by_key(sid).sheet1.get_all_values()

See README.md for the admin API and COVERAGE.md for what is implemented."""
from .admin import Admin
from .models import SheetsBackend, SheetsError
from .server import FakeSheetsServer

__all__ = ["Admin", "FakeSheetsServer", "SheetsBackend", "SheetsError"]
