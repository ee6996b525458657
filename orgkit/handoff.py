"""A project's hand-off to its application: ``samconfig.toml``, the deploy workflow, and the
pre-production check, all from the live organization.

Every value written comes from a live read: the environment accounts (Organizations), the
platform stack set's outputs in each account (its stack instance, read as the trail reads its
bucket), the deployment role (IAM in the account). A missing account, instance, output or role
is an error that says which and how to fix it, never a guess.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from orgkit.config import Config, load_config
from orgkit.config.models import AccountSpec, Environment, ProjectSpec
from orgkit.config.roles import GITHUB_OIDC_HOST, RoleSpec, deployment_role
from orgkit.config.stacksets import resolve_targets
from orgkit.errors import OrgkitError
from orgkit.kinds import kind_of
from orgkit.kinds.base import ReadContext
from orgkit.kinds.budget import budget_name, read_budgets
from orgkit.kinds.role import RoleProbe, read_roles
from orgkit.kinds.stack_instance import instance_outputs
from orgkit.live import AwsContext, LiveOrg
from orgkit.live import project_checks as checks
from orgkit.live.model import LiveRole
from orgkit.live.session import endpoint_source
from orgkit.policy_doc import equivalent
from orgkit.workflow import read_organization_as_manager, read_through_read_role

# The platform outputs the application's SAM template takes as parameters (same names), and
# the one that is `sam deploy`'s artifacts bucket. docs/deploying-the-app.md lists them.
ARTIFACTS_OUTPUT = "ArtifactsBucketName"
SAM_PARAMETER_OUTPUTS = (
    "Environment",
    "CustomersTableName",
    "SubscriptionsTableName",
    "WebhookEventsTableName",
    "UsageRecordsTableName",
    "DataBucketName",
    "KmsKeyArn",
    "AlertsTopicArn",
    "ApplicationRoleArn",
    "StripeSecretKeyArn",
    "StripePublishableKeyArn",
    "GoogleOAuthClientArn",
)
# The seed's pre-production checklist items that are secrets, by the outputs naming them.
SECRET_ITEMS = (
    ("stripe-keys", "Stripe keys configured", ("StripeSecretKeyArn", "StripePublishableKeyArn")),
    ("google-oauth", "Google OAuth settings configured", ("GoogleOAuthClientArn",)),
)
TABLE_OUTPUT_SUFFIX = "TableName"
SAMCONFIG_VERSION = 0.1
DEFAULT_CAPABILITIES = "CAPABILITY_IAM"
WORKFLOW_PATH = ".github/workflows/deploy.yml"
# Read-only IAM actions that would hand the deployment role a secret's value.
# An Allow whose action pattern matches this reads secret values (IAM matches actions
# case-insensitively, with * and ? wildcards: secretsmanager:Get*, *:*, * all do).
SECRET_READ = "secretsmanager:getsecretvalue"  # noqa: S105 (an action name, not a password)


@dataclass(frozen=True)
class ProjectEnvironment:
    """One environment of a project as live: its account, region, platform outputs and
    deployment role (``role`` None when the project declares none)."""

    environment: str
    account: AccountSpec
    account_id: str
    access_role: str
    region: str
    stack_sets: tuple[str, ...]
    outputs: dict[str, str]
    role: LiveRole | None
    wanted_role: RoleSpec | None

    @property
    def role_arn(self) -> str | None:
        """The deployment role's ARN, when it exists."""
        if self.role is None or not self.role.exists:
            return None
        return f"arn:aws:iam::{self.account_id}:role/{self.role.role_name}"


@dataclass(frozen=True)
class ProjectLive:
    """A project's environments as live, in environment order (dev, staging, prod, ...)."""

    config: Config
    project: ProjectSpec
    live: LiveOrg
    environments: tuple[ProjectEnvironment, ...]


