"""How a screen keeps its URL, its widgets and this session's memory of them in step.

A view that can be shared lives in query parameters. Three things pull on them:

- the URL wins when it names any of the view's parameters (a link was opened, or the browser
  went back or forward);
- when it names none and this session already had a view, that view stays: Streamlit drops the
  query string on a page switch, and a supervisor coming back expects what they picked;
- the widgets are reseeded only when what the URL says changed since the last run, or when
  their own state is gone (Streamlit drops it on a page switch), so a rerun never overwrites
  what the user just picked.

What is written back is only what differs from the defaults, and only where the URL does not
already say it (each write is an entry in the browser's history). Each screen writes only its
own parameters, so the campaign scope, the time range and the drill-down's filters share one URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Params = Mapping[str, str | None]


@dataclass(frozen=True)
class Sticky:
    """Where a run starts: what each parameter says (raw text or None), and whether to set the
    widgets from it before they are drawn."""

    asked: dict[str, str | None]
    reseed: bool


def sticky_params(
    url: Params, remembered: Params | None, names: Sequence[str], widgets_present: bool
) -> Sticky:
    """The view this run starts from: the URL's, or this session's when the URL names none."""
    asked = {name: url.get(name) or None for name in names}
    if remembered and not any(asked.values()):
        asked = {name: remembered.get(name) for name in names}
    reseed = not widgets_present or remembered is None or dict(remembered) != asked
    return Sticky(asked, reseed)


def url_changes(
    params: Mapping[str, str], current: Params, names: Sequence[str]
) -> dict[str, str | None]:
    """The query parameters to set (a value) or remove (None) so that the URL says ``params``
    for ``names``; the other parameters of the URL are not touched."""
    changes: dict[str, str | None] = {}
    for name in names:
        wanted, now = params.get(name), current.get(name)
        if wanted != now:
            changes[name] = wanted
    return changes


def remembered(params: Mapping[str, str], names: Sequence[str]) -> dict[str, str | None]:
    """What the URL says once ``params`` are written, kept for the next run."""
    return {name: params.get(name) for name in names}
