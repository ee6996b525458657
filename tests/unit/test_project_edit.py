"""`orgkit project add`'s edit of org.yaml: comments and layout kept byte for byte, refusals
leave the file untouched, emails follow the organization's pattern, --dry-run writes nothing."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from orgkit.config import load_config
from orgkit.config.models import Environment, OrgSpec
from orgkit.config.project_edit import (
    ProjectEdit,
    ProjectRequest,
    derive_email_pattern,
    ou_for,
)
from orgkit.errors import OrgkitError
from orgkit.projects import add_project

MINIMAL = """\
# A small organization.
version: 1
organization:
  name: Example   # people's name for it
  management_account_id: "123456789012"

ous:
  - name: Production
  - name: Non-Production

# Projects below.
projects:
  - name: shop
    display_name: Shop

accounts:
  # prod
  - name: Shop Production
    email: aws+shop-prod@example.com
    ou: /Production
    environment: prod
    project: shop

  # the rest
  - name: Shop Development
    email: aws+shop-dev@example.com
    ou: /Non-Production
    environment: dev
    project: shop
# trailing comment
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "org.yaml"
    path.write_bytes(text.encode())
    return path


def _spec(data: dict[str, object]) -> OrgSpec:
    base: dict[str, object] = {
        "organization": {"name": "x", "management_account_id": "123456789012"},
        "ous": [{"name": "Production"}, {"name": "Non-Production"}],
        "projects": [{"name": "shop"}],
    }
    return OrgSpec.model_validate({**base, **data})


