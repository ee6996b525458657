"""Round-trip editing of org.yaml with ruamel.yaml: add entries, keep everything else as it is.

``orgkit import --merge`` adds to a hand-written org.yaml; what was there (comments, order,
quoting, blank lines, indentation) must come out byte for byte. ruamel.yaml keeps comments and
formatting only with the indentation the file uses, so :func:`load_round_trip` finds the
settings under which the file round-trips exactly and refuses a file it cannot keep intact.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from orgkit.errors import OrgkitError

# (mapping, sequence, offset) indentations tried in turn: the seed's style first.
INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (2, 3, 1), (3, 3, 1))
WIDTH = 4096  # never fold a long line


def new_yaml(indent: tuple[int, int, int] = INDENTS[0]) -> YAML:
    """A round-trip YAML with orgkit's style (or ``indent``) and no line folding."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    mapping, sequence, offset = indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def dump(yaml: YAML, document: Any) -> str:
    """The document as text."""
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


@dataclass
class RoundTrip:
    """A YAML document loaded for editing, and how to write it back unchanged."""

    yaml: YAML
    document: Any

    def text(self) -> str:
        """The document, with whatever was added, as text."""
        return dump(self.yaml, self.document)


def load_round_trip(text: str, display: str) -> RoundTrip:
    """Load ``text`` so that writing it back unedited gives the same bytes; refuse otherwise."""
    for indent in INDENTS:
        yaml = new_yaml(indent)
        try:
            document = yaml.load(text)
        except YAMLError as exc:
            raise OrgkitError(
                f"{display}: cannot read it as YAML: {exc}".splitlines()[0],
                hint="Fix the file (orgkit validate says where), then merge again.",
            ) from None
        if dump(yaml, document) == text:
            return RoundTrip(yaml, document)
    raise OrgkitError(
        f"{display}: merging would reformat lines that it does not add (its indentation or "
        "line breaks are not ones the YAML round trip can keep)",
        hint="Indent mappings by 2 and list items by 4 with the dash at 2 (as the seed org.yaml "
        "does), or import into another folder (--out-dir) and copy entries over by hand.",
    )


def mapping_at(parent: CommentedMap, key: str) -> CommentedMap:
    """``parent[key]``, created as an empty mapping at the end if absent."""
    if parent.get(key) is None:
        parent[key] = CommentedMap()
    value = parent[key]
    if not isinstance(value, CommentedMap):
        raise OrgkitError(f"`{key}` is not a mapping in org.yaml")
    return value


def append(parent: CommentedMap, key: str, item: Any) -> None:
    """Append ``item`` to the list ``parent[key]`` (created at the end if absent).

    A comment or blank line after the list's last item stays after the list: ruamel keeps it
    on the last item, so it moves to the new one.
    """
    if parent.get(key) is None:
        if key in parent:
            del parent[key]
        parent[key] = CommentedSeq()
    seq = parent[key]
    if not isinstance(seq, CommentedSeq):
        raise OrgkitError(f"`{key}` is not a list in org.yaml")
    trailing = _take_trailing_comment(seq) if len(seq) else None
    seq.append(item)
    if trailing is not None:
        _put_trailing_comment(seq, trailing)


def _last_holder(node: Any) -> tuple[Any, Any] | None:
    """The (collection, key or index) whose comment slot holds what follows ``node``'s end."""
    if isinstance(node, CommentedMap) and len(node):
        key = list(node.keys())[-1]
        inner = _last_holder(node[key])
        return inner if inner is not None else (node, key)
    if isinstance(node, CommentedSeq) and len(node):
        index = len(node) - 1
        inner = _last_holder(node[index])
        return inner if inner is not None else (node, index)
    return None


def _take_trailing_comment(seq: CommentedSeq) -> Any:
    """Remove and return the comment after the list's last line (None if there is none)."""
    holder = _last_holder(seq)
    if holder is None:
        return None
    collection, key = holder
    slot = collection.ca.items.get(key)
    if not slot:
        return None
    # A mapping value's trailing comment is in slot 2, a list item's in slot 0.
    index = 2 if isinstance(collection, CommentedMap) else 0
    token = slot[index] if len(slot) > index else None
    if token is None:
        return None
    text = token.value
    newline = text.find("\n")
    if newline < 0 or not text[newline + 1 :]:
        return None  # only an end-of-line comment (or just its line break): it stays put
    token.value = text[: newline + 1]  # the end-of-line part stays with its line
    return text[newline + 1 :]


def _put_trailing_comment(seq: CommentedSeq, text: str) -> None:
    holder = _last_holder(seq)
    if holder is None:
        return
    collection, key = holder
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    index = 2 if isinstance(collection, CommentedMap) else 0
    slot = collection.ca.items.setdefault(key, [None, None, None, None])
    while len(slot) <= index:
        slot.append(None)
    existing = slot[index]
    if existing is not None:
        existing.value = existing.value + text
    else:
        slot[index] = CommentToken("\n" + text, CommentMark(0), None)
