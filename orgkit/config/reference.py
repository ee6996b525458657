"""The org.yaml reference (docs/org-yaml-reference.md), written from the models' JSON schema:
the same source as `orgkit schema` and validation, so the page cannot say other than they do."""

from __future__ import annotations

import json
from typing import Any

from orgkit.config.models import OrgSpec

_ANCHOR_OF = "#/$defs/"


def _section_of(ref: str) -> str:
    return ref.removeprefix(_ANCHOR_OF)


def _type(prop: dict[str, Any]) -> str:
    """A field's type in a few words, with links to the sections of nested models."""
    if "$ref" in prop:
        name = _section_of(prop["$ref"])
        return f"[{name}](#{name.lower()})"
    if "anyOf" in prop:
        kinds = [_type(option) for option in prop["anyOf"] if option.get("type") != "null"]
        optional = any(option.get("type") == "null" for option in prop["anyOf"])
        return " or ".join(kinds) + (" or null" if optional else "")
    if "enum" in prop:
        return "one of " + ", ".join(f"`{value}`" for value in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object":
        values = prop.get("additionalProperties")
        if isinstance(values, dict):
            keys = prop.get("propertyNames", {})
            key = _type(keys) if "$ref" in keys or "enum" in keys else "string"
            return f"map of {key} to {_type(values)}"
        return "mapping"
    words = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
    text = words.get(str(kind), str(kind))
    if prop.get("pattern"):
        text += f" matching `{prop['pattern']}`"
    if prop.get("format"):
        text += f" ({prop['format']})"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" in prop:
        return f"`{json.dumps(prop['default'])}`"
    return ""


def _table(definition: dict[str, Any]) -> list[str]:
    required = set(definition.get("required", []))
    lines = ["| field | type | default | description |", "|---|---|---|---|"]
    for name, prop in definition.get("properties", {}).items():
        lines.append(
            f"| `{name}` | {_cell(_type(prop))} | {_cell(_default(prop, name in required))} "
            f"| {_cell(prop.get('description', ''))} |"
        )
    return lines


def reference_markdown() -> str:
    """The whole reference page."""
    schema = OrgSpec.model_json_schema()
    lines = [
        "# org.yaml reference",
        "",
        "<!-- Written by `orgkit schema --markdown` from the same models as `orgkit schema` and",
        "     `orgkit validate`; a test fails when this page is stale. Do not edit by hand. -->",
        "",
        "Every field org.yaml accepts, section by section; an unknown field is an error.",
        "What each section means and how orgkit uses it is in [org-yaml.md](org-yaml.md).",
        "",
        "## OrgSpec",
        "",
        schema.get("description", ""),
        "",
        *_table(schema),
    ]
    for name, definition in sorted(schema.get("$defs", {}).items()):
        lines += ["", f"## {name}", ""]
        if definition.get("description"):
            lines += [definition["description"], ""]
        if "properties" in definition:
            lines += _table(definition)
        elif "enum" in definition:
            lines.append("One of " + ", ".join(f"`{v}`" for v in definition["enum"]) + ".")
    return "\n".join(lines).rstrip() + "\n"
