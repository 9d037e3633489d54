"""Numbers and values as short text for tables, chart labels and captions.

Every formatter accepts NaN, infinities, None and numpy scalars, because
metrics from a short demo run can be any of those (an empty class gives a NaN
precision) and the report must still be written.
"""

from __future__ import annotations

import json
import math

import numpy as np

# Metric-name words that read better as acronyms or symbols in a table.
_WORDS = {
    "auc": "AUC",
    "roc": "ROC",
    "swd": "SWD",
    "psnr": "PSNR",
    "ssim": "SSIM",
    "db": "(dB)",
    "f1": "F1",
    "i": "I",
    "ii": "II",
    "jpeg": "JPEG",
    "gpu": "GPU",
    "cpu": "CPU",
}


def plain(value: object) -> object:
    """`value` with numpy scalars turned into the Python ones they hold."""
    return value.item() if isinstance(value, np.generic) else value


def format_number(value: object, digits: int = 4) -> str:
    """A number with `digits` significant digits; 'NaN', '∞' and '−∞' for the others."""
    value = plain(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number != 0 and (abs(number) >= 10**digits * 10 or abs(number) < 1e-3):
        mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{number:.{digits}g}"


def format_seconds(value: object) -> str:
    """A duration such as '0.42 s', '12.3 s', '2 min 05 s' or '1 h 02 min'."""
    seconds = plain(value)
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(seconds):
        return format_number(seconds)
    if seconds < 10:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_value(value: object) -> str:
    """Any settings or metrics value as one line of text."""
    value = plain(value)
    if value is None or isinstance(value, (bool, int, float)):
        return format_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        # Nested settings (e.g. a model's overrides) read fine as compact JSON.
        return json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def humanize(key: str) -> str:
    """A metric key such as 'type_ii_error_rate' as 'Type II error rate'."""
    words = [_WORDS.get(word.lower(), word) for word in str(key).replace("-", "_").split("_") if word]
    if not words:
        return str(key)
    first = words[0]
    words[0] = first[:1].upper() + first[1:] if first not in _WORDS.values() else first
    return " ".join(words)
