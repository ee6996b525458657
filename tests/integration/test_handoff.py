"""The hand-off to `sam deploy` on the sandbox: samconfig.toml, the workflow and the
pre-production check, all compared with what raw boto3 reads in the member accounts.

Each test converges the seed's ThemisGuard part (its three accounts, the platform stack set,
their roles and budgets, the policies) once and makes several read-only checks on it; what
changes live state (a deleted instance, a secret's value, an extra policy) comes last.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml
from click.testing import CliRunner

from orgkit.cli.main import cli
from orgkit.sandbox.server import Sandbox
from tests.helpers import account_ids, converged, edit_yaml

ENVIRONMENTS = ("dev", "staging", "prod")
SECRET_VALUE = "sk_test_DO-NOT-PRINT-4242424242"


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def platform_outputs(box: Sandbox, account_id: str) -> dict[str, str]:
    cfn = box.member_client(account_id, "cloudformation")
    stack = cfn.describe_stacks(StackName="StackSet:themisguard-platform")["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def themisguard_only(data: dict[str, Any]) -> None:
    """The seed without what the hand-off does not read (the Security OU's services and stack
    sets, the shared and sandbox accounts): the same platform, applied in a few seconds."""
    data.pop("security", None)
    data["stack_sets"] = [s for s in data["stack_sets"] if s["name"] == "themisguard-platform"]
    data["accounts"] = [a for a in data["accounts"] if a.get("project") == "themisguard"]


@pytest.fixture
def applied(sandbox: Sandbox, seed_dir: Path) -> Iterator[Path]:
    config = seed_dir / "org.yaml"
    edit_yaml(config, themisguard_only)
    converged(config)
    yield config


def check_samconfig_of_the_seed_is_what_is_live(sandbox: Sandbox, applied: Path) -> None:
    result = run(applied, "project", "samconfig", "themisguard")
    assert result.exit_code == 0, result.output
    document = tomllib.loads(result.stdout)
    assert document["version"] == 0.1
    ids = account_ids(sandbox)
    for env in ENVIRONMENTS:
        account_id = ids[f"themisguard-{env}@delatsi-llc.com"]
        outputs = platform_outputs(sandbox, account_id)
        parameters = document[env]["deploy"]["parameters"]
        # The artifacts bucket really exists in that account, and is the platform's.
        buckets = {
            b["Name"] for b in sandbox.member_client(account_id, "s3").list_buckets()["Buckets"]
        }
        assert parameters["s3_bucket"] == outputs["ArtifactsBucketName"]
        assert parameters["s3_bucket"] in buckets
        assert parameters["region"] == "us-east-1"
        assert parameters["stack_name"] == "themisguard-app"
        overrides = dict(
            token.split("=", 1) for token in shlex.split(parameters["parameter_overrides"])
        )
        tables = set(sandbox.member_client(account_id, "dynamodb").list_tables()["TableNames"])
        for key in ("CustomersTableName", "UsageRecordsTableName"):
            assert overrides[key] == outputs[key] and overrides[key] in tables
        assert overrides["Environment"] == env
        assert overrides["KmsKeyArn"].startswith(f"arn:aws:kms:us-east-1:{account_id}:key/")
        secrets = sandbox.member_client(account_id, "secretsmanager")
        for key in ("StripeSecretKeyArn", "StripePublishableKeyArn", "GoogleOAuthClientArn"):
            assert secrets.describe_secret(SecretId=overrides[key])["ARN"] == overrides[key]
        role = overrides["ApplicationRoleArn"]
        assert role == f"arn:aws:iam::{account_id}:role/themisguard-{env}-app"
        assert sandbox.member_client(account_id, "iam").get_role(RoleName=f"themisguard-{env}-app")
        # The deployment role ARN is printed for the workflow, and that role exists.
        assert f"arn:aws:iam::{account_id}:role/ThemisGuardDeploymentRole" in result.stderr


def check_samconfig_keeps_existing_settings(
    sandbox: Sandbox, applied: Path, tmp_path: Path
) -> None:
    path = tmp_path / "samconfig.toml"
    path.write_text(
        "# my notes\n"
        "version = 0.1\n\n[default.global.parameters]\nbeta_features = true\n\n"
        "[prod.deploy.parameters]\n"
        'stack_name = "themisguard-app-blue"\n'
        "confirm_changeset = true\n"
        'parameter_overrides = "LogLevel=\\"debug\\" Environment=\\"wrong\\""\n'
        "[prod.sync.parameters]\nwatch = false\n"
    )
    result = run(applied, "project", "samconfig", "themisguard", "--out", str(path))
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# my notes\n")
    document = tomllib.loads(text)
    prod = document["prod"]["deploy"]["parameters"]
    assert document["default"]["global"]["parameters"]["beta_features"] is True
    assert document["prod"]["sync"]["parameters"]["watch"] is False
    assert prod["stack_name"] == "themisguard-app-blue" and prod["confirm_changeset"] is True
    assert 'LogLevel="debug"' in prod["parameter_overrides"]
    assert 'Environment="prod"' in prod["parameter_overrides"]
    assert "wrong" not in prod["parameter_overrides"]
    assert set(document) >= {"dev", "staging", "prod"}


def check_samconfig_dry_run_writes_nothing(sandbox: Sandbox, applied: Path, tmp_path: Path) -> None:
    path = tmp_path / "samconfig.toml"
    result = run(applied, "project", "samconfig", "themisguard", "--out", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert not path.exists()
    assert "[dev.deploy.parameters]" in result.stdout


def test_missing_stack_instance_is_refused_with_how_to_fix(
    sandbox: Sandbox, applied: Path, tmp_path: Path
) -> None:
    ids = account_ids(sandbox)
    dev = ids["themisguard-dev@delatsi-llc.com"]  # prod's tables are deletion-protected
    sandbox.client("cloudformation").delete_stack_instances(
        StackSetName="themisguard-platform",
        Accounts=[dev],
        Regions=["us-east-1"],
        RetainStacks=False,
    )
    path = tmp_path / "samconfig.toml"
    result = run(applied, "project", "samconfig", "themisguard", "--out", str(path))
    assert result.exit_code == 1
    assert "themisguard-platform" in result.stderr and dev in result.stderr
    assert "orgkit apply" in result.stderr
    assert "Traceback" not in result.output
    assert not path.exists()


def check_unknown_project_is_an_error(sandbox: Sandbox, applied: Path) -> None:
    result = run(applied, "project", "samconfig", "nosuch")
    assert result.exit_code == 1
    assert "no project 'nosuch'" in result.stderr and "themisguard" in result.stderr


def check_workflow_assumes_each_environments_role_with_oidc(
    sandbox: Sandbox, applied: Path
) -> None:
    result = run(applied, "project", "workflow", "themisguard")
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load(result.stdout)
    ids = account_ids(sandbox)
    jobs = workflow["jobs"]
    assert list(jobs) == [f"deploy-{e}" for e in ENVIRONMENTS]
    assert jobs["deploy-prod"]["needs"] == "deploy-staging"
    for env in ENVIRONMENTS:
        job = jobs[f"deploy-{env}"]
        # The role trusts sub = repo:delatsi-llc/themisguard:environment:<env>.
        assert job["environment"] == env
        assert job["permissions"]["id-token"] == "write"
        configure = next(
            s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")
        )
        arn = configure["with"]["role-to-assume"]
        account_id = ids[f"themisguard-{env}@delatsi-llc.com"]
        assert arn == f"arn:aws:iam::{account_id}:role/ThemisGuardDeploymentRole"
        iam = sandbox.member_client(ids[f"themisguard-{env}@delatsi-llc.com"], "iam")
        trust = iam.get_role(RoleName="ThemisGuardDeploymentRole")["Role"][
            "AssumeRolePolicyDocument"
        ]
        subjects = trust["Statement"][0]["Condition"]["StringLike"][
            "token.actions.githubusercontent.com:sub"
        ]
        assert f"repo:delatsi-llc/themisguard:environment:{env}" in subjects
        runs = [s["run"] for s in job["steps"] if "run" in s]
        assert any(r.startswith(f"sam deploy --config-env {env}") for r in runs)
    assert "AWS_ACCESS_KEY_ID" not in result.stdout and "${{ secrets." not in result.stdout


def items(document: dict[str, Any], env: str) -> dict[str, dict[str, Any]]:
    return {i["item"]: i for i in document["items"] if i["environment"] == env}


def check_check_prod_lists_the_checklist_and_secrets_are_empty(
    sandbox: Sandbox, applied: Path
) -> None:
    result = run(applied, "project", "check", "themisguard", "--env", "prod", "--json")
    assert result.exit_code == 2, result.output  # the Stripe secrets are empty
    document = json.loads(result.stdout)
    prod = items(document, "prod")
    assert {i["environment"] for i in document["items"]} == {"prod"}
    assert prod["stripe-keys"]["status"] == "fail", json.dumps(document, indent=1)
    assert any("stripe-secret-key: empty" in e for e in prod["stripe-keys"]["evidence"])
    assert "put-secret-value" in prod["stripe-keys"]["fix"]
    assert prod["google-oauth"]["status"] == "fail"
    assert prod["budget-alerts"]["status"] == "pass"
    assert prod["monitoring"]["status"] == "pass"
    assert prod["backups"]["status"] == "pass"  # PITR on all four, prod-backups on /Production
    assert any("prod-backups" in e for e in prod["backups"]["evidence"])
    assert prod["deploy-role"]["status"] == "pass", prod["deploy-role"]
    assert prod["load-testing"]["status"] == "cannot-check"
    # No certificate for the declared domain exists in the sandbox: still to do.
    assert prod["certificate"]["status"] == "fail"
    assert any("api.themisguard.com" in e for e in prod["certificate"]["evidence"])
    assert document["summary"]["fail"] >= 3 and document["passed"] is False


def check_check_text_names_every_item(sandbox: Sandbox, applied: Path) -> None:
    result = run(applied, "project", "check", "themisguard", "--env", "dev")
    assert result.exit_code == 2
    for words in ("Budget alerts configured", "Stripe keys configured", "cannot-check"):
        assert words in result.stdout
    assert "no domain is declared for dev" in result.stdout


def check_secrets_set_with_boto3_pass_and_the_value_is_never_printed(
    sandbox: Sandbox, applied: Path
) -> None:
    prod = account_ids(sandbox)["themisguard-prod@delatsi-llc.com"]
    outputs = platform_outputs(sandbox, prod)
    secrets = sandbox.member_client(prod, "secretsmanager")
    for key in ("StripeSecretKeyArn", "StripePublishableKeyArn", "GoogleOAuthClientArn"):
        assert secrets.list_secret_version_ids(SecretId=outputs[key])["Versions"] == []
        secrets.put_secret_value(SecretId=outputs[key], SecretString=SECRET_VALUE)
    for args in (("--json",), ()):
        result = run(applied, "project", "check", "themisguard", "--env", "prod", *args)
        assert SECRET_VALUE not in result.output
        assert SECRET_VALUE not in result.stderr
    document = json.loads(
        run(applied, "project", "check", "themisguard", "--env", "prod", "--json").stdout
    )
    found = items(document, "prod")
    assert found["stripe-keys"]["status"] == "pass"
    assert found["google-oauth"]["status"] == "pass"


def check_changed_deploy_role_fails_the_check(sandbox: Sandbox, applied: Path) -> None:
    prod = account_ids(sandbox)["themisguard-prod@delatsi-llc.com"]
    iam = sandbox.member_client(prod, "iam")
    iam.put_role_policy(
        RoleName="ThemisGuardDeploymentRole",
        PolicyName="extra",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
                ],
            }
        ),
    )
    document = json.loads(
        run(applied, "project", "check", "themisguard", "--env", "prod", "--json").stdout
    )
    role = items(document, "prod")["deploy-role"]
    assert role["status"] == "fail"
    assert any("inline:extra" in e for e in role["evidence"])


def check_check_of_a_project_without_domains_says_it_cannot(
    sandbox: Sandbox, applied: Path
) -> None:
    edit_yaml(applied, lambda d: d["projects"][0].pop("domains"))
    document = json.loads(
        run(applied, "project", "check", "themisguard", "--env", "prod", "--json").stdout
    )
    prod = items(document, "prod")
    assert prod["certificate"]["status"] == "cannot-check"
    assert prod["domain"]["status"] == "cannot-check"


def test_samconfig_and_workflow_are_what_is_live(
    sandbox: Sandbox, applied: Path, tmp_path: Path
) -> None:
    check_samconfig_of_the_seed_is_what_is_live(sandbox, applied)
    for folder in ("kept", "dry"):
        (tmp_path / folder).mkdir()
    check_samconfig_keeps_existing_settings(sandbox, applied, tmp_path / "kept")
    check_samconfig_dry_run_writes_nothing(sandbox, applied, tmp_path / "dry")
    check_unknown_project_is_an_error(sandbox, applied)
    check_workflow_assumes_each_environments_role_with_oidc(sandbox, applied)


def test_check_lists_the_checklist_then_follows_live_changes(
    sandbox: Sandbox, applied: Path
) -> None:
    check_check_prod_lists_the_checklist_and_secrets_are_empty(sandbox, applied)
    check_check_text_names_every_item(sandbox, applied)
    check_secrets_set_with_boto3_pass_and_the_value_is_never_printed(sandbox, applied)
    check_changed_deploy_role_fails_the_check(sandbox, applied)
    check_check_of_a_project_without_domains_says_it_cannot(sandbox, applied)
