"""What a real CLI sync leaves in the fake's state: charts, dropdowns and protections
created once; payloads chunked past the limit; JSON logs without secrets or contacts."""

import json
import re

from sheetcrm.backends import gsheets
from sheetcrm.changes import CellUpdate, ChangeSet, EnsureTab
from sheetcrm.demo import generate_leads

from .e2e import as_date, cli, seed_sheet, today
from .fake import backend, key_file


def structure(state):
    out = {}
    for sh in state["sheets"]:
        validations = sorted({json.dumps(c["dataValidation"], sort_keys=True) for c in sh["cells"].values() if "dataValidation" in c})
        out[sh["properties"]["title"]] = {
            "charts": sorted(ch["spec"]["title"] for ch in sh["charts"]),
            "protected": sorted(p.get("description", "") for p in sh["protectedRanges"]),
            "validations": validations,
        }
    return out, sorted(n["name"] for n in state["namedRanges"])


def test_charts_and_protections_are_created_once(fake, tmp_path):
    info = fake.admin.service_account("cron-bot@crm-e2e.iam.gserviceaccount.com")
    keyfile = key_file(tmp_path, info)
    sid = seed_sheet(fake, info, generate_leads(200, seed=4, today=as_date(today())))
    opts = ["--sheet", sid, "--credentials", keyfile, "--api-endpoint", fake.url]
    for args in (["init", *opts], ["sync", *opts, "--today", today()]):
        r = cli(*args)
        assert r.returncode == 0, r.stderr
    first, names = structure(fake.admin.state(sid))
    assert sum(len(t["charts"]) for t in first.values()) >= 1
    assert sum(len(t["protected"]) for t in first.values()) >= 2
    for t in first.values():
        assert len(t["charts"]) == len(set(t["charts"])) and len(t["protected"]) == len(set(t["protected"]))
    fake.admin.reset_counters()
    for _ in range(2):
        r = cli("sync", *opts, "--today", today())
        assert r.returncode == 0, r.stderr
    again, names_again = structure(fake.admin.state(sid))
    assert again == first and names_again == names
    kinds = fake.admin.counters()["batch_requests"]
    assert not {"addChart", "addProtectedRange", "repeatCell", "mergeCells"} & set(kinds), kinds


def test_dropdowns_are_set_once(fake, account):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={"Khách hàng": [["Mã KH"]]}, owner=info["client_email"])
    tab = EnsureTab("Từ chối", ("Mã KH", "Lý do"), 1, (("Lý do", ("Giá cao", "Chưa có nhu cầu")),))
    b = backend(fake, sid, keyfile)
    for _ in range(3):
        with b.lock():
            b.read()
            b.apply(ChangeSet(ensure_tabs=[tab]))
    assert fake.admin.counters()["batch_requests"]["setDataValidation"] == 1
    sheet = next(s for s in fake.admin.state(sid)["sheets"] if s["properties"]["title"] == "Từ chối")
    rules = {json.dumps(c["dataValidation"], sort_keys=True, ensure_ascii=False) for c in sheet["cells"].values() if "dataValidation" in c}
    assert len(rules) == 1 and "Giá cao" in next(iter(rules))
    assert sheet["cells"]["B2"]["dataValidation"] and "dataValidation" not in sheet["cells"].get("A2", {})


def test_payload_above_the_limit_is_chunked(fake, account, monkeypatch):
    info, keyfile = account
    rows = [["Mã KH", "Ghi chú"]] + [[f"KH-{i:06d}", ""] for i in range(1, 3001)]
    sid = fake.admin.create_spreadsheet("CRM", tabs={"Khách hàng": rows}, owner=info["client_email"])
    monkeypatch.setattr(gsheets, "PAYLOAD_LIMIT", 100_000)  # ~2 MB in production; same code path
    b = backend(fake, sid, keyfile)
    note = "ghi chú dài " * 20
    fake.admin.reset_counters()
    with b.lock():
        grid = b.read()["Khách hàng"].values
        res = b.apply(ChangeSet(updates=[CellUpdate("Khách hàng", r, 2, note, old="", lead_id=grid[r - 1][0]) for r in range(2, 3002)]))
    c = fake.admin.counters()
    writes = c["requests"]["spreadsheets.batchUpdate"] - 1  # minus taking the lock
    assert res.cells_written == 3000 and c["cells_written"] == 3000
    # every chunk stays under the limit as sent on the wire (JSON, \\u-escaped)
    assert c["bytes_received"] / 100_000 <= writes <= c["bytes_received"] / 100_000 + 2
    assert fake.admin.values(sid, "'Khách hàng'!B2:B3001") == [[note]] * 3000
    assert "sheetcrm_lock" not in {n["name"] for n in fake.admin.state(sid)["namedRanges"]}


def test_json_logs_hold_no_token_key_phone_or_email(fake, tmp_path):
    info = fake.admin.service_account("cron-bot@crm-e2e.iam.gserviceaccount.com")
    keyfile = key_file(tmp_path, info)
    grid = generate_leads(150, seed=8, today=as_date(today()))
    sid = seed_sheet(fake, info, grid)
    fake.admin.inject_fault(match="values.batchGet", status=503, count=1)  # a retry is logged too
    r = cli("sync", "--sheet", sid, "--credentials", keyfile, "--api-endpoint", fake.url, "--today", today(),
            "-vv", "--log-format", "json")
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    records = [json.loads(ln) for ln in r.stderr.splitlines() if ln.strip()]  # only JSON records
    assert any("retrying" in rec["message"] for rec in records) and records[-1]["rows_read"] == 150
    assert "ya29." not in out and "Bearer" not in out
    assert "PRIVATE KEY" not in out and info["private_key_id"] not in out
    head = grid[0]
    phones = [str(r[head.index("Số điện thoại")]) for r in grid[1:] if r[head.index("Số điện thoại")]]
    emails = [str(r[head.index("Email")]) for r in grid[1:] if r[head.index("Email")]]
    digits = re.sub(r"\D", "", out)
    for p in phones:
        d = re.sub(r"\D", "", p)
        assert len(d) < 9 or d[-9:] not in digits, p
    for e in emails:
        assert "@" not in e or e.strip().lower() not in out.lower(), e