# -- read ---------------------------------------------------------------------------------
def read_project(
    config_path: str | Path, aws: AwsContext, name: str, env: str | None
) -> ProjectLive:
    """Load org.yaml and read the project's accounts, platform outputs and deployment roles
    (inside the accounts through ``organization.read_role`` when declared)."""
    config = load_config(config_path)
    read_through_read_role(config, aws)
    spec = config.spec
    project = spec.project(name)
    if project is None:
        declared = ", ".join(p.name for p in spec.projects) or "none"
        raise OrgkitError(
            f"{config.path}: no project {name!r} in `projects:` (declared: {declared})",
            hint="Name a declared project, or declare it (orgkit project add).",
        )
    order = {e.value: i for i, e in enumerate(Environment)}
    accounts = sorted(
        (a for a in spec.accounts if a.project == name and a.state == "active"),
        key=lambda a: order[a.environment.value],
    )
    if env is not None:
        accounts = [a for a in accounts if a.environment.value == env]
        if not accounts:
            have = ", ".join(a.environment.value for a in spec.accounts if a.project == name)
            raise OrgkitError(
                f"project {name} has no {env} account in {config.path} (its environments: "
                f"{have or 'none'})",
                hint="Give --env one of the project's environments.",
            )
    if not accounts:
        raise OrgkitError(
            f"project {name} has no accounts in {config.path}",
            hint=f"Give its accounts `project: {name}` in org.yaml and apply.",
        )
    live = read_organization_as_manager(config, aws)
    ctx = ReadContext(aws, config)
    live = kind_of("account").read(ctx, kind_of("ou").read(ctx, live))
    environments = [_read_environment(config, aws, live, project, a) for a in accounts]
    return ProjectLive(config, project, live, tuple(environments))


def _read_environment(
    config: Config, aws: AwsContext, live: LiveOrg, project: ProjectSpec, account: AccountSpec
) -> ProjectEnvironment:
    spec = config.spec
    environment = account.environment.value
    live_account = live.account_by_email.get(account.email.lower())
    if live_account is None:
        raise OrgkitError(
            f"the {environment} account of {project.name} ({account.email}) does not exist yet",
            hint="Run `orgkit apply` first: it creates the account and its platform.",
        )
    access_role = spec.access_role(account)
    platforms = [
        s
        for s in spec.stack_sets
        if s.project == project.name
        and s.state == "present"
        and any(t.email.lower() == account.email.lower() for t in resolve_targets(spec, s))
    ]
    if not platforms:
        raise OrgkitError(
            f"no stack set of project {project.name} targets its {environment} account "
            f"({account.email}) in {config.path}",
            hint=f"Declare the platform stack set with `project: {project.name}` and targets "
            "that include the account, then apply.",
        )
    region = platforms[0].regions[0]  # the platform's first region is the application's
    outputs: dict[str, str] = {}
    for stack_set in platforms:
        found = instance_outputs(aws, stack_set.name, live_account.id, access_role, region)
        if not found:
            raise OrgkitError(
                f"stack set {stack_set.name} has no stack instance with outputs in the "
                f"{environment} account {live_account.id} ({region})",
                hint="Run `orgkit apply` (and `orgkit drift` if the instance exists but failed).",
            )
        outputs.update(found)
    role = wanted = None
    if project.deployment_role is not None:
        wanted = deployment_role(
            spec,
            account,
            project,
            project.deployment_role,
            live_account.id,
            live.organization_id,
        )
        role = read_roles(
            aws, [RoleProbe(live_account.id, access_role, (project.deployment_role.name,))]
        )[0]
    return ProjectEnvironment(
        environment=environment,
        account=account,
        account_id=live_account.id,
        access_role=access_role,
        region=region,
        stack_sets=tuple(s.name for s in platforms),
        outputs=outputs,
        role=role,
        wanted_role=wanted,
    )


def _output(env: ProjectEnvironment, key: str) -> str:
    value = env.outputs.get(key)
    if not value:
        raise OrgkitError(
            f"the platform ({', '.join(env.stack_sets)}) in the {env.environment} account "
            f"{env.account_id} has no output {key}",
            hint="Apply the current platform template (`orgkit apply`); an older stack may "
            "predate the output.",
        )
    return value


def _role_arn(env: ProjectEnvironment, project: ProjectSpec) -> str:
    if project.deployment_role is None:
        raise OrgkitError(
            f"project {project.name} declares no deployment_role",
            hint="Declare projects[].deployment_role in org.yaml and apply.",
        )
    arn = env.role_arn
    if arn is None:
        raise OrgkitError(
            f"the deployment role {project.deployment_role.name} does not exist in the "
            f"{env.environment} account {env.account_id}",
            hint="Run `orgkit apply` first.",
        )
    return arn


# -- samconfig.toml -----------------------------------------------------------------------
@dataclass(frozen=True)
class SamConfig:
    """A samconfig.toml's text, and the deployment role of each environment (which the
    workflow, not SAM, reads)."""

    text: str
    roles: dict[str, str]
    kept_existing: bool


