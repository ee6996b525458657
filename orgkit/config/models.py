"""Pydantic models of org.yaml: the desired organization.

Identity follows the design: an OU by its path (``/Production/Apps``), an account by its email,
a policy by its name. Unknown keys are errors everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from orgkit.names import ROOT_PATH
from orgkit.quotas import Quotas

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
# No control characters (a newline in a name would end a YAML comment or line it is put in).
Name = Annotated[
    str, StringConstraints(min_length=1, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]+$")
]
# IAM's rule for role names: they are pasted into ARNs (SCP exemptions, trust policies), so a
# '*' or a '/' must never get through.
ROLE_NAME_PATTERN = r"^[\w+=,.@-]{1,64}$"
RoleName = Annotated[str, StringConstraints(pattern=ROLE_NAME_PATTERN)]
# A file named in org.yaml: relative to org.yaml's folder and inside it (checked on load).
FilePath = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]
Tags = dict[TagKey, TagValue]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(str, Enum):
    """The environments an account can serve; budgets and stack parameters key on them."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
    SHARED = "shared"
    SECURITY = "security"
    SANDBOX = "sandbox"


class ReadRoleSpec(_Model):
    """A read-only role orgkit keeps in every active member account and reads through in
    ``plan``, ``drift`` and ``project check``/``samconfig`` (apply still works through the
    access role)."""

    name: RoleName = Field(description="The role's name, the same in every member account.")
    principal_arns: list[
        Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")]
    ] = Field(
        default_factory=list,
        description="Roles of the management account that may assume it (aws:PrincipalArn, "
        "wildcards allowed, e.g. the CI plan role and the administrators' SSO role); empty: "
        "any principal of the management account that its own policy lets assume it.",
    )


class OrganizationSpec(_Model):
    """The organization itself and its root."""

    name: Name = Field(description="Display name of the organization (for people).")
    management_account_id: AccountId = Field(
        description="The management account; orgkit refuses to run with any other caller."
    )
    access_role: RoleName = Field(
        "OrganizationAccountAccessRole",
        description="Role created in new accounts that the management account assumes.",
    )
    read_role: ReadRoleSpec | None = Field(
        None,
        description="A read-only role in every active member account for orgkit's reads "
        "there (plan, drift, project check and samconfig), so that a plan needs no "
        "administrator role in the member accounts. Absent: reads use the access role.",
    )
    home_region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] = Field(
        "us-east-1",
        description="Region where orgkit keeps its stack sets, whatever the caller's region.",
    )
    policies: list[Name] = Field(
        default_factory=list,
        description="Policies (of any type) attached to the root, by policy name.",
    )
    tags: Tags = Field(
        default_factory=dict,
        description="Tags put on the OUs, policies and accounts orgkit creates.",
    )


PolicyTypeName = Literal[
    "service_control", "resource_control", "tag", "backup", "aiservices_opt_out"
]


class PolicySpec(_Model):
    """An AWS Organizations policy whose document lives in a file (scps/ or policies/)."""

    name: Name = Field(description="The policy's name in AWS, unique across policy types.")
    type: PolicyTypeName = Field(
        "service_control",
        description="service_control (SCP), resource_control (RCP), tag, backup or "
        "aiservices_opt_out.",
    )
    file: FilePath = Field(
        description="Path relative to org.yaml; *.j2 files are rendered with jinja2 first."
    )
    description: str = Field("", description="The policy's description in AWS.")
    state: Literal["present", "absent"] = Field(
        "present", description="`absent` deletes the policy (needs --allow-destroy)."
    )


OUName = Annotated[
    str, StringConstraints(pattern=r"^[^/\x00-\x1f\x7f]+$", min_length=1, strip_whitespace=True)
]


class OUSpec(_Model):
    """An organizational unit; children nest."""

    name: OUName = Field(description="The OU's name; its path is its parents' names and it.")
    policies: list[Name] = Field(
        default_factory=list, description="Policies (of any type) attached to the OU, by name."
    )
    tags: Tags = Field(
        default_factory=dict, description="Tags set when orgkit creates the OU (not compared)."
    )
    renamed_from: OUName | None = Field(
        None, description="The OU's previous name; the plan renames it in place."
    )
    state: Literal["present", "absent"] = Field(
        "present", description="`absent` deletes the OU (needs --allow-destroy)."
    )
    children: list[OUSpec] = Field(default_factory=list, description="OUs nested in this one.")


