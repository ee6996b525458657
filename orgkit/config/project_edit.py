"""Add a project to org.yaml in place: the edit ``orgkit project add`` makes.

The file is people's: its comments, order, quoting and spacing are kept byte for byte. ruamel.yaml
(round-trip) reads where every list and entry sits and emits the new entries in the file's
indentation; the new lines are then inserted as text after the last entry of each list (an
account after the last account of its OU), so nothing outside the added lines changes. The
result is checked twice before it is written: parsed, it must be the old document plus exactly
the new entries, and it must load and validate with orgkit's own loader. It is written through
a temporary file in the same folder, renamed over org.yaml; on any error org.yaml is untouched.
"""

from __future__ import annotations

import copy
import difflib
import io
import os
import re
import stat
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import EmailStr, TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from orgkit.config.models import Environment, OrgSpec
from orgkit.errors import ConfigError, ConfigIssue, OrgkitError

DEFAULT_ENVIRONMENTS = (Environment.DEV, Environment.STAGING, Environment.PROD)
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
# How an account of a project is named: "<display name> <word>" (the seed's "ThemisGuard
# Production").
ENVIRONMENT_WORDS = {
    Environment.DEV: "Development",
    Environment.STAGING: "Staging",
    Environment.PROD: "Production",
    Environment.SHARED: "Shared",
    Environment.SECURITY: "Security",
    Environment.SANDBOX: "Sandbox",
}
# Where an environment's accounts go when no project has one of that environment yet.
FALLBACK_OUS = {Environment.PROD: "/Production"}
FALLBACK_OU = "/Non-Production"
PLACEHOLDERS = ("{project}", "{env}")


@dataclass(frozen=True)
class ProjectRequest:
    """What ``orgkit project add`` was asked for."""

    name: str
    display_name: str | None = None
    environments: tuple[Environment, ...] = DEFAULT_ENVIRONMENTS
    owner: str | None = None
    github_repository: str | None = None
    budgets: dict[Environment, float] = field(default_factory=dict)
    email_pattern: str | None = None


@dataclass(frozen=True)
class NewAccount:
    """An account the edit declares."""

    name: str
    email: str
    ou: str
    environment: Environment
    budget: float | None  # the account's own amount (--budget); None: the environment's
    default_budget: float | None  # the environment's amount in budgets.amounts


@dataclass(frozen=True)
class ProjectEdit:
    """org.yaml before and after adding a project, and what the addition holds."""

    path: Path
    before: str
    after: str
    project: str
    display_name: str
    accounts: tuple[NewAccount, ...]
    deployment_role: str | None
    github_repository: str | None
    environments: tuple[Environment, ...]
    email_pattern: str
    stack_sets_joined: tuple[str, ...]  # stack sets whose targets.projects now list it
    stack_sets_reaching: tuple[str, ...]  # every stack set with instances in its accounts

    def diff(self) -> str:
        """The edit as a unified diff of org.yaml."""
        name = str(self.path)
        return "".join(
            difflib.unified_diff(
                _lines(self.before), _lines(self.after), fromfile=name, tofile=name + " (edited)"
            )
        )


# -- what to add ------------------------------------------------------------------------------
def derive_email_pattern(spec: OrgSpec) -> str | None:
    """The pattern the declared project accounts' emails follow, with ``{project}`` and ``{env}``
    (``themisguard-prod@x.com`` and ``aws+themisguard-prod@x.com`` give ``{project}-{env}@x.com``
    and ``aws+{project}-{env}@x.com``); None when no account shows one, or they disagree evenly.
    """
    found: Counter[str] = Counter()
    for account in spec.accounts:
        if account.project is None:
            continue
        local, _, domain = account.email.lower().rpartition("@")
        project, env = account.project.lower(), account.environment.value
        if local.count(project) != 1:
            continue
        parts = local.split(project)
        if sum(part.count(env) for part in parts) != 1:
            continue
        pattern = "{project}".join(part.replace(env, "{env}") for part in parts)
        found[f"{pattern}@{domain}"] += 1
    ranked = found.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def email_for(pattern: str, project: str, environment: Environment) -> str:
    """One account's email from the pattern."""
    return pattern.replace("{project}", project).replace("{env}", environment.value)


