"""Table-driven tests of the pure planner: ``plan(config, live, options) -> Plan``.

Each case is a small org.yaml (written to tmp_path with the SCP files below) and a hand-built
``LiveOrg``; the expected changes are listed as ``"<symbol> <address>"`` in plan order.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from orgkit.config.loader import Config, load_config
from orgkit.kinds import plan_from_dict
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy, PendingAccount
from orgkit.plan import PlanOptions, plan

SCP = "SERVICE_CONTROL_POLICY"
MGMT = "111111111111"
ROOT = "r-root"
OU_PROD, OU_APPS, OU_SANDBOX = "ou-root-prod", "ou-root-apps", "ou-root-sandbox"
OU_LEGACY, OU_OLD = "ou-root-legacy", "ou-root-old"
APP_ID, PLAY_ID, STRAY_ID = "222222222222", "333333333333", "444444444444"

DENY_LEAVE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyLeave",
            "Effect": "Deny",
            "Action": ["organizations:LeaveOrganization"],
            "Resource": "*",
        },
        {
            "Sid": "DenyClose",
            "Effect": "Deny",
            "Action": ["account:CloseAccount", "organizations:CloseAccount"],
            "Resource": "*",
        },
    ],
}
REGIONS_TEMPLATE = """\
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Deny",
      "NotAction": ["iam:*", "organizations:*"],
      "Resource": "*",
      "Condition": {"StringNotEquals": {"aws:RequestedRegion": {{ allowed_regions | tojson }}}}
    }
  ]
}
"""
REGIONS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "NotAction": ["iam:*", "organizations:*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}},
        }
    ],
}

HEAD = """\
version: 1
organization:
  name: Test Org
  management_account_id: "111111111111"
  policies: [deny-leave]
  tags: {Owner: platform}
vars:
  allowed_regions: [us-east-1, us-west-2]
"""
POLICIES = """\
policies:
  - name: deny-leave
    file: scps/deny-leave.json
    description: No leaving.
  - name: regions
    file: scps/regions.json.j2
"""
OUS = """\
ous:
  - name: Prod
    policies: [regions]
    children:
      - name: Apps
  - name: Sandbox
"""
ACCOUNTS = """\
accounts:
  - name: App Prod
    email: app-prod@example.com
    ou: /Prod/Apps
    environment: prod
  - name: Play
    email: Play@Example.com
    ou: /Sandbox
    environment: sandbox
