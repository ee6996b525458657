"""``organization.read_role`` on the emulator: apply creates the role in every member account
through the access role; plan, drift, project check and samconfig then assume the read role
(and never the access role) in member accounts; and every call they make there is one the read
role's policy allows, with no action in the policy that orgkit was not seen to call (or that is
listed below with the reason the emulator does not show it).

moto evaluates no IAM permission and no trust policy (docs/sandbox.md). So these tests check
the *documents* against the calls orgkit makes, not AWS's enforcement of them. The sandbox does
refuse AssumeRole of a role that does not exist, as AWS does (orgkit/sandbox/extensions.py),
which is how a read role declared since the last apply shows.
"""

from __future__ import annotations

import fnmatch
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orgkit import workflow
from orgkit.cli.main import cli
from orgkit.config.loader import load_config
from orgkit.config.roles import read_role
from orgkit.kinds import kind_of
from orgkit.live import AwsContext
from orgkit.live.member import MemberSessions
from orgkit.live.session import AwsContext as SessionContext
from orgkit.plan import PlanOptions
from orgkit.policy_doc import equivalent
from orgkit.sandbox.server import Sandbox
from tests.helpers import account_ids, converge, converged, edit_yaml
from tests.unit.test_ci_recipe import MEMBER, permissions, role

FAULTS_ORG = Path(__file__).parent / "faults_org"
MANAGEMENT = "123456789012"
READ_ROLE = "OrgkitReadOnly"
ACCESS_ROLE = "OrganizationAccountAccessRole"


@pytest.fixture
def assumed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The RoleArn of every AssumeRole orgkit makes, in order."""
    arns: list[str] = []
    original = SessionContext.client

    def client(self: SessionContext, service: str, region: str | None = None) -> Any:
        made = original(self, service, region)
        if service == "sts" and not getattr(made, "_orgkit_assumed", False):

            def record(params: dict[str, Any], **_: Any) -> None:
                arns.append(str(params["RoleArn"]))

            made.meta.events.register("provide-client-params.sts.AssumeRole", record)
            made._orgkit_assumed = True
        return made

    monkeypatch.setattr(SessionContext, "client", client)
    return arns


@pytest.fixture
def member_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(role name, IAM action) of every call orgkit makes inside a member account."""
    calls: list[tuple[str, str]] = []
    original = MemberSessions.client

    def client(
        self: MemberSessions, account_id: str, role_name: str, service: str, **kw: Any
    ) -> Any:
        made = original(self, account_id, role_name, service, **kw)
        if not getattr(made, "_orgkit_recorded", False):

            def record(model: Any, **_: Any) -> None:
                calls.append((role_name, f"{service}:{model.name}"))

            made.meta.events.register("before-call.*.*", record)
            made._orgkit_recorded = True
        return made

    monkeypatch.setattr(MemberSessions, "client", client)
    return calls


def with_read_role(data: dict[str, Any]) -> None:
    data["organization"]["read_role"] = {
        "name": READ_ROLE,
        # The CI recipe's plan role (examples/github-actions/ci-roles.yaml).
        "principal_arns": [f"arn:aws:iam::{MANAGEMENT}:role/{role('PlanRole')['RoleName']}"],
    }


def security_and_themisguard(data: dict[str, Any]) -> None:
    """The seed's accounts whose insides orgkit reads for more than roles: the security
    tooling account (GuardDuty's and Security Hub's administrator) and ThemisGuard's (its
    platform's outputs, its deployment role with boundary and OIDC provider, the project
    check). The others add only more of the same role reads, and seconds of apply."""
    keep = ("security-tooling@", "themisguard-")
    data["accounts"] = [a for a in data["accounts"] if a["email"].startswith(keep)]
    data["stack_sets"] = [s for s in data["stack_sets"] if s["name"] == "themisguard-platform"]
    admins = data["security"]["delegated_admins"]
    data["security"] = {
        "delegated_admins": {k: admins[k] for k in ("guardduty", "securityhub")},
        "guardduty_finding_frequency": data["security"]["guardduty_finding_frequency"],
    }


@pytest.fixture
def small_org(tmp_path: Path) -> Iterator[Path]:
    shutil.copytree(FAULTS_ORG, tmp_path / "org")
    config = tmp_path / "org" / "org.yaml"
    edit_yaml(config, with_read_role)
    yield config


def role_arns(arns: list[str], name: str) -> set[str]:
    return {a for a in arns if a.endswith(f":role/{name}")}


