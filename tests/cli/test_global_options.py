"""--config, --profile and --region work after the command too, as other tools take them."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from orgkit.cli.main import cli
from orgkit.sandbox.server import Sandbox


def test_config_after_the_command(seed_dir: Path) -> None:
    other = seed_dir / "other.yaml"
    (seed_dir / "org.yaml").rename(other)
    result = CliRunner().invoke(cli, ["validate", "--no-lint", "--config", str(other)])
    assert result.exit_code == 0, result.output
    assert "other.yaml is valid" in result.output


def test_after_the_command_wins_over_before(seed_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            "nowhere.yaml",
            "validate",
            "--no-lint",
            "--config",
            str(seed_dir / "org.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output


def test_plan_with_profile_and_region_after_the_command(
    sandbox: Sandbox, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile named after the command is used: an unknown one is refused by name."""
    result = CliRunner().invoke(
        cli, ["plan", "--config", str(seed_dir / "org.yaml"), "--profile", "no-such-profile"]
    )
    assert result.exit_code == 1
    assert "no-such-profile" in result.output
    config = str(seed_dir / "org.yaml")
    planned = CliRunner().invoke(cli, ["plan", "--config", config, "--region", "eu-west-1"])
    assert planned.exit_code == 0, planned.output  # stack sets stay in the home region


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's words, a command group's subcommands included (``project add``)."""
    paths: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.mark.parametrize("command", _command_paths(cli), ids=" ".join)
def test_every_command_shows_the_global_options(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--config", "--profile", "--region"):
        assert option in result.output, (command, option)
