"""``organization.read_role``: the read-only role orgkit keeps in every member account and reads
through in plan, drift and project check/samconfig. Its documents are linted with orgkit's
other roles in test_iam_documents.py; here: what it trusts, that it only reads, that org.yaml
is checked, and which role a member-account session assumes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from orgkit.config.loader import load_config
from orgkit.config.models import OrgSpec
from orgkit.config.roles import WantedRole, read_role, wanted_roles
from orgkit.errors import AwsError, ConfigError
from orgkit.live.member import MemberSessions

REPO = Path(__file__).resolve().parents[2]
MANAGEMENT = "123456789012"
ACCOUNT = "210987654321"
READ_VERBS = ("Describe", "Get", "List")


def seed_spec(tmp_path: Path, read_role: dict[str, Any] | None) -> OrgSpec:
    """The seed org.yaml with ``organization.read_role`` set (None: not declared)."""
    data = yaml.safe_load((REPO / "org.yaml").read_text())
    data["organization"].pop("read_role", None)
    if read_role is not None:
        data["organization"]["read_role"] = read_role
    (tmp_path / "org.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    for folder in ("scps", "policies", "templates"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return load_config(tmp_path / "org.yaml").spec


def wanted(spec: OrgSpec) -> list[WantedRole]:
    ids = {a.email.lower(): str(100000000000 + i) for i, a in enumerate(spec.accounts)}
    return wanted_roles(spec, None, MANAGEMENT, "o-abcdefghij", ids)


def actions(document: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for statement in document["Statement"]:
        listed = statement["Action"]
        found += [listed] if isinstance(listed, str) else listed
    return found


def test_absent_changes_nothing(tmp_path: Path) -> None:
    spec = seed_spec(tmp_path, None)
    assert spec.organization.read_role is None
    assert all(w.role.purpose != "read-only" for w in wanted(spec))


def test_every_active_member_account_gets_it_through_its_access_role(tmp_path: Path) -> None:
    spec = seed_spec(tmp_path, {"name": "OrgkitReadOnly"})
    readers = [w for w in wanted(spec) if w.role.purpose == "read-only"]
    active = [a for a in spec.accounts if a.state == "active"]
    assert sorted(w.account.email for w in readers if w.account) == sorted(a.email for a in active)
    assert {w.role.role_name for w in readers} == {"OrgkitReadOnly"}
    assert {w.access_role for w in readers} == {"OrganizationAccountAccessRole"}


def test_it_trusts_the_management_account_and_optionally_named_roles(tmp_path: Path) -> None:
    plan_role = f"arn:aws:iam::{MANAGEMENT}:role/orgkit-ci-roles-PlanRole-*"
    spec = seed_spec(tmp_path, {"name": "OrgkitReadOnly", "principal_arns": [plan_role]})
    [statement] = read_role(spec, ACCOUNT, MANAGEMENT).trust["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    assert statement["Condition"] == {"ArnLike": {"aws:PrincipalArn": [plan_role]}}
    (tmp_path / "open").mkdir()
    open_spec = seed_spec(tmp_path / "open", {"name": "OrgkitReadOnly"})
    [statement] = read_role(open_spec, ACCOUNT, MANAGEMENT).trust["Statement"]
    assert "Condition" not in statement


def test_it_only_reads_and_only_in_its_own_account(tmp_path: Path) -> None:
    spec = seed_spec(tmp_path, {"name": "OrgkitReadOnly"})
    permissions = read_role(spec, ACCOUNT, MANAGEMENT).permissions
    listed = actions(permissions)
    assert len(listed) == len(set(listed)) >= 15
    for action in listed:
        assert "*" not in action
        assert action.split(":")[1].startswith(READ_VERBS), action
    assert "secretsmanager:GetSecretValue" not in listed
    for statement in permissions["Statement"]:
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            assert resource == "*" or resource.split(":")[4] == ACCOUNT, resource


@pytest.mark.parametrize(
    ("read_role_yaml", "field", "message"),
    [
        (
            {"name": "OrgkitReadOnly", "principal_arns": ["arn:aws:iam::999999999999:role/ci"]},
            "organization.read_role.principal_arns[0]",
            "not a role of the management account",
        ),
        (
            {"name": "OrganizationAccountAccessRole"},
            "organization.read_role.name",
            "already another of orgkit's roles",
        ),
        (
            {"name": "AWSCloudFormationStackSetExecutionRole"},
            "organization.read_role.name",
            "already another of orgkit's roles",
        ),
        (
            {"name": "OrgkitReadOnly", "principal_arns": ["*"]},
            "organization.read_role.principal_arns[0]",
            "String should match pattern",
        ),
    ],
)
def test_org_yaml_is_checked(
    tmp_path: Path, read_role_yaml: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        seed_spec(tmp_path, read_role_yaml)
    text = str(raised.value)
    assert field in text and message in text, text
    assert "org.yaml:" in text


def test_a_deployment_role_may_not_take_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="one of orgkit's own roles"):
        seed_spec(tmp_path, {"name": "ThemisGuardDeploymentRole"})


# -- which role a member-account read assumes ---------------------------------------------
class FakeSts:
    """An STS client that answers AssumeRole (or refuses it, as AWS does for a role that does
    not exist or does not trust the caller) and records the RoleArns asked for."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.arns: list[str] = []

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        import datetime

        self.arns.append(kwargs["RoleArn"])
        if self.refuse:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole"
            )
        return {
            "Credentials": {
                "AccessKeyId": "AKIA",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": datetime.datetime.now(datetime.timezone.utc)
                + datetime.timedelta(hours=1),
            }
        }


