"""Generate COVERAGE.md: which Sheets/Drive methods and batchUpdate request kinds the
fake implements, fully or partly, with the measured cassette match rates."""
from __future__ import annotations

import json
from pathlib import Path

from . import batch, urls

HERE = Path(__file__).resolve().parent
DISCOVERY = "googleapiclient/discovery_cache/documents/sheets.v4.json"

# Known gaps of implemented parts, said once here so COVERAGE.md stays honest.
PARTLY = {
    "spreadsheets.get": "grid data: values, formats, notes, validation; effectiveFormat is the default format merged with userEnteredFormat; no textFormatRuns/hyperlinks/pivots",
    "spreadsheets.values.get": "formulas: + - * / ^ &, comparisons, cell refs/ranges on the same sheet, SUM/AVERAGE/MIN/MAX/COUNT/COUNTA/IF/CONCATENATE/LEN/UPPER/LOWER/ROUND/ABS; other functions give #NAME?",
    "spreadsheets.values.append": "table detection follows the recorded behaviour (right-most run in the first data row); not every layout of Google's heuristic is reproduced",
    "spreadsheets.create": "properties and sheets[].properties only",
    "drive.files.list": "q supports mimeType/name with =, != and contains, and trashed=false",
    "sortRange": "sorts by effective value; no custom sort on colours",
    "autoResizeDimensions": "no renderer: width 7 px a character at 10 pt + 10 px, height 17 px a line + 4 px, defaults (100 / 21 px) when a column or row has no text",
    "copyPaste": "all paste types but PASTE_CONDITIONAL_FORMATTING (a no-op: rules are kept per sheet); relative references shift; a destination a multiple of the source is filled by repetition; TRANSPOSE",
    "cutPaste": "the source is emptied; references into the block from its own sheet follow it, references from other sheets do not",
    "addChart": "stored and returned as sent, with a chartId",
    "addConditionalFormatRule": "stored and returned; not evaluated",
    "updateBorders": "stored in userEnteredFormat.borders of the edge cells",
    "findReplace": "plain substring on string values only",
    "appendCells": "after the last row holding a value or formula in any column (formats, notes, validation alone do not count); grows the rows, refuses rows wider than the grid; no tableId",
}

API_METHODS = [
    ("spreadsheets.get", "GET /v4/spreadsheets/{id}"),
    ("spreadsheets.create", "POST /v4/spreadsheets"),
    ("spreadsheets.batchUpdate", "POST /v4/spreadsheets/{id}:batchUpdate"),
    ("spreadsheets.getByDataFilter", "POST /v4/spreadsheets/{id}:getByDataFilter"),
    ("spreadsheets.values.get", "GET /v4/spreadsheets/{id}/values/{range}"),
    ("spreadsheets.values.batchGet", "GET /v4/spreadsheets/{id}/values:batchGet"),
    ("spreadsheets.values.update", "PUT /v4/spreadsheets/{id}/values/{range}"),
    ("spreadsheets.values.batchUpdate", "POST /v4/spreadsheets/{id}/values:batchUpdate"),
    ("spreadsheets.values.append", "POST /v4/spreadsheets/{id}/values/{range}:append"),
    ("spreadsheets.values.clear", "POST /v4/spreadsheets/{id}/values/{range}:clear"),
    ("spreadsheets.values.batchClear", "POST /v4/spreadsheets/{id}/values:batchClear"),
    ("spreadsheets.values.batchGetByDataFilter", "POST .../values:batchGetByDataFilter"),
    ("spreadsheets.values.batchUpdateByDataFilter", "POST .../values:batchUpdateByDataFilter"),
    ("spreadsheets.values.batchClearByDataFilter", "POST .../values:batchClearByDataFilter"),
    ("spreadsheets.sheets.copyTo", "POST /v4/spreadsheets/{id}/sheets/{sheetId}:copyTo"),
    ("spreadsheets.developerMetadata.get", "GET .../developerMetadata/{id}"),
    ("drive.files.create", "POST /drive/v3/files"),
    ("drive.files.list", "GET /drive/v3/files"),
    ("drive.files.get", "GET /drive/v3/files/{id}"),
    ("drive.files.delete", "DELETE /drive/v3/files/{id}"),
    ("drive.files.copy", "POST /drive/v3/files/{id}/copy"),
    ("drive.permissions.create", "POST /drive/v3/files/{id}/permissions"),
    ("drive.permissions.list", "GET /drive/v3/files/{id}/permissions"),
    ("drive.permissions.delete", "DELETE /drive/v3/files/{id}/permissions/{pid}"),
    ("drive.files.export", "GET /drive/v3/files/{id}/export"),
    ("drive.comments.list", "GET /drive/v3/files/{id}/comments"),
    ("drive.files.update (v2 upload, import_csv)", "PUT /upload/drive/v2/files/{id}"),
]


