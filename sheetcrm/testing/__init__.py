"""Test helpers shipped with sheetcrm (the fake Google Sheets API server)."""
