"""The wall display's rules, as pure functions: what the kiosk URL asks for, which view is on
screen now, whether the room is open, where the board sits (burn-in care) and when the page
reloads itself. The view models (what each view shows) are in `wall_models`.

Everything the wall shows is derived from the URL, the config and the wall clock, never from a
browser session surviving: a reloaded or reconnected page lands on the same view, the same shift
and the same brightness as before.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from ipscape.config import WallConfig
from ipscape.presentation.scope import parse_campaign_ids

VIEWS: tuple[str, ...] = ("overview", "agents", "voicemail", "transfers")
# Views a wall may ask for besides the default rotation: "grid", one cell per agent (a room
# with 200 agents reads it better than a table of ten rows and "and 190 more").
ALL_VIEWS: tuple[str, ...] = (*VIEWS, "grid")
Theme = Literal["dark", "light"]
THEMES: tuple[str, ...] = ("dark", "light")
# Below 5 s a view is gone before anyone across the room has read it (and matches the config floor).
MIN_ROTATE_S = 5.0
MAX_ROTATE_S = 3600.0
# Query parameters Streamlit itself may leave on a URL; they are not ours to complain about.
FOREIGN_PARAMS = frozenset({"embed", "embed_options"})
KNOWN_PARAMS = frozenset({"kiosk", "rotate", "campaigns", "theme", "view", "views", "token"})
MAX_NOTES = 6
# How often the board redraws at most. Its data changes once per poll interval (8 s at the
# fastest, ipscape/config.py), and a board read from across a room needs no more: ages step by
# the tick and the clock shows minutes. A redraw costs 10-20 ms of server CPU
# (benchmarks/viewer_cpu.py); redrawing faster than the data changes would only spend it.
BOARD_TICK_S = 10.0
# The board moves one pixel per this many seconds; slow enough that nobody sees it move.
PIXEL_SHIFT_STEP_S = 60.0

_SHOWN = re.compile(r"[^A-Za-z0-9 ,.:_-]")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WallParams:
    """What a kiosk URL asks for, after validation; ``notes`` say what was ignored and why."""

    kiosk: bool = False
    rotate_s: float = 0.0  # 0 = no rotation: stay on the first view
    campaigns: tuple[int, ...] = ()  # empty = the config's campaign list
    theme: Theme = "dark"
    views: tuple[str, ...] = VIEWS
    token: str | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()


def shown(value: str, limit: int = 24) -> str:
    """A URL value safe and short enough to echo in a note: plain characters only, truncated."""
    cleaned = _SHOWN.sub("?", value)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _last(value: str | Sequence[str]) -> str:
    """The last value of a query parameter given more than once (as the browser's URL bar
    shows the one added last), or its only value."""
    if isinstance(value, str):
        return value
    return value[-1] if value else ""


def wall_link(
    base_url: str,
    *,
    views: Sequence[str] = VIEWS,
    campaigns: Sequence[int] = (),
    rotate_s: float = 20.0,
    theme: Theme = "dark",
    token: str | None = None,
) -> str:
    """The kiosk URL that asks for exactly these settings (`parse_wall_params` reads them
    back), at ``base_url`` (the dashboard's address, with the base path of a dashboard
    served under one, e.g. behind a proxy; any query dropped). Settings left at what the wall
    does anyway are left out, so the link stays short."""
    unknown = [v for v in views if v not in ALL_VIEWS]
    if unknown or not views:
        raise ValueError(f"views must be some of {', '.join(ALL_VIEWS)}, got {list(views)!r}")
    if rotate_s and not MIN_ROTATE_S <= rotate_s <= MAX_ROTATE_S:
        raise ValueError(f"rotate_s must be 0 or {MIN_ROTATE_S:g}-{MAX_ROTATE_S:g} s")
    query: list[tuple[str, str]] = [("kiosk", "1")]
    if len(views) == 1:
        query.append(("view", views[0]))
    else:
        query.append(("rotate", f"{rotate_s:g}"))
        if tuple(views) != VIEWS:
            query.append(("views", ",".join(views)))
    if campaigns:
        query.append(("campaigns", ",".join(str(int(c)) for c in campaigns)))
    if theme != "dark":
        query.append(("theme", theme))
    if token:
        query.append(("token", token))
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/") + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query, safe=","), ""))


def parse_wall_params(params: Mapping[str, str | Sequence[str]], wall: WallConfig) -> WallParams:
    """Validate kiosk URL parameters; anything invalid is dropped with a note, never raised.

    ``kiosk=1|0``, ``rotate=<seconds>`` (0 = off, else 5..3600), ``campaigns=1,2,5``,
    ``theme=dark|light``, ``views=overview,agents`` (rotation order), ``view=agents`` (pin one
    view), ``token=...`` (checked by `token_allowed`, never echoed).
    """
    notes: list[str] = []
    raw = {k: _last(v).strip() for k, v in params.items()}

    def ignore(key: str, why: str = "") -> None:
        shown_value = "…" if key == "token" else shown(raw.get(key, ""))
        notes.append(f"ignored {shown(key)}={shown_value}" + (f" ({why})" if why else ""))

    kiosk = False
    if "kiosk" in raw:
        # Exactly "1", as dashboard.py routes on it: a URL that reaches the wall must also
        # hide the menu.
        if raw["kiosk"] == "1":
            kiosk = True
        elif raw["kiosk"] != "0":
            ignore("kiosk", "use 1 or 0")

    rotate_s = float(wall.rotate_s)
    if "rotate" in raw:
        try:
            asked = float(raw["rotate"])
        except ValueError:
            asked = math.nan
        if asked == 0:
            rotate_s = 0.0
        elif math.isfinite(asked) and MIN_ROTATE_S <= asked <= MAX_ROTATE_S:
            rotate_s = asked
        else:
            ignore("rotate", f"seconds, 0 or {MIN_ROTATE_S:g}-{MAX_ROTATE_S:g}")

    campaigns: tuple[int, ...] = ()
    if "campaigns" in raw:
        # Repeated campaigns= add up (the pages' scope control may write them either way).
        given = params["campaigns"]
        campaigns, scope_notes = parse_campaign_ids([given] if isinstance(given, str) else given)
        notes += scope_notes

    theme: Theme = "dark"
    if "theme" in raw:
        value = raw["theme"].lower()
        if value == "light":
            theme = "light"
        elif value != "dark":
            ignore("theme", "dark or light")

    views = VIEWS
    if "views" in raw:
        asked_views = [v.strip().lower() for v in raw["views"].split(",") if v.strip()]
        chosen = tuple(dict.fromkeys(v for v in asked_views if v in ALL_VIEWS))
        unknown = [v for v in asked_views if v not in ALL_VIEWS]
        if unknown:
            notes.append(f"ignored views={shown(','.join(unknown))} (use {', '.join(ALL_VIEWS)})")
        if chosen:
            views = chosen
    if "view" in raw:
        value = raw["view"].lower()
        if value in ALL_VIEWS:
            views = (value,)
        else:
            ignore("view", ", ".join(ALL_VIEWS))

    token = raw.get("token") or None

    unknown_keys = sorted(set(raw) - KNOWN_PARAMS - FOREIGN_PARAMS)
    notes.extend(f"ignored {shown(key)} (unknown)" for key in unknown_keys)
    if len(notes) > MAX_NOTES:
        notes = [*notes[: MAX_NOTES - 1], f"… and {len(notes) - MAX_NOTES + 1} more"]
    return WallParams(
        kiosk=kiosk,
        rotate_s=rotate_s,
        campaigns=campaigns,
        theme=theme,
        views=views,
        token=token,
        notes=tuple(notes),
    )


# Streamlit's own switches for a kiosk, which it reads from the URL once, when the page loads,
# and refuses to take from a script (st.query_params raises for them): ``embed=true`` leaves out
# its toolbar, main menu and running indicator and narrows the page padding;
# ``embed_options=dark_theme|light_theme`` picks the [theme.dark] or [theme.light] section of
# .streamlit/config.toml for this tab, whatever the viewer's system setting.
EMBED_PARAM = "embed"
EMBED_OPTIONS_PARAM = "embed_options"
THEME_OPTIONS: dict[Theme, str] = {"dark": "dark_theme", "light": "light_theme"}


@dataclass(frozen=True)
class UrlSwitches:
    """The Streamlit URL switches a wall's page must carry (ui/assets/wall.js adds them)."""

    embed: bool
    theme_option: str


