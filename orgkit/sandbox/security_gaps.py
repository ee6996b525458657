"""moto 5.2's gaps in the organization-wide security services, filled in the sandbox's own moto
(this process only), following AWS's documented behaviour for the fields orgkit uses:

* Organizations' RegisterDelegatedAdministrator refuses ``securityhub.amazonaws.com`` and
  ``config.amazonaws.com``, which AWS accepts.
* GuardDuty's and Security Hub's EnableOrganizationAdminAccount do not register the account
  with Organizations (ListDelegatedAdministrators), as AWS does.
* GuardDuty's DescribeOrganizationConfiguration and UpdateOrganizationConfiguration are not
  implemented (kept per detector: AutoEnable and AutoEnableOrganizationMembers).
* Security Hub's ListOrganizationAdminAccounts and the finding aggregator calls (Create, List,
  Get, Update) are not implemented (kept per account: one aggregator in the region asked).
* Security Hub keeps its organization configuration (the administrator, auto-enable) in a class
  attribute keyed by organization id, which moto's reset does not clear: with seeded ids the
  next organization inherited the last one's administrator. The reset now clears it.

Production code is unchanged: orgkit sends the same calls to AWS. Each fill checks the moto
internals it relies on and raises MotoGapError when moto has changed.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import unquote

from orgkit.sandbox.extensions import MotoGapError, _require

ADDED_PRINCIPALS = ("securityhub.amazonaws.com", "config.amazonaws.com")
GAP = "security services"


def _register_with_organizations(management: str, admin: str, principal: str) -> None:
    """What AWS does when a service's own API designates an administrator."""
    from moto.organizations.exceptions import AccountAlreadyRegisteredException
    from moto.organizations.models import organizations_backends

    with contextlib.suppress(AccountAlreadyRegisteredException):
        organizations_backends[management]["aws"].register_delegated_administrator(
            AccountId=admin, ServicePrincipal=principal
        )