"""
BASE = HEAD + POLICIES + OUS + ACCOUNTS


# -- live builders ------------------------------------------------------------------------
def ou(ou_id: str, path: str, parent_id: str) -> LiveOU:
    """A live OU; its name is the last part of its path."""
    return LiveOU(id=ou_id, name=path.rsplit("/", 1)[-1], path=path, parent_id=parent_id)


def account(
    account_id: str,
    email: str,
    parent_id: str,
    *,
    name: str = "",
    status: str = "ACTIVE",
    tags: dict[str, str] | None = None,
) -> LiveAccount:
    """A live account; ``tags=None`` means the tags were not read."""
    return LiveAccount(
        id=account_id,
        name=name or email.split("@")[0],
        email=email,
        status=status,
        parent_id=parent_id,
        tags=tuple(sorted(tags.items())) if tags is not None else None,
    )


def policy(
    policy_id: str,
    name: str,
    document: Any,
    *targets: str,
    description: str = "",
) -> LivePolicy:
    """A customer-managed SCP; ``document`` is a dict (dumped compactly) or raw JSON text."""
    content = document if isinstance(document, str) else json.dumps(document)
    return LivePolicy(policy_id, name, description, False, content, tuple(targets))


FULL_ACCESS = LivePolicy("p-FullAWSAccess", "FullAWSAccess", "AWS managed", True, None, (ROOT,))
MGMT_ACCOUNT = account(MGMT, "mgmt@example.com", ROOT, name="Management")


def live_org(
    *,
    ous: tuple[LiveOU, ...] = (),
    accounts: tuple[LiveAccount, ...] = (),
    policies: tuple[LivePolicy, ...] = (),
    policy_types: tuple[str, ...] = (SCP,),
    pending: tuple[PendingAccount, ...] = (),
) -> LiveOrg:
    """A live organization with the management account and FullAWSAccess always present."""
    return LiveOrg(
        organization_id="o-test",
        management_account_id=MGMT,
        feature_set="ALL",
        root_id=ROOT,
        policy_types=policy_types,
        ous=ous,
        accounts=(MGMT_ACCOUNT, *accounts),
        policies=(FULL_ACCESS, *policies),
        pending_accounts=pending,
    )


SYNCED_OUS = (
    ou(OU_PROD, "/Prod", ROOT),
    ou(OU_APPS, "/Prod/Apps", OU_PROD),
    ou(OU_SANDBOX, "/Sandbox", ROOT),
)
APP = account(APP_ID, "app-prod@example.com", OU_APPS, name="App Prod")
PLAY = account(PLAY_ID, "play@example.com", OU_SANDBOX, name="Play")
LEAVE_POLICY = policy("p-leave", "deny-leave", DENY_LEAVE, ROOT, description="No leaving.")
REGIONS_POLICY = policy("p-regions", "regions", REGIONS, OU_PROD)


def synced(
    *,
    ous: tuple[LiveOU, ...] = SYNCED_OUS,
    accounts: tuple[LiveAccount, ...] = (APP, PLAY),
    policies: tuple[LivePolicy, ...] = (LEAVE_POLICY, REGIONS_POLICY),
    pending: tuple[PendingAccount, ...] = (),
) -> LiveOrg:
    """The live organization that matches BASE exactly, with the given parts swapped."""
    return live_org(ous=ous, accounts=accounts, policies=policies, pending=pending)


def leave_content(document: Any) -> tuple[LivePolicy, LivePolicy]:
    """The synced policies with deny-leave's live content replaced by ``document``."""
    content = document if isinstance(document, str) else json.dumps(document)
    return (replace(LEAVE_POLICY, content=content), REGIONS_POLICY)


def reordered(document: dict[str, Any]) -> str:
    """The same document with every object's keys reversed and another indentation."""

    def flip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: flip(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [flip(v) for v in value]
        return value

    return json.dumps(flip(document), indent=7)


def with_statements(*statements: dict[str, Any]) -> dict[str, Any]:
    """DENY_LEAVE with its statements replaced."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


LEAVE_1, LEAVE_2 = DENY_LEAVE["Statement"]


# -- the table ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One planner scenario and what the plan must hold."""

    id: str
    org: str
    live: LiveOrg
    changes: list[str]
    options: PlanOptions = PlanOptions()
    held_back: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # address -> (subset of before, subset of after), checked on changes and held_back
    details: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] = field(
        default_factory=dict
    )


EMPTY_LIVE_CHANGES = [
    f'+ policy_type["{SCP}"]',
    '+ ou["/Prod"]',
    '+ ou["/Prod/Apps"]',
    '+ ou["/Sandbox"]',
    '+ policy["deny-leave"]',
    '+ policy["regions"]',
    # Guardrails on the root and OUs before any account lands in them.
    '+ policy_attachment["deny-leave" -> "/"]',
    '+ policy_attachment["regions" -> "/Prod"]',
    '+ account["app-prod@example.com"]',
    '+ account["play@example.com"]',
]

TAGGED = BASE.replace(
    "    environment: sandbox\n", "    environment: sandbox\n    tags: {CostCenter: '42'}\n"
)

RENAMED = BASE.replace("  - name: Prod\n", "  - name: Prod\n    renamed_from: Production\n")
RENAMED_LIVE = synced(
    ous=(
        ou(OU_PROD, "/Production", ROOT),
        ou(OU_APPS, "/Production/Apps", OU_PROD),
        ou(OU_SANDBOX, "/Sandbox", ROOT),
    )
)

