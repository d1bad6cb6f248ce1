"""sheetcrm: a sync layer that turns a Google Sheet or an .xlsx workbook into a sales CRM."""

__version__ = "0.1.0"
