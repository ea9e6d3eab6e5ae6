"""The README is the contract: every setting and command is documented, and the quick start is there."""

import re
from pathlib import Path

import typer

from etl_cli.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def commands(group, prefix: str = "cryptoetl") -> dict:
    found = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found.update(commands(command, f"{prefix} {name}"))
        else:
            found[f"{prefix} {name}"] = command
    return found


ALL_COMMANDS = commands(typer.main.get_command(app))


def test_every_environment_variable_is_documented():
    source = (ROOT / "etl_cli" / "config.py").read_text()
    variables = set(re.findall(r'"((?:CRYPTOETL|COINGECKO)_[A-Z_]+)"', source))
    assert len(variables) >= 9
    assert sorted(v for v in variables if f"`{v}`" not in README) == []


def test_every_command_is_documented_and_has_help():
    assert set(ALL_COMMANDS) >= {"cryptoetl run", "cryptoetl runs", "cryptoetl db upgrade"}
    for name, command in ALL_COMMANDS.items():
        assert f"`{name}" in README, name
        assert command.help and "Example:" in command.help, name


def test_the_two_newcomer_commands_are_near_the_top():
    top = README[:1500]
    assert "pip install -e . && cryptoetl run --source coingecko --replay fixtures/replay/coingecko" in top
    assert "pip install -e '.[dev]' && pytest" in top


def test_every_guarantee_names_tests_that_exist():
    section = README.split("\n## Guarantees\n")[1].split("\n## ")[0]
    named, current = [], None
    for token in re.findall(r"`((?:[\w/]+\.py)?(?:::\w+)?)`", section):
        path, _, name = token.partition("::")
        current = path or current
        named.append((current, name))
    assert len(named) >= 10
    for path, name in named:
        source = (ROOT / "tests" / path).read_text()
        assert not name or f"def {name}(" in source, f"{path}::{name}"
