"""Every key of sheetcrm.toml is checked when the config is read: a wrong type or a value
out of range stops the run (exit 2) with the file and the key named."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers_xlsx import CLEAN, LEADS, TODAY_S, grid, sha, write_workbook

from sheetcrm.cli import main
from sheetcrm.config import RETRY, RULES, TOP_LEVEL, load_config
from sheetcrm.errors import ConfigError

# key -> (a value of the wrong type, a value of the right type that is not allowed)
TOP_BAD = {
    "backend": (3, "excel"),
    "workbook": (["a.xlsx"], "  "),
    "sheet": (12, ""),
    "credentials": (True, ""),
    "api_endpoint": (8099, "localhost:8099"),
    "timezone": (7, "Asia/Saigon-typo"),
    "language": (["vi"], "fr"),
    "id_prefix": (1, "KH-2"),
    "id_digits": ("6", 0),
    "default_region": (84, "XX"),
    "sync_log_keep": (1.5, 0),
    "retention_days": ("730", -1),
    "open_on": ("Tổng quan", 1),
    "schemas_dir": (False, ""),
    "scoring_rules": (3, " "),
}
RULES_BAD = {
    "daily_cap": ("abc", 0),
    "overdue": (1, "sprd"),
    "extra_days_off": ("2026-12-31", ["2026-31-12"]),
    "other": (1, ""),
}
RETRY_BAD = {
    "attempts": ("6", 0),
    "max_seconds": ("120", -1),
    "timeout": ([], 0),
}


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def test_every_key_has_bad_examples():
    assert set(TOP_BAD) == set(TOP_LEVEL) and set(RULES_BAD) == set(RULES) and set(RETRY_BAD) == set(RETRY)


CASES = ([(None, k, v, i) for k, vs in TOP_BAD.items() for i, v in enumerate(vs)]
         + [("rules", k, v, i) for k, vs in RULES_BAD.items() for i, v in enumerate(vs)]
         + [("retry", k, v, i) for k, vs in RETRY_BAD.items() for i, v in enumerate(vs)])


@pytest.mark.parametrize("table,key,value,which", CASES,
                         ids=[f"{t or 'top'}.{k}.{'type' if i == 0 else 'value'}" for t, k, _, i in CASES])
def test_wrong_type_or_value_names_file_and_key_and_exits_2(tmp_path, table, key, value, which):
    wb = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(CLEAN)})
    cfg = tmp_path / "sheetcrm.toml"
    line = f"{key} = {toml_value(value)}\n"
    cfg.write_text(f"[{table}]\n{line}" if table else line, encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_config(cfg)
    msg = str(ei.value)
    assert str(cfg) in msg and key in msg
    if table:
        assert f"[{table}]" in msg
    before = sha(wb)
    r = CliRunner().invoke(main, ["sync", "--workbook", str(wb), "--config", str(cfg), "--today", TODAY_S])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and key in r.stderr and str(cfg) in r.stderr
    assert sha(wb) == before


def test_good_values_are_kept(tmp_path):
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text('id_digits = 8\nsync_log_keep = 50\ndefault_region = "vn"\n'
                   '[rules]\ndaily_cap = 3\noverdue = "spread"\nextra_days_off = ["2026-12-31", 2027-01-02]\n'
                   '[retry]\nattempts = 2\nmax_seconds = 5\ntimeout = 1.5\n', encoding="utf-8")
    c = load_config(cfg)
    assert (c.id_digits, c.sync_log_keep) == (8, 50)
    assert c.rules == {"daily_cap": 3, "overdue": "spread", "extra_days_off": ["2026-12-31", "2027-01-02"]}
    assert (c.retry.attempts, c.retry.max_seconds, c.retry.timeout) == (2, 5.0, 1.5)


def test_unknown_keys_are_named(tmp_path):
    cfg = tmp_path / "sheetcrm.toml"
    for text, name in (("dialy_cap = 3\n", "dialy_cap"), ("[rules]\ndialy_cap = 3\n", "dialy_cap"),
                       ("[retry]\ntries = 3\n", "tries")):
        cfg.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=name):
            load_config(cfg)


def test_tab_title_excel_cannot_hold_is_refused(tmp_path):
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text('[tabs]\nleads = "Khách/hàng"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[tabs\] leads"):
        load_config(cfg)


def test_a_rule_other_that_is_no_reason_key_is_refused(tmp_path):
    wb = write_workbook(tmp_path / "leads.xlsx", {LEADS: grid(CLEAN)})
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text('[rules]\nother = "khac-typo"\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["sync", "--workbook", str(wb), "--config", str(cfg)])
    assert r.exit_code == 2 and "other" in r.stderr and "khac-typo" in r.stderr


def test_extra_days_off_from_config_reach_the_schedule(tmp_path):
    cfg = tmp_path / "sheetcrm.toml"
    cfg.write_text("[rules]\nextra_days_off = [2026-12-31]\n", encoding="utf-8")
    from sheetcrm.api import load_team_schemas

    assert load_team_schemas(load_config(cfg)).reasons.extra_days_off == ("2026-12-31",)
