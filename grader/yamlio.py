"""Safe YAML loading, with libyaml's C parser when PyYAML has it (5x faster: the bank is 40 files)."""
from __future__ import annotations

from typing import Any


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` semantics (plain data, no tags that construct objects), on the fastest safe loader."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
