"""Vendor strings (agent, campaign, caller, state names) are untrusted: shown as text only.

Streamlit renders labels, captions and alerts as Markdown, and plotly renders a subset of HTML
in its labels; both are escaped here, in one place, for every caller.
"""

from __future__ import annotations

import re

from ipscape.presentation.formats import UNKNOWN_TEXT, is_missing

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# Streamlit's Markdown (remark-gfm) turns bare URLs and e-mail addresses into links after
# escapes are undone, so no escape stops it: an invisible word joiner inside each trigger
# (U+2060 after "http:", "www" and "@") does, and reads the same.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(value: object) -> str:
    """Text that Streamlit's Markdown shows literally: no formatting, link, image, directive or
    autolink (for vendor strings and our own messages in st.error, labels etc.)."""
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, str(value)))


def escape_label(value: object) -> str:
    """Text safe to use as a plotly label: its HTML subset shows literally, "--" when missing."""
    if is_missing(value):
        return UNKNOWN_TEXT
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
