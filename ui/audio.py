"""Voicemail playback inside the page, for this session only."""

from __future__ import annotations

import base64

import streamlit as st


def audio_format(data: bytes) -> str:
    """The MIME type of voicemail audio, from its first bytes (the tenant does not say)."""
    if data[:4] == b"RIFF":
        return "audio/wav"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    return "audio/wav"


def audio_player_html(data: bytes) -> str:
    """An <audio> element that carries the recording itself as a data: URI.

    st.audio would serve the bytes at a /media/<hash> URL that anyone holding the link can
    fetch without a session, and that outlives the viewer's visit; inline, the audio goes only
    to the session that may see it, over its own websocket. Only our MIME constants and base64
    characters reach the markup.
    """
    source = f"data:{audio_format(data)};base64,{base64.b64encode(data).decode('ascii')}"
    return f'<audio controls preload="auto" src="{source}"></audio>'


def play(audio: bytes) -> None:
    st.html(audio_player_html(audio))
