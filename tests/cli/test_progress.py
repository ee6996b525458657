"""Progress on long work, and --quiet: what a user sees on stderr while orgkit works."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgkit import workflow
from orgkit.cli import common
from orgkit.kinds import REGISTRY
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.cli.test_cli import run
from tests.helpers import edit_yaml, structure_only


def test_a_plan_reports_each_read(sandbox: Sandbox, seed_dir: Path) -> None:
    messages: list[str] = []
    workflow.make_plan(seed_dir / "org.yaml", AwsContext(), PlanOptions(), messages.append)
    assert messages[0] == "Reading the organization: OUs, accounts, policies"
    assert len(messages) == 1 + len(REGISTRY)
    # A fresh organization: only the management account is there.
    assert messages[-1].endswith(f"({len(REGISTRY)} of {len(REGISTRY)}; 1 account so far)")


def test_apply_says_it_lints_before_asking(sandbox: Sandbox, seed_dir: Path) -> None:
    messages: list[str] = []
    asked: list[int] = []

    def confirm(plan: object) -> bool:
        asked.append(len(messages))
        return False

    with pytest.raises(workflow.SafetyError):
        workflow.apply(
            seed_dir / "org.yaml",
            AwsContext(),
            PlanOptions(),
            common.ConsoleReporter(common.info()),
            confirm=confirm,
            progress=messages.append,
        )
    linted = [m for m in messages[: asked[0]] if m.startswith("Linting ")]
    assert linted[0] == "Linting security-baseline's template with cfn-lint (1 of 4)"
    assert len(linted) == 4


def test_spinner_on_a_terminal_only_and_never_with_quiet(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich takes stderr for a terminal
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    with common.Spinner() as spinner:
        spinner("Reading accounts (6 of 13)")
    assert "Reading accounts (6 of 13)" in capsys.readouterr().err
    common.set_quiet(True)
    try:
        with common.Spinner() as spinner:
            spinner("Reading accounts (6 of 13)")
    finally:
        common.set_quiet(False)
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.delenv("TTY_COMPATIBLE")
    monkeypatch.setenv("TTY_INTERACTIVE", "0")
    with common.Spinner() as spinner:  # CI logs: no spinner lines
        spinner("Reading accounts (6 of 13)")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_keeps_results_and_drops_progress(
    sandbox: Sandbox, seed_dir: Path, where: str
) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, structure_only)
    loud = run(config, "plan", "--out", str(seed_dir / "plan.json"))
    assert "Plan saved to" in loud.stderr
    args = ["-q", "apply", "--yes"] if where == "before" else ["apply", "--yes", "--quiet"]
    quiet = run(config, *args)
    assert quiet.exit_code == 0, quiet.output
    assert "Apply complete:" in quiet.stdout  # the result
    assert "✓ + " not in quiet.stderr  # no per-change progress
    assert quiet.stderr.strip() == ""
    drifted = run(config, "drift", "--quiet")
    assert drifted.exit_code == 0
    assert "In sync." in drifted.stdout


def test_shell_completion_as_documented() -> None:
    """docs/README.md's completion lines work: commands and --kind values complete."""
    from click.testing import CliRunner

    from orgkit.cli.main import cli

    def complete(words: str) -> list[str]:
        env = {
            "_ORGKIT_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        result = CliRunner().invoke(cli, [], env=env, prog_name="orgkit")
        return [line.split(",", 1)[1] for line in result.output.splitlines()]

    assert complete("orgkit dr") == ["drift"]
    assert complete("orgkit drift --kind stack_") == ["stack_instance", "stack_set"]
    seed = Path(__file__).parents[2] / "org.yaml"
    assert complete(f"orgkit plan --config {seed} --target pro") == ["project:themisguard"]
    assert complete(f"orgkit apply --config {seed} --target ou:/S") == [
        "ou:/Security",
        "ou:/Sandbox",
    ]
    from orgkit.target import candidates

    assert candidates(Path("/nowhere/org.yaml")) == []  # nothing to offer, no error
    docs = (Path(__file__).parents[2] / "docs" / "README.md").read_text()
    assert 'eval "$(_ORGKIT_COMPLETE=bash_source orgkit)"' in docs
