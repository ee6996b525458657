"""``orgkit import``: write org.yaml and the policy files from a live organization, so that
``orgkit plan`` against it is empty; ``--merge`` adds what is live but unmanaged to an existing
org.yaml instead.

Three steps, one direction: read the organization (:mod:`orgkit.live.inventory`, read-only),
decide what org.yaml can declare (:func:`select`, pure: what it cannot express is a
:class:`Note`, never silently changed), then write, after checking the result: the files are
rendered into a scratch folder, loaded as any org.yaml is, and planned against what was read
with the kinds' own planners. What is already live is adopted (accounts by email, OUs by path,
policies by name): nothing is ever created or re-created by importing.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import EmailStr, TypeAdapter, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from orgkit.changes import Change
from orgkit.config import Config, load_config
from orgkit.config.models import Environment, OrgSpec
from orgkit.config.policies import (
    MANAGEMENT_ACCOUNT_ID,
    ORGANIZATION_ID,
    PolicyDocument,
    load_document,
)
from orgkit.config.yaml_merge import append, dump, load_round_trip, mapping_at, new_yaml
from orgkit.errors import ConfigError, OrgkitError
from orgkit.kinds import REGISTRY
from orgkit.kinds.base import PlanContext, PlanOptions
from orgkit.live.inventory import Inventory, read_inventory
from orgkit.live.model import LiveAccount, LiveOU, LivePolicy
from orgkit.live.session import AwsContext
from orgkit.names import POLICY_TYPE_BY_AWS, POLICY_TYPE_BY_NAME, POLICY_TYPES, ROOT_PATH, SCP
from orgkit.quotas import Quotas
from orgkit.render.jinja import environment as jinja_environment

SCHEMA_MODELINE = "# yaml-language-server: $schema=./org.schema.json"
# The kinds an import declares; their planners check what was written.
IMPORTED_KINDS = ("policy_type", "ou", "policy", "policy_attachment", "account")
CLOSED_STATUSES = {"SUSPENDED", "PENDING_CLOSURE"}
NOT_IMPORTED = (
    "stack sets, budgets, deployment and StackSet roles, trusted access, delegated "
    "administrators, security services and the organization trail are not imported: declare "
    "them by hand (docs/adopting.md); until then plan and drift leave them alone"
)

# What an OU's or a tag's name says about an account's environment (lower case, - for spaces).
ENVIRONMENT_WORDS: dict[str, Environment] = {
    **dict.fromkeys(("prod", "production", "prd", "live"), Environment.PROD),
    **dict.fromkeys(("staging", "stage", "stg", "preprod", "pre-prod", "uat"), Environment.STAGING),
    **dict.fromkeys(("dev", "development", "develop", "test", "testing"), Environment.DEV),
    **dict.fromkeys(
        ("shared", "shared-services", "infrastructure", "infra", "platform"), Environment.SHARED
    ),
    **dict.fromkeys(("security", "audit", "log-archive", "logging"), Environment.SECURITY),
    **dict.fromkeys(("sandbox", "sandboxes", "playground"), Environment.SANDBOX),
}
DEFAULT_ENVIRONMENT = Environment.SHARED
ENVIRONMENT_TAG_KEYS = ("environment", "env")

NoteKind = Literal["skipped", "guessed", "left out"]


@dataclass(frozen=True)
class Note:
    """Something the import could not express, or guessed: said, never hidden."""

    address: str  # ou["/A"], account["a@x"], policy["p"], organization
    kind: NoteKind  # skipped: not declared; guessed: declared with a guess; left out: a detail
    message: str


@dataclass
class ImportedOU:
    """An OU to declare."""

    path: str
    name: str
    tags: dict[str, str]
    policies: list[str] = field(default_factory=list)


@dataclass
class ImportedAccount:
    """An account to declare (adopted: it is live, never created)."""

    name: str
    email: str
    ou: str
    environment: Environment
    environment_reason: str | None  # None: an Environment tag said so exactly
    tags: dict[str, str]
    state: str = "active"
    policies: list[str] = field(default_factory=list)


@dataclass
class ImportedPolicy:
    """A policy to declare, and its file."""

    name: str
    type: str  # org.yaml's type name
    file: str
    description: str
    document: dict[str, Any]


@dataclass
class Declared:
    """What an existing org.yaml declares (empty for a fresh import)."""

    ous: set[str] = field(default_factory=set)  # present OU paths
    all_ous: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)  # active accounts, lower-case emails
    all_accounts: set[str] = field(default_factory=set)
    account_names: set[str] = field(default_factory=set)
    policies: dict[str, str] = field(default_factory=dict)  # present: name -> AWS type
    all_policies: dict[str, str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, spec: OrgSpec) -> Declared:
        """What ``spec`` declares."""
        ous = list(spec.walk_ous())
        return cls(
            ous={path for path, ou, _ in ous if ou.state == "present"},
            all_ous={path for path, _, _ in ous},
            accounts={a.email.lower() for a in spec.accounts if a.state == "active"},
            all_accounts={a.email.lower() for a in spec.accounts},
            account_names={a.name for a in spec.accounts},
            policies={
                p.name: POLICY_TYPE_BY_NAME[p.type].aws
                for p in spec.policies
                if p.state == "present"
            },
            all_policies={p.name: POLICY_TYPE_BY_NAME[p.type].aws for p in spec.policies},
            files={p.file for p in spec.policies},
        )


@dataclass
class Selection:
    """What org.yaml will declare that it does not yet, and what could not be declared."""

    ous: list[ImportedOU] = field(default_factory=list)  # parents first
    accounts: list[ImportedAccount] = field(default_factory=list)
    policies: list[ImportedPolicy] = field(default_factory=list)
    # Policies to attach to targets org.yaml already declares: target name -> policy names.
    attach_to_declared: dict[str, list[str]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class WrittenFile:
    """A file the import writes (or, with --dry-run, would write)."""

    path: Path
    text: str
    action: Literal["create", "overwrite", "update"]
    before: str | None = None  # the file as it was (merge)


@dataclass(frozen=True)
class ImportResult:
    """What ``orgkit import`` did or would do."""

    config_path: Path
    organization_id: str
    files: tuple[WrittenFile, ...]
    notes: tuple[Note, ...]
    counts: dict[str, int]  # ous, accounts, policies, attachments declared by this import
    remaining: tuple[Change, ...]  # changes a plan would still make (merge: in what was there)
    dry_run: bool
    merge: bool


# -- deciding what org.yaml can say ---------------------------------------------------------
_EMAIL = TypeAdapter(EmailStr)


def email_problem(email: str) -> str | None:
    """Why org.yaml's schema would refuse this email, or None."""
    try:
        _EMAIL.validate_python(email)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    return None


