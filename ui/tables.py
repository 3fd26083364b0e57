"""Tables on screen: a presentation `Table` bound to st.dataframe with native column types.

Counts are integer columns, durations numbers of seconds, times datetimes, so a header click
sorts them as what they are; a missing value reads "--" (the placeholder). Streamlit's own
CSV download is switched off (client.disableDataExport in .streamlit/config.toml): exports go
through `ipscape.presentation.drilldown.csv_bytes`, which guards against spreadsheet formulas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from ipscape.presentation.formats import UNKNOWN_TEXT
from ipscape.presentation.levels import ROW_TINTS, TINT_TEXT
from ipscape.presentation.tables import Column, Table


def column_config(column: Column, words: Mapping[str, str]) -> Any:
    """The Streamlit column type for one column of a table model."""
    help_text = words.get(column.help) if column.help else None
    if column.kind == "count":
        return st.column_config.NumberColumn(column.name, help=help_text, format="localized")
    if column.kind == "duration":
        return st.column_config.NumberColumn(column.name, help=help_text, format="%d s", step=1)
    if column.kind == "progress":
        return st.column_config.ProgressColumn(
            column.name, help=help_text, format="percent", min_value=0.0, max_value=1.0
        )
    if column.kind == "percent":
        return st.column_config.NumberColumn(column.name, help=help_text, format="%.1f%%")
    if column.kind == "time":
        return st.column_config.DatetimeColumn(column.name, help=help_text, format="HH:mm:ss")
    if column.kind == "datetime":
        return st.column_config.DatetimeColumn(
            column.name, help=help_text, format="YYYY-MM-DD HH:mm:ss"
        )
    return st.column_config.TextColumn(column.name, help=help_text)


def _tinted(table: Table) -> pd.DataFrame | Any:
    """The frame, with each row tinted by its level when the table carries levels."""
    if not table.levels or not any(lv.name in ROW_TINTS for lv in table.levels):
        return table.frame
    # Dark text on the light tint, whatever the theme: the dark theme's light text on it
    # would not read.
    tints = [
        f"background-color: {ROW_TINTS[lv.name]}; color: {TINT_TEXT}"
        if lv.name in ROW_TINTS
        else ""
        for lv in table.levels
    ]
    width = len(table.frame.columns)
    return table.frame.style.apply(lambda row: [tints[row.name]] * width, axis=1)


def show_table(table: Table, words: Mapping[str, str] | None = None, **options: Any) -> Any:
    """st.dataframe of ``table``; ``options`` pass through (key, on_select, height...)."""
    words = words or {}
    return st.dataframe(
        _tinted(table),
        hide_index=True,
        width="stretch",
        column_order=table.shown,
        column_config={c.name: column_config(c, words) for c in table.columns},
        placeholder=UNKNOWN_TEXT,
        **options,
    )
