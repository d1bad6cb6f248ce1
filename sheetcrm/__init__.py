"""sheetcrm: a sync layer that turns a Google Sheet or an .xlsx workbook into a sales CRM.

The Python API lives in `sheetcrm.api` (`sheetcrm.sync` is the pure pipeline package):

    from sheetcrm import api
    result = api.sync(workbook="leads.xlsx")
"""

from importlib.metadata import PackageNotFoundError, version

try:  # one place for the version: the installed package's metadata (pyproject.toml)
    __version__ = version("sheetcrm")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
