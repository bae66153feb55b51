"""Ids in messages: how error and warning texts list units, light enough for every room to import.

Only numpy is imported here: the models name units in their messages with
these helpers, and importing them must not load geopandas (as
:mod:`spillmap.gis._validate`, which re-exports them, does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_LISTED", "describe_groups", "format_ids"]

#: How many ids an error message lists before it says "and N more".
MAX_LISTED = 12


def format_ids(ids: Sequence[object], limit: int = MAX_LISTED) -> str:
    """Render ids for a message: ``'a', 'b', 'c' and 4 more``."""
    ids = list(ids)
    shown = ", ".join(repr(_plain(i)) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def describe_groups(groups: Sequence[tuple[Sequence[object], str]]) -> str:
    """``"2 unit(s) of the panel ...: 'a', 'b'; 1 id(s) ...: 'c'"`` for the non-empty groups.

    Each group is (ids, text); the text follows the count, e.g. ``"unit(s) of the layer"``.
    """
    return "; ".join(f"{len(ids)} {text}: {format_ids(ids)}" for ids, text in groups if len(ids))
