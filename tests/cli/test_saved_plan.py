"""`apply --plan FILE` applies only what a fresh plan does now: an edited file is refused."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orgkit.changes import PLAN_FORMAT_VERSION
from orgkit.sandbox.server import Sandbox
from tests.cli.test_cli import run
from tests.helpers import account_ids, is_write

ORG = textwrap.dedent("""\
    version: 1
    organization:
      name: Small
      management_account_id: "123456789012"
    policies:
      - name: deny-leave
        file: scps/deny-leave.json
    ous:
      - name: Prod
      - name: Sandbox
        policies: [deny-leave]
    accounts:
      - name: App
        email: app@example.com
        ou: /Prod
        environment: prod
      - name: Play
        email: play@example.com
        ou: /Sandbox
        environment: sandbox
    """)
DENY_LEAVE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
}


@pytest.fixture
def small(sandbox: Sandbox, tmp_path: Path) -> Path:
    """A small org.yaml, applied to the sandbox."""
    (tmp_path / "scps").mkdir()
    (tmp_path / "scps" / "deny-leave.json").write_text(json.dumps(DENY_LEAVE))
    config = tmp_path / "org.yaml"
    config.write_text(ORG)
    applied = run(config, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    return config


def saved(config: Path, *flags: str) -> tuple[Path, dict[str, Any]]:
    plan_file = config.parent / "plan.json"
    result = run(config, "plan", "--out", str(plan_file), *flags)
    assert result.exit_code == 0, result.output
    return plan_file, json.loads(plan_file.read_text())


def writes(calls: list[str]) -> list[str]:
    return [c for c in calls if is_write(c.split(".", 1)[1])]


def moved_by_hand(box: Sandbox) -> None:
    """Play goes to /Prod by hand, so a fresh plan moves it back (one update)."""
    org = box.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    ous = {
        o["Name"]: o["Id"]
        for o in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    }
    play = account_ids(box)["play@example.com"]
    org.move_account(AccountId=play, SourceParentId=ous["Sandbox"], DestinationParentId=ous["Prod"])


def refused(
    config: Path, plan_file: Path, data: dict[str, Any], calls: list[str], message: str, *flags: str
) -> None:
    plan_file.write_text(json.dumps(data))
    calls.clear()
    result = run(config, "apply", "--yes", "--plan", str(plan_file), *flags)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert writes(calls) == []


def add_closure(box: Sandbox) -> Callable[[dict[str, Any]], None]:
    app = account_ids(box)["app@example.com"]

    def edit(data: dict[str, Any]) -> None:
        data["changes"].append(
            {
                "address": 'account["app@example.com"]',
                "kind": "account",
                "action": "delete",
                "before": {"email": "app@example.com", "name": "App", "id": app, "ou": "/Prod"},
                "after": {"state": "closed"},
                "destructive": False,
            }
        )

    return edit


def test_an_added_change_is_refused(small: Path, sandbox: Sandbox, aws_calls: list[str]) -> None:
    moved_by_hand(sandbox)
    plan_file, data = saved(small)
    add_closure(sandbox)(data)
    refused(small, plan_file, data, aws_calls, "not what a fresh plan would do now")
    # Not even with the flag the closure would need: the file never decides what runs.
    refused(
        small,
        plan_file,
        data,
        aws_calls,
        "not what a fresh plan would do now",
        "--allow-close-accounts",
    )
    assert (
        sandbox.client("organizations").describe_account(
            AccountId=account_ids(sandbox)["app@example.com"]
        )["Account"]["Status"]
        == "ACTIVE"
    )


def test_a_swapped_account_id_is_refused(
    small: Path, sandbox: Sandbox, aws_calls: list[str]
) -> None:
    moved_by_hand(sandbox)
    plan_file, data = saved(small)
    [move] = data["changes"]
    assert move["kind"] == "account" and move["after"]["ou"] == "/Sandbox"
    other = account_ids(sandbox)["app@example.com"]
    move["before"]["id"] = move["after"]["id"] = other
    refused(small, plan_file, data, aws_calls, "not what a fresh plan would do now")


def test_a_flipped_destructive_flag_is_refused(
    small: Path, sandbox: Sandbox, aws_calls: list[str]
) -> None:
    org = sandbox.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    policy = next(
        p
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "deny-leave"
    )
    org.attach_policy(PolicyId=policy["Id"], TargetId=root)  # undeclared: a detach is planned
    plan_file, data = saved(small, "--allow-destroy")
    [detach] = data["changes"]
    assert detach["action"] == "delete" and detach["destructive"] is True
    detach["destructive"] = False
    data["flags"]["allow_destroy"] = False
    refused(small, plan_file, data, aws_calls, "not what a fresh plan would do now")
    # With the flag the change needs, the edited file is still not the fresh plan.
    refused(
        small, plan_file, data, aws_calls, "not what a fresh plan would do now", "--allow-destroy"
    )
    targets = org.list_targets_for_policy(PolicyId=policy["Id"])["Targets"]
    assert root in {t["TargetId"] for t in targets}


def test_a_plan_made_with_a_flag_needs_it_at_apply(
    small: Path, sandbox: Sandbox, aws_calls: list[str]
) -> None:
    org = sandbox.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    policy = next(
        p
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "deny-leave"
    )
    org.attach_policy(PolicyId=policy["Id"], TargetId=root)
    plan_file, data = saved(small, "--allow-destroy")
    refused(small, plan_file, data, aws_calls, "not what a fresh plan would do now")
    result = run(small, "apply", "--yes", "--plan", str(plan_file), "--allow-destroy")
    assert result.exit_code == 0, result.output
    assert root not in {
        t["TargetId"] for t in org.list_targets_for_policy(PolicyId=policy["Id"])["Targets"]
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format_version=PLAN_FORMAT_VERSION + 1), "plan format version"),
        (lambda d: d.pop("format_version"), "plan format version None"),
        (lambda d: d["changes"][0]["after"].update(extra="x"), "Extra inputs are not permitted"),
        (lambda d: d["changes"][0].update(kind="iam_user"), "unknown kind 'iam_user'"),
        (lambda d: d["changes"][0].update(action="explode"), "'explode' is not a valid Action"),
        (lambda d: d["summary"].update(update=0), "not what a fresh plan would do now"),
        (lambda d: d.update(flags="abc"), "not a plan this orgkit can apply"),
        (lambda d: d["changes"][0]["after"].update(ou=[[[[[[[[]]]]]]]]), "not a plan this orgkit"),
    ],
    ids=[
        "newer-version",
        "no-version",
        "unknown-field",
        "unknown-kind",
        "unknown-action",
        "summary-edited",
        "flags-not-an-object",
        "garbage-value",
    ],
)
def test_a_malformed_plan_is_refused(
    small: Path,
    sandbox: Sandbox,
    aws_calls: list[str],
    edit: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    moved_by_hand(sandbox)
    plan_file, data = saved(small)
    edit(data)
    refused(small, plan_file, data, aws_calls, message)


def test_an_untouched_plan_applies_and_then_says_it_was_applied(
    small: Path, sandbox: Sandbox, aws_calls: list[str]
) -> None:
    moved_by_hand(sandbox)
    plan_file, _ = saved(small)
    applied = run(small, "apply", "--yes", "--plan", str(plan_file))
    assert applied.exit_code == 0, applied.output
    aws_calls.clear()
    again = run(small, "apply", "--yes", "--plan", str(plan_file))
    assert again.exit_code == 0, again.output
    assert f"{plan_file} was already applied" in again.stderr
    assert not [c for c in aws_calls if is_write(c.split(".", 1)[1])]
    # Changed otherwise by hand since (moved to the root): stale, not "applied"; refused.
    org = sandbox.client("organizations")
    play = account_ids(sandbox)["play@example.com"]
    parent = org.list_parents(ChildId=play)["Parents"][0]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    org.move_account(AccountId=play, SourceParentId=parent, DestinationParentId=root)
    stale = run(small, "apply", "--yes", "--plan", str(plan_file))
    assert stale.exit_code == 1
    assert "or it was already applied" in stale.stderr


def test_duplicate_keys_are_refused(small: Path, sandbox: Sandbox, aws_calls: list[str]) -> None:
    """Two values for one key: a reviewer reads one, a parser keeps the other."""
    moved_by_hand(sandbox)
    plan_file, _ = saved(small)
    text = plan_file.read_text().replace('"ou": "/Sandbox"', '"ou": "/Prod", "ou": "/Sandbox"', 1)
    assert text != plan_file.read_text()
    plan_file.write_text(text)
    aws_calls.clear()
    result = run(small, "apply", "--yes", "--plan", str(plan_file))
    assert result.exit_code == 1 and "duplicate key 'ou'" in result.stderr
    assert writes(aws_calls) == []


def test_forged_flags_do_not_put_words_in_the_hint(
    small: Path, sandbox: Sandbox, aws_calls: list[str]
) -> None:
    moved_by_hand(sandbox)
    plan_file, data = saved(small)
    data["flags"] = {"allow_destroy": True, "allow_close_accounts": True}
    refused(small, plan_file, data, aws_calls, "not what a fresh plan would do now")
    result = run(small, "apply", "--yes", "--plan", str(plan_file))
    assert "--allow-close-accounts" not in result.stderr


def test_a_saved_plan_keeps_its_target(small: Path, sandbox: Sandbox, aws_calls: list[str]) -> None:
    moved_by_hand(sandbox)
    plan_file, data = saved(small, "--target", "account:Play")
    assert [c["address"] for c in data["changes"]] == ['account["play@example.com"]']
    # Widened to the whole organization, or pointed elsewhere, it is not what a fresh plan with
    # that target would do: refused, nothing written.
    refused(small, plan_file, {**data, "target": None}, aws_calls, "not what a fresh plan")
    other = {"accounts": ["App"], "ous": [], "projects": []}
    refused(small, plan_file, {**data, "target": other}, aws_calls, "not what a fresh plan")
    refused(small, plan_file, data, aws_calls, "not the target the saved plan", "--target", "ou:/")
    plan_file.write_text(json.dumps(data))
    result = run(small, "apply", "--yes", "--plan", str(plan_file), "--target", "account:Play")
    assert result.exit_code == 0, result.output
    assert "Re-checked: the target now matches org.yaml" in result.output


def test_a_plan_saved_before_targets_still_applies(small: Path, sandbox: Sandbox) -> None:
    moved_by_hand(sandbox)
    plan_file, data = saved(small)
    assert data.pop("target") is None
    plan_file.write_text(json.dumps(data))
    result = run(small, "apply", "--yes", "--plan", str(plan_file))
    assert result.exit_code == 0, result.output
    assert "1 change made" in result.output
