"""``python -m sheetcrm.testing.fakesheets --port N``: serve the fake in the foreground."""
from __future__ import annotations

import argparse
import json
import sys

from .discovery import DiscoveryMissing
from .server import FakeSheetsServer


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m sheetcrm.testing.fakesheets", description="Fake Google Sheets API server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8099)
    p.add_argument("--service-account", metavar="EMAIL", help="register this account and print its credentials JSON")
    p.add_argument("--credentials-out", metavar="PATH", help="write that credentials JSON to PATH")
    args = p.parse_args(argv)
    try:
        fake = FakeSheetsServer(args.host, args.port).start()
    except DiscoveryMissing as exc:
        sys.exit(f"Error: {exc}")
    except OSError as exc:  # the port is taken, the host is not ours
        sys.exit(f"Error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    print(f"fake Sheets API listening on {fake.url} (admin: {fake.url}/_admin/)", flush=True)
    if args.service_account:
        info = fake.admin.service_account(args.service_account)
        if args.credentials_out:
            with open(args.credentials_out, "w") as fh:
                json.dump(info, fh, indent=2)
            print(f"credentials written to {args.credentials_out}", flush=True)
        else:
            print(json.dumps(info, indent=2), flush=True)
    try:
        fake._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
