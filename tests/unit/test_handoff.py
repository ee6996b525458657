"""The hand-off's pure parts and the platform's secrets, offline.

- The platform template's secrets: created empty, under the platform key, readable by the
  application role alone (a deny for every other principal), the key usable by that role only
  through AWS services (kms:ViaService); the application role's document linted by parliament.
- No role orgkit builds may read a secret's value except through that application role.
- samconfig's parameter_overrides keep the user's own keys; the workflow follows the trust.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import parliament
import pytest
import yaml

from orgkit import handoff
from orgkit.config.loader import load_config
from orgkit.config.roles import wanted_roles
from orgkit.live.model import LiveOrg, LiveRole

REPO = Path(__file__).resolve().parents[2]
SECRETS = ("StripeSecretKey", "StripePublishableKey", "GoogleOAuthClient")


class _Loader(yaml.SafeLoader):
    """CloudFormation's short tags as {"Tag": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_Loader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def platform() -> dict[str, Any]:
    config = load_config(REPO / "org.yaml")
    body = config.templates["themisguard-platform"].body
    return dict(yaml.load(body, Loader=_Loader)["Resources"])  # noqa: S506


def test_secrets_are_created_empty_under_the_platform_key(platform: dict[str, Any]) -> None:
    for name in SECRETS:
        secret = platform[name]
        assert secret["Type"] == "AWS::SecretsManager::Secret"
        properties = secret["Properties"]
        assert "SecretString" not in properties and "GenerateSecretString" not in properties
        assert properties["KmsKeyId"] == {"GetAtt": "PlatformKey.Arn"}


