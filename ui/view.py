"""The two controls that say what a page looks at: the campaign scope (every page) and the time
range (the trend pages and the drill-down). Both live in the URL, with the wall's own names
(``campaigns=1,2,5``; ``window=yesterday``, ``window=custom&since=...&until=...``,
``compare=yesterday``), and stay with the viewer across page changes; the rules are in
ipscape/presentation/url_state.py, the meanings in ipscape/presentation/scope.py and
time_range.py. This module only binds them to widgets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from ipscape.live import LiveData
from ipscape.metrics import feeds as metrics_feeds
from ipscape.presentation import aggregates
from ipscape.presentation.scope import (
    SCOPE_PARAM,
    campaigns_param,
    parse_campaign_ids,
    scope_frame,
    scope_label,
    scope_options,
)
from ipscape.presentation.text import plain
from ipscape.presentation.time_range import (
    COMPARISONS,
    PRESETS,
    RANGE_PARAMS,
    URL_TIME_FORMAT,
    Bounds,
    TimeRange,
    comparison_bounds,
    parse_range,
    range_bounds,
    range_params,
    within_history,
)
from ipscape.presentation.url_state import remembered, sticky_params, url_changes
from ipscape.snapshots import Snapshot
from ui import runtime

SCOPE_KEY = "view_campaigns"
SCOPE_MEMORY = "_view_campaigns_url"  # what the URL said at the last run (this session's scope)
RANGE_KEYS = {name: f"range_{name}" for name in RANGE_PARAMS}
RANGE_MEMORY = "_range_url"
# The page of the last run, and whether this run is on another one: a widget drawn on every page
# is still a new widget on each (its value does not follow it), so a page change reseeds it.
PAGE_KEY, PAGE_CHANGED = "_view_page", "_view_page_changed"


def enter_page(title: str) -> None:
    """Called once per run, before the controls: notes whether the page changed."""
    st.session_state[PAGE_CHANGED] = st.session_state.get(PAGE_KEY) != title
    st.session_state[PAGE_KEY] = title


def _present(key: str) -> bool:
    """Whether the widget of ``key`` still holds this page's value (not a page change's)."""
    return key in st.session_state and not st.session_state.get(PAGE_CHANGED, True)


def _url(names: tuple[str, ...]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name in names:
        given = st.query_params.get_all(name)
        values[name] = ",".join(given) if given else None
    return values


def _write_url(changes: Mapping[str, str | None]) -> None:
    for name, value in changes.items():
        if value is None:
            del st.query_params[name]
        else:
            st.query_params[name] = value


def campaign_scope(ctx: runtime.AppContext) -> None:
    """The scope control: which campaigns this page shows (empty: every campaign), read back
    by `scope` from the widget's state, also in the fragments that rerun without this."""
    names = (SCOPE_PARAM,)
    state = sticky_params(
        _url(names), st.session_state.get(SCOPE_MEMORY), names, _present(SCOPE_KEY)
    )
    asked, notes = parse_campaign_ids([state.asked[SCOPE_PARAM] or ""])
    if state.reseed:
        st.session_state[SCOPE_KEY] = list(asked)
    campaign_names = aggregates.campaign_names(ctx.live.campaigns().frame)
    chosen = st.multiselect(
        "Campaigns",
        scope_options(campaign_names, st.session_state.get(SCOPE_KEY) or []),
        format_func=lambda c: scope_label(c, campaign_names),
        key=SCOPE_KEY,
        placeholder="All campaigns",
        help="Which campaigns every page shows; kept in the link and across pages.",
    )
    params = {SCOPE_PARAM: value} if (value := campaigns_param(chosen)) else {}
    _write_url(url_changes(params, _url(names), names))
    st.session_state[SCOPE_MEMORY] = remembered(params, names)
    for note in notes:
        st.caption(plain(f"Campaigns: {note}."))


def scope() -> tuple[int, ...]:
    """This page's campaign scope, as the control above set it (empty: every campaign)."""
    return tuple(st.session_state.get(SCOPE_KEY) or ())


