"""Registry of the paper's figures and tables (docs/method.md#figures-and-tables), shaped like timm's model registry,
and a leaf like it: render functions register themselves with `@register_figure(...)` (gkt/figures/plots.py,
tables.py); gkt.figures.catalog imports them and looks them up (`list_figures()`, `get_figure(id)`,
`resolve_id(text)`), and `render(spec, con, out_dir)` runs a figure's SQL (gkt/sql/<id>.sql, `query` here)
on the results database and writes its files.

A query several figures share (Figs. 4b and 9 bin runs alike, Tables 4 and 9 compare multi-teacher
runs alike) is a file gkt/sql/shared/<name>.sql: a figure whose SQL names <name> reads it as a
temporary view of that name, created on the figure's connection before its query runs
(`FigureSpec.uses`); index.html shows it below the figure's own SQL.

Each entry knows the views (and the pipeline stage writing them) that its query needs: a figure
whose inputs are missing is skipped with the one-line reason
"figure 4a needs results of stage transfer (view transfer_final)".
"""
from __future__ import annotations

import dataclasses
import functools
import re
from importlib import resources
from pathlib import Path
from typing import Callable

from gkt.db.read import load_sql
from gkt.errors import GktError


_registry: dict[str, "FigureSpec"] = {}


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    id: str  # file stem: fig1a, tab1
    kind: str  # figure | table
    label: str  # "Fig. 1a", "Tab. 1"
    title: str
    caption: str  # what the figure shows, as a caption
    finding: str  # the paper's finding it tests
    needs: tuple[tuple[str, str], ...]  # (view, stage) that must hold rows
    render: Callable  # (polars DataFrame, Context) -> figure: matplotlib Figure; table: DataFrame of strings
    empty: str = ""  # why the query can return no rows ("needs runs of method kl_dp")
    condition: str | None = None  # SQL yielding one boolean: render only when true (Figs. 9, 10)
    condition_reason: str = ""

    @property
    def paper(self) -> bool:
        """True for the paper's figures and tables (fig<N>, tab<N>); gkt's own have other ids."""
        return re.fullmatch(r"(fig|tab)\d+\w*", self.id) is not None

    def caption_for(self, df=None) -> str:
        """The caption with each `{column}` filled from the first row of the query's result `df`, so that
        it names what the data says (Fig. 2b: its text encoder); without rows, the column is named."""
        def fill(m):
            return str(df[m.group(1)][0]) if df is not None and m.group(1) in df.columns else f"(column {m.group(1)})"

        return re.sub(r"\{(\w+)\}", fill, self.caption)

    @property
    def sql_file(self) -> str:
        return f"{self.id}.sql"

    @property
    def sql(self) -> str:
        return load_sql(self.sql_file)

    @property
    def uses(self) -> list[str]:
        """The shared queries (gkt/sql/shared/<name>.sql) that the figure's SQL reads."""
        code = re.sub(r"--[^\n]*", "", self.sql)
        return [name for name in shared_queries() if re.search(rf"\b{name}\b", code)]

    @property
    def name(self) -> str:
        """'figure 4a' / 'table 1': how messages name it."""
        return f"{self.kind} {self.id.removeprefix('fig').removeprefix('tab')}"


@dataclasses.dataclass
class Context:
    """What a render function may use besides its query's rows."""

    con: object  # the DuckDB connection (read-only)
    dataset: str
    info: dict


@dataclasses.dataclass
class Result:
    spec: FigureSpec
    status: str  # rendered | skipped
    reason: str = ""
    files: list[Path] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    rows: int = 0
    table_html: str = ""  # tables: the display table as HTML (index.html)
    caption: str = ""  # the caption filled from the rendered data (FigureSpec.caption_for)


class FigureSkipped(GktError):
    """The results lack what a figure needs; the message is the one-line reason."""


def register_figure(id: str, *, kind: str = "figure", label: str, title: str, caption: str, finding: str,
                    needs: list[tuple[str, str]], empty: str = "", condition: str | None = None,
                    condition_reason: str = ""):
    """Decorator registering a render function under `id` (the SQL file is gkt/sql/<id>.sql)."""

    def wrap(fn: Callable) -> Callable:
        if id in _registry:
            raise ValueError(f"figure id {id!r} registered twice")
        _registry[id] = FigureSpec(id, kind, label, title, caption, finding, tuple(needs), fn, empty, condition,
                                   condition_reason)
        return fn

    return wrap


@functools.cache
def shared_queries() -> dict[str, str]:
    """name -> SQL of the queries in gkt/sql/shared/ (each read as a temporary view <name>)."""
    folder = resources.files("gkt").joinpath("sql", "shared")
    return {f.name.removesuffix(".sql"): f.read_text() for f in sorted(folder.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".sql")}


def _rows(con, sql: str) -> int:
    (row,) = con.execute(sql).fetchall()
    return row[0]


def check_needs(spec: FigureSpec, con) -> None:
    """Raise FigureSkipped when a view the figure needs is missing or empty, or its condition fails."""
    import duckdb

    for view, stage in spec.needs:
        try:
            present = _rows(con, f"SELECT EXISTS (SELECT 1 FROM {view})")
        except duckdb.Error:
            present = False
        if not present:
            raise FigureSkipped(f"{spec.name} needs results of stage {stage} (view {view})")
    if spec.condition:
        try:
            ok = bool(_rows(con, spec.condition))
        except duckdb.Error:
            ok = False
        if not ok:
            raise FigureSkipped(f"{spec.name} {spec.condition_reason}")


def use_shared(con, name: str) -> None:
    """Make the shared query gkt/sql/shared/<name>.sql readable as the temporary view <name>."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {shared_queries()[name].strip().rstrip(';')}")


def query(spec: FigureSpec, con):
    """The figure's rows as a polars DataFrame (SQL errors become GktErrors naming the file)."""
    import duckdb
    import polars as pl
    import polars.selectors as cs

    from gkt.db.read import first_line, frame

    def failed(sql_file: str, e: Exception) -> GktError:
        return GktError(f"query gkt/sql/{sql_file} of {spec.name} failed: {first_line(e)}; "
                        f"rebuild the database with `gkt db`")

    for name in spec.uses:
        try:
            use_shared(con, name)
        except duckdb.Error as e:
            raise failed(f"shared/{name}.sql", e) from None
    try:
        df = frame(con, spec.sql)
    except duckdb.Error as e:
        raise failed(spec.sql_file, e) from None
    # DECIMAL columns (from SQL literals such as 2.0) as floats: render functions compute and format floats.
    return df.with_columns(cs.decimal().cast(pl.Float64))