def samconfig(project_live: ProjectLive, existing: Path | None) -> SamConfig:
    """samconfig.toml with one ``[<env>.deploy.parameters]`` per environment; an existing
    file's other settings, comments and sections are kept."""
    document = _load_toml(existing)
    if "version" not in document:
        document["version"] = SAMCONFIG_VERSION
    roles = {}
    for env in project_live.environments:
        parameters = _table(_table(document, env.environment, super_table=True), "deploy")
        parameters = _table(parameters, "parameters")
        stack_name = f"{project_live.project.name}-app"
        parameters.setdefault("stack_name", stack_name)
        parameters.setdefault("s3_prefix", parameters["stack_name"])
        parameters["region"] = env.region
        parameters["s3_bucket"] = _output(env, ARTIFACTS_OUTPUT)
        parameters.setdefault("capabilities", DEFAULT_CAPABILITIES)
        parameters["parameter_overrides"] = _overrides(
            parameters.get("parameter_overrides"),
            {key: _output(env, key) for key in SAM_PARAMETER_OUTPUTS},
        )
        roles[env.environment] = _role_arn(env, project_live.project)
    return SamConfig(tomlkit.dumps(document), roles, existing is not None and existing.exists())


def _load_toml(path: Path | None) -> tomlkit.TOMLDocument:
    if path is None or not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise OrgkitError(f"cannot read {path}: {exc}") from None
    except TOMLKitError as exc:
        raise OrgkitError(
            f"{path}: not valid TOML ({exc})",
            hint="Fix the file, or write elsewhere with --out; nothing was written.",
        ) from None


def _table(parent: Any, key: str, super_table: bool = False) -> Any:
    found = parent.get(key)
    if found is None:
        found = tomlkit.table(is_super_table=super_table)
        parent[key] = found
    elif not isinstance(found, dict):
        raise OrgkitError(
            f"samconfig.toml: {key} is a {type(found).__name__}, not a table",
            hint="Fix or remove that key; nothing was written.",
        )
    return found


def _overrides(existing: Any, managed: dict[str, str]) -> str:
    """SAM's ``Key="value" ...`` string: the managed keys from live outputs, other keys the
    file already had kept as they were."""
    kept: dict[str, str] = {}
    if isinstance(existing, str):
        tokens = shlex.split(existing)
    elif isinstance(existing, list):
        tokens = [str(t) for t in existing]
    else:
        tokens = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key not in managed:
            kept[key] = value
    return " ".join(f'{k}="{v}"' for k, v in {**managed, **kept}.items())


# -- the GitHub Actions workflow ------------------------------------------------------------
# The actions the deploy workflow uses, pinned by full commit (a tag can be moved to other code
# that then runs with the job's OIDC token); the version each commit is stands beside it.
PINNED = {
    "checkout": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1",
    "setup-python": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97  # v7.0.0",
    "setup-sam": "aws-actions/setup-sam@89ddb14d60e682855e3fea4be85b3c56485de310  # v3",
    "configure-aws-credentials": "aws-actions/configure-aws-credentials@"
    "e6de054238d6b7531b4efff3b6587d9aade6a06c  # v6.2.3",
}


