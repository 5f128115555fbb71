"""Registry of the paper's figures and tables (docs/method.md#figures-and-tables), shaped like timm's model registry:
render functions register themselves with `@register_figure(...)` (gkt/figures/plots.py, tables.py);
`list_figures()`, `get_figure(id)` and `resolve_id(text)` look them up; `render(spec, con, out_dir)`
runs a figure's SQL (gkt/sql/<id>.sql) on the results database and writes its files.

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
import logging
import re
import time
from importlib import resources
from pathlib import Path
from typing import Callable

from gkt.db.read import load_sql
from gkt.errors import GktError

log = logging.getLogger(__name__)

_registry: dict[str, "FigureSpec"] = {}
_loaded = False


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


def _load() -> None:
    global _loaded
    if not _loaded:
        from gkt.figures import plots, tables  # noqa: F401  (registering)

        _loaded = True


def _order(fid: str) -> tuple:
    import re

    m = re.fullmatch(r"(fig|tab)(\d+)(\w*)", fid)
    if m is None:  # gkt's own figures and tables (beyond the paper) come after the paper's, by name
        return (2, 0, fid)
    kind, num, sub = m.groups()
    return (int(kind != "fig"), int(num), sub)


def list_figures(kind: str | None = None) -> list[FigureSpec]:
    """All figures, then all tables, in the paper's numbering."""
    _load()
    return [s for s in sorted(_registry.values(), key=lambda s: _order(s.id)) if kind in (None, s.kind)]


def resolve_id(text: str) -> str:
    """'1a', 'fig1a', 'Fig. 1a', 'figure 1a' -> 'fig1a'; 'tab1', 'Tab. 1', 'table1', 't1' -> 'tab1'."""
    _load()
    if text.strip() in _registry:  # gkt's own ids (e.g. success) as they are
        return text.strip()
    t = text.strip().lower().replace(" ", "").replace(".", "").replace("_", "")
    for prefix, kind in (("figure", "fig"), ("fig", "fig"), ("table", "tab"), ("tab", "tab"), ("t", "tab"), ("f", "fig")):
        if t.startswith(prefix) and t[len(prefix):][:1].isdigit():
            fid = kind + t[len(prefix):]
            break
    else:
        fid = "fig" + t
    if fid not in _registry:
        known = ", ".join(s.id for s in list_figures())
        raise GktError(f"unknown figure or table {text!r} (gkt figures --only): choose from {known}")
    return fid


def get_figure(fid: str) -> FigureSpec:
    return _registry[resolve_id(fid)]


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
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {shared_queries()[name].strip().rstrip(';')}")
        except duckdb.Error as e:
            raise failed(f"shared/{name}.sql", e) from None
    try:
        df = frame(con, spec.sql)
    except duckdb.Error as e:
        raise failed(spec.sql_file, e) from None
    # DECIMAL columns (from SQL literals such as 2.0) as floats: render functions compute and format floats.
    return df.with_columns(cs.decimal().cast(pl.Float64))


def output_files(spec: FigureSpec, out_dir: Path) -> list[Path]:
    exts = (".png", ".pdf") if spec.kind == "figure" else (".md", ".csv")
    return [out_dir / f"{spec.id}{ext}" for ext in exts]


def render(spec: FigureSpec, con, out_dir: Path, ctx: Context) -> Result:
    """Render one figure or table into `out_dir`; a figure lacking its inputs is returned as skipped
    (its stale files removed), never raised."""
    from gkt.text import csv_text
    from gkt.figures import style
    from gkt.figures.html import table_html
    from gkt.io import atomic_path, write_text

    start = time.perf_counter()
    try:
        check_needs(spec, con)
        df = query(spec, con)
        if df.is_empty():
            raise FigureSkipped(f"{spec.name} {spec.empty or 'needs results its query finds none of'}")
        files = output_files(spec, out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        if spec.kind == "figure":
            with style.styled() as plt:
                fig = spec.render(df, ctx)
                try:
                    # A figure's layout may not foresee its rows (long model names, many models): keep every
                    # word of one that outgrows its canvas, and say where texts collide.
                    outside, overlapping = style.layout_problems(fig)
                    if outside:
                        log.warning("%s: %s reach outside the figure; saved with a tight bounding box", spec.id,
                                    "; ".join(outside))
                    if overlapping:
                        log.warning("%s: texts drawn on top of each other: %s", spec.id, "; ".join(overlapping))
                    for path in files:
                        with atomic_path(path) as tmp:
                            fig.savefig(tmp, format=path.suffix[1:], metadata=_metadata(path, spec),
                                        bbox_inches="tight" if outside else None)
                finally:
                    plt.close(fig)
            html = ""
        else:
            table = spec.render(df, ctx).fill_null("–")
            write_text(_markdown(spec, table), files[0])
            write_text(csv_text(df), files[1])
            html = table_html(table)
    except FigureSkipped as e:
        for path in output_files(spec, out_dir):
            path.unlink(missing_ok=True)  # an old rendering would contradict the index
        log.info("%s skipped: %s", spec.id, e)
        return Result(spec, "skipped", str(e), seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    log.info("%s rendered from %d rows in %.2f s: %s", spec.id, len(df), seconds, ", ".join(p.name for p in files))
    return Result(spec, "rendered", files=files, seconds=seconds, rows=len(df), table_html=html,
                  caption=spec.caption_for(df))


def _metadata(path: Path, spec: FigureSpec) -> dict:
    title = f"{spec.label}: {spec.title}"
    if path.suffix == ".pdf":
        return {"Title": title, "Creator": "gkt figures"}
    return {"Title": title, "Software": "gkt figures"}


def _markdown(spec: FigureSpec, table) -> str:
    from tabulate import tabulate

    body = tabulate(table.rows(), headers=table.columns, tablefmt="pipe", disable_numparse=True)
    return f"**{spec.label}: {spec.title}.** {spec.caption}\n\n{body}\n"
