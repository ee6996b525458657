"""`orgkit project add` and `orgkit project list` through the command line (no AWS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orgkit.cli.main import cli


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_add_dry_run_prints_the_diff_on_stdout_and_writes_nothing(seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    before = config.read_bytes()
    result = run(config, "project", "add", "acme", "--dry-run", "--budget", "prod=800")
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == before
    assert result.stdout.startswith(f"--- {config}\n+++ {config} (edited)\n")
    assert "+  - name: acme\n" in result.stdout
    assert "+    budget: 800\n" in result.stdout
    assert "Would add project acme" in result.stderr
    assert "800 (own)" in result.stderr
    assert "no deployment role" in result.stderr
    assert "security-baseline" in result.stderr


def test_add_writes_and_says_what_it_declared(seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    result = run(
        config, "project", "add", "acme", "--environments", "dev,prod", "--github-repo", "o/acme"
    )
    assert result.exit_code == 0, result.output
    assert "Added project acme" in result.stdout
    assert "AcmeDeploymentRole" in result.stdout
    text = config.read_text()
    assert "email: acme-prod@delatsi-llc.com" in text
    assert "acme-staging" not in text
    assert "environments: [dev, prod]" in text


def test_add_refusals_exit_1_with_an_error_and_no_traceback(seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    before = config.read_bytes()
    for args, message in [
        (["themisguard"], "error: project 'themisguard' is already declared in org.yaml"),
        (["acme", "--budget", "prod=lots"], "the amount is not a number"),
        (["acme", "--environments", "dev,qa"], "unknown environment 'qa'"),
    ]:
        result = CliRunner().invoke(cli, ["--config", str(config), "project", "add", *args])
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    assert config.read_bytes() == before


def test_list_offline_json_and_text(seed_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # uncut: no terminal
    config = seed_dir / "org.yaml"
    result = run(config, "project", "list", "--offline", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["live"] is False
    [project] = data["projects"]
    assert project["name"] == "themisguard"
    assert project["deployment_role"] == "ThemisGuardDeploymentRole"
    assert project["github_repository"] == "delatsi-llc/themisguard"
    rows = {a["environment"]: a for a in project["accounts"]}
    assert rows["prod"] == {
        "name": "ThemisGuard Production",
        "email": "themisguard-prod@delatsi-llc.com",
        "environment": "prod",
        "ou": "/Production",
        "state": "active",
        "budget": 500,
        "budget_source": "default",
        "id": None,
        "status": None,
    }
    text = run(config, "project", "list", "--offline")
    assert text.exit_code == 0
    assert "ThemisGuard Staging" in text.stdout and "(offline)" in text.stdout
    assert "200 (default)" in text.stdout