def url_switches(params: WallParams) -> UrlSwitches:
    """Kiosk chrome off for a kiosk; the theme the wall's URL asks for, kiosk or not."""
    return UrlSwitches(embed=params.kiosk, theme_option=THEME_OPTIONS[params.theme])


def token_allowed(given: str | None, tokens: Sequence[str]) -> bool:
    """True when no tokens are configured, or ``given`` matches one (constant-time compare).

    Every configured token is compared, so the time taken does not say which one came close.
    """
    if not tokens:
        return True
    if not given:
        return False
    candidate = given.encode("utf-8")
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(candidate, token.encode("utf-8"))
    return matched


@dataclass(frozen=True)
class Rotation:
    view: str
    index: int
    count: int
    seconds_left: float  # until the next view; math.inf without rotation


def current_view(now: float, rotate_s: float, views: Sequence[str] = VIEWS) -> Rotation:
    """The view on screen at POSIX time ``now``: the same for every screen and after a reload."""
    if not views:
        raise ValueError("at least one view is needed")
    if rotate_s <= 0 or len(views) == 1:
        return Rotation(views[0], 0, len(views), math.inf)
    slot = math.floor(now / rotate_s)
    index = slot % len(views)
    return Rotation(views[index], index, len(views), (slot + 1) * rotate_s - now)


