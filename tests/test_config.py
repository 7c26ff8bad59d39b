"""Configuration that refuses mistakes (issue 21): unknown keys named with the nearest valid one,
types, ranges and enums checked, lists from the environment, one line and no traceback, and
`smsgate config check` with each value's source and secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgate.config import Config, ConfigError, describe, load, load_with_sources
from tests.support.commands import smsgate


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smsgate.toml"
    path.write_text(text)
    return path


# Unknown keys ------------------------------------------------------------------------------------
def test_a_mistyped_key_in_the_file_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    path = toml(tmp_path, "[simulator]\ndr_dely = 0.5\n")
    with pytest.raises(ConfigError) as refused:
        load(path, env={})
    message = str(refused.value)
    assert "simulator.dr_dely" in message and "did you mean simulator.dr_delay?" in message
    assert str(path) in message


def test_a_key_in_the_wrong_table_points_to_the_right_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting dr_delay .*simulator\.dr_delay"):
        load(toml(tmp_path, "dr_delay = 0.5\n"), env={})


def test_a_mistyped_environment_variable_is_named_as_a_variable() -> None:
    with pytest.raises(ConfigError) as refused:
        load(env={"SMSGATE_SQLITE_SYNCRONOUS": "FULL"})
    message = str(refused.value)
    assert "SMSGATE_SQLITE_SYNCRONOUS" in message
    assert "did you mean SMSGATE_SQLITE_SYNCHRONOUS?" in message


def test_a_variable_below_a_plain_setting_is_unknown() -> None:
    with pytest.raises(ConfigError, match=r"SMSGATE_PORT__HTTP.*did you mean SMSGATE_PORT"):
        load(env={"SMSGATE_PORT__HTTP": "8080"})


def test_variables_that_are_not_settings_are_left_alone() -> None:
    """The config file's own variable, compose.yaml's published port, the test suite's."""
    env = {"SMSGATE_CONFIG": "x.toml", "SMSGATE_HTTP_PORT": "80", "SMSGATE_TEST_BACKEND": "pg"}
    assert load(env=env) == Config()


# Types, ranges, enums ----------------------------------------------------------------------------
def test_a_bad_enum_value_is_refused_with_the_values_allowed(tmp_path: Path) -> None:
    """`FUL` used to reach SQLite as an unknown pragma value: NORMAL, and none of smsgate's own
    fsyncs (those are kept for "FULL" only)."""
    with pytest.raises(ConfigError) as refused:
        load(toml(tmp_path, 'sqlite_synchronous = "FUL"\n'), env={})
    message = str(refused.value)
    assert "sqlite_synchronous = 'FUL'" in message
    assert "'OFF', 'NORMAL', 'FULL', 'EXTRA'" in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SMSGATE_LOG_LEVEL", "verbose"),
        ("SMSGATE_LOG_FORMAT", "xml"),
        ("SMSGATE_CONNECTOR", "kannel"),
        # Used to bind a transmitter and a receiver per session, as anything but "transceiver"
        ("SMSGATE_SMPP_CLIENT__BIND", "transmiter"),
        ("SMSGATE_SMPP_CLIENT__CONCAT", "udh-8"),  # used to stop the connector with a KeyError
        ("SMSGATE_SMPP_CLIENT__RECEIPT_IDS", "hex"),  # used to match receipt ids as-is
    ],
)
def test_other_enums_are_refused_too(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"'{value}' .*{variable}.*not one of"):
        load(env={variable: value})


def test_an_enum_value_is_taken_in_any_case() -> None:
    """SQLite and logging take `full` and `DEBUG`; so does smsgate, spelt as its code reads it."""
    config = load(
        env={
            "SMSGATE_SQLITE_SYNCHRONOUS": "full",
            "SMSGATE_LOG_LEVEL": "DEBUG",
            "SMSGATE_SMPP_CLIENT__CONCAT": "UDH16",
        }
    )
    assert (config.sqlite_synchronous, config.log_level) == ("FULL", "debug")
    assert config.smpp_client.concat == "udh16"


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"SMSGATE_PORT": "eighty"}, "Expected `int`"),
        ({"SMSGATE_PORT": "70000"}, "<= 65535"),
        ({"SMSGATE_WORKERS": "-1"}, ">= 0"),
        ({"SMSGATE_DISPATCHER__BATCH": "0"}, ">= 1"),
        ({"SMSGATE_NOTIFIER__TIMEOUT": "0"}, "> 0"),
        ({"SMSGATE_CALLBACKS__ALLOW_NETWORKS": "10.0.0.0/33"}, "not a network"),
        ({"SMSGATE_SIMULATOR__DELIVERY_RATIO": "1.5"}, "<= 1.0"),
        ({"SMSGATE_LIMITS__MAX_PARTS": "0"}, ">= 1"),
        ({"SMSGATE_SMPP__PORT": "-1"}, ">= 0"),
        ({"SMSGATE_SMPP_CLIENT__PORT": "0"}, ">= 1"),
        ({"SMSGATE_SMPP_CLIENT__DEST_TON": "256"}, "<= 255"),
    ],
)
def test_types_and_ranges_are_checked(env: dict[str, str], why: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(env=env)
    (variable,) = env
    assert variable in str(refused.value) and why in str(refused.value)


def test_an_unknown_dialect_is_refused_with_the_nearest() -> None:
    with pytest.raises(ConfigError, match=r"no dialect 'msgub'.*did you mean 'msghub'"):
        load(env={"SMSGATE_DIALECTS": "msgub,smsc"})


# Lists from the environment ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["10.20.0.0/16, 192.168.1.0/24", '["10.20.0.0/16", "192.168.1.0/24"]']
)
def test_a_list_setting_from_the_environment(value: str) -> None:
    config = load(env={"SMSGATE_CALLBACKS__ALLOW_NETWORKS": value, "SMSGATE_DIALECTS": "smsc"})
    assert config.callbacks.allow_networks == ["10.20.0.0/16", "192.168.1.0/24"]
    assert config.dialects == ["smsc"]