class FakeAws:
    """What MemberSessions uses of an AwsContext."""

    def __init__(self, sts: FakeSts, read_role: str | None) -> None:
        self.sts = sts
        self.region = "us-east-1"
        self.read_role = read_role

    def client(self, service: str) -> Any:
        assert service == "sts"
        return self.sts

    def caller_name(self) -> str:
        return "tester"


def sessions(sts: FakeSts, read_role: str | None) -> MemberSessions:
    no_sleep: Callable[[float], None] = lambda seconds: None  # noqa: E731
    return MemberSessions(FakeAws(sts, read_role), sleep=no_sleep)  # type: ignore[arg-type]


def test_reads_assume_the_read_role_and_writes_the_access_role() -> None:
    sts = FakeSts()
    members = sessions(sts, "OrgkitReadOnly")
    members.reader(ACCOUNT, "OrganizationAccountAccessRole", "iam")
    members.client(ACCOUNT, "OrganizationAccountAccessRole", "iam")
    assert sts.arns == [
        f"arn:aws:iam::{ACCOUNT}:role/OrgkitReadOnly",
        f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole",
    ]


def test_without_a_read_role_reads_assume_the_access_role() -> None:
    sts = FakeSts()
    sessions(sts, None).reader(ACCOUNT, "OrganizationAccountAccessRole", "iam")
    assert sts.arns == [f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"]


def test_a_read_role_that_cannot_be_assumed_says_what_to_run() -> None:
    sts = FakeSts(refuse=True)
    with pytest.raises(AwsError) as raised:
        sessions(sts, "OrgkitReadOnly").reader(ACCOUNT, "OrganizationAccountAccessRole", "iam")
    error = raised.value
    assert f"account {ACCOUNT}" in error.message
    assert "OrgkitReadOnly" in error.message and "AccessDenied" in error.message
    assert "`orgkit apply` with administrator credentials" in (error.hint or "")
    # Asked for the read role (with and without a source identity), never the access role.
    assert set(sts.arns) == {f"arn:aws:iam::{ACCOUNT}:role/OrgkitReadOnly"}


def test_the_deployment_role_boundary_keeps_the_read_role_out_of_reach(tmp_path: Path) -> None:
    """Who could widen the read role could widen what a plan (and the CI plan role) may do."""
    spec = seed_spec(tmp_path, {"name": "OrgkitReadOnly"})
    [prod] = [
        w
        for w in wanted(spec)
        if w.role.purpose == "deployment" and w.account and w.account.environment.value == "prod"
    ]
    assert prod.role.boundary is not None and prod.account_id is not None
    read_arn = f"arn:aws:iam::{prod.account_id}:role/OrgkitReadOnly"
    denied = [
        s
        for s in prod.role.boundary["Statement"]
        if s["Effect"] == "Deny" and read_arn in s.get("Resource", [])
    ]
    assert [s["Action"] for s in denied] == ["iam:*"]
