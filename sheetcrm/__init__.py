"""sheetcrm: a sync layer that turns a Google Sheet or an .xlsx workbook into a sales CRM.

The Python API lives in `sheetcrm.api` (`sheetcrm.sync` is the pure pipeline package):

    from sheetcrm import api
    result = api.sync(workbook="leads.xlsx")
"""

__version__ = "0.1.0"