def scoped(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with only the rows of this page's scope (all of them without one)."""
    ids = scope()
    if not ids:
        return snapshot
    return replace(snapshot, frame=scope_frame(snapshot.feed, snapshot.frame, ids))


def _local_now(ctx: runtime.AppContext) -> datetime:
    now = ctx.live.now().astimezone(ZoneInfo(ctx.tz)).replace(tzinfo=None)
    return now.replace(second=0, microsecond=0)


def _widget_params(values: Mapping[str, object]) -> dict[str, str | None]:
    """The range the widgets hold, as the URL would say it (read back by `parse_range`)."""
    window = str(values.get("window") or "today")
    params: dict[str, str | None] = {"window": window, "compare": str(values.get("compare"))}
    if window == "custom":
        for name in ("since", "until"):
            moment = values.get(name)
            params[name] = (
                moment.strftime(URL_TIME_FORMAT) if isinstance(moment, datetime) else None
            )
    return params


def time_range(ctx: runtime.AppContext, *, compare: bool = False) -> TimeRange:
    """The range control (and, on trend pages, the comparison), as picked; `bounds` says what
    it covers at a given moment (a fragment asks again on each rerun, as the range moves)."""
    state = sticky_params(
        _url(RANGE_PARAMS),
        st.session_state.get(RANGE_MEMORY),
        RANGE_PARAMS,
        _present(RANGE_KEYS["window"]),
    )
    asked, notes = parse_range(state.asked)
    now = _local_now(ctx)
    earliest = now - timedelta(days=max(1.0, ctx.config.history.retention_days))
    latest = now + timedelta(days=1)
    if state.reseed:
        asked, cut = within_history(asked, earliest, latest)
        notes += cut
        st.session_state[RANGE_KEYS["window"]] = asked.window
        st.session_state[RANGE_KEYS["compare"]] = asked.compare
        st.session_state[RANGE_KEYS["since"]] = asked.since or now.replace(hour=0, minute=0)
        st.session_state[RANGE_KEYS["until"]] = asked.until or now
    columns = st.columns(4, vertical_alignment="bottom")
    with columns[0]:
        window = st.selectbox(
            "Time range", list(PRESETS), format_func=lambda w: PRESETS[w], key=RANGE_KEYS["window"]
        )
    if window == "custom":
        for column, name, label in ((columns[1], "since", "From"), (columns[2], "until", "To")):
            with column:
                st.datetime_input(
                    label,
                    min_value=earliest,
                    max_value=latest,
                    key=RANGE_KEYS[name],
                    format="YYYY-MM-DD",
                    step=timedelta(minutes=15),
                )
    if compare:
        with columns[3]:
            st.selectbox(
                "Compare with",
                list(COMPARISONS),
                format_func=lambda c: COMPARISONS[c],
                key=RANGE_KEYS["compare"],
                help="Draw the same clock times of an earlier day over the trend.",
            )
    values = {name: st.session_state.get(key) for name, key in RANGE_KEYS.items()}
    if not compare:
        values["compare"] = asked.compare  # kept for the pages that compare, not used here
    chosen, bad = parse_range(_widget_params(values))
    params = range_params(chosen)
    _write_url(url_changes(params, _url(RANGE_PARAMS), RANGE_PARAMS))
    st.session_state[RANGE_MEMORY] = remembered(params, RANGE_PARAMS)
    for note in (*notes, *bad):
        st.caption(plain(note))
    return chosen if compare else replace(chosen, compare="none")


def bounds(ctx: runtime.AppContext, picked: TimeRange) -> tuple[Bounds, Bounds | None]:
    """The range's [since, until) now, and its comparison's (None without one)."""
    now_bounds = range_bounds(picked, ctx.live.now(), ctx.tz)
    return now_bounds, comparison_bounds(now_bounds, picked.compare, ctx.tz)


def service_level_between(
    ctx: runtime.AppContext, period: Bounds, campaign_ids: tuple[int, ...], freq: str
) -> pd.DataFrame:
    """The service-level trend of a range (and scope), counted from its calls: past days from
    the history store, today from the collector's day. Shared by every viewer for a minute."""
    since, until = period.since, period.until
    if period.live:  # whole minutes: the key (and the count) changes once a minute at most
        since = since.replace(second=0, microsecond=0)
        until = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return _service_level_between(ctx.live, since, until, campaign_ids, freq)


@st.cache_data(ttl=120, max_entries=32, show_spinner=False)
def _service_level_between(
    _live: LiveData, since: datetime, until: datetime, campaign_ids: tuple[int, ...], freq: str
) -> pd.DataFrame:
    # _live is one per process, not hashed: the range, scope and buckets are the key.
    return metrics_feeds.service_level_between(
        _live.activities_between(since, until),
        since,
        until,
        _live.config.display_timezone,
        metrics_feeds.Scope.of(_live.config),
        campaign_ids=campaign_ids,
        freq=freq,
    )
