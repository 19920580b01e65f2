"""Parsing YAML that someone else wrote (a contract, an inventory pulled from a store).

``yaml.safe_load`` already refuses ``!!python/...`` tags, but its composer recurses once per
level of nesting, so a megabyte of ``[`` ends in :class:`RecursionError` (a traceback, not an
error message), and aliases let a small file stand for a huge tree to whoever walks it.
:func:`compose_bounded` parses with the safe loader, refuses nesting deeper than ``max_depth``
and more than ``max_aliases`` aliases with a :class:`yaml.YAMLError` that names the line, and
returns the node tree (for line numbers) and the data built from it in one pass.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent

#: Bound on nesting (mappings and sequences inside each other).
MAX_DEPTH = 64
#: Bound on ``*alias`` references in one document.
MAX_ALIASES = 1000


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, text: str, max_depth: int, max_aliases: int) -> None:
        super().__init__(text)
        self.max_depth, self.max_aliases = max_depth, max_aliases
        self.depth = self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                raise ComposerError(None, None, f"more than {self.max_aliases} aliases", mark)
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise ComposerError(None, None, f"nested deeper than {self.max_depth} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose_bounded(
    text: str, *, max_depth: int = MAX_DEPTH, max_aliases: int = MAX_ALIASES
) -> tuple[yaml.Node | None, Any]:
    """The node tree and the data of the single YAML document ``text`` (None, None when it is
    empty); :class:`yaml.YAMLError` when it is not YAML, or nests or aliases past the bounds."""
    loader = _BoundedLoader(text, max_depth, max_aliases)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise yaml.YAMLError(f"nested deeper than {max_depth} levels") from None
    finally:
        loader.dispose()
    return node, data


__all__ = ["MAX_ALIASES", "MAX_DEPTH", "compose_bounded"]