DESTROY_ORG = (
    HEAD
    + POLICIES
    + """\
  - name: retired
    file: scps/deny-leave.json
    state: absent
"""
    + OUS
    + """\
  - name: Legacy
    state: absent
    children:
      - name: Old
        state: absent
"""
    + ACCOUNTS
    + """\
  - name: Gone
    email: gone@example.com
    ou: /Sandbox
    environment: dev
    state: closed
  - name: Leaving
    email: leaving@example.com
    ou: /Sandbox
    environment: dev
    state: removed
"""
)
DESTROY_LIVE = synced(
    ous=(
        *SYNCED_OUS,
        ou(OU_LEGACY, "/Legacy", ROOT),
        ou(OU_OLD, "/Legacy/Old", OU_LEGACY),
    ),
    accounts=(
        APP,
        PLAY,
        account("555555555555", "gone@example.com", OU_SANDBOX),
        account("666666666666", "leaving@example.com", OU_SANDBOX),
    ),
    policies=(
        LEAVE_POLICY,
        replace(REGIONS_POLICY, targets=(OU_PROD, OU_SANDBOX)),  # /Sandbox is not declared
        policy("p-retired", "retired", DENY_LEAVE, OU_LEGACY),
    ),
)
DETACHES = [
    '- policy_attachment["retired" -> "/Legacy"]',
    '- policy_attachment["regions" -> "/Sandbox"]',
]
CLOSURES = ['- account["gone@example.com"]', '- account["leaving@example.com"]']
DELETES = ['- policy["retired"]', '- ou["/Legacy/Old"]', '- ou["/Legacy"]']

