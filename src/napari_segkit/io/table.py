"""Tables of results as CSV files that spreadsheets and pandas open."""

from __future__ import annotations

import csv
from pathlib import Path

from ._atomic import atomic_path


def write_csv(path, rows: list[dict], *, overwrite: bool = True) -> Path:
    """Write ``rows`` (dicts; columns in order of first appearance) to ``path`` atomically.

    Tuples (e.g. centroids) are written as space-separated numbers.
    """
    path = Path(path)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return path


def _cell(value):
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return value