def workflow(project_live: ProjectLive) -> str:
    """A deploy workflow for the project's repository: one job per environment, each assuming
    that environment's deployment role with GitHub's OIDC token (no stored keys)."""
    project = project_live.project
    role = project.deployment_role
    github = role.trust.github if role is not None else None
    if role is None or github is None:
        raise OrgkitError(
            f"project {project.name}'s deployment role trusts no GitHub repository, so no "
            "workflow can assume it with OIDC",
            hint="Declare projects[].deployment_role.trust.github in org.yaml and apply.",
        )
    branches = ", ".join(github.branches)
    lines = [
        f"# Deploys {project.name} with `sam deploy`, one job per environment, generated by",
        f"# `orgkit project workflow {project.name}` from the live organization. Save it as",
        f"# {WORKFLOW_PATH} in {github.repository}, next to the samconfig.toml of",
        f"# `orgkit project samconfig {project.name}`.",
        "# Each job assumes its environment's deployment role with GitHub's OIDC token",
        "# (permissions: id-token: write): no AWS keys in GitHub secrets. The role trusts",
        f"# {GITHUB_OIDC_HOST}'s `sub` claim as org.yaml says: a job of a GitHub environment",
        "# it lists, or a push to one of its branches.",
        "name: deploy",
        "on:",
        "  push:",
        f"    branches: [{branches}]",
        "  workflow_dispatch:",
        "permissions:",
        "  contents: read",
        "concurrency:",
        "  group: deploy",
        "  cancel-in-progress: false",
        "jobs:",
    ]
    previous = None
    for env in project_live.environments:
        arn = _role_arn(env, project)
        job = f"deploy-{env.environment}"
        lines += [f"  {job}:", f"    name: deploy {env.environment}", "    runs-on: ubuntu-latest"]
        if previous:
            lines.append(f"    needs: {previous}")
        if env.environment in github.environments:
            # sub = repo:<repository>:environment:<env>: the environment's protection rules
            # (reviewers, branches) gate the job, as the role's trust requires.
            lines.append(f"    environment: {env.environment}")
        else:
            refs = " || ".join(f"github.ref == 'refs/heads/{b}'" for b in github.branches)
            lines.append(f"    if: {refs}")
        lines += [
            "    permissions:",
            "      id-token: write",
            "      contents: read",
            "    steps:",
            f"      - uses: {PINNED['checkout']}",
            "        with:",
            "          persist-credentials: false  # the job's token stays out of .git/config",
            f"      - uses: {PINNED['setup-python']}",
            "        with:",
            '          python-version: "3.12"',
            f"      - uses: {PINNED['setup-sam']}",
            "        with:",
            "          use-installer: true",
            f"      - uses: {PINNED['configure-aws-credentials']}",
            "        with:",
            f"          role-to-assume: {arn}",
            f"          aws-region: {env.region}",
            f"          role-session-name: github-{project.name}-{env.environment}",
            "      - run: sam build",
            f"      - run: sam deploy --config-env {env.environment} --no-confirm-changeset "
            "--no-fail-on-empty-changeset",
        ]
        previous = job
    return "\n".join(lines) + "\n"


# -- the pre-production check -----------------------------------------------------------------
def check(
    config_path: str | Path, aws: AwsContext, name: str, env: str | None
) -> checks.CheckReport:
    """The seed's pre-production checklist against the live accounts of the project."""
    project_live = read_project(config_path, aws, name, env)
    spec = project_live.config.spec
    management = project_live.live.management_account_id
    try:
        budgets = read_budgets(aws, management) if spec.budgets is not None else []
    except OrgkitError:
        budgets = []  # reported per environment below as cannot-check
        budgets_refused = True
    else:
        budgets_refused = False
    organizations = aws.client("organizations")
    results: list[checks.CheckResult] = []
    for environment in project_live.environments:
        results += _check_environment(
            project_live, environment, aws, organizations, budgets, budgets_refused
        )
    return checks.CheckReport(name, endpoint_source(), tuple(results))


