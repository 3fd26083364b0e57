"""Connection settings: where the tenant is and how to authenticate.

Read from environment variables, or from any mapping with the same keys (the dashboard passes the
``[ipscape]`` section of ``st.secrets``). Errors name the setting, never its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from ipscape.errors import ConfigError

BASE_URL = "IPSCAPE_BASE_URL"
API_TOKEN = "IPSCAPE_API_TOKEN"
SECRET_KEY_1 = "IPSCAPE_SECRET_KEY_1"
SECRET_KEY_2 = "IPSCAPE_SECRET_KEY_2"
TIMEOUT = "IPSCAPE_TIMEOUT_S"
SETTING_NAMES = (BASE_URL, API_TOKEN, SECRET_KEY_1, SECRET_KEY_2)

DEMO_TOKEN = "demo-token"
DEMO_KEYS = ("demo-key-1", "demo-key-2")


@dataclass(frozen=True)
class Settings:
    """Everything needed to reach one tenant. ``repr`` never shows the token or keys."""

    base_url: str
    api_token: str = field(repr=False)
    secret_keys: tuple[str, ...] = field(repr=False)
    timeout_s: float = 10.0
    demo: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", _api_root(self.base_url))
        if not self.api_token:
            raise ConfigError(f"{API_TOKEN} is empty.", setting=API_TOKEN)
        if not self.secret_keys or not all(self.secret_keys):
            raise ConfigError(
                f"Set {SECRET_KEY_1} (and optionally {SECRET_KEY_2}).", setting=SECRET_KEY_1
            )
        if not 0 < self.timeout_s <= 300:
            raise ConfigError(f"{TIMEOUT} must be between 0 and 300 seconds.", setting=TIMEOUT)

    @property
    def redacted(self) -> str:
        """A description safe to log or show: the host and how many keys, nothing secret."""
        return f"{self.base_url} ({len(self.secret_keys)} secret key(s))"


def _api_root(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(
            f"{BASE_URL} is missing: set it to your tenant's API root, e.g. "
            "https://acme.ipscape.com.au/platform-api",
            setting=BASE_URL,
        )
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{BASE_URL} is not an http(s) URL: use the form "
            "https://acme.ipscape.com.au/platform-api",
            setting=BASE_URL,
        )
    if parts.username or parts.password:
        raise ConfigError(
            f"{BASE_URL} must not carry credentials; use {API_TOKEN} and {SECRET_KEY_1}.",
            setting=BASE_URL,
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{BASE_URL} must not have a query string.", setting=BASE_URL)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _text(source: Mapping[str, object], name: str) -> str | None:
    value = source.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise ConfigError(f"{name} must be text.", setting=name)
    text = str(value).strip()
    return text or None


def is_configured(source: Mapping[str, object] | None = None) -> bool:
    """True when any tenant setting is present (so a partial setup is an error, not the demo)."""
    source = os.environ if source is None else source
    return any(source.get(name) not in (None, "") for name in SETTING_NAMES)


def settings_from_mapping(source: Mapping[str, object]) -> Settings:
    """Settings from a mapping of the IPSCAPE_* names; a ConfigError names what is wrong."""
    base_url = _text(source, BASE_URL)
    token = _text(source, API_TOKEN)
    keys = tuple(k for k in (_text(source, SECRET_KEY_1), _text(source, SECRET_KEY_2)) if k)
    if base_url is None or token is None or not keys:
        missing = [
            name
            for name, value in ((BASE_URL, base_url), (API_TOKEN, token), (SECRET_KEY_1, keys))
            if not value
        ]
        raise ConfigError(
            "Missing setting(s): " + ", ".join(missing) + ". Set them as environment variables "
            "or in the [ipscape] section of .streamlit/secrets.toml "
            "(see .streamlit/secrets.toml.example).",
            setting=missing[0],
        )
    timeout_raw = source.get(TIMEOUT)
    timeout = 10.0 if timeout_raw in (None, "") else _seconds(timeout_raw)
    return Settings(base_url=base_url, api_token=token, secret_keys=keys, timeout_s=timeout)


def _seconds(value: object) -> float:
    if isinstance(value, str | int | float):
        try:
            return float(value)
        except ValueError:
            pass
    raise ConfigError(f"{TIMEOUT} must be a number of seconds.", setting=TIMEOUT)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    return settings_from_mapping(os.environ if env is None else env)


def demo_settings(api_root: str) -> Settings:
    """Settings for the embedded simulator (its documented demo credentials)."""
    return Settings(base_url=api_root, api_token=DEMO_TOKEN, secret_keys=DEMO_KEYS, demo=True)


# -- scaled deployments (docs/deployment.md) ---------------------------------------------------

DATABASE_ENV = "IPSCAPE_DATABASE_URL"
COLLECTOR_ENV = "IPSCAPE_COLLECTOR"
CollectorMode = Literal["embedded", "external"]


def database_url(source: Mapping[str, Any]) -> str | None:
    """``IPSCAPE_DATABASE_URL`` from ``source``, checked for its scheme (never echoed)."""
    url = str(source.get(DATABASE_ENV) or "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{DATABASE_ENV} must be a postgresql:// URL.", setting=DATABASE_ENV)
    return url


def collector_mode(source: Mapping[str, Any]) -> CollectorMode:
    value = str(source.get(COLLECTOR_ENV) or "embedded").strip().lower()
    if value not in ("embedded", "external"):
        raise ConfigError(
            f'{COLLECTOR_ENV} must be "embedded" (the default) or "external".',
            setting=COLLECTOR_ENV,
        )
    return cast(CollectorMode, value)