def check_email_pattern(pattern: str, environments: tuple[Environment, ...]) -> None:
    """An --email-pattern that can make the accounts' emails: one @, known placeholders only,
    and ``{env}`` when there is more than one environment."""
    bare = pattern
    for placeholder in PLACEHOLDERS:
        bare = bare.replace(placeholder, "")
    problem = None
    if "{" in bare or "}" in bare:
        problem = "only {project} and {env} can be filled in"
    elif pattern.count("@") != 1 or pattern.startswith("@") or pattern.endswith("@"):
        problem = "it must be an email address, e.g. aws+{project}-{env}@example.com"
    elif len(environments) > 1 and "{env}" not in pattern:
        problem = "it needs {env}: each environment's account has its own email"
    if problem:
        raise OrgkitError(
            f"--email-pattern {pattern!r}: {problem}",
            hint="e.g. --email-pattern 'aws+{project}-{env}@example.com'",
        )


def default_display_name(name: str) -> str:
    """``acme`` → ``Acme``, ``my-app`` → ``My App``."""
    return " ".join(word.capitalize() for word in name.split("-") if word)


def role_name_for(display_name: str) -> str:
    """The deployment role's name, as the seed's ``ThemisGuardDeploymentRole``."""
    stem = re.sub(r"[^A-Za-z0-9]", "", display_name)
    return f"{stem[:48]}DeploymentRole"


def ou_for(spec: OrgSpec, environment: Environment) -> str:
    """Where a new project account of ``environment`` goes: the OU the existing projects'
    accounts of that environment are in (the most common), else /Production for prod and
    /Non-Production for the others; refused when that OU is not declared."""
    used = Counter(
        a.ou
        for a in spec.accounts
        if a.project is not None and a.state == "active" and a.environment == environment
    )
    ou = used.most_common(1)[0][0] if used else FALLBACK_OUS.get(environment, FALLBACK_OU)
    declared = {path for path, o, _ in spec.walk_ous() if o.state == "present"} | {"/"}
    if ou not in declared:
        raise OrgkitError(
            f"no OU for the {environment.value} account: {ou} is not declared in org.yaml "
            "(and no project has a {environment.value} account elsewhere)",
            hint=f"Declare the OU {ou} under ous: (or add a project account of that "
            "environment by hand first), then run project add again.",
        )
    return ou