def test_apply_creates_it_and_plan_and_drift_read_through_it(
    sandbox: Sandbox, small_org: Path, assumed: list[str]
) -> None:
    first = workflow.make_plan(small_org, AwsContext(), PlanOptions(), read_only=True)
    readers = [c for c in first.plan.changes if c.address.endswith(f'"{READ_ROLE}"]')]
    assert len(readers) == 2  # one per member account, created with the accounts
    described = "\n".join(kind_of("deployment_role").describe(readers[0]))
    assert f"trusted by AWS arn:aws:iam::{MANAGEMENT}:root" in described
    assert "aws:PrincipalArn ArnLike" in described

    converged(small_org)  # apply, then plan again: nothing left
    # Apply (and the plan it makes first and after) works through the access role only.
    assert assumed and role_arns(assumed, ACCESS_ROLE) == set(assumed)
    ids = account_ids(sandbox)
    members = {i for e, i in ids.items() if i != MANAGEMENT}
    spec = load_config(small_org).spec
    for account_id in members:
        live = sandbox.member_client(account_id, "iam").get_role(RoleName=READ_ROLE)["Role"]
        wanted = read_role(spec, account_id, MANAGEMENT)
        assert equivalent(live["AssumeRolePolicyDocument"], wanted.trust)
        policy = sandbox.member_client(account_id, "iam").get_role_policy(
            RoleName=READ_ROLE, PolicyName="orgkit-permissions"
        )["PolicyDocument"]
        assert equivalent(policy, wanted.permissions)

    assumed.clear()
    planned = workflow.make_plan(small_org, AwsContext(), PlanOptions(), read_only=True)
    assert planned.plan.empty
    assert set(assumed) == {f"arn:aws:iam::{i}:role/{READ_ROLE}" for i in members}
    assumed.clear()
    report = workflow.audit(small_org, AwsContext())
    assert report.in_sync
    assert set(assumed) == {f"arn:aws:iam::{i}:role/{READ_ROLE}" for i in members}
    # The CI recipe's plan role may assume exactly these (and not the access roles apply used).
    [member] = [s for s in permissions("PlanRole")["Statement"] if s["Sid"] == "MemberAccounts"]
    assert all(fnmatch.fnmatchcase(arn, member["Resource"]) for arn in assumed)
    assert not fnmatch.fnmatchcase(f"arn:aws:iam::{MEMBER}:role/{ACCESS_ROLE}", member["Resource"])

    # A read role changed by hand in a member account: plan (through it) shows it, apply
    # (through the access role) puts it back.
    account_id = sorted(members)[0]
    sandbox.member_client(account_id, "iam").put_role_policy(
        RoleName=READ_ROLE,
        PolicyName="orgkit-permissions",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",'
        '"Resource":"*"}]}',
    )
    drifted = workflow.make_plan(small_org, AwsContext(), PlanOptions(), read_only=True)
    [change] = drifted.plan.changes
    assert change.address.endswith(f'"{READ_ROLE}"]') and change.action.value == "update"
    assert converge(small_org).plan.empty


def test_every_member_call_of_the_read_commands_is_allowed_and_nothing_more(
    sandbox: Sandbox, seed_dir: Path, member_calls: list[tuple[str, str]]
) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, with_read_role)
    edit_yaml(config, security_and_themisguard)
    converged(config)
    member_calls.clear()
    runner = CliRunner()
    for args in (
        ["plan", "--detailed-exitcode"],  # drift reads the same (the first test checks it)
        ["project", "check", "themisguard"],
        ["project", "samconfig", "themisguard"],
    ):
        result = runner.invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code in (0, 2), (args, result.output)
        assert "Traceback" not in result.output
    roles = {role for role, _ in member_calls}
    seen = {action for _, action in member_calls}
    assert roles == {READ_ROLE}  # never the access role
    policy = read_role(load_config(config).spec, "111111111111", MANAGEMENT).permissions
    allowed: set[str] = set()
    for statement in policy["Statement"]:
        listed = statement["Action"]
        allowed |= {listed} if isinstance(listed, str) else set(listed)
    assert len(seen) >= 20  # it really recorded the runs
    assert seen - allowed == set()  # every call is allowed
    assert allowed - seen == set()  # and nothing else


def test_a_read_role_not_created_yet_stops_plan_and_says_to_apply(
    sandbox: Sandbox, small_org: Path, assumed: list[str]
) -> None:
    """Declared after the accounts were made: plan (exit 1, no traceback) names the account and
    what to run; apply, through the access role, creates the role; plan then works."""
    without = small_org.parent / "without.yaml"
    without.write_text(small_org.read_text())
    edit_yaml(without, lambda data: data["organization"].pop("read_role"))
    converged(without)
    members = {i for i in account_ids(sandbox).values() if i != MANAGEMENT}

    result = CliRunner().invoke(cli, ["--config", str(small_org), "plan"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "cannot read inside account" in result.stderr
    assert any(f"account {i}" in result.stderr for i in members)
    assert f"its read role {READ_ROLE} cannot be assumed (AccessDenied)" in result.stderr
    assert "`orgkit apply` with administrator credentials" in result.stderr
    assumed.clear()

    # Apply's plan reads through the access role: it sees the two read roles to create.
    first = workflow.make_plan(small_org, AwsContext(), PlanOptions())
    assert sorted(c.address for c in first.plan.changes) == sorted(
        f'deployment_role["{email}" -> "{READ_ROLE}"]'
        for email in ("app-dev@example.com", "app-prod@example.com")
    )
    assert converge(small_org).plan.empty
    assert assumed and role_arns(assumed, ACCESS_ROLE) == set(assumed)
    result = CliRunner().invoke(cli, ["--config", str(small_org), "plan", "--detailed-exitcode"])
    assert result.exit_code == 0, result.output
