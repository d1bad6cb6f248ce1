import json
import time

import pytest

from sheetcrm.backends.gsheets import GSheetsBackend
from sheetcrm.backends.retry import RetryPolicy
from sheetcrm.changes import AppendRows, CellUpdate, ChangeSet
from sheetcrm.errors import BackendError, ConfigError, LockHeldError

from .fake import FAST, backend

TAB = "Khách hàng"
LEADS = [["Mã KH", "Tên", "Trạng thái"], ["KH-000001", "An", "Mới"], ["KH-000002", "Bình", "Mới"]]
LOG = [["key", "what"]]


def setup(fake, account, policy=FAST):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: LEADS, "Log": LOG}, owner=info["client_email"])
    return sid, backend(fake, sid, keyfile, policy)


def run(b, key="ev-1"):
    with b.lock():
        b.read()
        return b.apply(ChangeSet(
            updates=[CellUpdate(TAB, 2, 3, "Nóng", old="Mới", lead_id="KH-000001")],
            appends=[AppendRows("Log", ((key, "moved"),), key_col=0)],
        ))


def log_rows(fake, sid):
    return fake.admin.values(sid, "Log!A1:B20")


def fault_on_write(fake, **fault):
    """Fault the final :batchUpdate (after lock, read and re-read), not the lock call."""
    fake.admin.after_requests(3, lambda a: a.inject_fault(match=r"spreadsheets\.batchUpdate", **fault))


@pytest.mark.parametrize("fault", [
    dict(status=429, count=3, retry_after=0),
    dict(status=503, count=3),
    dict(drop=True, count=2),
])
def test_transient_faults_are_retried(fake, account, fault):
    sid, b = setup(fake, account)
    fake.admin.inject_fault(**fault)
    res = run(b)
    assert res.cells_written == 3
    assert log_rows(fake, sid) == [["key", "what"], ["ev-1", "moved"]]


def test_retry_after_is_honoured(fake, account):
    import time

    sid, b = setup(fake, account)
    fake.admin.inject_fault(match="batchGet", status=429, count=1, retry_after=1)
    t0 = time.monotonic()
    run(b)
    assert time.monotonic() - t0 >= 1.0  # FAST alone would wait at most 0.05 s


def test_past_budget_exits_3_and_next_run_converges(fake, account):
    sid, b = setup(fake, account, RetryPolicy(attempts=3, max_seconds=5, initial=0.01, max_wait=0.02))
    fault_on_write(fake, status=503, count=3)  # every attempt of the write; the release then works
    with pytest.raises(BackendError) as err:
        run(b)
    assert log_rows(fake, sid) == [["key", "what"]]  # nothing half-written
    assert err.value.exit_code == 3 and "next run" in str(err.value)
    fake.admin.clear_faults()
    run(b)
    run(b)  # a retried event is logged once
    assert log_rows(fake, sid) == [["key", "what"], ["ev-1", "moved"]]
    assert fake.admin.values(sid, f"'{TAB}'!C2") == [["Nóng"]]


def test_write_applied_but_answer_lost_is_not_duplicated(fake, account):
    """The write reached the sheet but the connection dropped before the answer: the
    retry writes the same cells again, and a re-run appends nothing twice."""
    sid, b = setup(fake, account)
    fault_on_write(fake, latency=3, count=1)
    b.http.set_timeout(1)
    try:
        run(b)
    except BackendError:
        pass
    time.sleep(2.5)  # let the slow first attempt land too
    run(b)
    assert log_rows(fake, sid) == [["key", "what"], ["ev-1", "moved"]]


def test_replayed_write_is_recognised_not_appended_twice(fake, account):
    """The final batch is applied but its answer is lost; the retry fails on the lock the
    first attempt released, and the backend sees its rows in place: success, once."""
    sid, b = setup(fake, account)
    fault_on_write(fake, lose_answer=True, count=1)
    res = run(b)
    assert res.wrote
    assert log_rows(fake, sid) == [["key", "what"], ["ev-1", "moved"]]
    assert fake.admin.values(sid, f"'{TAB}'!C2") == [["Nóng"]]
    assert "sheetcrm_lock" not in {n["name"] for n in fake.admin.state(sid).get("namedRanges", [])}
    assert fake.admin.counters()["statuses"].get("400") == 1  # the replay, refused whole


