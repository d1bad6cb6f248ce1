"""`init` on a workbook a team already uses: dropdowns and a frozen header, data untouched."""

from __future__ import annotations

from openpyxl import Workbook, load_workbook

from sheetcrm import api


def _existing(path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Name", "Phone", "Email", "Status", "Reason", "My notes"])
    ws.append(["Lan", "0912345678", "lan@example.com", "Hot", "", "call after Tết"])
    wb.save(path)


def _dropdown_columns(ws):
    return sorted({str(r).split(":")[0].rstrip("0123456789") for dv in ws.data_validations.dataValidation
                   for r in dv.sqref.ranges})


def test_init_adds_dropdowns_and_freezes_an_existing_leads_tab(tmp_path):
    path = tmp_path / "team.xlsx"
    _existing(path)
    changes = api.init(workbook=path)
    assert any("dropdowns" in line for line in changes.describe())
    ws = load_workbook(path)["Leads"]
    assert ws.freeze_panes == "A2"
    assert _dropdown_columns(ws) == ["D", "E"]  # on the team's own "Status" and "Reason"
    assert [c.value for c in ws[2]][:6] == ["Lan", "0912345678", "lan@example.com", "Hot", None, "call after Tết"]

    api.init(workbook=path)  # a second init adds nothing twice
    ws = load_workbook(path)["Leads"]
    assert len(ws.data_validations.dataValidation) == 2
