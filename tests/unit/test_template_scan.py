"""The rendered templates pass checkov, a CloudFormation security scanner no one here wrote:
every failed check is fixed, or skipped in the template with the reason beside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from orgkit import workflow

REPO = Path(__file__).resolve().parents[2]


def test_rendered_templates_pass_checkov(tmp_path: Path) -> None:
    written = workflow.render(REPO / "org.yaml", tmp_path, lint=False)
    assert len(written) == 4
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "checkov.main",
            "-d",
            str(tmp_path),
            "--framework",
            "cloudformation",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        (c["file_path"], c["resource"], c["check_id"], c["check_name"])
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert failed == []
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 20  # it really scanned the resources


def test_every_skip_says_why(tmp_path: Path) -> None:
    for path, _ in workflow.render(REPO / "org.yaml", tmp_path, lint=False):
        text = path.read_text()
        resources = yaml.load(text, Loader=_Loader)["Resources"]  # noqa: S506
        for name, resource in resources.items():
            for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
                assert len(skip.get("comment", "")) > 40, f"{path.name} {name} {skip}"


class _Loader(yaml.SafeLoader):
    """CloudFormation's short tags as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