CASES = [
    Case(
        "empty-live-org-creates-everything-in-dependency-order",
        BASE,
        live_org(policy_types=()),
        EMPTY_LIVE_CHANGES,
        details={
            '+ ou["/Prod/Apps"]': (None, {"parent": "/Prod", "name": "Apps"}),
            '+ account["app-prod@example.com"]': (
                None,
                {"ou": "/Prod/Apps", "environment": "prod", "name": "App Prod"},
            ),
            '+ account["play@example.com"]': (None, {"email": "play@example.com"}),
            '+ policy["regions"]': (None, {"content": REGIONS}),
            '+ policy_attachment["regions" -> "/Prod"]': (
                None,
                {"policy": "regions", "target": "/Prod"},
            ),
        },
    ),
    Case(
        "scp-type-enabled-no-policy-type-change",
        BASE,
        live_org(),
        EMPTY_LIVE_CHANGES[1:],
    ),
    Case(
        "only-child-ou-missing",
        BASE,
        synced(ous=SYNCED_OUS[::2], accounts=(PLAY,)),
        ['+ ou["/Prod/Apps"]', '+ account["app-prod@example.com"]'],
    ),
    Case("in-sync-org-empty-plan", BASE, synced(), []),
    Case(
        "policy-key-order-and-whitespace-equal",
        BASE,
        synced(policies=leave_content(reordered(DENY_LEAVE))),
        [],
    ),
    Case(
        "policy-minified-equal",
        BASE,
        synced(policies=leave_content(json.dumps(DENY_LEAVE, separators=(",", ":")))),
        [],
    ),
    Case(
        "policy-action-list-order-equal",
        BASE,
        synced(
            policies=leave_content(
                with_statements(
                    LEAVE_1,
                    {**LEAVE_2, "Action": ["organizations:CloseAccount", "account:CloseAccount"]},
                )
            )
        ),
        [],
    ),
    Case(
        "policy-string-vs-one-item-list-equal",
        BASE,
        synced(
            policies=leave_content(
                with_statements(
                    {**LEAVE_1, "Action": "organizations:LeaveOrganization", "Resource": ["*"]},
                    LEAVE_2,
                )
            )
        ),
        [],
    ),
    Case(
        "policy-statement-order-equal",
        BASE,
        synced(policies=leave_content(with_statements(LEAVE_2, LEAVE_1))),
        [],
    ),
    Case(
        "policy-real-change-is-update",
        BASE,
        synced(
            policies=leave_content(
                with_statements(LEAVE_1, {**LEAVE_2, "Action": ["account:CloseAccount"]})
            )
        ),
        ['~ policy["deny-leave"]'],
        details={
            '~ policy["deny-leave"]': (
                {
                    "id": "p-leave",
                    "content": with_statements(
                        LEAVE_1, {**LEAVE_2, "Action": ["account:CloseAccount"]}
                    ),
                },
                {"id": "p-leave", "content": DENY_LEAVE},
            )
        },
    ),
    Case(
        "policy-effect-change-is-update",
        BASE,
        synced(policies=leave_content(with_statements({**LEAVE_1, "Effect": "Allow"}, LEAVE_2))),
        ['~ policy["deny-leave"]'],
    ),
    Case(
        "policy-unreadable-content-is-update",
        BASE,
        synced(policies=leave_content("{not json")),
        ['~ policy["deny-leave"]'],
    ),
    Case(
        "policy-description-change-is-update",
        BASE,
        synced(policies=(replace(LEAVE_POLICY, description="Old words."), REGIONS_POLICY)),
        ['~ policy["deny-leave"]'],
        details={
            '~ policy["deny-leave"]': (
                {"description": "Old words."},
                {"description": "No leaving."},
            )
        },
    ),
    Case(
        "ou-renamed-from-is-update-children-and-accounts-stay",
        RENAMED,
        RENAMED_LIVE,
        ['~ ou["/Prod"]'],
        details={
            '~ ou["/Prod"]': (
                {"path": "/Production", "name": "Production", "id": OU_PROD},
                {"path": "/Prod", "name": "Prod"},
            )
        },
    ),
    Case(
        "ou-renamed-from-already-done-is-no-change",
        RENAMED,
        synced(),
        [],
    ),
    Case(
        "account-in-wrong-ou-is-move-update",
        BASE,
        synced(accounts=(APP, replace(PLAY, parent_id=OU_PROD))),
        ['~ account["play@example.com"]'],
        details={
            '~ account["play@example.com"]': (
                {"ou": "/Prod", "parent_id": OU_PROD, "id": PLAY_ID},
                {"ou": "/Sandbox", "id": PLAY_ID},
            )
        },
    ),
    Case(
        "account-at-root-declared-in-ou-is-move",
        BASE,
        synced(accounts=(replace(APP, parent_id=ROOT), PLAY)),
        ['~ account["app-prod@example.com"]'],
        details={'~ account["app-prod@example.com"]': ({"ou": "/"}, {"ou": "/Prod/Apps"})},
    ),
    Case(
        "declared-tags-differ-is-update",
        TAGGED,
        synced(accounts=(APP, replace(PLAY, tags=(("CostCenter", "41"), ("Other", "x"))))),
        ['~ account["play@example.com"]'],
        details={
            '~ account["play@example.com"]': (
                {"tags": {"CostCenter": "41"}},
                {"tags": {"CostCenter": "42"}},
            )
        },
    ),
    Case(
        "declared-tag-missing-live-is-update",
        TAGGED,
        synced(accounts=(APP, replace(PLAY, tags=()))),
        ['~ account["play@example.com"]'],
        details={'~ account["play@example.com"]': ({"tags": {"CostCenter": None}}, None)},
    ),
    Case(
        "declared-tags-equal-extra-live-tags-no-change",
        TAGGED,
        synced(accounts=(APP, replace(PLAY, tags=(("CostCenter", "42"), ("Extra", "1"))))),
        [],
    ),
    Case(
        "tags-not-read-no-change",
        TAGGED,
        synced(accounts=(APP, replace(PLAY, tags=None))),
        [],
    ),
    Case(
        "live-extras-are-unmanaged-never-changed",
        BASE,
        synced(
            ous=(*SYNCED_OUS, ou(OU_LEGACY, "/Legacy", ROOT), ou(OU_OLD, "/Prod/Old", OU_PROD)),
            accounts=(APP, PLAY, account(STRAY_ID, "Stray@Example.com", OU_LEGACY)),
            policies=(
                LEAVE_POLICY,
                REGIONS_POLICY,
                policy("p-other", "someone-elses", DENY_LEAVE, OU_LEGACY),
            ),
        ),
        [],
        unmanaged=[
            'account["stray@example.com"]',
            'ou["/Legacy"]',
            'ou["/Prod/Old"]',
            'policy["someone-elses"]',
        ],
    ),
    Case(
        "destroy-held-back-without-flags",
        DESTROY_ORG,
        DESTROY_LIVE,
        [],
        held_back=DETACHES + CLOSURES + DELETES,
        details={
            '- policy_attachment["retired" -> "/Legacy"]': (
                {"policy_id": "p-retired", "target_id": OU_LEGACY},
                None,
            ),
            '- account["gone@example.com"]': ({"id": "555555555555"}, {"state": "closed"}),
            '- account["leaving@example.com"]': ({"ou": "/Sandbox"}, {"state": "removed"}),
            '- ou["/Legacy/Old"]': ({"id": OU_OLD}, None),
        },
    ),
    Case(
        "destroy-with-both-flags-last-in-destroy-order",
        DESTROY_ORG,
        DESTROY_LIVE,
        DETACHES + CLOSURES + DELETES,
        options=PlanOptions(allow_destroy=True, allow_close_accounts=True),
    ),
    Case(
        "allow-destroy-alone-holds-back-account-closure",
        DESTROY_ORG,
        DESTROY_LIVE,
        DETACHES + DELETES,
        options=PlanOptions(allow_destroy=True),
        held_back=CLOSURES,
    ),
    Case(
        "allow-close-accounts-alone-holds-back-the-rest",
        DESTROY_ORG,
        DESTROY_LIVE,
        CLOSURES,
        options=PlanOptions(allow_close_accounts=True),
        held_back=DETACHES + DELETES,
    ),
    Case(
        "destroy-after-creates",
        DESTROY_ORG,
        replace(DESTROY_LIVE, accounts=DESTROY_LIVE.accounts[:2] + DESTROY_LIVE.accounts[3:]),
        ['+ account["play@example.com"]', *DETACHES, *CLOSURES, *DELETES],
        options=PlanOptions(allow_destroy=True, allow_close_accounts=True),
    ),
    Case(
        "absent-things-already-gone-no-change",
        DESTROY_ORG,
        synced(),
        [],
        options=PlanOptions(allow_destroy=True, allow_close_accounts=True),
    ),
    Case(
        "closed-account-already-suspended-no-change",
        DESTROY_ORG,
        synced(
            accounts=(
                APP,
                PLAY,
                account("555555555555", "gone@example.com", OU_SANDBOX, status="SUSPENDED"),
            )
        ),
        [],
        options=PlanOptions(allow_close_accounts=True),
    ),
    Case(
        "suspended-account-declared-active-warns",
        BASE,
        synced(accounts=(APP, replace(PLAY, status="SUSPENDED", parent_id=ROOT))),
        [],
        warnings=["play@example.com (333333333333) is SUSPENDED"],
    ),
    Case(
        "pending-create-account-request-is-resumed",
        BASE,
        synced(accounts=(PLAY,), pending=(PendingAccount("car-123", "App Prod"),)),
        ['+ account["app-prod@example.com"]'],
        details={'+ account["app-prod@example.com"]': (None, {"resume_request_id": "car-123"})},
    ),
    Case(
        "pending-request-for-another-name-is-not-resumed",
        BASE,
        synced(accounts=(PLAY,), pending=(PendingAccount("car-9", "Someone Else"),)),
        ['+ account["app-prod@example.com"]'],
    ),
]


