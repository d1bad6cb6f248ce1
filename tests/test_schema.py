"""Schema loader: the shipped schemas load; a broken file stops with the file and field."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers_xlsx import LEADS, copy_schemas, sha, write_config, write_leads

from sheetcrm.cli import main
from sheetcrm.errors import ConfigError, SchemaError
from sheetcrm.schema import load_schemas


def test_shipped_schemas_load():
    s = load_schemas()
    leads = s.tab("leads")
    assert leads.title == LEADS
    required = {c.key for c in leads.columns if c.required}
    assert {"name", "status"} <= required
    assert ("email", "phone") in leads.required_any  # one of them is enough
    assert leads.column("issues").writer == "sync"
    assert [st.key for st in s.chain.active] == ["new", "researched", "potential", "hot", "won"]
    assert s.reasons.other in {r.key for r in s.reasons.reasons}
    assert set(s.tabs) == {"leads", "rejections", "nurture", "history", "sync_log", "intake", "team", "privacy",
                           "suppression", "notifications", "nurture_content"}
    assert [k for k, t in s.tabs.items() if t.on_demand] == ["privacy", "suppression", "notifications",
                                                             "nurture_content"]
    assert [c.key for c in leads.columns if c.personal] == ["name", "company", "email", "phone", "reason", "notes",
                                                            "issues"]


def _break(tmp_path, file, old, new):
    d = copy_schemas(tmp_path / "schemas")
    p = d / file
    text = p.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return d


BREAKS = [
    # file, old text, new text, field named in the error
    ("leads.toml", 'type = "email"', 'type = "emial"', "columns[3].type"),
    ("leads.toml", 'writer = "person"\nrequired = true\npersonal = true\n\n[[columns]]\nkey = "company"',
     'writer = "robot"\nrequired = true\npersonal = true\n\n[[columns]]\nkey = "company"', "columns[1].writer"),
    ("leads.toml", 'personal = "blank"', 'personal = "maybe"', "columns[16].personal"),
    ("leads.toml", 'header = "Tên khách hàng"', 'heading = "Tên khách hàng"', "columns[1].header"),
    ("leads.toml", "required = true", 'required = "yes"', "columns[1].required"),
    ("leads.toml", 'aliases = ["Company",', 'aliases = ["Name",', "columns[2].aliases"),
    ("leads.toml", 'key = "company"', 'key = "name"', "columns[2].key"),
    ("history.toml", 'key = "history"', 'key = "historie"', "tab.key"),
    ("status_chain.toml", 'kind = "active"', 'kind = "actve"', "status[0].kind"),
    ("status_chain.toml", 'initial = "new"', 'initial = "fresh"', "rules.initial"),
    ("reasons.toml", 'recontact = "30d"', 'recontact = "30 days"', ".recontact"),
    ("reasons.toml", "daily_cap = ", "daily_cap = -", "rules.daily_cap"),
]


@pytest.mark.parametrize("file,old,new,field", BREAKS, ids=[b[3] + "@" + b[0] for b in BREAKS])
def test_broken_schema_names_file_and_field(tmp_path, file, old, new, field):
    d = _break(tmp_path, file, old, new)
    with pytest.raises(SchemaError) as ei:
        load_schemas(d)
    err = ei.value
    assert err.file.endswith(file)
    assert field in err.field
    assert file in str(err) and field in str(err)
    assert isinstance(err, ConfigError) and err.exit_code == 2


def test_toml_syntax_error_names_file(tmp_path):
    d = _break(tmp_path, "leads.toml", 'title = "Khách hàng"', 'title = "Khách hàng')
    with pytest.raises(SchemaError) as ei:
        load_schemas(d)
    assert "leads.toml" in str(ei.value)


def test_missing_schema_file_is_named(tmp_path):
    d = copy_schemas(tmp_path / "schemas")
    (d / "nurture.toml").unlink()
    with pytest.raises(SchemaError) as ei:
        load_schemas(d)
    assert "nurture.toml" in str(ei.value)


@pytest.mark.parametrize("command", ["sync", "check"])
def test_cli_broken_schema_exit_2_names_file_and_field(tmp_path, command):
    d = _break(tmp_path, "leads.toml", 'type = "email"', 'type = "emial"')
    wb = write_leads(tmp_path / "leads.xlsx")
    before = sha(wb)
    cfg = write_config(tmp_path / "sheetcrm.toml", workbook=str(wb), schemas_dir=str(d))
    res = CliRunner().invoke(main, [command, "--config", str(cfg), "--today", "2026-03-12"])
    assert res.exit_code == 2, res.output
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert "leads.toml" in out and "columns[3].type" in out and "emial" in out
    assert "Traceback" not in out
    assert sha(wb) == before


def test_a_schemas_folder_copied_before_the_intake_and_team_tabs_still_loads(tmp_path):
    import shutil

    from sheetcrm.schema import SCHEMA_DIR

    for f in SCHEMA_DIR.glob("*.toml"):
        if f.name not in ("intake.toml", "team.toml"):
            shutil.copy(f, tmp_path / f.name)
    s = load_schemas(tmp_path)
    assert s.tab("intake").title == "Nhập liệu" and s.tab("team").title == "Nhân viên"