def board_tick_s(rotate_s: float, poll_s: float = BOARD_TICK_S) -> float:
    """Seconds between redraws: as often as the fastest feed can bring new data (``poll_s``),
    at most `BOARD_TICK_S` apart, and twice per view when views rotate faster, so that no view
    is skipped or shown late by more than half its time."""
    tick = min(BOARD_TICK_S, poll_s) if poll_s > 0 else BOARD_TICK_S
    if rotate_s > 0:
        return min(tick, rotate_s / 2)
    return tick


def parse_clock(text: str) -> time:
    """ "07:30" -> time(7, 30); ValueError for anything else."""
    match = _CLOCK.match(text)
    if not match:
        raise ValueError(f"not a HH:MM time: {text!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"not a HH:MM time: {text!r}")
    return time(hour, minute)


def parse_open_hours(text: str) -> tuple[time, time] | None:
    """ "07:00-20:00" -> (07:00, 20:00); "" -> None (always open); ValueError when malformed.

    An end before the start spans midnight ("20:00-06:00" is a night shift).
    """
    if not text.strip():
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"open hours must look like 07:00-20:00, got {text!r}")
    opens, closes = parse_clock(start), parse_clock(end)
    if opens == closes:
        raise ValueError("open hours must not start and end at the same time")
    return opens, closes


def is_open(local: datetime, hours: tuple[time, time] | None) -> bool:
    """Whether ``local`` (a wall-clock time in the display zone) falls inside the open hours."""
    if hours is None:
        return True
    opens, closes = hours
    now = local.time().replace(tzinfo=None)
    if opens < closes:
        return opens <= now < closes
    return now >= opens or now < closes


def pixel_shift(
    now: float, amplitude_px: int, step_s: float = PIXEL_SHIFT_STEP_S
) -> tuple[int, int]:
    """The board's (dx, dy) offset at POSIX time ``now``: within ±amplitude, 1 px a minute.

    The offset snakes row by row over every position of the square and back again, so static
    edges never sit on the same pixels for long and no step is larger than one pixel. Derived
    from the clock alone, so every reload continues the same slow walk.
    """
    if amplitude_px <= 0:
        return (0, 0)
    side = 2 * amplitude_px + 1
    cells = side * side
    step = math.floor(now / step_s) % (2 * cells - 2)
    k = step if step < cells else 2 * cells - 2 - step
    row, col = divmod(k, side)
    if row % 2:
        col = side - 1 - col
    return (col - amplitude_px, row - amplitude_px)


def next_reload(now: datetime, reload_at: str, tz: str) -> datetime | None:
    """The next nightly self-reload strictly after ``now`` (aware), or None when disabled.

    The reload time is a local wall-clock time in ``tz``; across a DST change it is taken as the
    zone says that local time maps (a skipped 02:30 becomes 03:30 that night).
    """
    if not reload_at.strip():
        return None
    at = parse_clock(reload_at)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date()
    for offset in range(3):
        naive = datetime.combine(day + timedelta(days=offset), at)
        candidate = naive.replace(tzinfo=zone)
        # Round-trip through UTC to normalise a wall time that does not exist (DST gap).
        candidate = candidate.astimezone(ZoneInfo("UTC")).astimezone(zone)
        if candidate > local:
            return candidate
    raise AssertionError("unreachable: a day always has the reload time")


@dataclass(frozen=True)
class WallSchedule:
    """The time-derived state of the board at one moment."""

    rotation: Rotation
    dimmed: bool
    shift: tuple[int, int]
    reload_at: datetime | None
    notes: tuple[str, ...] = ()


def wall_schedule(now: datetime, params: WallParams, wall: WallConfig, tz: str) -> WallSchedule:
    """Rotation, dimming, pixel shift and next reload at ``now``; a bad config value is noted.

    The config loader only checks that these are strings, so a malformed open_hours or reload_at
    must not take the wall down: the board stays bright / never self-reloads, and says why.
    """
    notes: list[str] = []
    epoch = now.timestamp()
    try:
        hours = parse_open_hours(wall.open_hours)
    except ValueError:
        hours = None
        notes.append("ignored wall.open_hours (use HH:MM-HH:MM)")
    try:
        reload = next_reload(now, wall.reload_at, tz)
    except ValueError:
        reload = None
        notes.append("ignored wall.reload_at (use HH:MM)")
    return WallSchedule(
        rotation=current_view(epoch, params.rotate_s, params.views),
        dimmed=not is_open(now.astimezone(ZoneInfo(tz)), hours),
        shift=pixel_shift(epoch, wall.pixel_shift_px),
        reload_at=reload,
        notes=tuple(notes),
    )