class GitHubTrustSpec(_Model):
    """GitHub Actions OIDC: which repository (and branches or environments) may deploy."""

    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")] = (
        Field(description="owner/name of the repository whose workflows may assume the role.")
    )
    branches: list[Name] = Field(
        default_factory=lambda: ["main"],
        description="Branches whose workflows may assume the role (in accounts whose "
        "environment is not among `environments`).",
    )
    environments: list[Name] = Field(
        default_factory=list,
        description="GitHub environments; an account whose environment is listed trusts only "
        "jobs of that GitHub environment, other accounts trust the branches.",
    )
    job_workflow_refs: list[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/.+@.+$")]
    ] = Field(
        default_factory=list,
        description="Pin the trust to these reusable or calling workflows too (the OIDC "
        "token's job_workflow_ref claim, e.g. 'org/repo/.github/workflows/deploy.yml@"
        "refs/heads/main'; wildcards allowed). Empty: any workflow of the repository.",
    )


class TrustSpec(_Model):
    """Who may assume a project's deployment role: GitHub OIDC and/or named principals."""

    github: GitHubTrustSpec | None = Field(
        None, description="GitHub Actions through OIDC: no long-lived keys."
    )
    principal_arns: list[
        Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+)$")]
    ] = Field(default_factory=list, description="CI account roots or role ARNs; never '*'.")
    external_id: Annotated[str, StringConstraints(min_length=2, max_length=1224)] | None = Field(
        None, description="sts:ExternalId the principals must pass (a third party's CI)."
    )
    require_organization: bool = Field(
        True, description="Add aws:PrincipalOrgID for principal_arns (the CI is in this org)."
    )


IamAction = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+:[A-Za-z0-9*]+$")]
ResourceArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:[a-z0-9-]+:.*$")]


class ExtraPermissionSpec(_Model):
    """IAM actions and the resources (ARNs, wildcards allowed) they may act on."""

    actions: list[IamAction] = Field(
        min_length=1, description="IAM actions (service:Action, wildcards allowed)."
    )
    resources: list[ResourceArn] = Field(
        min_length=1, description="ARNs; a bare '*' is refused: name what the actions touch."
    )


class DeploymentRoleSpec(_Model):
    """The role a project's CI assumes to deploy its SAM application into an account."""

    name: RoleName = Field(description="The role's name, the same in every project account.")
    trust: TrustSpec = Field(description="Who may assume it; the plan shows it.")
    max_session_duration: int = Field(
        3600, ge=3600, le=43200, description="Seconds a session lasts (1 to 12 hours)."
    )
    extra_actions: list[ExtraPermissionSpec] = Field(
        default_factory=list,
        description="More IAM actions the project's deploys need, each with the resources "
        "they act on; added to the role and its permissions boundary (whose denies still hold).",
    )


