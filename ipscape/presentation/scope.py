"""The campaign scope of a view: which campaigns a page or a wall shows, and its URL form.

One parameter for every screen, ``campaigns=1,2,5`` (repeated ``campaigns=1&campaigns=2`` reads
the same), so a scope picked on a page, a wall link and a bookmark all say it the same way. An
empty scope is every campaign the configuration shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

SCOPE_PARAM = "campaigns"
MAX_CAMPAIGNS = 50
_SHOWN = re.compile(r"[^A-Za-z0-9 ,.:_-]")


def _shown(value: str, limit: int = 40) -> str:
    """A URL value as it may be echoed back: safe characters only, capped."""
    return _SHOWN.sub("?", value)[:limit]


def parse_campaign_ids(values: Sequence[str]) -> tuple[tuple[int, ...], list[str]]:
    """Campaign ids from ``campaigns=`` values (comma-separated, repeated, or both), in order,
    without repeats, at most `MAX_CAMPAIGNS`; a note for what was ignored."""
    ids: list[int] = []
    bad: list[str] = []
    notes: list[str] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if part.isdigit() and len(part) <= 12:
                if int(part) not in ids:
                    ids.append(int(part))
            else:
                bad.append(part)
    if bad:
        notes.append(f"ignored campaigns={_shown(','.join(bad))} (campaign ids are numbers)")
    if len(ids) > MAX_CAMPAIGNS:
        notes.append(f"only the first {MAX_CAMPAIGNS} campaigns are shown")
        ids = ids[:MAX_CAMPAIGNS]
    return tuple(ids), notes


def campaigns_param(campaign_ids: Sequence[int]) -> str | None:
    """The ``campaigns=`` value of a scope (None for every campaign)."""
    return ",".join(str(int(c)) for c in campaign_ids) or None


def scope_options(names: Mapping[int, str], chosen: Sequence[int]) -> list[int]:
    """The scope control's choices: known campaigns by name, then chosen ids the tenant does
    not list (a bookmarked campaign that is gone still shows, as ``#id``)."""
    known = sorted(names, key=lambda c: (names[c].casefold(), c))
    return [*known, *(c for c in chosen if c not in names)]


def scope_label(campaign_id: int, names: Mapping[int, str]) -> str:
    return names.get(campaign_id) or f"#{campaign_id}"


# Which column(s) of each feed name the campaign a row belongs to.
_SCOPE_COLUMNS: dict[str, tuple[str, ...]] = {
    "campaigns": ("campaign_id",),
    "voicemail": ("campaign_id",),
    "activities": ("campaign_id",),
    "transfers": ("from_campaign_id", "to_campaign_id"),
    # campaign rows only: a scoped view adds them up (its total row is every campaign's)
    "performance": ("campaign_id",),
    "alerts": ("campaign_id",),
}


def scope_frame(feed: str, frame: pd.DataFrame, campaign_ids: Sequence[int]) -> pd.DataFrame:
    """The rows of ``frame`` that concern ``campaign_ids`` (all rows when none are given).

    Agents belong to a campaign when it is among their ``campaign_ids``; a transfer when either
    end is in scope. Rows whose campaign is unknown are left out of a scoped view.
    """
    if not campaign_ids or frame.empty:
        return frame
    wanted = {int(c) for c in campaign_ids}
    if feed == "agents":
        keep = [bool(wanted.intersection(ids or ())) for ids in frame["campaign_ids"]]
        return frame.loc[keep].reset_index(drop=True)
    columns = [c for c in _SCOPE_COLUMNS.get(feed, ()) if c in frame.columns]
    if not columns:
        return frame
    mask = pd.Series(False, index=frame.index)
    for column in columns:
        mask |= frame[column].isin(wanted).fillna(False).astype(bool)
    return frame.loc[mask].reset_index(drop=True)