def test_an_empty_variable_is_an_empty_list() -> None:
    assert load(env={"SMSGATE_SIMULATOR__FAILURE_CODES": ""}).simulator.failure_codes == []


def test_the_environment_wins_over_the_file_and_flags_over_both(tmp_path: Path) -> None:
    path = toml(tmp_path, "port = 1000\nhost = '0.0.0.0'\n[simulator]\ndr_delay = 1.0\n")
    config, sources = load_with_sources(
        path, env={"SMSGATE_PORT": "2000", "SMSGATE_HOST": "::1"}, host="127.0.0.2"
    )
    assert (config.port, config.host, config.simulator.dr_delay) == (2000, "127.0.0.2", 1.0)
    assert sources["port"] == "env SMSGATE_PORT"
    assert sources["host"] == "flag --host"
    assert sources["simulator.dr_delay"] == f"file {path}"
    assert "workers" not in sources  # a default


# config check --------------------------------------------------------------------------------------
def test_describe_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    path = toml(tmp_path, '[smpp_client]\nsystem_id = "acme"\npassword = "carrier-pw"\n')
    url = "postgresql://smsgate:db-pw@db.internal/smsgate?sslmode=require&password=q-pw"
    config, sources = load_with_sources(path, env={"SMSGATE_DATABASE": url})
    lines = describe(config, sources)
    text = "\n".join(lines)
    assert "db-pw" not in text and "carrier-pw" not in text and "q-pw" not in text
    (database,) = [line for line in lines if line.startswith("database = ")]
    assert "smsgate:***@db.internal/smsgate" in database and "password=***" in database
    assert database.endswith("# env SMSGATE_DATABASE")
    (password,) = [line for line in lines if line.startswith("smpp_client.password = ")]
    assert '"***"' in password and password.endswith(f"# file {path}")
    (port,) = [line for line in lines if line.startswith("port = ")]
    assert port.endswith("# default")


def test_config_check_prints_the_effective_configuration(tmp_path: Path) -> None:
    path = toml(tmp_path, 'log_format = "json"\n')
    url = "postgresql://smsgate:hunter2@127.0.0.1/smsgate"
    done = smsgate(
        "--database", url, "config", "check", str(path), env={"SMSGATE_DIALECTS": "msghub,smsc"}
    )
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout
    lines = done.stdout.splitlines()
    assert 'database = "postgresql://smsgate:***@127.0.0.1/smsgate"' in lines[0]
    assert lines[0].endswith("# flag --database")
    assert any(
        line.startswith('dialects = ["msghub","smsc"]') and line.endswith("# env SMSGATE_DIALECTS")
        for line in lines
    )
    assert any(
        line.startswith('log_format = "json"') and line.endswith(f"# file {path}") for line in lines
    )


def test_a_mistyped_setting_stops_a_command_with_one_line(tmp_path: Path) -> None:
    path = toml(tmp_path, "[notifier]\nconcurency = 8\n")
    for args in (["--config", str(path), "account", "list"], ["config", "check", str(path)]):
        done = smsgate(*args)
        assert done.returncode != 0
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1, done.stderr  # one line, no traceback
        assert "notifier.concurency" in done.stderr
        assert "did you mean notifier.concurrency?" in done.stderr


def test_a_bad_enum_stops_serve_before_it_starts(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/d.db"
    done = smsgate(
        "--database", database, "serve", "--port", "0", env={"SMSGATE_SQLITE_SYNCHRONOUS": "FUL"}
    )
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1, done.stderr
    assert "SMSGATE_SQLITE_SYNCHRONOUS" in done.stderr and "'FULL'" in done.stderr
    assert not (tmp_path / "d.db").exists()


@pytest.mark.parametrize("how", ["--config", "SMSGATE_CONFIG"])
def test_a_missing_or_broken_file_is_one_line(tmp_path: Path, how: str) -> None:
    broken = toml(tmp_path, "port = \n")
    for path, why in ((tmp_path / "nope.toml", "No such file"), (broken, "not valid TOML")):
        args = ["--config", str(path)] if how == "--config" else []
        env = {"SMSGATE_CONFIG": str(path)} if how == "SMSGATE_CONFIG" else {}
        done = smsgate(*args, "config", "check", env=env)
        assert done.returncode != 0
        assert done.stderr.count("\n") == 1, done.stderr
        assert str(path) in done.stderr and why in done.stderr