class ProjectSpec(_Model):
    """A micro-SaaS project: its accounts carry `project: <name>`."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,30}$")]
    display_name: Name | None = None
    deployment_role: DeploymentRoleSpec | None = None
    domains: dict[
        Environment,
        Annotated[
            str,
            StringConstraints(
                max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
            ),
        ],
    ] = Field(
        default_factory=dict,
        description="The application's domain per environment (prod: api.example.com): "
        "`orgkit project check` looks for its validated ACM certificate and its Route 53 "
        "hosted zone in that environment's account.",
    )


class StackSetRolesSpec(_Model):
    """The role pair self-managed StackSets need; orgkit keeps both in shape."""

    administration_role: RoleName = Field(
        "AWSCloudFormationStackSetAdministrationRole",
        description="In the management account; CloudFormation assumes it to run operations.",
    )
    execution_role: RoleName = Field(
        "AWSCloudFormationStackSetExecutionRole",
        description="In every member account; trusts only the administration role.",
    )
    execution_policy_file: FilePath | None = Field(
        None,
        description="JSON (or .j2) permissions for the execution role; default: "
        "the services orgkit's templates use.",
    )


class NotificationSpec(_Model):
    """One budget alert."""

    type: Literal["ACTUAL", "FORECASTED"] = Field(
        "ACTUAL", description="Alert on the month's actual cost or on its forecast."
    )
    threshold: float = Field(gt=0, le=1000, description="Percent of the budgeted amount.")


class BudgetsSpec(_Model):
    """Monthly cost budgets, one per account, kept in the management account."""

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        "USD", description="ISO currency of the amounts."
    )
    amounts: dict[Environment, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Default monthly amount per environment."
    )
    notifications: list[NotificationSpec] = Field(
        default_factory=lambda: [
            NotificationSpec(type="ACTUAL", threshold=80),
            NotificationSpec(type="ACTUAL", threshold=100),
            NotificationSpec(type="FORECASTED", threshold=100),
        ],
        description="Alerts of every budget (AWS allows 5 per budget).",
    )
    emails: list[EmailStr] = Field(
        default_factory=list,
        max_length=10,
        description="Email subscribers (AWS allows 10 per notification).",
    )
    sns_topic_arn: Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:sns:")] | None = (
        Field(None, description="An SNS topic subscribed to every alert too.")
    )
    targets: dict[Environment, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Expected monthly cost of one account of each environment; `orgkit costs` "
        "shows budgets beside it (never sent to AWS).",
    )
    max_revenue_share: float | None = Field(
        None,
        gt=0,
        le=100,
        description="Infrastructure should cost at most this percent of monthly revenue; "
        "`orgkit costs --monthly-revenue N` shows the share.",
    )

    def amount_for(self, account: AccountSpec) -> float | None:
        """The account's monthly budget: its own, else its environment's (None: neither)."""
        if account.budget is not None:
            return account.budget
        return self.amounts.get(account.environment)

    def target_for(self, account: AccountSpec) -> float | None:
        """The account's cost target: its environment's, if org.yaml gives one."""
        return self.targets.get(account.environment)


Scalar = str | int | float | bool
StackSetName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")]


class OperationPreferencesSpec(_Model):
    """How StackSets rolls an operation out across accounts and regions."""

    max_concurrent_count: int | None = Field(
        None, ge=1, description="Accounts deployed at once (or max_concurrent_percentage)."
    )
    max_concurrent_percentage: int | None = Field(
        None, ge=1, le=100, description="Percent of the accounts deployed at once."
    )
    failure_tolerance_count: int | None = Field(
        None, ge=0, description="Failed accounts tolerated before the operation stops."
    )
    failure_tolerance_percentage: int | None = Field(
        None, ge=0, le=100, description="Percent of failed accounts tolerated."
    )
    region_order: list[Name] = Field(
        default_factory=list, description="Regions in the order operations reach them."
    )
    region_concurrency: Literal["SEQUENTIAL", "PARALLEL"] = Field(
        "SEQUENTIAL", description="One region after another, or all at once."
    )


class StackSetTargetsSpec(_Model):
    """Which accounts get an instance: those matching every filter given, plus `accounts`."""

    ous: list[str] = Field(
        default_factory=list, description="OU paths, nested OUs included; `/` is every account."
    )
    projects: list[Name] = Field(
        default_factory=list, description="Only accounts of these projects."
    )
    environments: list[Environment] = Field(
        default_factory=list, description="Only accounts of these environments."
    )
    accounts: list[EmailStr] = Field(
        default_factory=list, description="Accounts added whatever the filters say."
    )


class StackSetSpec(_Model):
    """A self-managed CloudFormation stack set rendered from a jinja2 template."""

    name: StackSetName = Field(description="The stack set's name in CloudFormation.")
    template: FilePath = Field(description="Path relative to org.yaml, rendered with jinja2.")
    description: str = Field("", description="The stack set's description.")
    project: Name | None = Field(None, description="The template's `project` (jinja2).")
    parameters: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Stack set parameters; ${OrganizationId} and ${ManagementAccountId} "
        "are filled in.",
    )
    environment_parameters: dict[Environment, dict[str, Scalar]] = Field(
        default_factory=dict, description="Per-environment overrides of stack instances."
    )
    targets: StackSetTargetsSpec = Field(description="Which accounts get an instance.")
    regions: list[Name] = Field(min_length=1, description="Regions of every instance.")
    capabilities: list[
        Literal["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    ] = Field(
        default_factory=lambda: ["CAPABILITY_NAMED_IAM"],  # type: ignore[arg-type]
        description="What the template may create that CloudFormation asks to acknowledge.",
    )
    operation_preferences: OperationPreferencesSpec = Field(
        default_factory=OperationPreferencesSpec,  # type: ignore[arg-type]
        description="How operations roll out across accounts and regions.",
    )
    state: Literal["present", "absent"] = Field(
        "present",
        description="`absent` deletes the instances and the stack set (needs --allow-destroy).",
    )


class AccountSpec(_Model):
    """A member account, identified by its email."""

    name: Name = Field(description="The account's name, given when it is created.")
    email: EmailStr = Field(description="Its root user's email: the account's identity.")
    ou: str = Field(description="Path of the parent OU, e.g. /Production; `/` is the root.")
    environment: Environment = Field(description="Sets its budget and stack set parameters.")
    project: Name | None = Field(None, description="The project the account belongs to.")
    policies: list[Name] = Field(
        default_factory=list, description="Policies attached to the account itself, by name."
    )
    tags: Tags = Field(
        default_factory=dict, description="Its tags; only declared keys are compared."
    )
    budget: float | None = Field(
        None, gt=0, description="Monthly amount overriding the environment's default."
    )
    access_role: RoleName | None = Field(
        None, description="Role orgkit assumes in this account (default: the organization's)."
    )
    state: Literal["active", "closed", "removed"] = Field(
        "active",
        description="`closed` closes the account, `removed` removes it from the organization "
        "(each needs its own flag).",
    )


SecurityService = Literal["guardduty", "securityhub", "config", "access-analyzer"]
# The service principals Organizations knows these services by.
SERVICE_PRINCIPALS: dict[str, str] = {
    "cloudtrail": "cloudtrail.amazonaws.com",
    "guardduty": "guardduty.amazonaws.com",
    "securityhub": "securityhub.amazonaws.com",
    "config": "config.amazonaws.com",
    "access-analyzer": "access-analyzer.amazonaws.com",
}
ServicePrincipal = Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+\.amazonaws\.com$")]


class AlertsSpec(_Model):
    """Where alerts go: the one address every alert topic orgkit deploys sends to."""

    email: EmailStr = Field(
        description="Subscribed to every alert topic: set as the `AlertEmail` parameter of "
        "every stack set whose template declares it (unless the stack set sets it)."
    )


class TrailSpec(_Model):
    """The organization's CloudTrail trail, kept in the management account's home region."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$")] = Field(
        "organization-trail", description="The trail's name."
    )
    stack_set: Name = Field(
        description="The stack set that makes the log bucket and key in the Log Archive "
        "account: the trail writes to its BucketName output, encrypted with its KmsKeyArn."
    )
    account: EmailStr = Field(description="The Log Archive account (by email).")
    break_glass_role: RoleName = Field(
        "LogArchiveBreakGlass",
        description="The one role (with the StackSet execution role) that may change the log "
        "bucket's and key's protections in the Log Archive account: templates and guardrails "
        "read it as `security.break_glass_role`.",
    )