def write_config(directory: Path, org: str) -> Config:
    """Write org.yaml and the SCP files it may name, and load them."""
    scps = directory / "scps"
    scps.mkdir(exist_ok=True)
    (scps / "deny-leave.json").write_text(json.dumps(DENY_LEAVE, indent=2))
    (scps / "regions.json.j2").write_text(REGIONS_TEMPLATE)
    (directory / "org.yaml").write_text(textwrap.dedent(org))
    return load_config(directory / "org.yaml")


def lines(changes: tuple[Any, ...]) -> list[str]:
    """Changes as ``"<symbol> <address>"``."""
    return [f"{c.action.symbol} {c.address}" for c in changes]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan(case: Case, tmp_path: Path) -> None:
    config = write_config(tmp_path, case.org)

    result = plan(config, case.live, case.options)

    assert lines(result.changes) == case.changes
    assert lines(result.held_back) == case.held_back
    assert [u.address for u in result.unmanaged] == case.unmanaged
    assert len(result.warnings) == len(case.warnings)
    for expected, actual in zip(case.warnings, result.warnings, strict=True):
        assert expected in actual
    assert all(c.destructive == (c.action.value == "delete") for c in result.changes)
    assert all(c.destructive for c in result.held_back)
    every = result.changes + result.held_back
    by_line = dict(zip(lines(every), every, strict=True))
    for key, (before, after) in case.details.items():
        change = by_line[key]
        sides = change.to_dict()
        for expected_part, actual_part in ((before, sides["before"]), (after, sides["after"])):
            if expected_part is None:
                continue
            assert actual_part is not None, key
            assert {k: actual_part.get(k) for k in expected_part} == expected_part, key