def _check_email(option: str, value: str) -> None:
    try:
        TypeAdapter(EmailStr).validate_python(value)
    except ValidationError:
        raise OrgkitError(f"{option} {value!r} is not an email address") from None


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def plan_addition(
    spec: OrgSpec, request: ProjectRequest
) -> tuple[dict[str, Any], list[NewAccount], list[dict[str, Any]], str]:
    """The project entry, the accounts (as NewAccount and as org.yaml entries) and the email
    pattern used; every refusal (bad name, duplicates, no pattern, no budget) raised here."""
    name = request.name
    if not PROJECT_NAME.match(name):
        raise OrgkitError(
            f"project name {name!r}: use 2 to 31 lowercase letters, digits and dashes, "
            "starting with a letter",
            hint="It prefixes the project's resources (tables, buckets, roles): e.g. acme.",
        )
    if not request.environments:
        raise OrgkitError("no environments given", hint="e.g. --environments dev,staging,prod")
    if len(set(request.environments)) != len(request.environments):
        raise OrgkitError("an environment is given twice in --environments")
    existing = spec.project(name) or next(
        (p for p in spec.projects if p.name.lower() == name.lower()), None
    )
    if existing is not None:
        raise OrgkitError(
            f"project {existing.name!r} is already declared in org.yaml",
            hint="`orgkit project list` shows the projects and their accounts.",
        )
    if request.owner is not None:
        _check_email("--owner", request.owner)
    display = (request.display_name or default_display_name(name)).strip()
    if not display:
        raise OrgkitError("--display-name is empty")

    for env in request.budgets:
        if env not in request.environments:
            raise OrgkitError(
                f"--budget {env.value}=...: {env.value} is not one of the project's "
                f"environments ({', '.join(e.value for e in request.environments)})"
            )
    budgets = spec.budgets
    if request.budgets and budgets is None:
        raise OrgkitError(
            "--budget given but org.yaml declares no budgets: section",
            hint="Declare budgets: (amounts per environment) first, or leave --budget out.",
        )
    if budgets is not None:
        for env in request.environments:
            if env not in request.budgets and env not in budgets.amounts:
                raise OrgkitError(
                    f"no budget for the {env.value} account: budgets.amounts has no "
                    f"{env.value} amount",
                    hint=f"Pass --budget {env.value}=AMOUNT, or add budgets.amounts.{env.value}.",
                )

    pattern = request.email_pattern or derive_email_pattern(spec)
    if pattern is None:
        raise OrgkitError(
            "cannot tell how project accounts' emails are made: no declared project account "
            "shows a pattern",
            hint="Pass --email-pattern, e.g. --email-pattern 'aws+{project}-{env}@example.com'.",
        )
    check_email_pattern(pattern, request.environments)

    accounts: list[NewAccount] = []
    entries: list[dict[str, Any]] = []
    emails = {a.email.lower(): a for a in spec.accounts}
    names = {a.name: a for a in spec.accounts}
    for env in request.environments:
        account = NewAccount(
            name=f"{display} {ENVIRONMENT_WORDS[env]}",
            email=email_for(pattern, name, env),
            ou=ou_for(spec, env),
            environment=env,
            budget=request.budgets.get(env),
            default_budget=budgets.amounts.get(env) if budgets is not None else None,
        )
        taken = emails.get(account.email.lower())
        if taken is not None:
            raise OrgkitError(
                f"account email {account.email} is already declared in org.yaml "
                f"(account {taken.name!r})",
                hint="Pass another --email-pattern, or a project name not in use.",
            )
        if account.name in names:
            raise OrgkitError(
                f"account name {account.name!r} is already declared in org.yaml "
                f"({names[account.name].email})",
                hint="Pass another --display-name.",
            )
        accounts.append(account)
        entry: dict[str, Any] = {
            "name": account.name,
            "email": account.email,
            "ou": account.ou,
            "environment": env.value,
            "project": name,
        }
        if account.budget is not None:
            entry["budget"] = _number(account.budget)
        if request.owner:
            entry["tags"] = {"Owner": request.owner}
        entries.append(entry)

    project: dict[str, Any] = {"name": name, "display_name": display}
    if request.github_repository is not None:
        if not GITHUB_REPOSITORY.match(request.github_repository):
            raise OrgkitError(
                f"--github-repo {request.github_repository!r}: give it as owner/name",
                hint="e.g. --github-repo delatsi-llc/acme",
            )
        project["deployment_role"] = {
            "name": role_name_for(display),
            "trust": {
                "github": {
                    "repository": request.github_repository,
                    "branches": ["main"],
                    "environments": [e.value for e in request.environments],
                }
            },
        }
    return project, accounts, entries, pattern


def generic_project_stack_sets(spec: OrgSpec) -> list[int]:
    """Indexes of the stack sets a new project joins: those that target projects by a
    ``targets.projects`` list without being one project's own (no ``project:``)."""
    return [
        index
        for index, s in enumerate(spec.stack_sets)
        if s.state == "present" and s.project is None and s.targets.projects
    ]


