"""Who orgkit acts as: only the organization's management account, and in member accounts a
session that names the person who ran it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orgkit.errors import WrongOrganizationError
from orgkit.live import AwsContext
from orgkit.sandbox.server import Sandbox
from tests.helpers import account_ids, converged, edit_yaml, is_write, replan

MANAGEMENT = "123456789012"


@pytest.fixture
def member_credentials(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process runs with a member account's credentials (as a stolen CI key might)."""
    org = sandbox.client("organizations")
    member = org.create_account(Email="member@example.com", AccountName="Member")[
        "CreateAccountStatus"
    ]["AccountId"]
    credentials = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="someone",
    )["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    yield member


def test_a_member_account_named_as_management_is_refused(
    sandbox: Sandbox, seed_dir: Path, member_credentials: str, aws_calls: list[str]
) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, lambda d: d["organization"].update(management_account_id=member_credentials))
    with pytest.raises(WrongOrganizationError, match=f"its management account is {MANAGEMENT}"):
        replan(config)
    assert [c for c in aws_calls if is_write(c.split(".", 1)[1])] == []
    assert aws_calls == [
        "sts.GetCallerIdentity",
        "organizations.DescribeOrganization",
        "organizations.ListRoots",
    ]


def test_member_sessions_name_the_caller(sandbox: Sandbox, seed_dir: Path) -> None:
    converged(seed_dir / "org.yaml")
    prod = account_ids(sandbox)["themisguard-prod@delatsi-llc.com"]
    aws = AwsContext()
    sts = aws.members().client(prod, "OrganizationAccountAccessRole", "sts")
    arn = sts.get_caller_identity()["Arn"]
    caller = aws.caller_name()
    assert caller and caller != "orgkit-caller"
    assert arn == f"arn:aws:sts::{prod}:assumed-role/OrganizationAccountAccessRole/orgkit-{caller}"


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:iam::123456789012:user/alice", "alice"),
        (
            "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_1/bob@example.com",
            "bob@example.com",
        ),
        ("arn:aws:sts::123456789012:assumed-role/ci/GitHubActions job:42", "GitHubActions-job-42"),
        ("arn:aws:iam::123456789012:root", "root"),
    ],
)
def test_caller_names_fit_iam_session_names(arn: str, name: str) -> None:
    aws = AwsContext()
    aws._caller = {"Account": MANAGEMENT, "Arn": arn}
    assert aws.caller_name() == name