def _only_insertions(before: bytes, after: bytes) -> list[bytes]:
    """The lines ``after`` adds to ``before``; fails if any line of ``before`` changed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added: list[bytes] = []
    kept: list[bytes] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        assert tag in ("equal", "insert"), (tag, old[i1:i2], new[j1:j2])
        (added if tag == "insert" else kept).extend(new[j1:j2])
    assert b"".join(kept) == before  # what is not added is the original, byte for byte
    return added


def _folder_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# -- the seed ---------------------------------------------------------------------------------
def test_seed_keeps_every_byte_outside_the_added_lines(seed_dir: Path) -> None:
    path = seed_dir / "org.yaml"
    before = path.read_bytes()
    edit = add_project(
        path,
        ProjectRequest("acme", github_repository="delatsi-llc/acme", owner="cto@acme.example"),
        dry_run=False,
    )
    after = path.read_bytes()
    added = _only_insertions(before, after)
    assert len(added) == 9 + 3 * 7  # the project; three accounts with their Owner tag
    assert edit.after == after.decode()
    spec = load_config(path).spec
    acme = [a for a in spec.accounts if a.project == "acme"]
    assert {(a.name, a.email, a.ou, a.environment.value) for a in acme} == {
        ("Acme Development", "acme-dev@delatsi-llc.com", "/Non-Production", "dev"),
        ("Acme Staging", "acme-staging@delatsi-llc.com", "/Non-Production", "staging"),
        ("Acme Production", "acme-prod@delatsi-llc.com", "/Production", "prod"),
    }
    assert all(a.tags == {"Owner": "cto@acme.example"} and a.budget is None for a in acme)
    project = spec.project("acme")
    assert project is not None and project.deployment_role is not None
    assert project.deployment_role.name == "AcmeDeploymentRole"
    github = project.deployment_role.trust.github
    assert github is not None and github.repository == "delatsi-llc/acme"
    assert github.environments == ["dev", "staging", "prod"]
    # ThemisGuard's own platform stack set is not the new project's; security-baseline (every
    # account, by OU) reaches its accounts.
    platform = next(s for s in spec.stack_sets if s.name == "themisguard-platform")
    assert platform.targets.projects == ["themisguard"]
    assert edit.stack_sets_joined == ()
    assert edit.stack_sets_reaching == ("security-baseline",)


def test_accounts_go_after_the_last_account_of_their_ou(seed_dir: Path) -> None:
    path = seed_dir / "org.yaml"
    add_project(path, ProjectRequest("acme"), dry_run=False)
    names = [a["name"] for a in yaml.safe_load(path.read_text())["accounts"]]
    assert names.index("Acme Production") == names.index("Shared Services Production") + 1
    assert names[names.index("Shared Services Dev") + 1 :][:2] == [
        "Acme Development",
        "Acme Staging",
    ]


def test_no_github_repo_no_deployment_role_and_budget_override(seed_dir: Path) -> None:
    path = seed_dir / "org.yaml"
    edit = add_project(path, ProjectRequest("acme", budgets={Environment.PROD: 800}), dry_run=False)
    spec = load_config(path).spec
    project = spec.project("acme")
    assert project is not None and project.deployment_role is None
    assert edit.deployment_role is None
    budgets = {a.environment.value: a.budget for a in spec.accounts if a.project == "acme"}
    assert budgets == {"dev": None, "staging": None, "prod": 800}
    assert "    budget: 800\n" in path.read_text()  # an int, as written by people


def test_dry_run_writes_nothing_and_shows_the_diff(seed_dir: Path) -> None:
    path = seed_dir / "org.yaml"
    before, files = path.read_bytes(), _folder_files(seed_dir)
    edit = add_project(path, ProjectRequest("acme"), dry_run=True)
    assert path.read_bytes() == before
    assert _folder_files(seed_dir) == files  # no temporary file left behind
    diff = edit.diff()
    assert "+  - name: Acme Production\n" in diff
    assert "+    email: acme-dev@delatsi-llc.com\n" in diff
    assert not [line for line in diff.splitlines() if line.startswith("-") and line[:3] != "---"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ProjectRequest("themisguard"), "project 'themisguard' is already declared"),
        (
            ProjectRequest("tg", email_pattern="themisguard-{env}@delatsi-llc.com"),
            "account email themisguard-dev@delatsi-llc.com is already declared",
        ),
        (
            ProjectRequest("tg", display_name="ThemisGuard"),
            "account name 'ThemisGuard Development' is already declared",
        ),
        (ProjectRequest("Acme"), "project name 'Acme'"),
        (
            ProjectRequest("acme", budgets={Environment.SANDBOX: 5}),
            "sandbox is not one of the project's environments",
        ),
        (ProjectRequest("acme", github_repository="acme"), "give it as owner/name"),
        (ProjectRequest("acme", email_pattern="acme@x.com"), "it needs {env}"),
        (ProjectRequest("acme", email_pattern="{name}-{env}@x.com"), "only {project} and {env}"),
        (ProjectRequest("acme", owner="not-an-email"), "--owner 'not-an-email'"),
        (ProjectRequest("acme", display_name="X" * 60), "would not be valid"),
    ],
)
def test_refusals_leave_the_file_untouched(
    seed_dir: Path, request_: ProjectRequest, message: str
) -> None:
    path = seed_dir / "org.yaml"
    before, files = path.read_bytes(), _folder_files(seed_dir)
    with pytest.raises(OrgkitError, match=message.replace("{", r"\{").replace("}", r"\}")):
        add_project(path, request_, dry_run=False)
    assert path.read_bytes() == before
    assert _folder_files(seed_dir) == files


def test_invalid_result_names_the_file_and_line_as_edited(seed_dir: Path) -> None:
    path = seed_dir / "org.yaml"
    with pytest.raises(OrgkitError) as caught:
        add_project(path, ProjectRequest("acme", display_name="X" * 60), dry_run=False)
    assert f"{path} (as edited):" in caught.value.message
    assert "accounts[" in caught.value.message
    assert ".tmp" not in caught.value.message


def test_stack_sets_targeting_projects_generically_get_the_new_project(seed_dir: Path) -> None:
    path = seed_dir / "org.yaml"
    text = path.read_text()
    # security-baseline now targets the themisguard project's accounts (no `project:` of its own)
    text = text.replace("      ous: [/]\n", "      ous: [/]\n      projects: [themisguard]\n", 1)
    path.write_text(text)
    before = path.read_bytes()
    edit = add_project(path, ProjectRequest("acme"), dry_run=False)
    assert edit.stack_sets_joined == ("security-baseline",)
    after = path.read_text()
    assert "      projects: [themisguard, acme]\n" in after
    assert "      projects: [themisguard]\n" in after  # themisguard-platform: its own project
    changed = [
        line
        for line in difflib.unified_diff(before.decode().splitlines(), after.splitlines(), n=0)
        if line.startswith("-") and not line.startswith("---")
    ]
    assert changed == ["-      projects: [themisguard]"]


def test_block_style_projects_target_gets_a_new_line(seed_dir: Path) -> None:
    path = seed_dir / "org.yaml"
    text = path.read_text().replace(
        "      ous: [/]\n", "      ous: [/]\n      projects:\n        - themisguard  # CI\n", 1
    )
    path.write_text(text)
    add_project(path, ProjectRequest("acme"), dry_run=False)
    assert "        - themisguard  # CI\n        - acme\n" in path.read_text()


# -- other layouts ----------------------------------------------------------------------------
def test_plus_addressing_and_comments_of_a_small_file(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    edit = add_project(path, ProjectRequest("acme", display_name="ACME Corp"), dry_run=False)
    assert edit.email_pattern == "aws+{project}-{env}@example.com"
    after = path.read_bytes()
    _only_insertions(MINIMAL.encode(), after)
    text = after.decode()
    assert text.endswith("    project: acme\n# trailing comment\n")
    assert "    project: shop\n  - name: ACME Corp Production\n" in text
    assert "    project: acme\n\n  # the rest\n" in text
    assert (
        "    display_name: Shop\n  - name: acme\n    display_name: ACME Corp\n\naccounts:" in text
    )


def test_crlf_file_stays_crlf(tmp_path: Path) -> None:
    original = MINIMAL.replace("\n", "\r\n")
    path = _write(tmp_path, original)
    add_project(path, ProjectRequest("acme"), dry_run=False)
    after = path.read_bytes()
    assert b"\n" not in after.replace(b"\r\n", b"")
    _only_insertions(original.encode(), after)
    assert b"  - name: Acme Staging\r\n" in after


def test_other_indentation_is_followed(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - name:", "- name:").replace("    ", "  ")
    path = _write(tmp_path, text)
    add_project(path, ProjectRequest("acme"), dry_run=False)
    after = path.read_text()
    _only_insertions(text.encode(), after.encode())
    assert "\n- name: Acme Production\n  email: aws+acme-prod@example.com\n" in after


def test_no_projects_section_and_no_pattern_needs_email_pattern(tmp_path: Path) -> None:
    text = MINIMAL.split("# Projects below.")[0]
    path = _write(tmp_path, text)
    with pytest.raises(OrgkitError, match="cannot tell how project accounts' emails"):
        add_project(path, ProjectRequest("acme"), dry_run=False)
    assert path.read_text() == text
    edit = add_project(
        path, ProjectRequest("acme", email_pattern="ops+{project}.{env}@example.com"), dry_run=True
    )
    assert isinstance(edit, ProjectEdit)
    add_project(
        path,
        ProjectRequest("acme", email_pattern="ops+{project}.{env}@example.com"),
        dry_run=False,
    )
    spec = load_config(path).spec
    assert [a.email for a in spec.accounts] == [
        "ops+acme.dev@example.com",
        "ops+acme.staging@example.com",
        "ops+acme.prod@example.com",
    ]
    _only_insertions(text.encode(), path.read_bytes())


def test_empty_flow_list_becomes_a_block_list(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "projects:\n  - name: shop\n    display_name: Shop\n", "projects: []  # none yet\n"
    ).split("accounts:")[0]
    path = _write(tmp_path, text)
    add_project(path, ProjectRequest("acme", email_pattern="{project}-{env}@x.com"), dry_run=False)
    after = path.read_text()
    assert "projects:  # none yet\n  - name: acme\n" in after
    assert load_config(path).spec.project("acme") is not None


# -- derivations ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("emails", "pattern"),
    [
        ({"prod": "themisguard-prod@delatsi-llc.com"}, "{project}-{env}@delatsi-llc.com"),
        ({"prod": "aws+themisguard-prod@x.com"}, "aws+{project}-{env}@x.com"),
        ({"dev": "dev.themisguard@x.com"}, "{env}.{project}@x.com"),
        ({"prod": "THEMISGUARD-PROD@X.COM"}, "{project}-{env}@x.com"),
        ({"prod": "platform@x.com"}, None),  # no project name in it
        ({"prod": "themisguard@x.com"}, None),  # no environment in it
        ({"dev": "tg-dev@x.com", "prod": "themisguard-prod@x.com"}, "{project}-{env}@x.com"),
        ({"dev": "a-themisguard-dev@x.com", "prod": "b-themisguard-prod@y.com"}, None),
    ],
)
def test_email_pattern_from_the_project_accounts(
    emails: dict[str, str], pattern: str | None
) -> None:
    spec = _spec(
        {
            "projects": [{"name": "themisguard"}],
            "accounts": [
                {
                    "name": f"T {env}",
                    "email": email,
                    "ou": "/Production" if env == "prod" else "/Non-Production",
                    "environment": env,
                    "project": "themisguard",
                }
                for env, email in emails.items()
            ],
        }
    )
    assert derive_email_pattern(spec) == pattern


def test_project_name_holding_an_environment_word() -> None:
    spec = _spec(
        {
            "projects": [{"name": "devtools"}],
            "accounts": [
                {
                    "name": "D",
                    "email": "devtools-dev@x.com",
                    "ou": "/Non-Production",
                    "environment": "dev",
                    "project": "devtools",
                }
            ],
        }
    )
    assert derive_email_pattern(spec) == "{project}-{env}@x.com"


def test_ou_follows_the_projects_then_falls_back_then_refuses() -> None:
    spec = _spec(
        {
            "ous": [{"name": "Production"}, {"name": "Non-Production"}, {"name": "Dev"}],
            "accounts": [
                {
                    "name": "S",
                    "email": "s-dev@x.com",
                    "ou": "/Dev",
                    "environment": "dev",
                    "project": "shop",
                }
            ],
        }
    )
    assert ou_for(spec, Environment.DEV) == "/Dev"
    assert ou_for(spec, Environment.STAGING) == "/Non-Production"
    assert ou_for(spec, Environment.PROD) == "/Production"
    bare = _spec({"ous": [{"name": "Production"}]})
    with pytest.raises(OrgkitError, match="/Non-Production is not declared"):
        ou_for(bare, Environment.STAGING)