def one_line(text: str) -> str:
    """Text safe in a YAML comment: control characters (a newline would end the comment and
    let a live name write YAML) become '?'."""
    return "".join("?" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


def name_problem(name: str, what: str, max_length: int) -> str | None:
    """Why org.yaml could not carry this name as it is (its schema strips spaces), or None."""
    if not name.strip():
        return f"its {what} is blank"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return f"its {what} {name!r} holds control characters (a newline, a tab...)"
    if name != name.strip():
        return f"its {what} {name!r} starts or ends with spaces, which org.yaml's schema strips"
    if len(name) > max_length:
        return f"its {what} is longer than {max_length} characters"
    return None


def environment_for(account: LiveAccount, ou_path: str) -> tuple[Environment, str | None]:
    """The account's environment and, unless an ``Environment`` tag says it exactly, how it
    was guessed: from an Environment/Env tag, else from the nearest OU whose name names one,
    else the default."""
    tags = account.tag_map or {}
    for key, value in sorted(tags.items()):
        if key.lower() in ENVIRONMENT_TAG_KEYS:
            found = ENVIRONMENT_WORDS.get(_word(value))
            if found is None:
                found = next((e for e in Environment if e.value == _word(value)), None)
            if found is not None:
                exact = key == "Environment" and value == found.value
                return found, None if exact else f"from its tag {key}={value}"
    parts = [p for p in ou_path.split("/") if p]
    for depth in range(len(parts), 0, -1):
        found = ENVIRONMENT_WORDS.get(_word(parts[depth - 1]))
        if found is not None:
            return found, f"guessed from its OU /{'/'.join(parts[:depth])}"
    return DEFAULT_ENVIRONMENT, (
        f"guessed: no Environment tag and no OU named after an environment; "
        f"{DEFAULT_ENVIRONMENT.value} is the default"
    )


def _word(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def policy_file(policy: LivePolicy, taken: set[str]) -> str:
    """A file for the policy's document: scps/ for SCPs, policies/ for the other types, named
    after the policy (characters a file name should not have become -), never one taken."""
    folder = "scps" if policy.type == SCP else "policies"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", policy.name).strip("-.") or "policy"
    candidate, n = f"{folder}/{stem}.json", 2
    while candidate.lower() in {t.lower() for t in taken}:
        candidate, n = f"{folder}/{stem}-{n}.json", n + 1
    taken.add(candidate)
    return candidate


def policy_text(document: dict[str, Any]) -> str:
    """A policy document as its file holds it: indented JSON, keys in AWS's order."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def check_document(
    policy: LivePolicy, type_name: str, quotas: Quotas, scratch: Path
) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed document, or why org.yaml could not carry it: not a JSON object, orgkit's
    placeholders in it, a grammar check that AWS did not make, or over the size quota."""
    try:
        document = json.loads(policy.content or "")
    except json.JSONDecodeError as exc:
        return None, f"its content is not JSON ({exc.msg})"
    if not isinstance(document, dict):
        return None, "its content is not a JSON object"
    if ORGANIZATION_ID in (policy.content or "") or MANAGEMENT_ACCOUNT_ID in (policy.content or ""):
        return None, (
            f"its content holds {ORGANIZATION_ID} or {MANAGEMENT_ACCOUNT_ID} literally, which "
            "orgkit would fill in with the organization's ids"
        )
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "policy.json").write_text(policy_text(document), encoding="utf-8")
    spec = OrgSpec.model_validate(
        {"organization": {"name": "import", "management_account_id": "000000000000"}}
    )
    parsed, issues = load_document(
        spec, "policy.json", scratch, jinja_environment(scratch), grammar=type_name
    )
    if issues or parsed is None:
        detail = "; ".join(f"{i.field + ': ' if i.field else ''}{i.message}" for i in issues[:3])
        return None, f"orgkit's check of its document refuses it ({detail})"
    size = PolicyDocument(policy.name, "", "", document, type_name).size
    limit = quotas.policy_max_characters(type_name)
    if size > limit:
        return None, f"it is {size} characters without whitespace; orgkit's quota is {limit}"
    return document, None


def select(
    inventory: Inventory,
    declared: Declared,
    quotas: Quotas,
    scratch: Path,
) -> Selection:
    """What org.yaml can declare of the live organization that ``declared`` does not yet.

    A thing org.yaml could not carry exactly (a name its schema would change, a duplicate, a
    policy attached where nothing is declared) is skipped with a note, and so is what depends
    on it (an OU's subtree, its accounts): a plan then lists it as unmanaged and leaves it be,
    instead of planning a change.
    """
    live = inventory.live
    out = Selection()
    notes = out.notes
    children: dict[str, list[LiveOU]] = defaultdict(list)
    for ou in live.ous:
        children[ou.parent_id].append(ou)
    paths = Counter(ou.path for ou in live.ous)
    # Targets a policy can be attached to once the import is done: id -> orgkit's name.
    targets: dict[str, str] = {live.root_id: ROOT_PATH}
    new_targets: set[str] = set()
    ou_tags = {k: dict(v) for k, v in inventory.ou_tags.items()}

    def subtree(ou: LiveOU) -> str:
        inside = [o for o in live.ous if o.path.startswith(ou.path + "/")]
        ids = {ou.id, *(o.id for o in inside)}
        accounts = [a for a in live.accounts if a.parent_id in ids]
        return (
            f" (with {len(inside)} OU(s) and {len(accounts)} account(s) inside)"
            if inside or accounts
            else ""
        )

    def walk(parent_id: str) -> None:
        for ou in sorted(children[parent_id], key=lambda o: o.name):
            addr = f'ou["{ou.path}"]'
            problem = name_problem(ou.name, "name", quotas.ou_name_max_length)
            if problem is None and "/" in ou.name:
                problem = f"its name {ou.name!r} holds '/', which separates OU paths in org.yaml"
            if problem is None and paths[ou.path] > 1:
                problem = (
                    "another OU of the same name has the same parent (orgkit names OUs by path)"
                )
            if problem is None and ou.path.count("/") > quotas.ou_max_depth:
                problem = f"it is deeper than {quotas.ou_max_depth} levels"
            if problem is None and ou.path in declared.all_ous and ou.path not in declared.ous:
                problem = "org.yaml declares it `state: absent`"
            if problem is not None:
                notes.append(
                    Note(addr, "skipped", f"OU {ou.id} not declared: {problem}{subtree(ou)}")
                )
                continue
            targets[ou.id] = ou.path
            if ou.path not in declared.ous:
                out.ous.append(ImportedOU(ou.path, ou.name, ou_tags.get(ou.id, {})))
                new_targets.add(ou.path)
            walk(ou.id)

    walk(live.root_id)
    _select_accounts(inventory, declared, quotas, targets, new_targets, out)
    _select_policies(inventory, declared, quotas, targets, new_targets, scratch, out)
    fresh = not (declared.all_ous or declared.all_accounts or declared.all_policies)
    _left_out(inventory, targets, new_targets, fresh, out)
    return out


def _select_accounts(
    inventory: Inventory,
    declared: Declared,
    quotas: Quotas,
    targets: dict[str, str],
    new_targets: set[str],
    out: Selection,
) -> None:
    live = inventory.live
    emails = Counter(a.email.lower() for a in live.accounts)
    names = set(declared.account_names)
    for account in sorted(live.accounts, key=lambda a: a.email.lower()):
        email = account.email.lower()
        addr = f'account["{email}"]'
        if account.id == live.management_account_id:
            continue  # never a member account of org.yaml (plan warns when it is declared)
        if email in declared.all_accounts:
            if email in declared.accounts:
                targets[account.id] = email
            continue
        parent = targets.get(account.parent_id)
        problem = None
        if emails[email] > 1:
            problem = "another account has the same email (orgkit names accounts by email)"
        elif (reason := email_problem(account.email)) is not None:
            problem = f"org.yaml's schema refuses its email: {reason}"
        elif len(account.email) > quotas.account_email_max_length:
            problem = f"its email is longer than {quotas.account_email_max_length} characters"
        elif parent is None:
            where = live.path_by_id.get(account.parent_id, account.parent_id)
            problem = f"its OU {where} is not declared (see that OU's note)"
        elif reason := name_problem(account.name, "name", quotas.account_name_max_length):
            problem = reason
        elif account.name in names:
            problem = (
                f"another account is already named {account.name!r} and org.yaml needs unique "
                "account names"
            )
        if problem is not None or parent is None:
            out.notes.append(Note(addr, "skipped", f"account {account.id} not declared: {problem}"))
            continue
        names.add(account.name)
        env, reason = environment_for(account, parent)
        tags = dict(account.tags or ())
        if tags.get("Environment") == env.value:
            del tags["Environment"]  # `environment:` says it (and sets it on new accounts)
        closed = account.status in CLOSED_STATUSES
        out.accounts.append(
            ImportedAccount(
                name=account.name,
                email=account.email,
                ou=parent,
                environment=env,
                environment_reason=reason,
                tags=tags,
                state="closed" if closed else "active",
            )
        )
        if reason is not None:
            out.notes.append(Note(addr, "guessed", f"environment: {env.value} ({reason})"))
        if closed:
            out.notes.append(
                Note(addr, "guessed", f"declared `state: closed`: the account is {account.status}")
            )
        else:
            targets[account.id] = email
            new_targets.add(email)


def _select_policies(
    inventory: Inventory,
    declared: Declared,
    quotas: Quotas,
    targets: dict[str, str],
    new_targets: set[str],
    scratch: Path,
    out: Selection,
) -> None:
    live = inventory.live
    names = Counter(p.name for p in live.policies)
    managed = {t.managed for t in POLICY_TYPES if t.managed}
    taken = set(declared.files)
    new_ou = {ou.path: ou for ou in out.ous}
    new_account = {a.email.lower(): a for a in out.accounts}

    def attach(target: str, name: str) -> None:
        if target in new_ou:
            new_ou[target].policies.append(name)
        elif target in new_account:
            new_account[target].policies.append(name)
        else:
            out.attach_to_declared.setdefault(target, []).append(name)

    for policy in sorted(live.policies, key=lambda p: (p.name, p.type)):
        addr = f'policy["{policy.name}"]'
        known = POLICY_TYPE_BY_AWS.get(policy.type)
        declared_type = declared.all_policies.get(policy.name)
        if declared_type == policy.type:
            if policy.name in declared.policies:  # declared: attach it where org.yaml is new
                for target_id in policy.targets:
                    target = targets.get(target_id)
                    if target in new_targets:
                        attach(target, policy.name)
            continue
        problem = None
        if known is None:
            problem = f"orgkit does not know its type {policy.type}"
        elif declared_type is not None:
            problem = "org.yaml declares a policy of the same name of another type"
        elif names[policy.name] > 1:
            problem = (
                "a policy of another type has the same name, and org.yaml names policies by "
                "name across types"
            )
        elif policy.name in managed:
            problem = "it has the name of an AWS-managed policy"
        elif reason := name_problem(policy.name, "name", quotas.policy_name_max_length):
            problem = reason
        else:
            outside = [
                live.target_name(t) if t != live.management_account_id else "the management account"
                for t in policy.targets
                if t not in targets
            ]
            if outside:
                problem = (
                    f"it is attached to {', '.join(sorted(outside))}, which org.yaml does not "
                    "declare (declaring the policy would plan detaching it)"
                )
        document = None
        if problem is None and known is not None:
            document, problem = check_document(policy, known.name, quotas, scratch)
        if problem is not None or document is None or known is None:
            out.notes.append(Note(addr, "skipped", f"policy {policy.id} not declared: {problem}"))
            continue
        out.policies.append(
            ImportedPolicy(
                name=policy.name,
                type=known.name,
                file=policy_file(policy, taken),
                description=policy.description,
                document=document,
            )
        )
        for target_id in policy.targets:
            attach(targets[target_id], policy.name)
        if inventory.policy_tags.get(policy.id):
            tags = ", ".join(f"{k}={v}" for k, v in inventory.policy_tags[policy.id])
            out.notes.append(
                Note(addr, "left out", f"its tags ({tags}): org.yaml does not declare policy tags")
            )


def _left_out(
    inventory: Inventory,
    targets: dict[str, str],
    new_targets: set[str],
    fresh: bool,
    out: Selection,
) -> None:
    """Details org.yaml cannot say: the root's tags, and where an AWS-managed policy
    (FullAWSAccess, RCPFullAWSAccess) was detached."""
    if inventory.root_tags and fresh:
        tags = ", ".join(f"{k}={v}" for k, v in inventory.root_tags)
        out.notes.append(
            Note(
                "organization",
                "left out",
                f"the root's tags ({tags}): orgkit does not manage them "
                "(organization.tags are what it puts on what it creates)",
            )
        )
    for policy in inventory.managed:
        attached = set(policy.targets)
        for target_id, name in sorted(targets.items(), key=lambda item: item[1]):
            if target_id in attached:
                continue
            if name not in new_targets and not (fresh and name == ROOT_PATH):
                continue
            out.notes.append(
                Note(
                    f'policy["{policy.name}"]',
                    "left out",
                    f"AWS-managed {policy.name} is not attached to {name}: orgkit leaves "
                    "AWS-managed policies as they are, so it stays detached, and org.yaml "
                    "cannot say so",
                )
            )


# -- writing org.yaml -----------------------------------------------------------------------
def _ou_node(ou: ImportedOU) -> CommentedMap:
    node = CommentedMap(name=ou.name)
    if ou.policies:
        node["policies"] = CommentedSeq(ou.policies)
    if ou.tags:
        node["tags"] = CommentedMap(sorted(ou.tags.items()))
    return node


def _account_node(account: ImportedAccount) -> CommentedMap:
    node = CommentedMap()
    node["name"] = account.name
    node["email"] = account.email
    node["ou"] = account.ou
    node["environment"] = account.environment.value
    if account.environment_reason is not None:
        node.yaml_add_eol_comment(one_line(account.environment_reason), "environment")
    if account.state != "active":
        node["state"] = account.state
    if account.policies:
        node["policies"] = CommentedSeq(account.policies)
    if account.tags:
        node["tags"] = CommentedMap(sorted(account.tags.items()))
    return node


def _policy_node(policy: ImportedPolicy) -> CommentedMap:
    node = CommentedMap(name=policy.name)
    if policy.type != "service_control":
        node["type"] = policy.type
    node["file"] = policy.file
    if policy.description:
        node["description"] = policy.description
    return node


def _nest(ous: Iterable[ImportedOU]) -> CommentedSeq:
    """The OU tree (``ous`` parents first) as org.yaml's nested lists."""
    top = CommentedSeq()
    nodes: dict[str, CommentedMap] = {}
    for ou in ous:
        node = _ou_node(ou)
        nodes[ou.path] = node
        parent = ou.path.rsplit("/", 1)[0] or ROOT_PATH
        if parent == ROOT_PATH:
            top.append(node)
        else:
            append(nodes[parent], "children", node)
    return top


def fresh_org_yaml(inventory: Inventory, selection: Selection, now: datetime, name: str) -> str:
    """A new org.yaml declaring ``selection``, with a header saying where it came from."""
    live = inventory.live
    region = inventory.region
    doc = CommentedMap()
    doc["version"] = 1
    organization = CommentedMap()
    organization["name"] = name
    organization["management_account_id"] = DoubleQuotedScalarString(live.management_account_id)
    if re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
        organization["home_region"] = region
    root_policies = selection.attach_to_declared.get(ROOT_PATH, [])
    if root_policies:
        organization["policies"] = CommentedSeq(root_policies)
    doc["organization"] = organization
    if selection.policies:
        doc["policies"] = CommentedSeq(_policy_node(p) for p in selection.policies)
    if selection.ous:
        doc["ous"] = _nest(selection.ous)
    if selection.accounts:
        doc["accounts"] = CommentedSeq(_account_node(a) for a in selection.accounts)
    for key in ("organization", "policies", "ous", "accounts"):
        if key in doc:
            doc.yaml_set_comment_before_after_key(key, before="\n")
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = "\n".join(
        [
            SCHEMA_MODELINE,
            f"# org.yaml: the desired state of organization {live.organization_id}, reconciled "
            "by orgkit.",
            f"# Imported from the live organization by `orgkit import` on {stamp}",
            f"# (management account {live.management_account_id}). Review it before committing:",
            "# comments mark guessed environments, and the import listed what org.yaml could",
            "# not express. `orgkit plan` should report no changes. Anything live but not",
            "# declared here is reported as unmanaged, never deleted.",
            "",
            "",
        ]
    )
    return header + dump(new_yaml(), doc)


def merged_org_yaml(text: str, display: str, selection: Selection) -> str:
    """``text`` with ``selection`` added: new OUs under their parents, new accounts and policies
    at the end of their lists, policies attached to what was declared; nothing else changes."""
    trip = load_round_trip(text, display)
    doc = trip.document
    if not isinstance(doc, CommentedMap):
        raise OrgkitError(f"{display}: not a mapping")
    for policy in selection.policies:
        append(doc, "policies", _policy_node(policy))
    nodes: dict[str, CommentedMap] = {}

    def index(seq: Any, parent: str) -> None:
        for node in seq or ():
            if isinstance(node, CommentedMap) and isinstance(node.get("name"), str):
                path = f"{parent.rstrip('/')}/{node['name'].strip()}"
                nodes[path] = node
                index(node.get("children"), path)

    index(doc.get("ous"), ROOT_PATH)
    for ou in selection.ous:
        node = _ou_node(ou)
        parent = ou.path.rsplit("/", 1)[0] or ROOT_PATH
        if parent == ROOT_PATH:
            append(doc, "ous", node)
        else:
            append(nodes[parent], "children", node)
        nodes[ou.path] = node
    for account in selection.accounts:
        append(doc, "accounts", _account_node(account))
    accounts = {
        str(a.get("email", "")).lower(): a
        for a in doc.get("accounts") or ()
        if isinstance(a, CommentedMap)
    }
    for target, names in selection.attach_to_declared.items():
        if target == ROOT_PATH:
            holder = mapping_at(doc, "organization")
        elif target.startswith("/"):
            holder = nodes[target]
        else:
            holder = accounts[target]
        for name in names:
            append(holder, "policies", name)
    return trip.text()


# -- the service ----------------------------------------------------------------------------
def import_organization(
    config_path: Path,
    aws: AwsContext,
    *,
    out_dir: Path | None = None,
    force: bool = False,
    merge: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportResult:
    """``orgkit import``: read the organization (read-only) and write org.yaml and the policy
    files (``--merge``: add to the existing org.yaml), after checking that they load and that a
    plan of them against what was read has no changes."""
    if force and merge:
        raise OrgkitError(
            "--force and --merge do not go together",
            hint="--merge adds to org.yaml; --force replaces it and its policy files.",
        )
    target = (out_dir / config_path.name) if out_dir is not None else config_path
    base = target.parent
    existing: Config | None = None
    if merge:
        if not target.is_file():
            raise OrgkitError(
                f"{target}: no org.yaml to merge into",
                hint="Run `orgkit import` without --merge to write a new one.",
            )
        existing = load_config(target)
        if any(ou.renamed_from for _, ou, _ in existing.spec.walk_ous()):
            raise OrgkitError(
                f"{target} renames OUs (renamed_from): merging would guess at paths mid-rename",
                hint="Apply the renames (or drop renamed_from once done), then merge.",
            )
    elif target.exists() and not force:
        raise OrgkitError(
            f"{target} exists; orgkit import does not overwrite it",
            hint="--merge adds what is live but unmanaged to it; --force replaces it (and the "
            "policy files the import writes); --out-dir writes elsewhere.",
        )
    inventory = read_inventory(aws)
    live = inventory.live
    if existing is not None and (
        existing.spec.organization.management_account_id != live.management_account_id
    ):
        raise OrgkitError(
            f"{target} is for management account "
            f"{existing.spec.organization.management_account_id}, not "
            f"{live.management_account_id}",
            hint="Merge with the credentials of the organization org.yaml declares.",
        )
    declared = Declared.of(existing.spec) if existing is not None else Declared()
    if existing is not None:
        declared.files |= _on_disk(base)  # a merge adds files, never replaces one
    quotas = existing.spec.quotas if existing is not None else Quotas()
    now = now or datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="orgkit-import-") as scratch_name:
        scratch = Path(scratch_name)
        selection = select(inventory, declared, quotas, scratch / "check")
        selection.notes.append(Note("organization", "left out", NOT_IMPORTED))
        files = _files(inventory, selection, target, existing, now, force)
        # Nothing to add to an existing org.yaml: it stays as it is, untouched.
        config = _check(files, scratch / "out", base, existing) if files else existing
        if config is None:
            raise AssertionError("a fresh import always writes org.yaml")
    remaining = tuple(
        change
        for kind in IMPORTED_KINDS
        for change in REGISTRY[kind].plan(PlanContext(config, live, PlanOptions())).changes
    )
    if not dry_run:
        _write(files)
    counts = {
        "ous": len(selection.ous),
        "accounts": len(selection.accounts),
        "policies": len(selection.policies),
        "attachments": sum(len(o.policies) for o in selection.ous)
        + sum(len(a.policies) for a in selection.accounts)
        + sum(len(v) for v in selection.attach_to_declared.values()),
    }
    return ImportResult(
        config_path=target,
        organization_id=live.organization_id,
        files=tuple(files),
        notes=tuple(selection.notes),
        counts=counts,
        remaining=remaining,
        dry_run=dry_run,
        merge=merge,
    )


def _files(
    inventory: Inventory,
    selection: Selection,
    target: Path,
    existing: Config | None,
    now: datetime,
    force: bool,
) -> list[WrittenFile]:
    base = target.parent
    files: list[WrittenFile] = []
    if existing is not None:
        if selection.policies or selection.ous or selection.accounts:
            before = target.read_text(encoding="utf-8")
            text = merged_org_yaml(before, str(target), selection)
            files.append(WrittenFile(target, text, "update", before))
    else:
        name = _organization_name(inventory)
        text = fresh_org_yaml(inventory, selection, now, name)
        files.append(WrittenFile(target, text, "overwrite" if target.exists() else "create"))
        schema = base / "org.schema.json"
        if not schema.exists():
            files.append(
                WrittenFile(
                    schema, json.dumps(OrgSpec.model_json_schema(), indent=2) + "\n", "create"
                )
            )
    clashes = []
    for policy in selection.policies:
        path = base / policy.file
        if path.exists() and (existing is not None or not force):
            clashes.append(str(path))
        files.append(
            WrittenFile(
                path, policy_text(policy.document), "overwrite" if path.exists() else "create"
            )
        )
    if clashes:
        raise OrgkitError(
            f"policy files exist: {', '.join(clashes)}; orgkit import does not overwrite them",
            hint="--force replaces them (a new import only), or import into another folder "
            "(--out-dir).",
        )
    return files


def _organization_name(inventory: Inventory) -> str:
    live = inventory.live
    management = live.account_by_id.get(live.management_account_id)
    if management is not None and management.name.strip():
        return management.name.strip()
    return live.organization_id


def _check(files: list[WrittenFile], scratch: Path, base: Path, existing: Config | None) -> Config:
    """Load what would be written, as `orgkit validate` would (from a scratch copy: nothing is
    written before it loads)."""
    if existing is not None:
        # The folders of the files org.yaml already names (policy files, templates, what they
        # include) come along; nothing else of the repository.
        for folder in sorted(_named_folders(existing.spec)):
            source = base / folder
            if source.is_dir():
                shutil.copytree(source, scratch / folder, dirs_exist_ok=True)
            elif source.is_file():
                scratch.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, scratch / folder)
    for file in files:
        path = scratch / file.path.relative_to(base)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file.text, encoding="utf-8")
    config_path = scratch / files[0].path.relative_to(base)  # org.yaml comes first
    try:
        return load_config(config_path)
    except ConfigError as exc:
        lines = "\n".join(f"  {issue}" for issue in exc.issues)
        raise OrgkitError(
            f"the org.yaml the import made does not load; nothing was written:\n{lines}",
            hint="This is a bug in orgkit import; please report it with the lines above.",
        ) from None


def _named_folders(spec: OrgSpec) -> set[str]:
    """The top-level folder (or file) of every path org.yaml names."""
    named = [p.file for p in spec.policies] + [s.template for s in spec.stack_sets]
    if spec.stackset_roles is not None and spec.stackset_roles.execution_policy_file:
        named.append(spec.stackset_roles.execution_policy_file)
    return {Path(path).parts[0] for path in named if Path(path).parts}


def _on_disk(base: Path) -> set[str]:
    """Policy files already in scps/ and policies/ (relative to org.yaml's folder)."""
    return {
        str(path.relative_to(base))
        for folder in ("scps", "policies")
        if (base / folder).is_dir()
        for path in (base / folder).rglob("*")
    }


def _write(files: list[WrittenFile]) -> None:
    try:
        for file in files:
            file.path.parent.mkdir(parents=True, exist_ok=True)
            file.path.write_text(file.text, encoding="utf-8")
    except OSError as exc:
        raise OrgkitError(
            f"cannot write {exc.filename}: {exc.strerror or exc}",
            hint="Choose a folder you can write (--out-dir).",
        ) from None


__all__ = [
    "ENVIRONMENT_WORDS",
    "ImportResult",
    "Note",
    "environment_for",
    "import_organization",
    "select",
]
