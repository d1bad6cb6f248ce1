"""Every kind of Google credentials the README names, through google-auth's own flows to the
fake's token endpoint: a service-account key, OAuth user credentials (refresh token), and
application-default credentials (GOOGLE_APPLICATION_CREDENTIALS, then gcloud's file)."""

import json

import pytest

from sheetcrm.backends.gsheets import GSheetsBackend, load_credentials
from sheetcrm.errors import ConfigError

TAB = "Khách hàng"
LEADS = [["Mã KH", "Tên"], ["KH-000001", "An"]]
PERSON = "lan.nguyen@example.vn"


@pytest.fixture
def user_sheet(fake, tmp_path):
    info = fake.admin.oauth_user(PERSON)
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: LEADS}, owner="boss@example.com")
    fake.admin.share(sid, PERSON, "writer")
    path = tmp_path / "user.json"
    path.write_text(json.dumps(info))
    return sid, info, path


def read_first_id(b):
    return b.read()[TAB].values[1][0]


def test_oauth_user_credentials_refresh_and_read(fake, user_sheet):
    sid, info, path = user_sheet
    b = GSheetsBackend.from_options(sid, str(path), fake.url)
    assert b.account is None  # no service account to name in messages
    assert read_first_id(b) == "KH-000001"
    assert fake.admin.counters()["requests"]["oauth2.token"] == 1


def test_revoked_refresh_token_is_a_config_error(fake, user_sheet):
    sid, info, path = user_sheet
    fake.admin.revoke_refresh_token(info["refresh_token"])
    with pytest.raises(ConfigError) as err:
        read_first_id(GSheetsBackend.from_options(sid, str(path), fake.url))
    assert "refused the credentials" in str(err.value)
    assert info["refresh_token"] not in str(err.value) and info["client_secret"] not in str(err.value)


def test_adc_from_environment_variable(fake, user_sheet, monkeypatch):
    sid, _, path = user_sheet
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("SHEETCRM_API_ENDPOINT", fake.url)
    assert read_first_id(GSheetsBackend.from_options(sid)) == "KH-000001"


def test_adc_from_gcloud_well_known_file(fake, user_sheet, tmp_path, monkeypatch):
    """No key, no variable: google.auth.default() finds what `gcloud auth
    application-default login` wrote (CLOUDSDK_CONFIG points gcloud's directory here)."""
    sid, info, _ = user_sheet
    gcloud = tmp_path / "gcloud"
    gcloud.mkdir()
    (gcloud / "application_default_credentials.json").write_text(json.dumps(info))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud))
    monkeypatch.setenv("SHEETCRM_API_ENDPOINT", fake.url)
    assert read_first_id(GSheetsBackend.from_options(sid)) == "KH-000001"
    assert fake.admin.counters()["requests"]["oauth2.token"] == 1


def test_no_credentials_anywhere_says_what_to_do(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "empty"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata server probe off loopback
    with pytest.raises(ConfigError, match="No Google credentials"):
        GSheetsBackend.from_options("abc", None, fake.url)


def test_person_without_access_gets_403_message(fake, tmp_path):
    info = fake.admin.oauth_user("stranger@example.vn")
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: LEADS}, owner="boss@example.com")
    path = tmp_path / "u.json"
    path.write_text(json.dumps(info))
    with pytest.raises(ConfigError, match="share it with the account you authorised as Editor"):
        read_first_id(GSheetsBackend.from_options(sid, str(path), fake.url))


def test_oauth_user_file_through_the_cli_syncs_run_after_run(fake, user_sheet):
    """The documented way: the authorized-user file as --credentials; its token_uri (the
    fake's) is the one refreshed at, run after run."""
    from .e2e import cli, today

    sid, info, path = user_sheet
    fake.admin.edit_as_person(sid, f"'{TAB}'!C1:D2", [["Trạng thái", "Số điện thoại"], ["Mới", "'0912345678"]])
    fake.admin.reset_counters()
    for _ in range(2):
        r = cli("sync", "--sheet", sid, "--credentials", str(path), "--api-endpoint", fake.url, "--today", today())
        assert r.returncode == 0, r.stderr
    assert fake.admin.counters()["requests"]["oauth2.token"] == 2
    assert fake.admin.values(sid, "'Nhật ký đồng bộ'!A3:A3")  # two runs logged


def test_google_auth_loader_alone_would_refresh_at_google(user_sheet):
    from google.oauth2.credentials import Credentials

    _, info, path = user_sheet
    assert Credentials.from_authorized_user_file(str(path)).token_uri != info["token_uri"]
    creds, _ = load_credentials(str(path))
    assert creds.token_uri == info["token_uri"]