def _check_environment(
    project_live: ProjectLive,
    env: ProjectEnvironment,
    aws: AwsContext,
    organizations: Any,
    budgets: Sequence[Any],
    budgets_refused: bool,
) -> list[checks.CheckResult]:
    project = project_live.project
    e = env.environment

    def member(service: str) -> Any:
        return aws.members().reader(env.account_id, env.access_role, service, region=env.region)

    prefix = f"{project.name}-{e}"
    domain = project.domains.get(Environment(e))
    tables = [v for k, v in env.outputs.items() if k.endswith(TABLE_OUTPUT_SUFFIX)]
    results = [
        checks.not_in_aws(
            "budget-alerts", "Budget alerts configured", e, "the budgets could not be read"
        )
        if budgets_refused
        else checks.budget_alerts(e, env.account_id, budget_name(env.account_id), budgets),
        checks.guarded(
            "monitoring",
            "Monitoring dashboards and alarms created",
            e,
            lambda: checks.monitoring(e, member("cloudwatch"), prefix, prefix + "-"),
        ),
        checks.guarded(
            "backups",
            "Backups of the tables (PITR, backup policy)",
            e,
            lambda: checks.backups(
                e,
                member("dynamodb"),
                organizations,
                env.account_id,
                tables,
                policy_required=e == Environment.PROD.value,
            ),
        ),
        checks.guarded(
            "guardduty",
            "GuardDuty on",
            e,
            lambda: checks.guardduty(e, member("guardduty"), env.account_id, env.region),
        ),
        checks.guarded(
            "security-hub",
            "Security Hub on",
            e,
            lambda: checks.security_hub(e, member("securityhub"), env.account_id, env.region),
        ),
    ]
    for item, title, keys in SECRET_ITEMS:
        missing = [k for k in keys if not env.outputs.get(k)]
        if missing:
            results.append(
                checks.CheckResult(
                    item,
                    title,
                    e,
                    checks.FAILED,
                    (f"the platform has no output {', '.join(missing)}",),
                    "Apply the current platform template (`orgkit apply`).",
                )
            )
            continue
        refs = [checks.SecretRef(k, env.outputs[k]) for k in keys]
        results.append(_secrets_item(item, title, e, member, refs))
    results += [
        checks.guarded(
            "certificate",
            "SSL certificate provisioned and validated",
            e,
            lambda: checks.certificate(e, member("acm"), domain, env.region),
        ),
        checks.guarded(
            "domain",
            "Custom domain configured in Route 53",
            e,
            lambda: checks.hosted_zone(e, member("route53"), domain),
        ),
        deploy_role_check(env, project),
        checks.not_in_aws(
            "security-scanning",
            "Security scanning completed",
            e,
            "code scanning (Bandit, Safety, Semgrep) runs in the application's CI, not in AWS",
        ),
        checks.not_in_aws(
            "load-testing", "Load testing performed", e, "AWS keeps no record of a load test"
        ),
    ]
    return results


def _secrets_item(
    item: str,
    title: str,
    environment: str,
    member: Callable[[str], Any],
    refs: list[checks.SecretRef],
) -> checks.CheckResult:
    return checks.guarded(
        item,
        title,
        environment,
        lambda: checks.secrets_set(item, title, environment, member("secretsmanager"), refs),
    )


def reads_secret_values(action: str) -> bool:
    """Whether an IAM action pattern allows GetSecretValue (case-insensitive, * and ?)."""
    return fnmatch.fnmatchcase(SECRET_READ, action.lower())


def deploy_role_check(env: ProjectEnvironment, project: ProjectSpec) -> checks.CheckResult:
    """The deployment role is orgkit's least-privilege role, unchanged: its permissions,
    boundary and trust equal what orgkit builds (linted in the tests), nothing else attached,
    and no secret reads."""
    item, title, e = "deploy-role", "Deployment role least privilege", env.environment
    if project.deployment_role is None or env.wanted_role is None:
        return checks.not_in_aws(item, title, e, "the project declares no deployment_role")
    live, wanted = env.role, env.wanted_role
    if live is None or not live.exists:
        return checks.CheckResult(
            item,
            title,
            e,
            checks.FAILED,
            (f"no role {wanted.role_name} in account {env.account_id}",),
            "Run `orgkit apply`.",
        )
    differs = [
        part
        for part, a, b in (
            ("permissions", live.permissions, wanted.permissions),
            ("boundary", live.boundary, wanted.boundary),
            ("trust", live.trust, wanted.trust),
        )
        if not equivalent(a, b)
    ]
    reads = sorted(
        {
            action
            for statement in (live.permissions or {}).get("Statement", [])
            if statement.get("Effect") == "Allow"
            for action in _actions(statement)
            if reads_secret_values(action)
        }
    )
    subjects = [
        s
        for statement in (live.trust or {}).get("Statement", [])
        for s in _as_list(
            statement.get("Condition", {}).get("StringLike", {}).get(f"{GITHUB_OIDC_HOST}:sub")
        )
    ]
    evidence = [
        f"{env.role_arn}: "
        + (
            "permissions, boundary and trust are orgkit's"
            if not differs
            else f"differs from orgkit's in {', '.join(differs)}"
        ),
        "other policies: " + (", ".join(live.extra_policies) or "none"),
        "secret reads allowed: " + (", ".join(reads) or "none"),
    ]
    if subjects:
        evidence.append("trusted GitHub subjects: " + ", ".join(subjects))
    ok = not differs and not live.extra_policies and not reads
    return checks.CheckResult(
        item,
        title,
        e,
        checks.PASSED if ok else checks.FAILED,
        tuple(evidence),
        ""
        if ok
        else "Run `orgkit apply` to put the role back in shape (`orgkit plan` shows what differs).",
    )


def _actions(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in _as_list(statement.get("Action"))]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
