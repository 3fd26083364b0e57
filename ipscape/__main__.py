"""``python -m ipscape``: fetch a feed or performance, check credentials, edit a lead, collect.

Exit codes: 0 ok; 2 usage or configuration error (or a request the tenant rejected as invalid);
3 authentication refused; 4 tenant unreachable or failing. Known failures print one line that says
what to do, never a traceback and never a secret.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import pandas as pd

from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient, request_scope
from ipscape.config import load_config
from ipscape.errors import (
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    AuthenticationError,
    ConfigError,
    RateLimitedError,
    RedirectError,
    ServerError,
    StoreError,
    user_message,
)
from ipscape.feeds import FEEDS, PERFORMANCE, fetch_feed, fetch_performance
from ipscape.pollers import poll_deadline_s
from ipscape.settings import is_configured, settings_from_env

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_TENANT = 0, 2, 3, 4
# Percentages and seconds of `fetch performance`, in both formats (hundredths are finer than
# any target or level a supervisor sets).
PERFORMANCE_DECIMALS = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"error: {message}\n")


def _prog() -> str:
    """How this run was started, for the usage line: the installed `ipscape` console script
    (pyproject.toml), or `python -m ipscape` from a checkout."""
    return "ipscape" if Path(sys.argv[0]).name == "ipscape" else "python -m ipscape"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=_prog(), description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests and retries")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fetch = sub.add_parser(
        "fetch",
        help="print one feed, or the performance per campaign (service level, abandon rate, "
        "ASA, AHT), as CSV or JSON",
    )
    fetch.add_argument("feed", choices=(*FEEDS, PERFORMANCE))
    fetch.add_argument("--campaign", type=int, metavar="ID")
    fetch.add_argument("--lead", type=int, metavar="ID")
    fetch.add_argument(
        "--since", metavar="ISO", help="activities created at or after (default: today)"
    )
    fetch.add_argument("--until", metavar="ISO", help="activities created before")
    fetch.add_argument("--format", choices=("csv", "json"), default="csv")

    sub.add_parser("check", help="verify the credentials and list the discovered operations")

    collect = sub.add_parser(
        "collect",
        help="poll the tenant on schedule into IPSCAPE_DATABASE_URL (run two: one polls, "
        "the other stands by)",
    )
    collect.add_argument(
        "--metrics-port", type=int, metavar="PORT", help="serve /healthz and /metrics on PORT"
    )
    collect.add_argument(
        "--metrics-host", default="127.0.0.1", metavar="HOST", help="default: 127.0.0.1"
    )

    lead = sub.add_parser("lead", help="create or update a lead from a JSON file")
    lead_sub = lead.add_subparsers(dest="lead_command", required=True, parser_class=_Parser)
    create = lead_sub.add_parser("create")
    create.add_argument("file", type=Path)
    update = lead_sub.add_parser("update")
    update.add_argument("lead_id", type=int)
    update.add_argument("file", type=Path)
    return parser


class UsageError(Exception):
    """Bad input from the command line (not the tenant's doing)."""


def _parse_when(text: str | None, tz: str, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not an ISO 8601 time, e.g. 2026-11-26T09:00"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(tz))


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise UsageError(f"{path} must hold one JSON object (the lead's fields)")
    return body


def frame_to_text(frame: pd.DataFrame, fmt: str) -> str:
    """JSON: a list of records with ISO-8601 UTC timestamps. CSV: the same, flat."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(
                lambda v: list(v) if isinstance(v, tuple) else v, na_action="ignore"
            )
    if fmt == "json":
        return frame.to_json(orient="records", date_format="iso", date_unit="s") + "\n"
    return frame.drop(columns=["raw"], errors="ignore").to_csv(
        index=False, date_format="%Y-%m-%dT%H:%M:%SZ"
    )


def _check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject, as usage errors, the options that do not apply to what was asked."""
    if args.command == "fetch" and args.feed == PERFORMANCE and args.lead is not None:
        parser.error("--lead does not apply to performance (it counts inbound calls)")


def performance_to_text(frame: pd.DataFrame, fmt: str) -> str:
    """`frame_to_text` of a performance frame, its metrics rounded (`PERFORMANCE_DECIMALS`)."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return frame_to_text(frame.round({c: PERFORMANCE_DECIMALS for c in floats}), fmt)


def _run(args: argparse.Namespace) -> int:
    if not is_configured():
        raise ConfigError(
            "No tenant configured: set IPSCAPE_BASE_URL, IPSCAPE_API_TOKEN and "
            "IPSCAPE_SECRET_KEY_1 (and optionally IPSCAPE_SECRET_KEY_2). To try it without a "
            "tenant, start the simulator (python -m ipscape.simulator --port 8765) and use its "
            "printed settings.",
            setting="IPSCAPE_BASE_URL",
        )
    settings = settings_from_env()
    config = load_config()
    if args.command == "collect":
        from ipscape import collect  # psycopg only for the command that needs it

        return collect.run(
            settings,
            config,
            os.environ,
            metrics_host=args.metrics_host,
            metrics_port=args.metrics_port,
        )
    budget = RequestBudget(config.poll.max_requests_per_min)
    # The whole command, every page and retry, ends within one poll's deadline.
    within_s = poll_deadline_s(settings.timeout_s, config.poll)
    with IpscapeClient(settings, budget=budget) as client, request_scope("cli", within_s):
        if args.command == "check":
            operations = client.operations()
            campaigns = client.list_campaigns()
            print(
                f"OK: {settings.redacted}, secret key {client.key_number} accepted, "
                f"{len(campaigns)} campaign(s) visible."
            )
            for op in operations.values():
                print(f"  {op.name:<20} {op.method:<5} {op.path}  ({op.source})")
            return EXIT_OK
        if args.command == "lead":
            body = _read_json_object(args.file)
            if args.lead_command == "create":
                result = client.create_lead(body)
            else:
                result = client.update_lead(args.lead_id, body)
            print(json.dumps(result, indent=2, default=str))
            return EXIT_OK
        tz = config.display_timezone
        since = _parse_when(args.since, tz, "--since")
        until = _parse_when(args.until, tz, "--until")
        if args.feed == PERFORMANCE:
            target_s, targets = config.thresholds.service_level_targets()
            frame = fetch_performance(
                client,
                target_s=target_s,
                targets=targets,
                campaign_id=args.campaign,
                since=since,
                until=until,
                timezone=tz,
            )
            sys.stdout.write(performance_to_text(frame, args.format))
            return EXIT_OK
        frame = fetch_feed(
            client,
            args.feed,
            campaign_id=args.campaign,
            lead_id=args.lead,
            since=since,
            until=until,
            timezone=tz,
            within_s=within_s,
        )
        sys.stdout.write(frame_to_text(frame, args.format))
        return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_combinations(parser, args)
    logging.basicConfig(
        # Retries and fallbacks are logged as warnings: shown with -v, so that a failure is
        # otherwise the one line below. A collector is a service: it logs what it does.
        level=logging.INFO if args.verbose or args.command == "collect" else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader (e.g. `| head`) has gone: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (ConfigError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AuthenticationError as exc:
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return EXIT_AUTH
    except ApiStatusError as exc:
        if isinstance(exc, RateLimitedError | ServerError | RedirectError):
            print(f"error: {user_message(exc)}", file=sys.stderr)
            return EXIT_TENANT
        print(
            f"error: the tenant rejected the request (HTTP {exc.status_code}, "
            f"{exc.operation}); check the ids and fields you passed.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except (ApiConnectionError, ApiError, StoreError) as exc:
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return EXIT_TENANT


if __name__ == "__main__":
    sys.exit(main())
