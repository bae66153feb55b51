"""JSON as spillmap writes it: numbers at 10 significant digits, like the tables; NaN/inf as null.

Ten digits are far beyond any estimate's precision, and they make the same
seed give the same bytes where threads or libraries round the 16th digit
differently. NaN and infinity are not JSON, so they are written as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["SIGNIFICANT_DIGITS", "dumps", "plain", "round_frame"]

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


def round_frame(frame, digits: int = SIGNIFICANT_DIGITS):  # noqa: ANN001, ANN201 - DataFrame in, DataFrame out
    """A copy of ``frame`` with every float column at ``digits`` significant digits (as the CSV writes them).

    Used for what is stored in binary form (Parquet, GIS layers), so that those
    hold the same numbers as the tables and the same bytes from run to run.
    """
    import numpy as np
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]) and not isinstance(out[col].dtype, pd.api.extensions.ExtensionDtype):
            values = out[col].to_numpy(dtype=float)
            out[col] = np.array([float(f"{v:.{digits}g}") if math.isfinite(v) else v for v in values])
    return out