# -- the text edit ----------------------------------------------------------------------------
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_filler(line: str) -> bool:
    """A blank line or a comment line."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


@dataclass
class _Layout:
    """How the file is indented: a mapping's children, a sequence's entries."""

    mapping: int = 2
    sequence: int = 2  # from an entry's dash to its content


class _Editor:
    """Insertions (line index → text) into the original lines, and one-line replacements."""

    def __init__(self, text: str) -> None:
        self.lines = _lines(text)
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.inserts: dict[int, list[str]] = {}
        self.replaced: dict[int, str] = {}

    def insert_after(self, line: int, block: list[str]) -> None:
        """Insert ``block`` (lines without line ends) after 0-based ``line`` (-1: at the top)."""
        self.inserts.setdefault(line, []).extend(block)

    def text(self) -> str:
        out: list[str] = []
        for index in range(-1, len(self.lines)):
            if index >= 0:
                line = self.replaced.get(index, self.lines[index])
                if index in self.inserts and not line.endswith(("\n", "\r")):
                    line += self.newline
                out.append(line)
            out.extend(f"{added}{self.newline}" for added in self.inserts.get(index, []))
        return "".join(out)

    def entry_end(self, start: int, dash: int, next_start: int | None) -> int:
        """The last line of the sequence entry whose dash (at column ``dash``) is on line
        ``start``: up to the next entry or the first line less indented, less the blank lines
        and outer comments that lead into what follows."""
        end = start
        limit = next_start if next_start is not None else len(self.lines)
        for index in range(start + 1, limit):
            line = self.lines[index]
            if not _is_filler(line) and _indent(line) <= dash:
                break
            end = index
        while end > start and (
            not self.lines[end].strip()
            or (self.lines[end].lstrip().startswith("#") and _indent(self.lines[end]) <= dash)
        ):
            end -= 1
        return end

    def dash_column(self, line: int, content_col: int) -> int:
        """The column of the ``-`` that opens the entry whose content starts at
        (``line``, ``content_col``)."""
        head = self.lines[line][:content_col].rstrip()
        if not head.endswith("-"):
            raise OrgkitError(
                f"line {line + 1}: an entry laid out in a way project add does not edit "
                "(the dash and its content on different lines)",
                hint="Put each entry's first key on its dash's line, or add the project by hand.",
            )
        return len(head) - 1


def _emit(item: Any, layout: _Layout, dash: int) -> list[str]:
    """One sequence entry in the file's indentation, its dash at column ``dash``; lists of
    scalars in flow style, as the seed writes them."""
    out = YAML(typ="rt")
    out.indent(mapping=layout.mapping, sequence=layout.sequence, offset=0)
    out.width = 4096
    buffer = io.StringIO()
    out.dump([_commented(item)], buffer)
    return [" " * dash + line for line in buffer.getvalue().splitlines()]


def _commented(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = _commented(item)
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq([_commented(item) for item in value])
        if all(not isinstance(item, (dict, list)) for item in value):
            sequence.fa.set_flow_style()
        return sequence
    return value


class _Placer:
    """Places entries at the end of a top-level list (or of part of it) of the document."""

    def __init__(self, editor: _Editor, document: CommentedMap, layout: _Layout) -> None:
        self.editor = editor
        self.document = document
        self.layout = layout

    def entries(self, sequence: CommentedSeq) -> list[tuple[int, int]]:
        """(line, dash column) of each block entry."""
        return [
            (line, self.editor.dash_column(line, col))
            for line, col in (sequence.lc.item(i) for i in range(len(sequence)))
        ]

    def after_entry(self, sequence: CommentedSeq, index: int, items: list[Any]) -> None:
        """Insert ``items`` after entry ``index`` of the block ``sequence``."""
        spots = self.entries(sequence)
        start, dash = spots[index]
        following = spots[index + 1][0] if index + 1 < len(spots) else None
        end = self.editor.entry_end(start, dash, following)
        block = [line for item in items for line in _emit(item, self.layout, dash)]
        self.editor.insert_after(end, block)

    def append(self, key: str, items: list[Any]) -> None:
        """Append ``items`` to the top-level list ``key`` (made when it is missing or empty)."""
        value = self.document.get(key)
        if isinstance(value, CommentedSeq) and value:
            if value.fa.flow_style():
                raise OrgkitError(
                    f"{key}: is written in flow style ([...]); project add edits block lists",
                    hint=f"Write {key}: as a block list (one '- ' entry a line), or add the "
                    "project by hand.",
                )
            self.after_entry(value, len(value) - 1, items)
            return
        dash = self.layout.mapping
        block = [line for item in items for line in _emit(item, self.layout, dash)]
        if key not in self.document:
            last = len(self.editor.lines) - 1
            while last >= 0 and _is_filler(self.editor.lines[last]):
                last -= 1
            self.editor.insert_after(last, [f"{key}:", *block])
            return
        line = self.document.lc.key(key)[0]
        text = self.editor.lines[line]
        body = text.rstrip("\r\n")
        match = re.match(rf"^{re.escape(key)}:\s*(\[\s*\])?\s*(#.*)?$", body)
        if match is None:
            raise OrgkitError(
                f"line {line + 1}: {key}: is laid out in a way project add does not edit",
                hint=f"Write {key}: as a block list, or add the project by hand.",
            )
        if match.group(1):  # `key: []`: the list becomes a block list
            comment = f"  {match.group(2)}" if match.group(2) else ""
            self.editor.replaced[line] = f"{key}:{comment}{text[len(body) :]}"
        self.editor.insert_after(line, block)


def build_text(
    text: str,
    spec: OrgSpec,
    project: dict[str, Any],
    accounts: list[NewAccount],
    entries: list[dict[str, Any]],
) -> tuple[str, list[str]]:
    """org.yaml's text with the project, its accounts and its name in the generic stack sets'
    targets; and the names of those stack sets."""
    reader = YAML(typ="rt")
    try:
        document = reader.load(text)
    except YAMLError as exc:  # the loader accepted it: a difference between the two parsers
        raise OrgkitError(f"cannot edit org.yaml: ruamel.yaml cannot read it ({exc})") from None
    if not isinstance(document, CommentedMap):
        raise OrgkitError("cannot edit org.yaml: it is not a mapping")
    editor = _Editor(text)
    layout = _Layout()
    placer = _Placer(editor, document, layout)
    _measure(placer, document)

    placer.append("projects", [project])

    raw_accounts = document.get("accounts")
    by_spot: dict[int, list[dict[str, Any]]] = {}
    tail: list[dict[str, Any]] = []
    for account, entry in zip(accounts, entries, strict=True):
        same_ou = [i for i, a in enumerate(spec.accounts) if a.ou == account.ou]
        if same_ou and isinstance(raw_accounts, CommentedSeq) and not raw_accounts.fa.flow_style():
            by_spot.setdefault(same_ou[-1], []).append(entry)
        else:
            tail.append(entry)
    for index, items in sorted(by_spot.items()):
        placer.after_entry(raw_accounts, index, items)  # type: ignore[arg-type]
    if tail:
        placer.append("accounts", tail)

    joined = []
    for index in generic_project_stack_sets(spec):
        targets = document["stack_sets"][index]["targets"]
        _add_to_list(editor, targets, "projects", project["name"], layout)
        joined.append(spec.stack_sets[index].name)
    return editor.text(), joined


def _measure(placer: _Placer, document: CommentedMap) -> None:
    """Learn the file's indentation from what it already has."""
    for key in document:
        value = document[key]
        if isinstance(value, CommentedMap) and value:
            first = next(iter(value))
            placer.layout.mapping = value.lc.key(first)[1] - document.lc.key(key)[1]
            break
    for key in ("accounts", "projects", "policies", "stack_sets", "ous"):
        value = document.get(key)
        if isinstance(value, CommentedSeq) and value and not value.fa.flow_style():
            line, col = value.lc.item(0)
            placer.layout.sequence = col - placer.editor.dash_column(line, col)
            break


