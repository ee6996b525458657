"""drift --json (format 3): a changed finding carries only what differs, down to the statement."""

from __future__ import annotations

from orgkit.changes import Finding

STATEMENT = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}
EXTRA = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def role_finding(fields: tuple[str, ...] | None) -> Finding:
    wanted = {
        "role_name": "Deploy",
        "trust": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "x"}}]},
        "permissions": {"Version": "2012-10-17", "Statement": [STATEMENT]},
        "oidc_provider": "token.actions.githubusercontent.com",
    }
    live = {
        "trust": wanted["trust"],
        "permissions": {"Version": "2012-10-17", "Statement": [STATEMENT, EXTRA]},
        "oidc_provider": True,  # another shape: the kind knows it is not a difference
        "differs": ["permissions"],
    }
    return Finding(
        'deployment_role["a@x" -> "Deploy"]',
        "deployment_role",
        "1",
        "changed",
        wanted,
        live,
        fields=fields,
    )


def test_a_changed_policy_shows_the_statement_that_differs_only() -> None:
    document = role_finding(("permissions",)).to_dict()
    assert document["differs"] == ["permissions"]
    assert document["expected"] == {"permissions": {"Statement": []}}
    assert document["actual"] == {"permissions": {"Statement": [EXTRA]}}


def test_whole_keeps_both_sides_as_they_are() -> None:
    finding = role_finding(("permissions",))
    document = finding.to_dict(whole=True)
    assert document["expected"] == finding.expected and document["actual"] == finding.actual


def test_without_the_kinds_word_fields_both_sides_have_are_compared() -> None:
    """No kind's list: the fields both sides have with different values; one-sided fields are
    context (here the live side's `differs`)."""
    assert role_finding(None).differs == ["permissions", "oidc_provider"]
    only_one_side = Finding("x", "account", None, "changed", {"ou": "/A"}, {"parent_id": "ou-1"})
    assert only_one_side.differs == ["ou", "parent_id"]  # nothing in common: all of it