def request_kinds() -> list[str]:
    """Every batchUpdate request kind, from the discovery document's Request schema."""
    try:
        import googleapiclient

        doc = json.loads((Path(googleapiclient.__file__).parent / "discovery_cache/documents/sheets.v4.json").read_text())
        return sorted(doc["schemas"]["Request"]["properties"])
    except Exception:
        return sorted(batch.HANDLERS)


def _status(name: str, implemented: bool) -> str:
    if not implemented:
        return "not"
    return "partly" if name in PARTLY else "implemented"


def render(report=None) -> str:
    from .replay import format_report

    implemented = {n for _, _, _, n, _ in urls.COMPILED}
    per_ep = report.per_endpoint() if report else {}
    per_kind = report.per_kind() if report else {}

    def rate(d, k):
        if k not in d or not d[k][1]:
            return "–"
        a, b, _ = d[k]
        return f"{a}/{b} ({100.0 * a / b:.0f}%)"

    out = ["# Fake Sheets API — coverage", "",
           "Generated by `python bench/fakesheets_replay.py` (sheetcrm.testing.fakesheets.coverage). "
           "Match = status code and JSON body equal to the recorded Google response after id remapping "
           "(see `replay.py` for the fields ignored as volatile).", ""]
    if report:
        m, n, total = report.totals()
        out += [f"Cassette interactions: {total}; on implemented endpoints: {n}; matched: {m} ({100.0 * m / max(n, 1):.1f}%).", ""]
    out += ["## Endpoints", "", "| method | HTTP | status | cassette match | notes |", "|---|---|---|---|---|"]
    for name, http in API_METHODS:
        st = _status(name, name in implemented)
        out.append(f"| `{name}` | `{http}` | {st} | {rate(per_ep, name)} | {PARTLY.get(name, '')} |")
    out += ["", "Also served: `POST /token` (OAuth jwt-bearer grant for service accounts, refresh_token grant for OAuth user credentials) and `/_admin/...` (see README.md).", ""]
    out += ["## batchUpdate request kinds", "", "| kind | status | cassette match | notes |", "|---|---|---|---|"]
    for kind in request_kinds():
        st = _status(kind, kind in batch.HANDLERS)
        out.append(f"| `{kind}` | {st} | {rate(per_kind, kind)} | {PARTLY.get(kind, '')} |")
    out += [
        "",
        "Unimplemented kinds answer 501 UNIMPLEMENTED naming the kind, so a test never passes by accident.",
        "",
        "## Request validation",
        "",
        "Every request is checked against the Sheets v4 / Drive v3 discovery documents shipped by google-api-python-client "
        "(`discovery.py`): body field names at every depth (snake_case or camelCase), JSON types, enums, singular vs repeated, "
        "the `Request` oneof; query parameter names (Sheets only: Drive ignores unknown ones), types and enums; `fields` masks "
        "on responses and inside batchUpdate kinds. Violations answer 400 INVALID_ARGUMENT with Google's wording, one per line, "
        "and a `google.rpc.BadRequest` detail. Semantic rules the description cannot express are checked by hand: cells over "
        "50,000 characters, grid limits, sheet titles unique (case-insensitive) and non-empty, named-range name syntax, "
        "`valueInputOption` required. A failing write changes nothing.",
        "",
        "## Value semantics",
        "",
        "- `valueInputOption` RAW keeps strings as typed (a leading `=` is text); USER_ENTERED parses numbers (`0042`, `1,234.5`), percentages, `$` currency, dates (`2020-01-01`, `12/03/2026`), date-times, times, TRUE/FALSE, a leading `'` (forces text) and formulas.",
        "- Dates are serial numbers with a DATE/DATE_TIME/TIME number format whose pattern follows what was typed; `FORMATTED_VALUE` renders the pattern, `UNFORMATTED_VALUE` the serial (or the formatted string with `dateTimeRenderOption=FORMATTED_STRING`), `FORMULA` the formula text.",
        "- Formulas are re-evaluated at read time with the small evaluator described above (`" + PARTLY["spreadsheets.values.get"] + "`).",
        "- Reads trim trailing empty rows and cells and omit `values` when empty; `majorDimension=COLUMNS` is supported for reads and writes; ranges accept quoted titles (spaces, diacritics, emoji, doubled apostrophes), whole columns/rows, open ends and reversed corners.",
        "- Writes beyond the grid answer 400 `Range ('Sheet1'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26`; `values:append` grows the grid instead. Any change that would pass 10,000,000 cells is refused.",
        "- Locale en_US, time zone Etc/GMT, general number format with up to 10 significant digits.",
        "",
    ]
    if report:
        out += ["## Replay summary", "", "```", format_report(report), "```", ""]
    return "\n".join(out)


def write(report=None, path: Path | None = None) -> Path:
    path = path or HERE / "COVERAGE.md"
    path.write_text(render(report))
    return path