def _add_to_list(
    editor: _Editor, mapping: CommentedMap, key: str, value: str, layout: _Layout
) -> None:
    """Append a scalar to a list of scalars, in flow (on its line) or block style."""
    sequence = mapping[key]
    line, col = mapping.lc.value(key)
    if sequence.fa.flow_style():
        text = editor.lines[line]
        close = text.find("]", col)
        if close < 0:
            raise OrgkitError(
                f"line {line + 1}: a {key} list spread over lines; project add does not edit it",
                hint=f"Write it on one line, or add the project to {key} by hand.",
            )
        before = text[:close].rstrip()
        separator = "" if before.endswith("[") else ", "
        editor.replaced[line] = f"{before}{separator}{value}{text[close:]}"
        return
    last_line, last_col = sequence.lc.item(len(sequence) - 1)
    dash = editor.dash_column(last_line, last_col)
    editor.insert_after(last_line, [" " * dash + "-" + " " * (last_col - dash - 1) + value])


# -- check and write --------------------------------------------------------------------------
def expected_document(
    before: Any,
    spec: OrgSpec,
    project: dict[str, Any],
    accounts: list[NewAccount],
    entries: list[dict[str, Any]],
    joined: list[str],
) -> Any:
    """The old document (parsed) with the new entries where the text edit puts them."""
    data = copy.deepcopy(before)
    data["projects"] = [*(data.get("projects") or []), project]
    old = list(data.get("accounts") or [])
    after_index: dict[int, list[dict[str, Any]]] = {}
    tail = []
    for account, entry in zip(accounts, entries, strict=True):
        same_ou = [i for i, a in enumerate(spec.accounts) if a.ou == account.ou]
        if same_ou:
            after_index.setdefault(same_ou[-1], []).append(entry)
        else:
            tail.append(entry)
    merged = []
    for index, item in enumerate(old):
        merged.append(item)
        merged.extend(after_index.get(index, []))
    data["accounts"] = merged + tail
    for stack_set in data.get("stack_sets") or []:
        if stack_set.get("name") in joined:
            stack_set["targets"]["projects"].append(project["name"])
    return data