class SecuritySpec(_Model):
    """Organization-wide security services: trusted access, delegated administrators, the
    organization trail."""

    trusted_access: list[ServicePrincipal] = Field(
        default_factory=list,
        description="Services to trust in the organization beyond those this section needs "
        "(the trail's and the delegated services' are added).",
    )
    delegated_admins: dict[SecurityService, EmailStr] = Field(
        default_factory=dict,
        description="The account (by email) each security service is administered from. "
        "GuardDuty and Security Hub are set up in every allowed region (vars.allowed_regions) "
        "with auto-enable for member accounts.",
    )
    guardduty_finding_frequency: Literal["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"] = Field(
        "FIFTEEN_MINUTES",
        description="How often GuardDuty publishes updated findings (set on the delegated "
        "administrator's detector; members follow it).",
    )
    trail: TrailSpec | None = Field(
        None, description="Declare to have orgkit keep an organization trail."
    )

    def principals(self) -> list[str]:
        """Every service principal to trust: this section's needs, then the extra ones."""
        needed = [SERVICE_PRINCIPALS[s] for s in self.delegated_admins]
        if self.trail is not None:
            needed.insert(0, SERVICE_PRINCIPALS["cloudtrail"])
        return sorted(set(needed) | set(self.trusted_access))


class OrgSpec(_Model):
    """The whole of org.yaml."""

    version: Literal[1] = 1
    organization: OrganizationSpec
    vars: dict[str, object] = Field(
        default_factory=dict, description="Values for jinja2 policy files and templates."
    )
    quotas: Quotas = Field(default_factory=Quotas)  # type: ignore[arg-type]
    policies: list[PolicySpec] = Field(default_factory=list)
    ous: list[OUSpec] = Field(default_factory=list)
    accounts: list[AccountSpec] = Field(default_factory=list)
    projects: list[ProjectSpec] = Field(default_factory=list)
    stackset_roles: StackSetRolesSpec | None = Field(
        None, description="Declare to have orgkit keep the StackSet role pair in every account."
    )
    budgets: BudgetsSpec | None = Field(
        None, description="Declare to have orgkit keep a monthly budget for every account."
    )
    stack_sets: list[StackSetSpec] = Field(default_factory=list)
    alerts: AlertsSpec | None = Field(None, description="Where alerts go.")
    security: SecuritySpec | None = Field(
        None, description="Organization-wide security services (the Security OU's job)."
    )

    @property
    def allowed_regions(self) -> list[str]:
        """The regions in use: ``vars.allowed_regions`` (what the region guardrail allows),
        else the home region."""
        regions = self.vars.get("allowed_regions")
        if isinstance(regions, list) and regions and all(isinstance(r, str) for r in regions):
            return list(regions)
        return [self.organization.home_region]

    def account_by_email(self, email: str) -> AccountSpec | None:
        """The declared account with that email (case-insensitive), if any."""
        return next((a for a in self.accounts if a.email.lower() == email.lower()), None)

    def declared_attachments(self) -> dict[str, set[str]]:
        """Policy name -> where org.yaml attaches it: ``/`` (the root), OU paths, and account
        emails (lower case)."""
        attached: dict[str, set[str]] = {}
        for name in self.organization.policies:
            attached.setdefault(name, set()).add(ROOT_PATH)
        for path, ou, _ in self.walk_ous():
            for name in ou.policies:
                attached.setdefault(name, set()).add(path)
        for account in self.accounts:
            for name in account.policies:
                attached.setdefault(name, set()).add(account.email.lower())
        return attached

    def walk_ous(self) -> Iterator[tuple[str, OUSpec, tuple[object, ...]]]:
        """Yield (path, OU, location in the file) for every OU, parents before children."""

        def walk(
            ous: list[OUSpec], parent: str, loc: tuple[object, ...]
        ) -> Iterator[tuple[str, OUSpec, tuple[object, ...]]]:
            for index, ou in enumerate(ous):
                path = ou_path(parent, ou.name)
                here = (*loc, index)
                yield path, ou, here
                yield from walk(ou.children, path, (*here, "children"))

        yield from walk(self.ous, ROOT_PATH, ("ous",))

    def project(self, name: str | None) -> ProjectSpec | None:
        """The declared project of that name, if any."""
        return next((p for p in self.projects if p.name == name), None)

    def access_role(self, account: AccountSpec) -> str:
        """The role orgkit assumes in ``account``."""
        return account.access_role or self.organization.access_role


def ou_path(parent: str, name: str) -> str:
    """Join an OU name onto its parent's path."""
    return f"{parent.rstrip('/')}/{name}"


def parent_path(path: str) -> str:
    """The parent path of an OU path; the root's children have ``/``."""
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or ROOT_PATH


def ou_depth(path: str) -> int:
    """How many levels below the root an OU path is."""
    return len([part for part in path.split("/") if part])
