"""The deployment role's trust, as org.yaml pins it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from orgkit.config.loader import load_config
from orgkit.config.roles import GITHUB_OIDC_HOST, wanted_roles

REPO = Path(__file__).resolve().parents[2]


def trust_of(tmp_path: Path, github: dict[str, Any], environment: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / "org.yaml").read_text())
    data["projects"][0]["deployment_role"]["trust"]["github"].update(github)
    (tmp_path / "org.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    for folder in ("scps", "policies", "templates"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    config = load_config(tmp_path / "org.yaml")
    for wanted in wanted_roles(config.spec, None, "123456789012", "o-abcdefghij", {}):
        account = wanted.account
        if (
            wanted.role.purpose == "deployment"
            and account
            and (account.environment.value == environment)
        ):
            return wanted.role.trust
    raise AssertionError("no deployment role")


def test_environment_accounts_trust_only_their_github_environment(tmp_path: Path) -> None:
    [statement] = trust_of(tmp_path, {}, "prod")["Statement"]
    assert statement["Condition"]["StringLike"] == {
        f"{GITHUB_OIDC_HOST}:sub": ["repo:delatsi-llc/themisguard:environment:prod"]
    }
    assert statement["Condition"]["StringEquals"] == {
        f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"
    }


def test_the_trust_can_be_pinned_to_a_workflow(tmp_path: Path) -> None:
    ref = "delatsi-llc/themisguard/.github/workflows/deploy.yml@refs/heads/main"
    [statement] = trust_of(tmp_path, {"job_workflow_refs": [ref]}, "prod")["Statement"]
    assert statement["Condition"]["StringLike"][f"{GITHUB_OIDC_HOST}:job_workflow_ref"] == [ref]
    assert statement["Condition"]["StringLike"][f"{GITHUB_OIDC_HOST}:sub"] == [
        "repo:delatsi-llc/themisguard:environment:prod"
    ]
