"""The CLI contract: exit codes, --json on stdout only, golden plan JSON, file:line errors."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgkit.cli.main import cli
from orgkit.sandbox.server import Sandbox
from tests.helpers import edit_yaml, is_write, structure_only

GOLDEN = Path(__file__).parent / "golden"


def run(config: Path, *args: str, input: str | None = None):  # noqa: A002
    runner = CliRunner()
    return runner.invoke(cli, ["--config", str(config), *args], input=input, catch_exceptions=False)


def stable(plan: dict) -> dict:
    """Drop what differs from run to run (the fingerprint of a fresh org); template bodies
    are compared by digest to keep the golden file readable."""
    plan = dict(plan)
    plan.pop("live_fingerprint")
    assert len(plan.pop("config_fingerprint")) == 64
    for change in plan["changes"]:
        after = change.get("after") or {}
        if "template_body" in after:
            body = after["template_body"].encode()
            after["template_body"] = "sha256:" + hashlib.sha256(body).hexdigest()
    return plan


def check_golden(name: str, data: dict) -> None:
    path = GOLDEN / name
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if os.environ.get("ORGKIT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert json.loads(path.read_text()) == json.loads(text), (
        f"{name} differs; if intended, rerun with ORGKIT_UPDATE_GOLDEN=1"
    )


def test_plan_json_of_the_seed_org_matches_golden(sandbox: Sandbox, seed_dir: Path) -> None:
    result = run(seed_dir / "org.yaml", "plan", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # stdout is one JSON document and nothing else
    assert set(document) >= {"changes", "summary"}
    for change in document["changes"]:
        assert set(change) >= {"address", "kind", "action", "before", "after"}
        assert change["action"] in {"create", "update", "delete"}
    check_golden("plan_seed.json", stable(document))


def test_detailed_exitcode_then_apply_then_no_changes(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    assert run(config, "plan", "--detailed-exitcode").exit_code == 2
    applied = run(config, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    assert "now matches org.yaml" in applied.stdout
    again = run(config, "plan", "--detailed-exitcode", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["changes"] == []


def test_apply_asks_and_a_no_writes_nothing(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    result = run(seed_dir / "org.yaml", "apply", input="n\n")
    assert result.exit_code == 1
    assert "Apply 109 changes?" in result.stderr
    assert "not applied: the plan was not confirmed" in result.stderr
    assert not [c for c in aws_calls if is_write(c.split(".", 1)[1])]


def test_saved_plan_round_trip_and_refusal(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    plan_file = seed_dir / "plan.json"
    assert run(config, "plan", "--out", str(plan_file)).exit_code == 0
    org = sandbox.client("organizations")
    org.create_organizational_unit(ParentId=org.list_roots()["Roots"][0]["Id"], Name="Late")
    refused = run(config, "apply", "--yes", "--plan", str(plan_file))
    assert refused.exit_code == 1
    assert "changed since this plan was made" in refused.stderr

    assert run(config, "plan", "--out", str(plan_file)).exit_code == 0
    applied = run(config, "apply", "--yes", "--plan", str(plan_file))
    assert applied.exit_code == 0, applied.output


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["accounts"][0].update(email="not-an-email"),
            'org.yaml:{line}: accounts["Log Archive"].email:',
        ),
        (lambda d: d["accounts"][1].update(ou="/Prod"), "unknown OU '/Prod'"),
        (lambda d: d["organization"].update(colour="blue"), "organization.colour: unknown field"),
    ],
    ids=["bad-email", "unknown-ou", "unknown-field"],
)
def test_bad_config_exits_1_with_file_line_and_no_aws_call(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str], edit, expected: str
) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, edit)
    lines = config.read_text().splitlines()
    line = next((i for i, text in enumerate(lines, 1) if "not-an-email" in text), 0)
    for command in (["validate"], ["plan"], ["apply", "--yes"]):
        result = run(config, *command)
        assert result.exit_code == 1, command
        assert expected.format(line=line) in result.stderr
    assert aws_calls == []


def test_bad_scp_json_names_the_scp_file_and_line(seed_dir: Path) -> None:
    scp = seed_dir / "scps" / "deny-root-user.json"
    scp.write_text(scp.read_text().replace('"Effect"', '"Effect" "Deny",', 1))
    result = run(seed_dir / "org.yaml", "validate")
    assert result.exit_code == 1
    assert "scps/deny-root-user.json:" in result.stderr
    assert "invalid JSON" in result.stderr


def test_wrong_account_is_refused(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, lambda d: d["organization"].update(management_account_id="111111111111"))
    result = run(config, "apply", "--yes")
    assert result.exit_code == 1
    assert "management_account_id is 111111111111" in result.stderr


def test_usage_error_exits_1(seed_dir: Path) -> None:
    result = run(seed_dir / "org.yaml", "plan", "--no-such-flag")
    assert result.exit_code == 1


def test_schema_is_json_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    schema = json.loads(result.stdout)
    assert schema["title"] == "OrgSpec"
    assert "accounts" in schema["properties"]


def test_render_writes_lint_clean_templates(seed_dir: Path, tmp_path: Path) -> None:
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    out_dir = tmp_path / "rendered"
    result = run(seed_dir / "org.yaml", "render", "--out", str(out_dir))
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == [
        "log-archive.yaml",
        "security-baseline.yaml",
        "security-tooling.yaml",
        "themisguard-platform.yaml",
    ]
    for path in out_dir.iterdir():
        matches = cfn_lint(path.read_text(), config=ManualArgs(regions=["us-east-1"]))
        assert [m for m in matches if m.rule.severity in ("error", "warning")] == [], path


def test_validate_fails_on_a_cfn_lint_error_naming_the_template(
    seed_dir: Path, aws_calls: list[str]
) -> None:
    template = seed_dir / "templates" / "security-baseline.yaml.j2"
    template.write_text(
        template.read_text().replace(
            "FindingPublishingFrequency: FIFTEEN_MINUTES", "FindingPublishingFrequency: HOURLY"
        )
    )
    result = run(seed_dir / "org.yaml", "validate")
    assert result.exit_code == 1
    assert "templates/security-baseline.yaml.j2 (rendered for security-baseline):" in result.stderr
    assert "HOURLY" in result.stderr
    assert aws_calls == []


def test_template_syntax_error_names_file_and_line(seed_dir: Path) -> None:
    template = seed_dir / "templates" / "log-archive.yaml.j2"
    lines = template.read_text().splitlines()
    lines[60] = lines[60] + " {% if %}"
    template.write_text("\n".join(lines) + "\n")
    result = run(seed_dir / "org.yaml", "plan")
    assert result.exit_code == 1
    assert "templates/log-archive.yaml.j2:61:" in result.stderr


def test_drift_exit_codes_and_json(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, structure_only)  # the exit codes and the JSON shape are the point
    assert run(config, "apply", "--yes").exit_code == 0
    in_sync = run(config, "drift", "--json")
    assert in_sync.exit_code == 0
    assert json.loads(in_sync.stdout) == {
        "format_version": 3,
        "in_sync": True,
        "summary": {"missing": 0, "changed": 0, "failed": 0, "unmanaged": 0},
        "findings": [],
    }

    org = sandbox.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    org.create_organizational_unit(ParentId=root, Name="Shadow")
    policy = next(
        p
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "sandbox-cost-guard"
    )
    sandbox_ou = next(
        o
        for o in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
        if o["Name"] == "Sandbox"
    )
    org.detach_policy(PolicyId=policy["Id"], TargetId=sandbox_ou["Id"])
    prod = next(
        a
        for a in org.list_accounts()["Accounts"]
        if a["Email"] == "themisguard-prod@delatsi-llc.com"
    )
    org.move_account(
        AccountId=prod["Id"],
        SourceParentId=org.list_parents(ChildId=prod["Id"])["Parents"][0]["Id"],
        DestinationParentId=sandbox_ou["Id"],
    )

    drifted = run(config, "drift", "--json")
    assert drifted.exit_code == 2
    report = json.loads(drifted.stdout)
    assert report["in_sync"] is False
    found = {(f["address"], f["issue"]) for f in report["findings"]}
    assert found == {
        ('policy_attachment["sandbox-cost-guard" -> "/Sandbox"]', "missing"),
        ('account["themisguard-prod@delatsi-llc.com"]', "changed"),
        ('ou["/Shadow"]', "unmanaged"),
    }
    assert report["summary"] == {"missing": 1, "changed": 1, "failed": 0, "unmanaged": 1}
    for finding in report["findings"]:
        assert set(finding) == {
            "address",
            "kind",
            "account_id",
            "issue",
            "expected",
            "actual",
            "differs",
        }
    moved = next(f for f in report["findings"] if f["issue"] == "changed")
    assert moved["differs"] == ["ou"]  # the live parent's id is context, not a difference
    # Only what differs (format 3); --whole keeps every field.
    assert moved["expected"] == {"ou": "/Production"}
    assert moved["actual"] == {"ou": "/Sandbox"}
    assert (moved["actual"]["ou"], moved["expected"]["ou"]) == ("/Sandbox", "/Production")
    whole = json.loads(run(config, "drift", "--json", "--whole").stdout)
    whole_moved = next(f for f in whole["findings"] if f["issue"] == "changed")
    assert {"email", "id", "ou"} <= set(whole_moved["expected"])
    assert whole_moved["expected"]["email"] == "themisguard-prod@delatsi-llc.com"

    def addresses(*args: str) -> set[str]:
        result = run(config, "drift", "--json", *args)
        in_sync = json.loads(result.stdout)["in_sync"]
        assert result.exit_code == (0 if in_sync else 2), result.output
        return {f["address"] for f in json.loads(result.stdout)["findings"]}

    account = 'account["themisguard-prod@delatsi-llc.com"]'
    attachment = 'policy_attachment["sandbox-cost-guard" -> "/Sandbox"]'
    assert addresses("--account", "ThemisGuard Production") == {account}
    assert addresses("--account", prod["Id"]) == {account}
    assert addresses("--ou", "/Sandbox") == {account, attachment}  # moved there: in both OUs
    assert addresses("--ou", "/Production") == {account}
    assert addresses("--kind", "ou") == {'ou["/Shadow"]'}  # unmanaged only: exit 0
    assert addresses("--kind", "policy_attachment", "--kind", "account") == {account, attachment}
    assert addresses("--ou", "/Sandbox", "--kind", "policy_attachment") == {attachment}
    unknown = run(config, "drift", "--account", "ThemisGuard Prod")
    assert unknown.exit_code == 1
    assert "did you mean 'ThemisGuard Production'?" in unknown.stderr
    assert run(config, "drift", "--ou", "/Nowhere").exit_code == 1
    human = run(config, "drift")
    assert human.exit_code == 2
    # Says what differs and how to fix it, grouped by account.
    assert f"Account ThemisGuard Production ({prod['Id']})" in human.stdout
    assert "ou: /Sandbox -> /Production" in human.stdout
    assert "fix: `orgkit apply` puts org.yaml's value back" in human.stdout
    assert "Drift: 3 finding(s): 1 missing, 1 changed, 1 unmanaged." in human.stdout

    # Only the unmanaged OU is left: in sync (as apply would say), unless asked to fail on it.
    assert run(config, "apply", "--yes").exit_code == 0
    unmanaged_only = run(config, "drift", "--json")
    assert unmanaged_only.exit_code == 0, unmanaged_only.output
    assert json.loads(unmanaged_only.stdout)["in_sync"] is True
    assert json.loads(unmanaged_only.stdout)["summary"]["unmanaged"] == 1
    failing = run(config, "drift", "--fail-on-unmanaged")
    assert failing.exit_code == 2
    assert "--fail-on-unmanaged: 1 unmanaged thing(s) fail the check" in failing.stderr
    text = run(config, "drift")
    assert 'ou["/Shadow"]' in text.stdout
    assert "In sync. Everything org.yaml declares matches (1 unmanaged" in text.stdout


def test_apply_without_stdin_refuses_cleanly(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    result = run(seed_dir / "org.yaml", "apply", input="")
    assert result.exit_code == 1
    assert "pass --yes" in result.stderr
    assert not [c for c in aws_calls if is_write(c.split(".", 1)[1])]


def test_saved_plan_from_another_config_is_refused(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    plan_file = seed_dir / "plan.json"
    assert run(config, "plan", "--out", str(plan_file)).exit_code == 0
    edit_yaml(config, lambda d: d["budgets"]["amounts"].update(dev=90))
    refused = run(config, "apply", "--yes", "--plan", str(plan_file))
    assert refused.exit_code == 1
    assert "changed since this plan was made" in refused.stderr


def test_apply_lints_templates_before_any_write(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    template = seed_dir / "templates" / "security-baseline.yaml.j2"
    template.write_text(
        template.read_text().replace(
            "FindingPublishingFrequency: FIFTEEN_MINUTES", "FindingPublishingFrequency: HOURLY"
        )
    )
    result = run(seed_dir / "org.yaml", "apply", "--yes")
    assert result.exit_code == 1
    assert "templates/security-baseline.yaml.j2 (rendered for security-baseline)" in result.stderr
    assert not [c for c in aws_calls if is_write(c.split(".", 1)[1])]


BAD = Path(__file__).parents[1] / "unit" / "bad"


@pytest.mark.parametrize("case", sorted(p.name for p in BAD.iterdir() if p.is_dir()))
def test_every_bad_config_is_a_clean_exit_1_naming_its_problem(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unsafe input included: a role name of '*', a file outside the repo, a template that
    reaches for Python internals. Each is refused before anything runs."""
    shutil.copytree(BAD / case, tmp_path / case)
    monkeypatch.chdir(tmp_path / case)
    result = run(Path("org.yaml"), "validate")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    first = (BAD / case / "expected.txt").read_text().splitlines()[0]
    assert first in result.stderr
