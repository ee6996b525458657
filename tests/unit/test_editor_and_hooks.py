"""Editors and hooks: org.yaml names its schema, the committed schema is current, and the
pre-commit hooks run orgkit on the files that matter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from click.testing import CliRunner

from orgkit.cli.main import cli

REPO = Path(__file__).resolve().parents[2]


def test_org_yaml_names_the_schema_for_the_yaml_language_server() -> None:
    first = (REPO / "org.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./org.schema.json"


def test_the_committed_schema_is_what_orgkit_schema_prints() -> None:
    """Fails when a model changes and org.schema.json was not regenerated
    (`orgkit schema > org.schema.json`)."""
    printed = CliRunner().invoke(cli, ["schema"])
    assert printed.exit_code == 0
    committed = json.loads((REPO / "org.schema.json").read_text())
    assert json.loads(printed.output) == committed, "stale: orgkit schema > org.schema.json"
    assert "security" in committed["properties"] and "alerts" in committed["properties"]


def test_the_schema_flags_what_an_editor_should() -> None:
    """What the YAML language server does with the modeline, done with a JSON-schema validator
    (Draft 2020-12, as pydantic writes it): the seed passes; an unknown key, a misspelt one and a
    bad enum value are flagged where they are."""
    import jsonschema

    committed = json.loads((REPO / "org.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(committed)
    seed = yaml.safe_load((REPO / "org.yaml").read_text())
    assert list(validator.iter_errors(seed)) == []
    seed["accounts"][0]["enviroment"] = "security"
    seed["organization"]["colour"] = "blue"
    seed["accounts"][1]["environment"] = "production"
    flagged = {
        (tuple(error.absolute_path), error.validator) for error in validator.iter_errors(seed)
    }
    assert flagged == {
        (("accounts", 0), "additionalProperties"),
        (("organization",), "additionalProperties"),
        (("accounts", 1, "environment"), "enum"),
    }


def test_the_reference_page_is_what_orgkit_schema_markdown_prints() -> None:
    """Fails when a model changes and docs/org-yaml-reference.md was not regenerated
    (`orgkit schema --markdown > docs/org-yaml-reference.md`)."""
    printed = CliRunner().invoke(cli, ["schema", "--markdown"])
    assert printed.exit_code == 0
    page = (REPO / "docs" / "org-yaml-reference.md").read_text()
    assert printed.output == page, "stale: orgkit schema --markdown > docs/org-yaml-reference.md"
    # Every section of the schema, and every field of org.yaml's top level, is on the page.
    schema = json.loads((REPO / "org.schema.json").read_text())
    for name in schema["$defs"]:
        assert f"\n## {name}\n" in page
    for field in schema["properties"]:
        assert f"| `{field}` |" in page


def test_pre_commit_hooks_run_orgkit_on_its_files() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"orgkit-validate", "orgkit-schema"}
    validate = hooks["orgkit-validate"]
    assert validate["entry"] == "orgkit validate"
    assert (validate["language"], validate["pass_filenames"]) == ("python", False)
    files = re.compile(validate["files"])
    for path in (
        "org.yaml",
        "scps/deny-root-user.json",
        "policies/tagging.json.j2",
        "templates/log-archive.yaml.j2",
    ):
        assert files.search(path), path
    for path in ("README.md", "orgkit/cli/main.py", "docs/org-yaml.md"):
        assert not files.search(path), path
    assert "orgkit schema" in hooks["orgkit-schema"]["entry"]
