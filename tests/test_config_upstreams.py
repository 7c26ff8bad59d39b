"""[[upstreams]] and [routing] in the configuration: names, DR push authentication, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgate.config import ConfigError, describe, load, load_with_sources

KCELL = """
[[upstreams]]
name = "kcell"
kind = "smsgw2"
url = "https://api.kcell.example/app/smsgw/rest/v2"
login = "bank"
password = "kcell-secret-pw"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smsgate.toml"
    path.write_text(text)
    return path


def test_upstreams_and_routing_load(tmp_path: Path) -> None:
    config = load(
        write(
            tmp_path,
            KCELL
            + 'dr_url = "https://gw.example/upstream/kcell/dr?token=aB3xY9kLmN0pQ4rS"\n'
            + '\n[routing]\ndefault_route = "ru"\nretry_delay = 2\n'
            + "[routing.breaker]\ncooldown = 30\nmin_requests = 10\n",
        ),
        env={},
    )
    assert [u.name for u in config.upstreams] == ["kcell"]
    assert config.routing.default_route == "ru" and config.routing.retry_delay == 2
    assert (config.routing.breaker.cooldown, config.routing.breaker.min_requests) == (30, 10)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ('dr_url = "https://gw.example/upstream/kcell/dr"\n', "needs ?token="),
        ('dr_url = "https://gw.example/upstream/kcell/dr?token=short"\n', "needs ?token="),
        ('name2 = "x"\n', "upstreams.0 (file"),
        (KCELL, "the connector name 'kcell' is taken"),
        (KCELL.replace('"kcell"', '"simulator"'), "the connector name 'simulator' is taken"),
        ('kind = "beeline"\n', "kind"),
    ],
)
def test_refused(tmp_path: Path, extra: str, error: str) -> None:
    text = KCELL.replace('kind = "smsgw2"\n', "") if extra.startswith("kind") else KCELL
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text + extra), env={})
    assert error in str(caught.value), str(caught.value)
    assert "kcell-secret-pw" not in str(caught.value)


def test_a_signed_push_needs_no_token(tmp_path: Path) -> None:
    text = KCELL.replace('"smsgw2"', '"smsc"') + (
        'dr_url = "https://gw.example/upstream/kcell/dr?sha1=x"\ndr_secret = "dr-Secret_1"\n'
    )
    assert load(write(tmp_path, text), env={}).upstreams[0].dr_secret == "dr-Secret_1"


def test_config_check_masks_each_upstreams_secrets(tmp_path: Path) -> None:
    text = (
        KCELL
        + 'token = "kcell-secret-token"\n'
        + 'dr_url = "https://gw.example/upstream/kcell/dr?token=aB3xY9kLmN0pQ4rS"\n'
    )
    path = write(tmp_path, text)
    lines = describe(*load_with_sources(path, env={}))
    shown = "\n".join(lines)
    assert "kcell-secret" not in shown and "aB3xY9kLmN0pQ4rS" not in shown
    assert any(line.startswith('upstreams.0.password = "***"') for line in lines)
    assert any(
        line.startswith('upstreams.0.login = "bank"') and str(path) in line for line in lines
    )
