"""drift's filters: which findings an --account, --ou or --kind keeps (pure, no AWS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgkit.changes import DriftReport, Finding
from orgkit.config import load_config
from orgkit.errors import OrgkitError
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU
from orgkit.plan.drift import DriftScope, scoped

SEED = load_config(Path(__file__).resolve().parents[2] / "org.yaml").spec
LIVE = LiveOrg(
    organization_id="o-example",
    management_account_id="123456789012",
    feature_set="ALL",
    root_id="r-root",
    policy_types=(),
    ous=(
        LiveOU("ou-prod", "Production", "/Production", "r-root"),
        LiveOU("ou-sandbox", "Sandbox", "/Sandbox", "r-root"),
    ),
    accounts=(
        LiveAccount(
            "111111111111",
            "ThemisGuard Production",
            "themisguard-prod@delatsi-llc.com",
            "ACTIVE",
            "ou-sandbox",
        ),  # moved by hand
        LiveAccount("222222222222", "Rogue", "rogue@example.com", "ACTIVE", "ou-prod"),
    ),
    policies=(),
)


def finding(address: str, kind: str, account_id: str | None = None) -> Finding:
    return Finding(address, kind, account_id, "changed", {"x": 1}, {"x": 2})


REPORT = DriftReport(
    (
        finding('account["themisguard-prod@delatsi-llc.com"]', "account", "111111111111"),
        finding('budget["themisguard-prod@delatsi-llc.com"]', "budget"),
        finding('policy["sandbox-cost-guard"]', "policy"),  # attached to /Sandbox
        finding('policy["deny-root-user"]', "policy"),  # attached to the root
        finding('policy["prod-backups"]', "policy"),  # attached to /Production
        finding('policy_attachment["prod-backups" -> "/Production"]', "policy_attachment"),
        finding('stack_set["log-archive"]', "stack_set"),
        Finding('account["rogue@example.com"]', "account", "222222222222", "unmanaged", None, "x"),
    )
)


def kept(**scope: tuple[str, ...]) -> list[str]:
    return [f.address for f in scoped(REPORT, DriftScope(**scope), SEED, LIVE).findings]


def test_no_filter_keeps_everything() -> None:
    assert len(kept()) == len(REPORT.findings)


def test_ou_keeps_what_is_in_it_and_the_policies_that_apply_there() -> None:
    assert kept(ous=("/Production",)) == [
        'account["themisguard-prod@delatsi-llc.com"]',  # declared there
        'budget["themisguard-prod@delatsi-llc.com"]',
        'policy["deny-root-user"]',  # inherited from the root
        'policy["prod-backups"]',
        'policy_attachment["prod-backups" -> "/Production"]',
        'account["rogue@example.com"]',  # live there
    ]
    assert kept(ous=("/Sandbox",)) == [
        'account["themisguard-prod@delatsi-llc.com"]',  # live there (moved)
        'budget["themisguard-prod@delatsi-llc.com"]',
        'policy["sandbox-cost-guard"]',
        'policy["deny-root-user"]',
    ]
    assert kept(ous=("/",)) == kept()  # the root: everything, organization-wide things too


def test_account_and_kind() -> None:
    assert kept(accounts=("ThemisGuard Production",)) == [
        'account["themisguard-prod@delatsi-llc.com"]',
        'budget["themisguard-prod@delatsi-llc.com"]',
    ]
    assert kept(accounts=("222222222222",)) == ['account["rogue@example.com"]']
    assert kept(kinds=("policy",), ous=("/Sandbox",)) == [
        'policy["sandbox-cost-guard"]',
        'policy["deny-root-user"]',
    ]


def test_unknown_account_or_ou_is_an_error_with_the_nearest() -> None:
    with pytest.raises(OrgkitError, match="did you mean 'ThemisGuard Production'"):
        kept(accounts=("ThemisGuard Prod",))
    with pytest.raises(OrgkitError, match="did you mean '/Production'"):
        kept(ous=("/Prodution",))