def test_only_the_application_role_reads_the_secrets(platform: dict[str, Any]) -> None:
    for name in SECRETS:
        policy = platform[f"{name}Policy"]["Properties"]
        assert policy["SecretId"] == {"Ref": name} and policy["BlockPublicPolicy"] is True
        [statement] = policy["ResourcePolicy"]["Statement"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
        assert statement["Action"] == "secretsmanager:GetSecretValue"
        assert statement["Condition"] == {
            "StringNotEquals": {"aws:PrincipalArn": {"GetAtt": "ApplicationRole.Arn"}}
        }


def test_application_role_reads_its_secrets_and_uses_the_key_through_services(
    platform: dict[str, Any],
) -> None:
    role = platform["ApplicationRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    [policy] = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["ReadSecrets"]["Resource"] == [{"Ref": name} for name in SECRETS]
    key = statements["PlatformKeyThroughServices"]
    assert key["Resource"] == {"GetAtt": "PlatformKey.Arn"}
    services = key["Condition"]["StringEquals"]["kms:ViaService"]
    assert {"Sub": "secretsmanager.${AWS::Region}.amazonaws.com"} in services
    assert all(s.get("Resource") not in ("*", ["*"]) for s in statements.values())


def _concrete(value: Any) -> Any:
    """CloudFormation intrinsics replaced by plausible ARNs, for a linter that knows none."""
    if isinstance(value, dict) and len(value) == 1:
        ((tag, inner),) = value.items()
        if tag in {"GetAtt", "Ref", "Sub"}:
            text = str(inner).replace("${AWS::Region}", "us-east-1")
            if "secretsmanager." in text or text.startswith("dynamodb.") or text.startswith("s3."):
                return text
            if tag == "Sub" and text.startswith("arn:"):
                return text.replace("${AWS::Partition}", "aws").replace(
                    "${AWS::AccountId}", "111111111111"
                )
            if "StreamArn" in text:
                return "arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/s"
            if "Table" in text:
                return "arn:aws:dynamodb:us-east-1:111111111111:table/t" + (
                    "/index/*" if "index" in text else ""
                )
            if "Bucket" in text:
                return "arn:aws:s3:::b" + ("/*" if "/*" in text else "")
            if "Key" in text and tag != "Ref":
                return "arn:aws:kms:us-east-1:111111111111:key/k"
            return "arn:aws:secretsmanager:us-east-1:111111111111:secret:s-AbCdEf"
    if isinstance(value, dict):
        return {k: _concrete(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_concrete(v) for v in value]
    return value


def test_application_role_policy_passes_parliament(platform: dict[str, Any]) -> None:
    [policy] = platform["ApplicationRole"]["Properties"]["Policies"]
    document = _concrete(policy["PolicyDocument"])
    findings = parliament.analyze_policy_string(json.dumps(document)).findings
    assert [(f.issue, f.detail) for f in findings] == []


def test_no_role_orgkit_builds_is_granted_secret_values() -> None:
    """No Allow of any role orgkit builds names GetSecretValue, by wildcard either. (The
    execution role can still rewrite a secret's resource policy: deploying-the-app.md says so.)"""
    config = load_config(REPO / "org.yaml")
    ids = {a.email.lower(): str(100000000000 + i) for i, a in enumerate(config.spec.accounts)}
    wanted = wanted_roles(config.spec, None, "123456789012", "o-abcdefghij", ids)
    assert wanted
    for role in wanted:
        for statement in role.role.permissions["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            reads = [a for a in actions if handoff.reads_secret_values(a)]
            assert not reads, (role.role.role_name, statement.get("Sid"), reads)


def test_deployment_role_may_not_change_the_platform_roles() -> None:
    config = load_config(REPO / "org.yaml")
    ids = {a.email.lower(): "222222222222" for a in config.spec.accounts}
    deploy = next(
        w
        for w in wanted_roles(config.spec, None, "123456789012", "o-abcdefghij", ids)
        if w.role.purpose == "deployment" and w.account and w.account.environment.value == "prod"
    )
    deny = next(s for s in deploy.role.permissions["Statement"] if s["Sid"] == "KeepPlatformRoles")
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == "arn:aws:iam::222222222222:role/themisguard-prod-*"
    assert {"iam:Update*", "iam:Put*", "iam:Attach*"} <= set(deny["Action"])


def test_parameter_overrides_keep_the_users_keys_and_replace_the_live_ones() -> None:
    merged = handoff._overrides(
        'LogLevel="debug" Environment="wrong" Empty=""', {"Environment": "prod", "KmsKeyArn": "k"}
    )
    assert merged == 'Environment="prod" KmsKeyArn="k" LogLevel="debug" Empty=""'
    assert handoff._overrides(["A=1", "Environment=x"], {"Environment": "dev"}) == (
        'Environment="dev" A="1"'
    )
    assert handoff._overrides(None, {"Environment": "dev"}) == 'Environment="dev"'


def _project_live(environments: list[str], trusted: list[str]) -> handoff.ProjectLive:
    config = load_config(REPO / "org.yaml")
    project = config.spec.project("themisguard")
    assert project is not None and project.deployment_role is not None
    assert project.deployment_role.trust.github is not None
    github = project.deployment_role.trust.github.model_copy(update={"environments": trusted})
    trust = project.deployment_role.trust.model_copy(update={"github": github})
    role = project.deployment_role.model_copy(update={"trust": trust})
    project = project.model_copy(update={"deployment_role": role})
    envs = []
    for index, name in enumerate(environments):
        account = next(
            a
            for a in config.spec.accounts
            if a.project == "themisguard" and a.environment.value == name
        )
        account_id = f"30000000000{index}"
        envs.append(
            handoff.ProjectEnvironment(
                environment=name,
                account=account,
                account_id=account_id,
                access_role="OrganizationAccountAccessRole",
                region="us-east-1",
                stack_sets=("themisguard-platform",),
                outputs={},
                role=LiveRole(account_id, "ThemisGuardDeploymentRole", exists=True),
                wanted_role=None,
            )
        )
    live = LiveOrg("o-x", "123456789012", "ALL", "r-x", (), (), (), ())
    return handoff.ProjectLive(config, project, live, tuple(envs))


def test_workflow_jobs_follow_the_roles_trust() -> None:
    text = handoff.workflow(_project_live(["dev", "prod"], trusted=["prod"]))
    jobs = yaml.safe_load(text)["jobs"]
    # prod's role trusts the GitHub environment prod; dev's trusts pushes to main.
    assert jobs["deploy-prod"]["environment"] == "prod" and "if" not in jobs["deploy-prod"]
    assert "environment" not in jobs["deploy-dev"]
    assert jobs["deploy-dev"]["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["deploy-prod"]["needs"] == "deploy-dev"
    steps = jobs["deploy-dev"]["steps"]
    configure = next(s for s in steps if "configure-aws-credentials" in s.get("uses", ""))
    assert configure["with"]["role-to-assume"] == (
        "arn:aws:iam::300000000000:role/ThemisGuardDeploymentRole"
    )


def test_workflow_passes_actionlint_and_pins_its_actions(tmp_path: Path) -> None:
    from tests.unit.test_ci_recipe import actionlint

    text = handoff.workflow(_project_live(["dev", "prod"], trusted=["prod"]))
    workflow_file = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow_file.parent.mkdir(parents=True)
    workflow_file.write_text(text)
    linted = actionlint(workflow_file)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    for job in yaml.safe_load(text)["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:  # a full commit, never a tag that can move
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["persist-credentials"] is False


def test_workflow_refuses_a_missing_role() -> None:
    project_live = _project_live(["dev"], trusted=["dev"])
    gone = handoff.ProjectEnvironment(
        **{
            **project_live.environments[0].__dict__,
            "role": LiveRole("300000000000", "ThemisGuardDeploymentRole", exists=False),
        }
    )
    with pytest.raises(handoff.OrgkitError, match="does not exist in the dev account"):
        handoff.workflow(
            handoff.ProjectLive(
                project_live.config, project_live.project, project_live.live, (gone,)
            )
        )


@pytest.mark.parametrize(
    ("action", "reads"),
    [
        ("secretsmanager:GetSecretValue", True),
        ("secretsmanager:Get*", True),
        ("SecretsManager:getsecretvalue", True),
        ("*:*", True),
        ("*", True),
        ("secretsmanager:Describe*", False),
        ("secretsmanager:ListSecretVersionIds", False),
    ],
)
def test_what_counts_as_reading_a_secret(action: str, reads: bool) -> None:
    assert handoff.reads_secret_values(action) is reads
