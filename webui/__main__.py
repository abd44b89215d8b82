"""`python -m webui --settings-json '...'` (or --data-dir/--bind/--http-port): run the web server alone."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from appliance.settings import Settings
from webui.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webui", description="Run the appliance web UI")
    parser.add_argument("--settings-json", help="the full Settings as JSON (what the supervisor passes)")
    parser.add_argument("--data-dir", default="var")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8080)
    args = parser.parse_args(argv)
    if args.settings_json:
        settings = Settings.from_json(args.settings_json)
    else:
        settings = Settings(data_dir=Path(args.data_dir).resolve(), bind=args.bind, http_port=args.http_port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
