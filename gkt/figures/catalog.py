"""Every registered figure and table (plots.py and tables.py, imported here so that they register), looked
up by id, and rendered: `render(spec, con, out_dir)` runs a figure's SQL on the results database
(gkt.figures.registry.query) and writes its files."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from gkt.errors import GktError
from gkt.figures import plots, tables  # noqa: F401  (registering)
from gkt.figures.registry import Context, FigureSkipped, FigureSpec, Result, _registry, check_needs, query

log = logging.getLogger(__name__)


def _order(fid: str) -> tuple:
    m = re.fullmatch(r"(fig|tab)(\d+)(\w*)", fid)
    if m is None:  # gkt's own figures and tables (beyond the paper) come after the paper's, by name
        return (2, 0, fid)
    kind, num, sub = m.groups()
    return (int(kind != "fig"), int(num), sub)


def list_figures(kind: str | None = None) -> list[FigureSpec]:
    """All figures, then all tables, in the paper's numbering."""
    return [s for s in sorted(_registry.values(), key=lambda s: _order(s.id)) if kind in (None, s.kind)]


def resolve_id(text: str) -> str:
    """'1a', 'fig1a', 'Fig. 1a', 'figure 1a' -> 'fig1a'; 'tab1', 'Tab. 1', 'table1', 't1' -> 'tab1'."""
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
