"""`orgkit import`'s command line: options, refusals made before any AWS call."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from orgkit.cli.main import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_the_options_and_the_global_ones() -> None:
    result = run("import", "--help")
    assert result.exit_code == 0
    for option in ("--out-dir", "--force", "--merge", "--dry-run", "--config", "--profile"):
        assert option in result.output


def test_force_and_merge_together_are_refused(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "org.yaml"), "import", "--force", "--merge")
    assert result.exit_code == 1
    assert "--force and --merge do not go together" in result.output


def test_merge_without_an_org_yaml_is_refused(tmp_path: Path) -> None:
    result = run("import", "--merge", "--out-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "no org.yaml to merge into" in result.output
    assert list(tmp_path.iterdir()) == []
