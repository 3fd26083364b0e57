"""Small, valid WAV files standing in for call recordings and voicemails."""

from __future__ import annotations

import io
import math
import wave
from functools import lru_cache

RATE = 8000  # telephone quality keeps the files small
MAX_SECONDS = 3.0


@lru_cache(maxsize=64)
def _tone(tenths: int) -> bytes:
    frames = int(RATE * tenths / 10)
    # 8-bit unsigned PCM: a quiet 440 Hz tone, so a player shows and plays something.
    samples = bytes(int(128 + 40 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(frames))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(RATE)
        out.writeframes(samples)
    return buf.getvalue()


def wav_for_duration(duration_s: float) -> bytes:
    """A WAV whose length grows with the call's duration (1/20 of it), capped to 3 s."""
    seconds = min(MAX_SECONDS, max(0.2, duration_s / 20.0))
    return _tone(round(seconds * 10))
