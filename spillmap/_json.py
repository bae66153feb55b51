"""JSON as spillmap writes it: numbers at 10 significant digits, like the tables; NaN/inf as null.

Ten digits are far beyond any estimate's precision, and they make the same
seed give the same bytes where threads or libraries round the 16th digit
differently. NaN and infinity are not JSON, so they are written as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["SIGNIFICANT_DIGITS", "dumps", "plain"]

#: Significant digits of every number spillmap writes (tables use ``%.10g`` too).
SIGNIFICANT_DIGITS = 10


def plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays made Python, floats rounded to 10 significant digits, NaN → None."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:  # pandas NA and the like
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def dumps(obj: Any) -> str:
    """Indented UTF-8 JSON of ``obj`` with every number at 10 significant digits."""
    return json.dumps(plain(obj), ensure_ascii=False, indent=2, allow_nan=False)
