"""What every metric means, in plain words (no Markdown): the one definition that the metrics
compute and that the screens show as their glossary."""

from __future__ import annotations

from typing import Final

# Term -> its definition, in plain words (no Markdown), as the glossary on screen shows it.
GLOSSARY: Final[dict[str, str]] = {
    "Calls": (
        "Inbound calls created in the period, each counted once. A transferred call counts in "
        "the campaign of its first leg, by that leg's outcome; the legs it was transferred to "
        "(activities with a parent) are not counted again. A call with no campaign counts in "
        "the total only."
    ),
    "Answered": (
        "Calls an agent answered: status Answered or Transferred, or any other status with an "
        "answer time (a call still in progress counts from the moment it is answered)."
    ),
    "Abandoned": (
        "Calls with status Abandoned that reached the queue (they have a join-queue time or a "
        "queue wait above 0): the caller hung up waiting for an agent. A caller who hung up "
        "in the IVR, before joining the queue, is not counted as abandoned (nor as answered): "
        "no agent could have taken that call."
    ),
    "Voicemail": (
        "Calls that reached voicemail: with a voicemail recording, or status Voicemail. They "
        "count as neither answered nor abandoned, whatever else they say."
    ),
    "Not yet counted": (
        "Calls still in the IVR or the queue, callers who hung up in the IVR, and calls whose "
        "status is unknown to us and that have no answer time, count in none of the above."
    ),
    "Service level": (
        "100 × answered within the target wait (queue wait ≤ T seconds) ÷ (answered + "
        "abandoned). An answered call whose queue wait is unknown counts in the denominator, "
        "never as within the target. A campaign may have its own T; the total measures each "
        "call against its own campaign's T."
    ),
    "Abandon rate": "100 × abandoned ÷ (answered + abandoned).",
    "ASA": (
        "Average speed of answer: the mean queue wait of the answered calls, over those whose "
        "queue wait is known."
    ),
    "AHT": (
        "Average handle time: the mean of talk + hold + wrap of the answered calls, over those "
        "whose three parts are all known (so a call still being talked or wrapped up counts "
        "once it is finished)."
    ),
    "Unknown": (
        "A value with nothing to measure (no answered or abandoned call; no known wait or "
        "handle time) is unknown (--), never 0 % or 100 %."
    ),
    "Period": (
        "A call belongs to the period in which it was created (today from local midnight, the "
        "last hour, the last 15 minutes), whenever it was answered."
    ),
    "Voicemail returned": (
        "A voicemail is returned once an outbound call to the caller's number (any dial "
        "attempt, whether or not it got through), or an answered inbound call from it, is "
        "created after the voicemail was received, in any campaign; the earliest such call is "
        "the time it was returned. Until then it is waiting."
    ),
    "Phone numbers": (
        "Compared as international (E.164) digits: spaces, dashes, dots and brackets are "
        "ignored, and so is a (0) after the country code; after a leading + (or the "
        "international prefix 00 or 0011) comes the country code; a leading trunk 0 becomes "
        "the country code (61 by default); digits that start with the country code are "
        "already international; other digits are a national number written without its 0 and "
        "get the country code. Anything else (letters, fewer than 7 or more than 15 digits, "
        "empty) is no number and matches nothing."
    ),
}
