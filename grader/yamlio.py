"""Safe YAML loading, with libyaml's C parser when PyYAML has it (5x faster: the bank is 40 files).

Bounded: a file over ``MAX_YAML_BYTES`` is not read, and a document whose aliases would expand to more than
``MAX_YAML_NODES`` nodes (a "billion laughs" bomb: nine levels of nine aliases fit in 3 KB) is refused before
it is built, so neither loading it nor an error message quoting it can exhaust memory.
"""
from __future__ import annotations

from typing import Any

#: The largest YAML file read (a rubric is a few kB).
MAX_YAML_BYTES = 2 * 1024 * 1024
#: The most nodes a document may hold once its aliases are expanded.
MAX_YAML_NODES = 200_000


def _expanded_size(root) -> int:
    """Nodes of the document with every alias expanded; stops counting past the limit. Iterative, memoised by
    node (an alias is the same node object), so a bomb is measured without being expanded."""
    import yaml

    sizes: dict[int, int] = {}
    stack = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            on_path.discard(key)
            sizes[key] = min(MAX_YAML_NODES + 1, 1 + sum(sizes.get(id(c), 0) for c in children))
            continue
        if key in on_path:  # a recursive alias: endless once expanded
            return MAX_YAML_NODES + 1
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes.get(id(root), 0)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` semantics (plain data, no tags that construct objects), on the fastest safe loader."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        # An alias is written "*name": a document without "*" has none, and its size is its length (the walk
        # costs a third of loading the bundled bank, which a cold grade pays).
        if "*" in text and _expanded_size(node) > MAX_YAML_NODES:
            raise yaml.YAMLError(f"its aliases expand to more than {MAX_YAML_NODES:,} values (an alias bomb?); "
                                 "write the values out instead")
        return loader.construct_document(node)
    finally:
        loader.dispose()
