"""The server is thread-safe: concurrent writers through separate gspread clients
lose nothing."""
import threading

from sheetcrm.google_http import make_gspread_client

BOT = "sheetcrm-bot@sheetcrm-test.iam.gserviceaccount.com"


def test_concurrent_appends_and_updates_lose_nothing(fake_sheets, fake_sheets_account):
    sid = fake_sheets.admin.create_spreadsheet("hammer", tabs={"Log": [["who", "n"]], "Grid": []}, owner=BOT)
    threads, errors = [], []
    n_threads, per_thread = 6, 15

    def worker(t):
        try:
            gc = make_gspread_client(fake_sheets_account, api_endpoint=fake_sheets.url)
            sh = gc.open_by_key(sid)
            log, grid = sh.worksheet("Log"), sh.worksheet("Grid")
            for i in range(per_thread):
                log.append_row([f"t{t}", i], value_input_option="RAW")
                grid.update([[f"{t}:{i}"]], f"{chr(65 + t)}{i + 1}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    for t in range(n_threads):
        threads.append(threading.Thread(target=worker, args=(t,)))
        threads[-1].start()
    for th in threads:
        th.join()
    assert not errors
    state = fake_sheets.admin.state(sid)
    log_rows = state["sheets"][0]["values"][1:]
    assert len(log_rows) == n_threads * per_thread
    assert sorted((r[0], int(r[1])) for r in log_rows) == sorted((f"t{t}", i) for t in range(n_threads) for i in range(per_thread))
    grid = state["sheets"][1]["values"]
    for t in range(n_threads):
        assert [row[t] for row in grid[:per_thread]] == [f"{t}:{i}" for i in range(per_thread)]
    assert fake_sheets.admin.counters()["requests"]["spreadsheets.values.append"] == n_threads * per_thread