def test_cases_table_is_not_empty() -> None:
    assert len(CASES) > 20


def test_management_account_never_reported(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASE)
    live = synced(accounts=(APP, PLAY, replace(MGMT_ACCOUNT, parent_id=OU_SANDBOX)))

    result = plan(config, live)

    assert result.empty
    everything = json.dumps(result.to_dict())
    assert MGMT not in everything.replace(f'"management_account_id": "{MGMT}"', "")
    assert "mgmt@example.com" not in everything
    assert result.management_account_id == MGMT


def test_renamed_ou_keeps_children_and_accounts(tmp_path: Path) -> None:
    config = write_config(tmp_path, RENAMED)

    result = plan(config, RENAMED_LIVE)

    kinds = {(c.kind, c.action.value) for c in result.changes}
    assert kinds == {("ou", "update")}
    assert not result.unmanaged
    assert not result.held_back


def test_plan_round_trips_through_dict(tmp_path: Path) -> None:
    config = write_config(tmp_path, DESTROY_ORG)
    live = replace(
        DESTROY_LIVE,
        accounts=(*DESTROY_LIVE.accounts, account(STRAY_ID, "stray@example.com", ROOT)),
        pending_accounts=(PendingAccount("car-1", "Somebody"),),
    )
    original = plan(config, live, PlanOptions(allow_destroy=True))
    assert original.changes and original.held_back and original.unmanaged

    data = json.loads(json.dumps(original.to_dict()))
    restored = plan_from_dict(data)

    assert restored == original
    assert restored.to_dict() == original.to_dict()
    assert data["summary"] == {
        "create": 0,
        "update": 0,
        "delete": len(DETACHES + DELETES),
        "total": len(DETACHES + DELETES),
        "held_back": len(CLOSURES),
        "unmanaged": 1,
    }
    assert data["flags"] == {"allow_destroy": True, "allow_close_accounts": False}
    assert {"address", "kind", "action", "before", "after"} <= set(data["changes"][0])


def test_plan_carries_live_fingerprint(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASE)
    live = synced()

    assert plan(config, live).live_fingerprint == live.fingerprint()


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(synced(accounts=(APP, replace(PLAY, parent_id=OU_PROD))), id="account-moved"),
        pytest.param(synced(accounts=(APP,)), id="account-gone"),
        pytest.param(synced(ous=SYNCED_OUS[:2]), id="ou-gone"),
        pytest.param(
            synced(policies=(replace(LEAVE_POLICY, targets=()), REGIONS_POLICY)), id="detached"
        ),
        pytest.param(
            synced(policies=(replace(LEAVE_POLICY, description="x"), REGIONS_POLICY)),
            id="policy-description",
        ),
        pytest.param(synced(pending=(PendingAccount("car-1", "New"),)), id="pending-request"),
        pytest.param(synced(accounts=(APP, replace(PLAY, tags=(("a", "b"),)))), id="tags-read"),
    ],
)
def test_fingerprint_changes_when_live_changes(changed: LiveOrg) -> None:
    assert changed.fingerprint() != synced().fingerprint()


def test_fingerprint_ignores_listing_order() -> None:
    shuffled = synced(
        ous=SYNCED_OUS[::-1],
        accounts=(PLAY, APP),
        policies=(REGIONS_POLICY, replace(LEAVE_POLICY, targets=(ROOT,))),
    )

    assert shuffled.fingerprint() == synced().fingerprint()
