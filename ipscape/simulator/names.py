"""Names for simulated agents and campaigns, including the hostile ones used by security tests."""

from __future__ import annotations

import random
from collections.abc import Sequence

FIRST_NAMES = (
    "Olivia", "Jack", "Charlotte", "Noah", "Amelia", "William", "Isla", "Oliver", "Mia", "Leo",
    "Ava", "Henry", "Grace", "Thomas", "Chloe", "Lucas", "Zoe", "James", "Ruby", "Ethan",
    "Priya", "Wei", "Aroha", "Mateo", "Fatima", "Hiroshi", "Sofia", "Nikolai", "Ngoc", "Kai",
    "Emily", "Liam", "Harper", "Samuel", "Matilda", "Archie", "Sienna", "Hugo", "Ivy", "Max",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Nguyen", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White", "Martin",
    "Anderson", "Thompson", "Tran", "Walker", "Harris", "Lee", "Ryan", "Robinson", "Kelly",
    "King", "Davis", "Wright", "Chen", "Singh", "Patel", "Murphy", "O'Brien", "Rossi", "Kowalski",
    "Papadopoulos", "Wang", "Clarke", "Scott", "Mitchell", "Young", "Campbell", "Hughes",
)  # fmt: skip
CAMPAIGN_NAMES = (
    "Sales", "Customer Support", "Billing", "Technical Support", "Retention", "Accounts",
    "Bookings", "Claims", "Collections", "Onboarding", "Complaints", "Renewals", "Priority",
    "Service Desk", "Appointments", "Enquiries", "Loyalty", "Returns", "Payments", "Outreach",
)  # fmt: skip
REGIONS = ("NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT", "NZ", "Business", "Premium")

# Every string a page might render unsafely; tests assert that each one shows as text.
HOSTILE_NAMES = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "Zoë " + "W" * 296,  # 300 characters
    "محمد عبد الله",
    "דוד כהן",
    "😀 Emoji Agent 🚀",
    "Robert'); DROP TABLE agents;--",
    "**bold** [click](javascript:alert(1)) $x^2$ {{7*7}}",
    # Markdown that makes a browser fetch or link out (port 9 is "discard": nothing answers).
    "![x](http://127.0.0.1:9/pixel.png)",
    "[Click](http://127.0.0.1:9/link)",
)


def hostile_list(hostile: bool, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The untrusted names a tenant uses: the caller's own first, then HOSTILE_NAMES if asked."""
    return (*extra, *(HOSTILE_NAMES if hostile else ()))


def agent_names(
    rng: random.Random, count: int, hostile: bool, extra: Sequence[str] = ()
) -> list[str]:
    names = []
    seen: set[str] = set()
    for _ in range(count):
        for _attempt in range(20):
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            if name not in seen:
                break
        seen.add(name)
        names.append(name)
    # Spread the hostile names so that every one appears at least once.
    for i, bad in enumerate(hostile_list(hostile, extra)):
        slot = (i * 3) % count
        names[slot] = bad
    return names


def campaign_names(count: int, hostile: bool, extra: Sequence[str] = ()) -> list[str]:
    names = []
    for i in range(count):
        base = CAMPAIGN_NAMES[i % len(CAMPAIGN_NAMES)]
        round_ = i // len(CAMPAIGN_NAMES)
        names.append(base if round_ == 0 else f"{base} {REGIONS[(round_ - 1) % len(REGIONS)]}")
    for i, bad in enumerate(hostile_list(hostile, extra)[: max(1, count // 2)]):
        names[(i * 2 + 1) % count] = bad
    return names
