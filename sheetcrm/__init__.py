"""sheetcrm: a sync layer that turns a Google Sheet or an .xlsx workbook into a sales CRM.

    import sheetcrm
    result = sheetcrm.sync(workbook="leads.xlsx")
"""

__version__ = "0.1.0"

# Bound after the subpackage import so `sheetcrm.sync` is the function, as documented;
# the pipeline package stays importable as `sheetcrm.sync.pipeline`.
from .api import SyncResult, check, demo, init, sync  # noqa: E402

__all__ = ["SyncResult", "check", "demo", "init", "sync", "__version__"]