def _located(error: ConfigError, temp: Path, path: Path) -> OrgkitError:
    issues = [
        ConfigIssue(
            f"{path} (as edited)" if issue.file == str(temp) else issue.file,
            issue.line,
            issue.field,
            issue.message,
        )
        for issue in error.issues
    ]
    lines = "\n".join(f"  {issue}" for issue in issues)
    return OrgkitError(
        f"the edited org.yaml would not be valid, so it was not written:\n{lines}",
        hint="Check the options given (--dry-run shows the edit); org.yaml is unchanged.",
    )


def write_checked(
    path: Path, before: str, after: str, validate: Callable[[Path], None], *, write: bool
) -> None:
    """Write ``after`` to a temporary file beside ``path``, ``validate`` it there, then rename
    it over ``path`` (when ``write``); ``path`` is untouched on any error or without ``write``."""
    folder = path.parent
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OrgkitError(
            f"cannot write beside {path}: {exc.strerror or exc}",
            hint="project add needs to write a temporary file in org.yaml's folder.",
        ) from None
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(after.encode("utf-8"))
        os.chmod(temp, stat.S_IMODE(path.stat().st_mode))
        try:
            validate(temp)
        except ConfigError as exc:
            raise _located(exc, temp, path) from None
        if not write:
            return
        if path.read_bytes().decode("utf-8") != before:
            raise OrgkitError(
                f"{path} changed while the project was being added; it was left as it is",
                hint="Run project add again.",
            )
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def edit_project_add(
    path: Path,
    spec: OrgSpec,
    request: ProjectRequest,
    validate: Callable[[Path], OrgSpec],
    *,
    write: bool,
) -> ProjectEdit:
    """Add ``request``'s project to the org.yaml at ``path`` (whose loaded spec is ``spec``):
    check, edit as text, check the result parses to the old document plus the new entries and
    that ``validate`` (orgkit's loader) accepts it, then write it (when ``write``)."""
    if path.is_symlink():
        raise OrgkitError(
            f"{path} is a symbolic link; project add edits the file itself",
            hint=f"Run it with --config {path.resolve()}.",
        )
    before = path.read_bytes().decode("utf-8")
    project, accounts, entries, pattern = plan_addition(spec, request)
    after, joined = build_text(before, spec, project, accounts, entries)
    wanted = expected_document(yaml.safe_load(before), spec, project, accounts, entries, joined)
    if yaml.safe_load(after) != wanted:
        raise OrgkitError(
            "could not place the project's entries in org.yaml without changing its meaning; "
            "nothing was written (this is a bug in orgkit: please report it with org.yaml's "
            "layout)",
            hint="Add the project by hand meanwhile (docs/onboarding.md shows the entries).",
        )
    new_spec: list[OrgSpec] = []
    write_checked(path, before, after, lambda temp: new_spec.append(validate(temp)), write=write)
    reaching = _stack_sets_reaching(new_spec[0], request.name)
    role = project.get("deployment_role", {}).get("name")
    return ProjectEdit(
        path=path,
        before=before,
        after=after,
        project=request.name,
        display_name=project["display_name"],
        accounts=tuple(accounts),
        deployment_role=role,
        github_repository=request.github_repository,
        environments=request.environments,
        email_pattern=pattern,
        stack_sets_joined=tuple(joined),
        stack_sets_reaching=reaching,
    )


def _stack_sets_reaching(spec: OrgSpec, project: str) -> tuple[str, ...]:
    from orgkit.config.stacksets import resolve_targets

    return tuple(
        s.name
        for s in spec.stack_sets
        if s.state == "present" and any(a.project == project for a in resolve_targets(spec, s))
    )