def fill_security_services() -> None:
    """Install every fill listed in the module's docstring."""
    from moto.guardduty import urls as guardduty_urls
    from moto.guardduty.models import GuardDutyBackend
    from moto.guardduty.responses import GuardDutyResponse
    from moto.organizations.models import FakeDelegatedAdministrator
    from moto.securityhub import urls as securityhub_urls
    from moto.securityhub.models import SecurityHubBackend
    from moto.securityhub.responses import SecurityHubResponse

    supported = _require(FakeDelegatedAdministrator, "SUPPORTED_SERVICES", GAP)
    for principal in ADDED_PRINCIPALS:
        if principal not in supported:
            supported.append(principal)

    # -- designating an administrator registers it with Organizations ----------------------
    gd_enable = _require(GuardDutyBackend, "enable_organization_admin_account", GAP)

    def guardduty_enable(self: Any, admin_account_id: str) -> None:
        if admin_account_id not in self.admin_account_ids:
            gd_enable(self, admin_account_id)
        _register_with_organizations(self.account_id, admin_account_id, "guardduty.amazonaws.com")

    sh_enable = _require(SecurityHubBackend, "enable_organization_admin_account", GAP)

    def securityhub_enable(self: Any, admin_account_id: str) -> None:
        sh_enable(self, admin_account_id)
        _register_with_organizations(self.account_id, admin_account_id, "securityhub.amazonaws.com")

    GuardDutyBackend.enable_organization_admin_account = guardduty_enable  # type: ignore[method-assign]
    SecurityHubBackend.enable_organization_admin_account = securityhub_enable  # type: ignore[method-assign]

    # -- GuardDuty organization configuration, per detector ------------------------------
    def detector_id(response: Any) -> str:
        return str(response.path.rstrip("/").split("/")[-2])

    def gd_describe(self: Any) -> str:
        backend = self.guardduty_backend
        detector = detector_id(self)
        backend.get_detector(detector)  # NotFound as AWS says it
        stored = getattr(backend, "orgkit_org_config", {}).get(detector, {})
        return json.dumps(
            {
                "autoEnable": stored.get("AutoEnable", False),
                "autoEnableOrganizationMembers": stored.get(
                    "AutoEnableOrganizationMembers", "NONE"
                ),
                "memberAccountLimitReached": False,
            }
        )

    def gd_update(self: Any) -> str:
        backend = self.guardduty_backend
        detector = detector_id(self)
        backend.get_detector(detector)
        body = json.loads(self.body or "{}")
        members = body.get("autoEnableOrganizationMembers")
        auto = body.get("autoEnable", members in {"NEW", "ALL"})
        if not hasattr(backend, "orgkit_org_config"):
            backend.orgkit_org_config = {}
        backend.orgkit_org_config[detector] = {
            "AutoEnable": bool(auto),
            "AutoEnableOrganizationMembers": members or ("NEW" if auto else "NONE"),
        }
        return "{}"

    GuardDutyResponse.describe_organization_configuration = gd_describe  # type: ignore[attr-defined]
    GuardDutyResponse.update_organization_configuration = gd_update  # type: ignore[attr-defined]
    guardduty_urls.url_paths["{0}/detector/(?P<detector_id>[^/]+)/admin$"] = (
        GuardDutyResponse.dispatch
    )

    # -- Security Hub: administrators and finding aggregators ----------------------------
    org_config = _require(SecurityHubBackend, "_get_org_config", GAP)

    def sh_list_admins(self: Any) -> str:
        admin = org_config(self.securityhub_backend).get("admin_account_id")
        accounts = [{"AccountId": admin, "Status": "ENABLED"}] if admin else []
        return json.dumps({"AdminAccounts": accounts})

    def aggregators(backend: Any) -> dict[str, dict[str, Any]]:
        if not hasattr(backend, "orgkit_aggregators"):
            backend.orgkit_aggregators = {}
        return backend.orgkit_aggregators  # type: ignore[no-any-return]

    def aggregator(backend: Any, arn: str, mode: str, regions: list[str]) -> dict[str, Any]:
        return {
            "FindingAggregatorArn": arn,
            "FindingAggregationRegion": backend.region_name,
            "RegionLinkingMode": mode,
            "Regions": regions,
        }

    def sh_create_aggregator(self: Any) -> str:
        backend = self.securityhub_backend
        body = json.loads(self.body or "{}")
        if aggregators(backend):
            raise _conflict("a finding aggregator already exists in this account")
        arn = (
            f"arn:aws:securityhub:{backend.region_name}:{backend.account_id}:"
            f"finding-aggregator/{len(aggregators(backend)) + 1:08d}"
        )
        stored = aggregator(backend, arn, body["RegionLinkingMode"], body.get("Regions", []))
        aggregators(backend)[arn] = stored
        return json.dumps(stored)

    def sh_list_aggregators(self: Any) -> str:
        found = aggregators(self.securityhub_backend)
        return json.dumps({"FindingAggregators": [{"FindingAggregatorArn": a} for a in found]})

    def sh_get_aggregator(self: Any) -> str:
        arn = unquote(self.path.split("/findingAggregator/get/", 1)[1])
        found = aggregators(self.securityhub_backend).get(arn)
        if found is None:
            raise _not_found(f"finding aggregator {arn} not found")
        return json.dumps(found)

    def sh_update_aggregator(self: Any) -> str:
        backend = self.securityhub_backend
        body = json.loads(self.body or "{}")
        arn = body["FindingAggregatorArn"]
        if arn not in aggregators(backend):
            raise _not_found(f"finding aggregator {arn} not found")
        stored = aggregator(backend, arn, body["RegionLinkingMode"], body.get("Regions", []))
        aggregators(backend)[arn] = stored
        return json.dumps(stored)

    SecurityHubResponse.list_organization_admin_accounts = sh_list_admins  # type: ignore[attr-defined]
    SecurityHubResponse.create_finding_aggregator = sh_create_aggregator  # type: ignore[attr-defined]
    SecurityHubResponse.list_finding_aggregators = sh_list_aggregators  # type: ignore[attr-defined]
    SecurityHubResponse.get_finding_aggregator = sh_get_aggregator  # type: ignore[attr-defined]
    SecurityHubResponse.update_finding_aggregator = sh_update_aggregator  # type: ignore[attr-defined]
    for path in (
        "{0}/organization/admin$",
        "{0}/findingAggregator/create$",
        "{0}/findingAggregator/list$",
        "{0}/findingAggregator/update$",
        "{0}/findingAggregator/get/(?P<arn>.+)$",
    ):
        securityhub_urls.url_paths[path] = SecurityHubResponse.dispatch
    if not callable(org_config):
        raise MotoGapError(GAP, "SecurityHubBackend._get_org_config is not callable")

    # -- moto's reset forgets Security Hub's organization configurations too ---------------
    from moto.core.base_backend import BackendDict

    configs = _require(SecurityHubBackend, "_org_configs", GAP)
    reset = _require(BackendDict, "reset", GAP)

    def reset_all(*args: Any, **kwargs: Any) -> Any:
        configs.clear()
        return reset(*args, **kwargs)

    BackendDict.reset = staticmethod(reset_all)  # type: ignore[method-assign,assignment]


def _conflict(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ResourceConflictException", message)


def _not_found(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ResourceNotFoundException", message)
