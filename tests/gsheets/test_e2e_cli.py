"""The real CLI, as cron runs it, against the fake: init, sync, check, --dry-run."""

import pytest

from sheetcrm.demo import generate_leads

from .e2e import as_date, cli, seed_sheet, today
from .fake import key_file


@pytest.fixture
def target(fake, tmp_path):
    info = fake.admin.service_account("cron-bot@crm-e2e.iam.gserviceaccount.com")
    keyfile = key_file(tmp_path, info)
    grid = generate_leads(300, seed=3, today=as_date(today()))
    sid = seed_sheet(fake, info, grid)
    return sid, ["--sheet", sid, "--credentials", keyfile, "--api-endpoint", fake.url], info


def test_init_sync_check_dry_run(fake, target):
    sid, opts, info = target
    r = cli("init", *opts)
    assert r.returncode == 0, r.stderr
    fake.admin.reset_counters()
    r = cli("sync", *opts, "--today", today())
    assert r.returncode == 0, r.stderr
    first = fake.admin.counters()
    fake.admin.reset_counters()
    r = cli("sync", *opts, "--today", today())
    assert r.returncode == 0, r.stderr
    second = fake.admin.counters()
    api = {k: v for k, v in second["requests"].items() if not k.startswith("oauth2")}
    assert sum(api.values()) <= 5, api
    # Nothing changed: the only values written are the one sync-log row.
    assert second["cells_written"] <= 20, second
    fake.admin.reset_counters()
    r = cli("sync", *opts, "--today", today(), "--dry-run")
    assert r.returncode == 0, r.stderr
    dry = fake.admin.counters()
    assert dry["cells_written"] == 0
    r = cli("check", *opts, "--today", today())
    assert r.returncode in (0, 1), r.stderr
    print(first, second, dry)


def test_unshared_sheet_names_the_service_account_whole(fake, tmp_path):
    """The address to share with is configuration: the CLI shows it unmasked (a
    customer's address in the same message would still be masked)."""
    from sheetcrm.logs import redact

    info = fake.admin.service_account("cron-bot@crm-e2e.iam.gserviceaccount.com")
    sid = fake.admin.create_spreadsheet("CRM", tabs={"Khách hàng": [["Mã KH"]]}, owner="boss@example.com")
    r = cli("sync", "--sheet", sid, "--credentials", key_file(tmp_path, info), "--api-endpoint", fake.url)
    assert r.returncode == 2, r.stderr
    assert "share it with cron-bot@crm-e2e.iam.gserviceaccount.com as Editor" in r.stderr
    assert redact("khach.hang@gmail.com") == "k***@gmail.com"
