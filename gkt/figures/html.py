"""figures/<dataset>/index.html: every figure and table with its caption, the paper's finding it tests
and the SQL it came from. Plain HTML with relative links to the PNG/PDF/MD/CSV files beside it: it
opens from the file system, no server, no scripts, no network."""
from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

from gkt.figures.registry import shared_queries

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1000px;
       padding: 1.5em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin: 0 0 .3em; }
nav a { margin-right: .6em; white-space: nowrap; }
section { border-top: 1px solid #ddd; padding: 1.2em 0; }
.skipped h2 { color: #888; } .reason { color: #a33; font-family: ui-monospace, monospace; font-size: .9em; }
.finding { background: #f4f7fb; border-left: 3px solid #4C72B0; padding: .4em .8em; margin: .6em 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .85em; line-height: 1.35; }
table.gkt { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
table.gkt th, table.gkt td { border-bottom: 1px solid #ddd; padding: .25em .6em; text-align: right; }
table.gkt th:first-child, table.gkt td:first-child { text-align: left; }
.files a { margin-right: .8em; } .meta { color: #666; font-size: .9em; }
table.views td, table.views th { padding: .15em .6em; text-align: left; border-bottom: 1px solid #eee; font-size: .85em; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def table_html(table) -> str:
    """A display table (a polars DataFrame of strings) as an HTML table of class gkt."""
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>\n" for row in table.rows())
    return f'<table class="gkt">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>'


def _section(result) -> str:
    spec = result.spec
    parts = [f'<section id="{spec.id}" class="{result.status}">',
             f"<h2>{_e(spec.label)}: {_e(spec.title)}</h2>"]
    if result.status == "rendered":
        if spec.kind == "figure":
            png, pdf = (f"{spec.id}.png", f"{spec.id}.pdf")
            parts.append(f'<a href="{png}"><img src="{png}" alt="{_e(spec.label)}: {_e(spec.title)}"></a>')
            links = [png, pdf]
        else:
            parts.append(result.table_html)
            links = [f"{spec.id}.md", f"{spec.id}.csv"]
        parts.append(f"<p>{_e(result.caption or spec.caption_for())}</p>")
        parts.append('<p class="files">' + "".join(f'<a href="{f}">{f}</a>' for f in links)
                     + f'<span class="meta">{result.rows} rows, {result.seconds:.2f} s</span></p>')
    else:
        parts.append(f'<p class="reason">Skipped: {_e(result.reason)}</p>')
        parts.append(f"<p>{_e(result.caption or spec.caption_for())}</p>")
    parts.append(f'<p class="finding"><b>Paper\'s finding:</b> {_e(spec.finding)}</p>')
    files = [spec.sql_file] + [f"shared/{name}.sql" for name in spec.uses]
    shared = "".join(f"<p>{_e(name)}: gkt/sql/shared/{_e(name)}.sql, read by the query above as a view</p>"
                     f"<pre>{_e(shared_queries()[name].strip())}</pre>" for name in spec.uses)
    parts.append(f"<details><summary>SQL: {', '.join('gkt/sql/' + f for f in files)}</summary>"
                 f"<pre>{_e(spec.sql.strip())}</pre>{shared}</details>")
    parts.append("</section>")
    return "\n".join(parts)


def index_html(results: list, dataset: str, db: Path, info: dict, views: list[tuple], seconds: float) -> str:
    rendered = sum(r.status == "rendered" for r in results)
    nav = " ".join(f'<a href="#{r.spec.id}">{_e(r.spec.label)}{"" if r.status == "rendered" else " (skipped)"}</a>'
                   for r in results)
    view_rows = "".join(
        f"<tr><td>{_e(v)}</td><td>{_e(stage)}</td><td>{_e(source)}</td>"
        f"<td>{'' if files is None else ('empty' if files == 0 else f'{files} file(s)')}</td></tr>"
        for v, stage, source, files in views)
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gkt figures: {_e(dataset)}</title>
<style>{CSS}</style></head>
<body>
<h1>Fantastic Gains and Where to Find Them: figures and tables for <code>{_e(dataset)}</code></h1>
<p class="meta">Rendered {now} by <code>gkt figures</code> from <code>{_e(db)}</code>
(database built {_e(info.get('built_at', '?'))}) in {seconds:.1f} s: {rendered} of {len(results)} rendered.
Every figure and table below is the SQL query shown with it, run on that database, plus a plotting function
(<code>gkt/figures/plots.py</code>, <code>tables.py</code>). Re-render with
<code>gkt figures --db {_e(db)}</code>; explore with <code>gkt query "SQL" --db {_e(db)}</code>.
Tables: the <code>.md</code> file is the table shown, the <code>.csv</code> file the query's rows unrounded.
Units: accuracies and shares in %, differences in percentage points (pp).</p>
<p class="meta"><a href="findings.md">findings.md</a> (<a href="findings.csv">.csv</a>): each of the paper's findings
computed on these results, with its 95 % interval and the verdict of a stated rule.</p>
<nav>{nav}</nav>
{"".join(_section(r) for r in results)}
<section><h2>Database views</h2>
<table class="views"><tr><th>view</th><th>stage</th><th>source (relative to the database)</th><th>at build time</th></tr>
{view_rows}</table></section>
</body></html>
"""
