"""Connection settings and the supervisor's dashboard.toml: every error names what is wrong."""

from __future__ import annotations

import pytest

from ipscape.config import DashboardConfig, load_config
from ipscape.errors import ConfigError
from ipscape.settings import (
    Settings,
    collector_mode,
    database_url,
    is_configured,
    settings_from_mapping,
)

GOOD = {
    "IPSCAPE_BASE_URL": "https://acme.ipscape.com.au/platform-api/",
    "IPSCAPE_API_TOKEN": "token-canary-123",
    "IPSCAPE_SECRET_KEY_1": "key-canary-456",
}


def test_complete_settings_parse_and_trailing_slash_is_dropped():
    settings = settings_from_mapping({**GOOD, "IPSCAPE_SECRET_KEY_2": "second"})
    assert settings.base_url == "https://acme.ipscape.com.au/platform-api"
    assert settings.secret_keys == ("key-canary-456", "second")


def test_settings_repr_and_label_never_show_secrets():
    settings = settings_from_mapping(GOOD)
    for text in (repr(settings), str(settings), settings.redacted):
        assert "canary" not in text


@pytest.mark.parametrize(
    "missing", ["IPSCAPE_BASE_URL", "IPSCAPE_API_TOKEN", "IPSCAPE_SECRET_KEY_1"]
)
def test_missing_setting_is_named(missing):
    source = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(source)
    assert missing in str(info.value)
    assert info.value.setting == missing
    assert "canary" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("acme.ipscape.com.au", "not an http(s) URL"),
        ("ftp://acme/x", "not an http(s) URL"),
        ("https://user:pw-canary@acme/platform-api", "must not carry credentials"),
        ("https://acme/platform-api?x=1", "query string"),
    ],
)
def test_malformed_base_url_is_explained_without_echoing_it(url, fragment):
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({**GOOD, "IPSCAPE_BASE_URL": url})
    assert fragment in str(info.value)
    assert "canary" not in str(info.value)


def test_malformed_timeout_is_named():
    with pytest.raises(ConfigError, match="IPSCAPE_TIMEOUT_S"):
        settings_from_mapping({**GOOD, "IPSCAPE_TIMEOUT_S": "soon"})
    with pytest.raises(ConfigError, match="IPSCAPE_TIMEOUT_S"):
        Settings("https://a/b", "t", ("k",), timeout_s=0)


def test_is_configured_detects_partial_setups_so_they_are_errors_not_demo():
    assert not is_configured({})
    assert not is_configured({"IPSCAPE_BASE_URL": ""})
    assert is_configured({"IPSCAPE_API_TOKEN": "x"})


def test_no_config_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IPSCAPE_DASHBOARD_CONFIG", raising=False)
    assert load_config() == DashboardConfig()


def test_explicit_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_config_file_values_are_read(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(
        """
title = "ACME"
campaigns = [1, 2]
[poll]
agents_s = 12
[thresholds.ewt_s]
warn = 30
alert = 90
[thresholds.campaign.2.ewt_s]
warn = 5
alert = 10
[wall]
open_hours = "07:00-20:00"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.title == "ACME" and config.campaigns == (1, 2)
    assert config.poll.agents_s == 12
    assert config.thresholds.for_campaign("ewt_s", 1).warn == 30
    assert config.thresholds.for_campaign("ewt_s", 2).alert == 10
    assert config.wall.open_hours == "07:00-20:00"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("title = ", "not valid TOML"),
        ("[poll]\nagents_s = 2", "poll.agents_s must be between 8"),
        ("[poll]\nagents_s = 'fast'", "poll.agents_s must be a number"),
        ("campaigns = 'all'", "campaigns must be a list"),
        ("colour = 'red'", "Unknown key(s) in the dashboard config: colour"),
        ("[thresholds.ewt_s]\nwarn = 100\nalert = 50", "thresholds.ewt_s.alert must be at least"),
        ("[thresholds.campaign.sales.ewt_s]\nwarn = 1", "campaign keys must be campaign ids"),
        ("[thresholds.campaign.1.speed]\nwarn = 1", "not a known metric"),
        ("display_timezone = 'Mars/Olympus'", "not a known time zone"),
        (
            "[thresholds.service_level]\nwarn = 70\nalert = 80",
            "thresholds.service_level.alert must be at most",
        ),
        ("[thresholds.service_level]\nwarn = 120", "must be between 0 and 100"),
        ("[thresholds.abandon_rate]\nalert = 101", "must be between 0 and 100"),
        ("[thresholds.service_level]\ntarget_s = -1", "target_s must be between 0 and 3600"),
        ("[thresholds.service_level]\ntarget = 20", "Unknown key(s) in thresholds.service_level"),
        ("[thresholds.ewt_s]\ntarget_s = 20", "Unknown key(s) in thresholds.ewt_s: target_s"),
        ("[wall]\nkiosk_tokens = ['short']", "wall.kiosk_tokens"),
    ],
)
def test_malformed_config_names_the_key_and_the_file(tmp_path, text, named):
    path = tmp_path / "dashboard.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert named in str(info.value)
    assert str(path) in str(info.value)


def test_no_database_url_means_the_embedded_default() -> None:
    assert database_url({}) is None and database_url({"IPSCAPE_DATABASE_URL": "  "}) is None
    assert collector_mode({}) == "embedded"


def test_a_database_url_must_be_postgresql_and_is_never_echoed() -> None:
    url = "postgresql://ipscape:s3cret@db.internal:5432/ipscape"
    assert database_url({"IPSCAPE_DATABASE_URL": url}) == url
    with pytest.raises(ConfigError) as caught:
        database_url({"IPSCAPE_DATABASE_URL": "mysql://ipscape:s3cret@db/x"})
    assert caught.value.setting == "IPSCAPE_DATABASE_URL" and "s3cret" not in str(caught.value)


@pytest.mark.parametrize("value", ["External", "external "])
def test_the_collector_mode_is_read_loosely(value: str) -> None:
    assert collector_mode({"IPSCAPE_COLLECTOR": value}) == "external"


def test_an_unknown_collector_mode_names_the_choices() -> None:
    with pytest.raises(ConfigError, match='"embedded"'):
        collector_mode({"IPSCAPE_COLLECTOR": "both"})


def test_the_shipped_dashboard_toml_is_the_defaults() -> None:
    """The file documents every key with its default: it must parse to exactly the defaults."""
    from pathlib import Path

    shipped = load_config(Path(__file__).parent.parent / "dashboard.toml")
    assert shipped.thresholds == DashboardConfig().thresholds
    assert shipped.poll == DashboardConfig().poll and shipped.wall == DashboardConfig().wall


def test_service_level_targets_and_levels_are_read_per_campaign(tmp_path) -> None:
    path = tmp_path / "d.toml"
    path.write_text(
        """
[thresholds.service_level]
target_s = 30
warn = 90
alert = 75
[thresholds.campaign.5.service_level]
target_s = 10
[thresholds.campaign.6.abandon_rate]
warn = 2
""",
        encoding="utf-8",
    )
    thresholds = load_config(path).thresholds
    assert thresholds.service_level_targets() == (30.0, {5: 10.0})
    own = thresholds.for_campaign("service_level", 5)
    # what campaign 5 leaves out is the file's own service level, not the built-in default
    assert (own.warn, own.alert, own.target_s) == (90.0, 75.0, 10.0)
    assert not own.higher_is_worse
    assert thresholds.for_campaign("abandon_rate", 6).warn == 2.0
    assert thresholds.for_campaign("abandon_rate", 6).alert == 10.0
    assert thresholds.for_campaign("abandon_rate", 6).higher_is_worse