def test_lost_lock_means_nothing_written(fake, account):
    """Another run deleted our (expired) lock before the write: the write fails whole."""
    sid, b = setup(fake, account)

    def steal(admin):
        lock = next(n for n in admin.state(sid)["namedRanges"] if n["name"] == "sheetcrm_lock")
        admin.person_batch_update(sid, [{"deleteNamedRange": {"namedRangeId": lock["namedRangeId"]}}])

    fake.admin.after_requests(3, steal)
    with pytest.raises(BackendError):
        run(b)
    assert log_rows(fake, sid) == [["key", "what"]]
    assert fake.admin.values(sid, f"'{TAB}'!C2") == [["Mới"]]


def test_403_names_the_account_to_share_with(fake, account):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: LEADS}, owner="boss@example.com")
    with pytest.raises(ConfigError) as err:
        backend(fake, sid, keyfile).read()
    assert f"share it with {info['client_email']} as Editor" in str(err.value)


def test_404_says_the_id_is_wrong(fake, account):
    with pytest.raises(ConfigError, match="id is wrong"):
        backend(fake, "1NoSuchSpreadsheetId0000000000", account[1]).read()


def test_credentials_file_problems_name_the_file(fake, tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match=f"{missing}.*does not exist"):
        GSheetsBackend.from_options("abc", str(missing), fake.url)
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "service_account",')
    with pytest.raises(ConfigError, match="not JSON"):
        GSheetsBackend.from_options("abc", str(broken), fake.url)
    badkey = tmp_path / "badkey.json"
    badkey.write_text(json.dumps({"type": "service_account", "client_email": "a@b", "token_uri": fake.url + "/token",
                                  "private_key": "-----BEGIN PRIVATE KEY-----\nSECRETSTUFF\n-----END PRIVATE KEY-----\n"}))
    with pytest.raises(ConfigError) as err:
        GSheetsBackend.from_options("abc", str(badkey), fake.url)
    assert "private_key cannot be read" in str(err.value) and "SECRETSTUFF" not in str(err.value)


def test_env_credentials(fake, account, monkeypatch):
    info, keyfile = account
    sid = fake.admin.create_spreadsheet("CRM", tabs={TAB: LEADS}, owner=info["client_email"])
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", keyfile)
    monkeypatch.setenv("SHEETCRM_API_ENDPOINT", fake.url)
    b = GSheetsBackend.from_options(f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0")
    assert b.read()[TAB].values[1][0] == "KH-000001"


def test_second_sync_gets_exit_4_and_crashed_lock_expires(fake, account):
    sid, b = setup(fake, account)
    other = backend(fake, sid, account[1])
    with b.lock():
        with pytest.raises(LockHeldError) as err:
            with other.lock():
                pass
        assert err.value.exit_code == 4
    # A crashed run leaves its lock; once expired, the next run takes over.
    crashed = backend(fake, sid, account[1])
    crashed.lock_ttl = 0
    crashed._acquire()  # never released
    run(other)
    assert "sheetcrm_lock" not in {n["name"] for n in fake.admin.state(sid).get("namedRanges", [])}


def test_local_lock_held_on_this_host(fake, account):
    sid, b = setup(fake, account)
    from sheetcrm.backends import locks

    with locks.local_lock(f"gsheets:{sid}", "x"):
        with pytest.raises(LockHeldError, match="on this host"):
            with b.lock():
                pass


def test_lost_answer_to_taking_the_lock_is_not_another_sync(fake, account):
    """The lock was added but its answer lost: the retry finds the name taken by our own
    lock, which must not lock this sync (and the next ones, for 15 minutes) out."""
    sid, b = setup(fake, account)
    fake.admin.inject_fault(match="spreadsheets.batchUpdate", lose_answer=True)
    res = run(b)
    assert res.wrote
    assert fake.admin.values(sid, f"'{TAB}'!C2") == [["Nóng"]]
    assert "sheetcrm_lock" not in {n["name"] for n in fake.admin.state(sid).get("namedRanges", [])}
