"""Results as text, for every command that prints or writes a table: `format_table` (table, csv or
json) and `csv_text`, the one CSV format of the figures' <id>.csv files and `gkt query --format csv`.
At the bottom of the package: the query, recommend and figures stages all print with it."""
from __future__ import annotations

import csv
import io

import numpy as np
import polars as pl


def _csv_column(s: pl.Series) -> list[str]:
    """The CSV cells of one column, as pandas' `to_csv` has always written them (the format of the
    figures' <id>.csv files and of `gkt query --format csv`): floats in numpy's shortest repr, NULL
    and NaN empty, booleans True/False, lists as numpy arrays print."""
    if s.dtype.is_float():
        values = s.to_numpy()
        cells = values.astype(str)
        cells[np.isnan(values)] = ""
        return cells.tolist()
    if isinstance(s.dtype, (pl.List, pl.Array)):
        return ["" if v is None else str(v.to_numpy()) for v in s]
    return ["" if v is None else str(v) for v in s.to_list()]


def csv_text(df: pl.DataFrame) -> str:
    """`df` as CSV text: a header line, then one line per row (see _csv_column for the cells)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(df.columns)
    writer.writerows(zip(*(_csv_column(s) for s in df.get_columns())))
    return buf.getvalue()


def _plain(value):
    """A JSON-ready value: NaN/inf become null, anything non-JSON its string."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def format_table(df, fmt: str) -> str:
    """The text of a result (a polars DataFrame) in `table`, `csv` or `json` format (NULL: empty in
    csv, null in json, NULL in table)."""
    import json

    if fmt == "csv":
        return csv_text(df)
    rows = df.rows()
    if fmt == "json":
        return json.dumps([_plain(dict(zip(df.columns, r))) for r in rows], indent=1) + "\n"
    from tabulate import tabulate

    if not df.width:
        return "(no result)\n"
    body = tabulate([list(r) for r in rows], headers=df.columns, tablefmt="simple", floatfmt=".6g", missingval="NULL")
    return f"{body}\n({len(rows)} row{'' if len(rows) == 1 else 's'})\n"
