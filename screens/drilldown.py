"""Drill-down: activities filtered by campaign, agent, lead, time range and type.

The filters live in the URL (read on load, written on change) so a view can be shared and
bookmarked; clicking a campaign bar filters by it; the CSV export is exactly the table shown.
Which of URL, widgets and this session's memory wins is decided in
ipscape/presentation/drilldown.py; this page only reads and writes them. Past days come from
the history store (ipscape/live.py, `LiveData.query_activities`), never the tenant.
"""

import streamlit as st

from ipscape import charts
from ipscape.presentation import aggregates
from ipscape.presentation import drilldown as dd
from ipscape.presentation.text import plain
from ui import auth, layout, tiles, view
from ui.glossary import glossary
from ui.tables import show_table

ctx = layout.page_start("Drill-down")
words = glossary(ctx.tz)
KEYS = {name: f"dd_{name}" for name in dd.PARAMS}
LOADED = "dd_loaded"  # what the URL said at the last run (this session's filters)


def _url() -> dict[str, str | None]:
    return {name: st.query_params.get(name) for name in dd.PARAMS}


def _load_from_url() -> tuple[str, ...]:
    """Seed the widgets from the URL (or this session's filters); notes on ignored values."""
    widgets_present = all(key in st.session_state for key in KEYS.values())
    state = dd.url_state(_url(), st.session_state.get(LOADED), widgets_present)
    if state.reseed:
        for name, value in state.widget_values.items():
            st.session_state[KEYS[name]] = value
    st.session_state[LOADED] = state.remember
    return state.notes


def _write_url(filters: dd.DrillFilters) -> None:
    write = dd.url_write(filters, _url())
    for name, value in write.changes.items():  # only the filters: scope and range are their own
        if value is None:
            del st.query_params[name]
        else:
            st.query_params[name] = value
    st.session_state[LOADED] = write.remember  # so the next run does not reseed from it


def _on_chart_select() -> None:
    event = st.session_state.get("dd_chart")
    campaign = dd.campaign_from_selection(event.selection.points if event is not None else [])
    if campaign is not None:
        st.session_state[KEYS["campaign"]] = campaign


def _filter(label: str, name: str, names: dict) -> None:
    current = st.session_state.get(KEYS[name])
    st.selectbox(
        label,
        dd.filter_options(current, names),
        format_func=lambda v: dd.option_label(v, names),
        key=KEYS[name],
    )


time_range = view.time_range(ctx)


# An analysis view, not a wall tile: it refreshes once a minute at most, so a table being read,
# a row being selected or a CSV being downloaded is not pulled away every few seconds.
@auth.live_fragment(max(60.0, ctx.config.poll.activities_s))
def drilldown() -> None:
    for note in _load_from_url():
        st.caption(plain(note))
    campaigns, agents = view.scoped(ctx.live.campaigns()), view.scoped(ctx.live.agents())
    c1, c2, c3, c4 = st.columns([3, 3, 2, 2])
    with c1:
        _filter("Campaign", "campaign", aggregates.campaign_names(campaigns.frame))
    with c2:
        _filter("Agent", "agent", dd.agent_names(agents.frame))
    with c3:
        st.text_input("Lead id", key=KEYS["lead"], max_chars=20)
    with c4:
        _filter("Type", "type", dd.type_names(st.session_state.get(KEYS["type"])))

    filters, bad = dd.filters_from_widgets({n: st.session_state.get(k) for n, k in KEYS.items()})
    for note in bad:
        st.caption(plain(note))
    _write_url(filters)

    period, _ = view.bounds(ctx, time_range)
    result = view.scoped(ctx.live.query_activities(**dd.activity_query(filters, period)))
    tiles.render_freshness(result, ctx.tz)
    if result.state != "error" and campaigns.state == "error":
        st.error(plain(dd.tenant_failing_note(campaigns.error)), icon="⚠️")
    rows = dd.newest_activities(result.frame)
    table = dd.activities_table(rows, ctx.tz)
    chart = charts.count_bar_chart(
        rows, title=dd.CHART_TITLE, empty_message=dd.NO_MATCH, uirevision="dd-campaigns"
    )
    st.plotly_chart(
        chart, width="stretch", key="dd_chart", on_select=_on_chart_select, selection_mode="points"
    )
    st.caption(plain(dd.shown_caption(len(table), len(result.frame), words["times"])))
    strange = dd.unknown_types_note(dd.unknown_types(rows))
    if strange:
        st.caption(plain(strange))
    picked = show_table(table, words, on_select="rerun", selection_mode="single-row", key="dd_rows")
    st.download_button(
        "Download CSV (this table)",
        data=lambda: dd.csv_bytes(table),  # built on click, from this very table
        file_name="activities.csv",
        mime="text/csv",
        key="dd_csv",
        on_click="ignore",
    )
    raw = dd.raw_of_selected(rows, picked.selection.rows if picked is not None else [])
    if raw is not None:
        with st.expander("Raw data of the selected activity", expanded=True):
            st.json(raw)

    dropped = dd.drops_lines(
        {"these results": result.drops, **{f: ctx.live.snapshot(f).drops for f in dd.DROP_FEEDS}}
    )
    if dropped:
        with st.expander(dd.DROPS_LABEL):
            st.caption(plain(dd.DROPS_NOTE))
            for line in dropped:
                st.caption(plain(line))

    future = ctx.live.quarantined_activities()
    if len(future):
        with st.expander(dd.future_label(len(future))):
            st.caption(plain(dd.FUTURE_NOTE))
            show_table(dd.activities_table(future, ctx.tz), words)

    if filters.lead is not None:
        st.subheader(f"Dial attempts of lead {filters.lead}")
        attempts = ctx.live.dial_attempts(filters.lead)
        tiles.render_freshness(attempts, ctx.tz)
        if attempts.frame.empty:
            st.info("No dial attempts for this lead.")
        else:
            show_table(dd.dial_summary(attempts.frame), words)
            show_table(dd.dial_attempts_table(attempts.frame, ctx.tz), words)


drilldown()
layout.page_footer(ctx)
