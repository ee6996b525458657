"""Output in CI logs and pipes is not cut at rich's default 80 columns."""

from __future__ import annotations

import io

import pytest
from rich.text import Text
from rich.tree import Tree

from orgkit.cli import common


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_views_are_not_cut_at_80_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    captured = io.StringIO()
    monkeypatch.setattr(common.sys, "stdout", captured)
    policies = ", ".join(f"policy-number-{i}" for i in range(8))  # about 130 characters
    tree = Tree(Text(f"Root  [{policies}]"))
    tree.add("Security/")
    common.out().print(tree)
    assert f"[{policies}]" in captured.getvalue()


def test_a_terminal_or_columns_decides_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert common._width(Terminal()) is None  # rich measures the terminal
    assert common._width(io.StringIO()) == common.UNCUT_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert common._width(io.StringIO()) is None  # rich reads COLUMNS


def test_no_emoji_codes_in_what_orgkit_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """rich would turn ':secret:' in an ARN (or ':key:' in a name) into an emoji."""
    from orgkit.cli.common import err, info, out

    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:themisguard/prod/stripe-AbC"
    for console in (out(), err(), info()):
        console.print(f"--secret-id {arn} for Log :key: Archive")
    captured = capsys.readouterr()
    assert captured.out.count(arn) == 1 and captured.err.count(arn) == 2
    assert "㊙" not in captured.out + captured.err and "🔑" not in captured.out + captured.err
