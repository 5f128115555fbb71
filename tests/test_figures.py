"""Figures and tables (gkt.figures): every one renders from a database over results written by the
pipeline's own writers (tests/helpers.py: make_results); some queries are checked against numbers
computed directly from the fixture's files; missing results give one-line reasons.

Figures stay legible: `gkt figures` checks each figure before saving it (gkt.figures.style.layout_problems):
a text outside the canvas is a warning and the figure is saved with a tight bounding box, so nothing is cut;
texts drawn on top of each other are a warning. No figure of the fixture's results, nor of a zoo named with
timm's long pretrained tags, has either; a clipped and a crowded figure are caught; the zoo ρ_pos matrix of
300 models keeps readable labels; and index.html, opened in headless Chromium, shows every figure it links."""
from __future__ import annotations

import dataclasses
import html
import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

import tests.helpers
from gkt.errors import GktError
from tests.helpers import STUDENTS, make_results

SPEC_IDS = ["fig1a", "fig1b", "fig2a", "fig2b", "fig4a", "fig4b", "fig5a", "fig5b", "fig6", "fig7", "fig8", "fig9",
            "fig10", "fig11", "tab1", "tab2", "tab3", "tab4", "tab7", "tab8", "tab9"]


@pytest.fixture(scope="session")
def figure_db(results_dir, tmp_path_factory):  # noqa: F811
    """The fixture's database, with the transfer runs of a second dataset (Fig. 9)."""
    from gkt.db.build import build_database

    other = make_results(tmp_path_factory.mktemp("other"), "otherset", complementary=False,
                         methods=["kl", "xekl_mcl", "kl_dp"], multi=False, seed=1)
    return build_database(results_dir, results_dir / "figures.duckdb", extra_results=[other])


@pytest.fixture(scope="session")
def rendered(figure_db, tmp_path_factory):
    """Every figure and table of figure_db, rendered by `gkt figures`: (id -> result, folder, seconds, warnings)."""
    out, warnings, results, seconds = _render_logged(figure_db, tmp_path_factory.mktemp("figures") / "toyset")
    return {r.spec.id: r for r in results}, out, seconds, warnings


def _render_logged(db: Path, out: Path):
    """`gkt figures` of `db` into `out`: (output folder, the warnings it logged, results, seconds)."""
    from gkt.figures.commands import render_all

    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("gkt.figures.registry")
    logger.addHandler(handler)
    try:
        results, out, seconds = render_all(db, out)
    finally:
        logger.removeHandler(handler)
    return out, [r.getMessage() for r in records], results, seconds


def _con(db):
    from gkt.db.read import connect

    return connect(db)


def _query(fid: str, db) -> pd.DataFrame:
    """The rows of a figure's query (a polars DataFrame), as pandas for the checks below."""
    from gkt.figures.catalog import get_figure
    from gkt.figures.registry import query

    return query(get_figure(fid), _con(db)).to_pandas()


def _runs(results: Path) -> pd.DataFrame:
    """Final epoch of every single-teacher run, read straight from the metrics.parquet files."""
    rows = []
    for path in sorted((results / "transfer").glob("*/*/metrics.parquet")):
        last = pq.read_table(path).to_pylist()[-1]
        if not last["method"].startswith("multi_"):
            rows.append({**last, "dir": path.parent})
    return pd.DataFrame(rows)


def test_registry_covers_the_paper(rendered):
    from gkt.figures.catalog import list_figures

    ids = [s.id for s in list_figures()]
    assert [s.id for s in list_figures() if s.paper] == SPEC_IDS == ids[:len(SPEC_IDS)]  # the paper's first
    assert "success" in ids
    sql_dir = Path(__file__).resolve().parents[1] / "gkt" / "sql"
    assert sorted(p.stem for p in sql_dir.glob("*.sql")) == sorted(ids)
    for spec in list_figures():
        assert spec.caption and spec.finding and spec.needs and spec.sql.lstrip().startswith("--")


def test_shared_queries_serve_the_figures_that_name_them():
    """Figs. 4b/9 share their binning, Tables 4/9 their comparison (gkt/sql/shared/); each shared query
    is read by two or more figures, and a figure's SQL says where the shared one is."""
    from gkt.figures.catalog import get_figure, list_figures
    from gkt.figures.registry import shared_queries

    sql_dir = Path(__file__).resolve().parents[1] / "gkt" / "sql" / "shared"
    assert sorted(shared_queries()) == sorted(p.stem for p in sql_dir.glob("*.sql")) == [
        "multi_vs_single", "student_success", "transfer_bins"]
    users = {name: [s.id for s in list_figures() if name in s.uses] for name in shared_queries()}
    assert users == {"transfer_bins": ["fig4b", "fig9"], "multi_vs_single": ["tab4", "tab9"],
                     "student_success": ["fig4a", "success"]}
    for name, ids in users.items():
        for fid in ids:
            assert f"gkt/sql/shared/{name}.sql" in get_figure(fid).sql


def test_fig4b_is_the_panel_of_fig9_for_this_dataset(figure_db):
    """One binning for both: Fig. 4b's rows of Fig. 9's methods (the paper's three of Supp. B.4) are
    Fig. 9's rows of the database's own dataset."""
    fig4b, fig9 = _query("4b", figure_db), _query("9", figure_db)
    assert set(fig9.dataset) == {"toyset", "otherset"} and set(fig9.method) == {"kl", "xekl_mcl", "kl_dp"}
    fig4b = fig4b[fig4b.method.isin(set(fig9.method))].reset_index(drop=True)
    own = fig9[fig9.dataset == "toyset"].drop(columns="dataset").reset_index(drop=True)
    pd.testing.assert_frame_equal(fig4b[own.columns], own)


def test_every_figure_and_table_renders(rendered):
    results, out, seconds, _ = rendered
    assert all(r.status == "rendered" for r in results.values()), {i: r.reason for i, r in results.items()
                                                                    if r.status != "rendered"}
    for fid, r in results.items():
        exts = (".png", ".pdf") if r.spec.kind == "figure" else (".md", ".csv")
        for ext in exts:
            path = out / f"{fid}{ext}"
            assert path.stat().st_size > 300, path
    png = (out / "fig4b.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert 900 <= width <= 2000  # page width at print resolution
    assert (out / "tab1.md").read_text().startswith("**Tab. 1:")


def test_index_html_lists_everything_with_caption_finding_and_sql(rendered):
    results, out, _, _ = rendered
    page = (out / "index.html").read_text()
    for fid, r in results.items():
        assert f'id="{fid}"' in page
        assert (f'src="{fid}.png"' in page) if r.spec.kind == "figure" else (f'href="{fid}.csv"' in page)
    assert "Paper&#x27;s finding" in page or "Paper's finding" in page
    assert "<pre>-- Fig. 4b" in page and "top 25 %" in page
    # A figure reading a shared query shows its SQL too, named by its file.
    for fid, shared in (("fig4b", "transfer_bins"), ("fig9", "transfer_bins"), ("tab4", "multi_vs_single"),
                        ("tab9", "multi_vs_single")):
        section = page[page.index(f'id="{fid}"'):]
        section = section[:section.index("</section>")]
        assert f"SQL: gkt/sql/{fid}.sql, gkt/sql/shared/{shared}.sql</summary>" in section
        assert f"<pre>-- {shared} (" in section
    assert "http://" not in page and "https://" not in page and "<script" not in page  # opens offline


def test_fig1a_query_matches_the_pairs_file(figure_db, results_dir):  # noqa: F811
    df = _query("1a", figure_db)
    pairs = pq.read_table(results_dir / "complementary" / "pairs.parquet").to_pandas()
    merged = df.merge(pairs, on=["teacher", "student"])
    assert len(merged) == len(pairs) == len(df)
    assert np.allclose(merged.delta_acc_pct, 100 * merged.delta_acc)
    assert np.allclose(merged.rho_pos_pct, 100 * merged.rho_pos)
    assert merged.teacher_is_control_x.equals(merged.teacher_is_control_y)


def test_fig4a_success_rates_match_the_metrics_files(figure_db, results_dir):  # noqa: F811
    df = _query("4a", figure_db).set_index(["method", "student"])
    runs = _runs(results_dir)
    # Runs of a domain-shifted teacher (its zoo record names another dataset) are Fig. 10's, not Fig. 4a's.
    made_for = {p.stem: json.loads(p.read_text())["dataset"] for p in (results_dir / "zoo").glob("*.json")}
    runs = runs[runs.teacher.map(made_for) == results_dir.name].reset_index(drop=True)
    expected = runs.groupby(["method", "student"]).delta_transf.apply(lambda d: 100 * (d > 0).mean())
    assert len(df) == len(expected) == 9 * len(STUDENTS)
    assert np.allclose(df.success_rate_pct.loc[expected.index], expected)


def test_fig4b_top_quartile_means_match_a_direct_computation(figure_db, results_dir):  # noqa: F811
    df = _query("4b", figure_db)
    runs = _runs(results_dir)
    # Runs of a domain-shifted teacher (its zoo record names another dataset) are Fig. 10's, not Fig. 4b's.
    made_for = {p.stem: json.loads(p.read_text())["dataset"] for p in (results_dir / "zoo").glob("*.json")}
    runs = runs[runs.teacher.map(made_for) == results_dir.name].reset_index(drop=True)
    x = 100 * (runs.acc_teacher - runs.acc_student)
    nb = int(df.bins.iloc[0])
    assert nb == min(6, len(runs) // runs.method.nunique() // 3)
    lo, hi = x.min(), x.max()
    runs["bin"] = np.minimum(nb - 1, np.floor((x - lo) / (hi - lo) * nb)).astype(int)
    for (method, b), grp in runs.groupby(["method", "bin"]):
        top = np.sort(100 * grp.delta_transf.to_numpy())[::-1][: int(np.ceil(len(grp) / 4))]
        row = df[(df.method == method) & (df.bin == b)]
        assert len(row) == 1 and row.runs.iloc[0] == len(grp)
        assert row.top25_mean_delta_transf_pct.iloc[0] == pytest.approx(top.mean())


def test_fig5a_transfer_rates_match_a_direct_computation(figure_db, results_dir):  # noqa: F811
    """Top-X % class sets ranked with gkt.complementary.stats (the semantic stage's definition)."""
    from gkt.complementary.stats import top_x_sizes
    df = _query("5a", figure_db).set_index(["family", "x"])
    families = {json.loads(p.read_text())["name"]: json.loads(p.read_text())["family"]
                for p in (results_dir / "zoo").glob("*.json")}
    rates: dict[tuple, list] = {}
    xs = [2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    made_for = {p.stem: json.loads(p.read_text())["dataset"] for p in (results_dir / "zoo").glob("*.json")}
    for run in (results_dir / "transfer" / "kl_dp").iterdir():
        if made_for[run.name.split("__")[0]] != results_dir.name:
            continue  # a domain-shifted teacher's run is Fig. 10's
        pc = pq.read_table(run / "per_class.parquet").to_pandas()
        order = np.argsort(-pc.pos_flips.to_numpy(), kind="stable")
        k = top_x_sizes(pc.pos_flips.to_numpy()[None], xs)[0]
        student = run.name.split("__")[1]
        for x, kx in zip(xs, k):
            top = pc.iloc[order[:kx]]
            rates.setdefault((families[student], x), []).append(100 * top.transferred.sum() / top.pos_flips.sum())
    assert len(df) == len(rates)
    for key, values in rates.items():
        assert df.loc[key, "mean_rate_pct"] == pytest.approx(np.mean(values))
        assert df.loc[key, "runs"] == len(values)


def test_tab4_compares_with_the_best_single_teacher(figure_db, results_dir):  # noqa: F811
    df = _query("tab4", figure_db)
    runs = _runs(results_dir)
    single = runs[(runs.method == "kl_dp") & (runs.student == "vit_s") & runs.teacher.isin(["cnn_m", "cnn_l", "hybrid"])]
    best = df[df.variant == "best_single"].iloc[0]
    assert best.delta_transf_pct == pytest.approx(100 * single.delta_transf.max())
    assert best.single_teacher == single.loc[single.delta_transf.idxmax(), "teacher"]
    assert set(df.variant) == {"best_single", "mean_single", "sequential", "parallel", "soup", "soup_greedy"}
    assert set(_query("tab9", figure_db).student) == {"cnn_s"}  # the KL-Dist multi-teacher runs
    # The multi-teacher rows are the runs whose metrics record the loss kl_dp, their variant the run's mode: the
    # files name a multi-teacher run's method multi_<mode> and its loss objective.
    recorded = set()
    for path in (results_dir / "transfer").glob("multi_*/*/metrics.parquet"):
        rows = pq.read_table(path).to_pylist()
        assert len({r["objective"] for r in rows}) == 1
        if rows[0]["objective"] == "kl_dp":
            recorded.add((rows[0]["student"], rows[0]["teacher"], rows[0]["method"].removeprefix("multi_")))
    multi = df[~df.variant.isin(["best_single", "mean_single"])]
    assert set(zip(multi.student, multi.teachers, multi.variant)) == recorded and len(recorded) == 4


def test_figs_9_and_10_are_skipped_with_their_reason_when_the_results_lack_them(results_dir, tmp_path, gkt):  # noqa: F811
    from gkt.db.build import build_database
    from gkt.figures.commands import render_all

    db = build_database(results_dir, tmp_path / "one.duckdb")  # one dataset only
    results, out, _ = render_all(db, tmp_path / "figs", only=["9"])
    assert results[0].status == "skipped" and "needs transfer results of a second dataset" in results[0].reason
    proc = gkt("figures", "--db", str(db), "--out-dir", str(tmp_path / "figs"), "--only", "9")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("gkt: error: figure 9 needs transfer results of a second dataset")
    assert not (tmp_path / "figs" / "index.html").exists()  # --only leaves index.html alone


def test_missing_stage_gives_a_one_line_reason(tmp_path, gkt):  # noqa: F811
    from gkt.db.build import build_database

    db = build_database(make_results(tmp_path, "early", complementary=False, transfer=False))
    proc = gkt("figures", "--db", str(db), "--only", "4a")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "gkt: error: figure 4a needs results of stage transfer (view transfer_final)"
    proc = gkt("figures", "--db", str(db), "--only", "Tab. 1", "fig1a")
    assert proc.stderr.strip() == ("gkt: error: table 1 needs results of stage transfer (view transfer_in_domain); "
                                   "figure 1a needs results of stage complementary (view pairs)")
    # The full run lists everything as skipped, with the same reasons, in index.html (default folder).
    assert gkt("figures", "--db", str(db)).returncode == 0
    index = tmp_path / "figures" / "early" / "index.html"
    page = index.read_text()
    assert "figure 4a needs results of stage transfer (view transfer_final)" in page
    assert "figure 2b needs results of stage complementary (view pairs)" in page
    assert not list(index.parent.glob("*.png"))


def test_ids_resolve_and_unknown_ids_are_refused():
    from gkt.figures.catalog import resolve_id

    assert [resolve_id(t) for t in ("1a", "fig1a", "Fig. 1a", "figure 11", "tab1", "Tab. 4", "table9", "T8")] == \
        ["fig1a", "fig1a", "fig1a", "fig11", "tab1", "tab4", "tab9", "tab8"]
    with pytest.raises(GktError, match="unknown figure or table '3'"):
        resolve_id("3")


def test_list_option(gkt):  # noqa: F811
    out = gkt("figures", "--list").stdout
    from gkt.figures.catalog import list_figures

    assert re.search(r"^fig4b\s+Fig\. 4b\s+Transfer delta by binned", out, re.M)
    assert len(out.splitlines()) == len(list_figures()) and re.search(r"^success\s", out, re.M)


# --- figures stay legible -------------------------------------------------------------------------
def _drawn(spec_id: str, db: Path):
    """The matplotlib figure of `spec_id` rendered from `db` as `gkt figures` renders it (gkt style)."""
    from gkt.db.read import connect
    from gkt.figures.catalog import get_figure
    from gkt.figures.registry import Context, query

    spec = get_figure(spec_id)
    con = connect(db)
    info = dict(con.execute("SELECT key, value FROM gkt_info").fetchall())
    return spec.render(query(spec, con), Context(con=con, dataset=info["dataset"], info=info))


def _assert_legible(out: Path, warnings: list[str], figures: list[str]) -> None:
    """Each of `figures` was saved, and the check that ran on each before saving found every text inside the
    canvas and no layout texts on top of each other (it warns otherwise: test_a_clipped_or_crowded_figure_is_caught)."""
    assert all((out / f"{fid}.png").exists() for fid in figures)
    assert warnings == []


def test_no_figure_draws_text_outside_its_canvas_or_on_other_text(rendered):
    results, out, _, warnings = rendered
    figures = [fid for fid, r in results.items() if r.spec.kind == "figure"]
    assert len(figures) >= 16
    _assert_legible(out, warnings, figures)


# timm's pretrained tags as model names, as an ImageNet zoo has them
TIMM_NAMES = {"cnn_s": "resnet18.a1_in1k", "cnn_m": "resnet50.fb_swsl_ig1b_ft_in1k",
              "cnn_l": "convnext_small.fb_in22k_ft_in1k_384", "vit_s": "deit_tiny_patch16_224.fb_in1k",
              "vit_l": "vit_base_patch16_clip_224.openai_ft_in12k_in1k", "mixer": "mixer_b16_224.goog_in21k_ft_in1k",
              "hybrid": "coatnet_rmlp_2_rw_224.sw_in12k_ft_in1k"}


def test_figures_of_models_with_timm_tag_names_stay_legible(tmp_path, monkeypatch):
    """The fixture's zoo with its models named by timm's pretrained tags (up to 46 characters): titles naming
    teachers (Figs. 2a, 11), the matrix's tick labels and the ranking's legend still fit and do not collide."""
    from gkt.db.build import build_database

    rename = TIMM_NAMES.get
    monkeypatch.setattr(tests.helpers, "MODELS", [(rename(m[0]), *m[1:]) for m in tests.helpers.MODELS])
    monkeypatch.setattr(tests.helpers, "STUDENTS", [rename(s) for s in tests.helpers.STUDENTS])
    monkeypatch.setattr(tests.helpers, "MULTI", {k: (rename(s), [rename(t) for t in ts])
                                                 for k, (s, ts) in tests.helpers.MULTI.items()})
    db = build_database(make_results(tmp_path, methods=["kl", "kl_dp"]))
    out, warnings, results, _ = _render_logged(db, tmp_path / "figures")
    rendered = [r.spec.id for r in results if r.status == "rendered" and r.spec.kind == "figure"]
    assert {"fig2a", "fig11", "zoo_rho_pos", "ranking_fit"} <= set(rendered)
    _assert_legible(out, warnings, rendered)


def test_a_clipped_or_crowded_figure_is_caught(figure_db, tmp_path, caplog):
    """A title far wider than its figure: the check names it and the sides it leaves by, `gkt figures` says so
    in one warning line and saves the figure with a tight bounding box, so the PNG grows to hold the title.
    Two panels whose titles run into each other: named as a pair, in a warning."""
    from gkt.db.read import connect
    from gkt.figures.catalog import get_figure, render
    from gkt.figures.registry import Context
    from gkt.figures.style import DPI, layout_problems, styled, subplots

    db = figure_db
    title = "a title far too long for a figure two inches wide " * 2

    def clipped(df, ctx):
        fig, axes = subplots(width=2.0, height=1.5)
        axes[0, 0].set_title(title)
        return fig

    def crowded(df, ctx):
        fig, axes = subplots(ncols=2, width=6.0, height=2.0)
        axes[0, 0].set_title("left panel: " + "x" * 40)
        axes[0, 1].set_title("right panel: " + "y" * 40)
        return fig

    with styled() as plt:
        fig = clipped(None, None)
        (outside,), overlapping = layout_problems(fig)
        assert outside.startswith('"a title far too long') and "left by" in outside and "right by" in outside
        assert overlapping == []
        plt.close(fig)
        fig = crowded(None, None)
        outside, (overlapping,) = layout_problems(fig)
        assert overlapping.startswith('"left panel: xxx') and '/ "right panel: yyy' in overlapping
        plt.close(fig)
    con = connect(db)
    for render_fn, folder in ((clipped, tmp_path / "clipped"), (crowded, tmp_path / "crowded")):
        spec = dataclasses.replace(get_figure("fig1a"), render=render_fn)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="gkt.figures.registry"):
            assert render(spec, con, folder, Context(con=con, dataset="toyset", info={})).status == "rendered"
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        if render_fn is clipped:
            assert len(warnings) == 1 and warnings[0].startswith('fig1a: "a title far too long')
            assert "saved with a tight bounding box" in warnings[0]
            width, _ = Image.open(folder / "fig1a.png").size
            assert width > 2 * 2.0 * DPI  # the whole title, not the 400 px of the canvas
        else:
            assert [w for w in warnings if "on top of each other" in w and '"left panel: xxx' in w]


# --- a zoo of 300 models --------------------------------------------------------------------------
FAMILIES = {"cnn": 150, "transformer": 100, "mlp": 30, "hybrid": 18, "mamba": 2}  # 300 models, bands of all widths


def _zoo_of(root: Path, families: dict, classes: int = 10, samples: int = 200) -> Path:
    """A results folder of zoo records and val logits caches only (through the pipeline's writers), one
    random-init control among them, plus the recommend stage's all-pairs statistics (`gkt all-pairs`)."""
    from gkt.cli import main
    from gkt.io import write_json
    from gkt.logits.cache import write_logits
    from gkt.zoo.store import ModelRecord

    rng = np.random.default_rng(0)
    results = root / "results" / "bigzoo"
    labels = np.repeat(np.arange(classes), samples // classes)
    models = [(f"{fam}_{i:03d}", fam) for fam, n in families.items() for i in range(n)] + [("control", "cnn")]
    for name, fam in models:
        acc = 1 / classes if name == "control" else rng.uniform(0.55, 0.95)
        right = rng.random(len(labels)) < acc
        pred = np.where(right, labels, (labels + rng.integers(1, classes, len(labels))) % classes)
        logits = rng.normal(0, 0.5, (len(labels), classes)).astype(np.float32)
        logits[np.arange(len(labels)), pred] += 4.0
        write_logits(results / "logits" / "val" / f"{name}.parquet", logits, labels,
                     {"model": name, "architecture": fam, "dataset": "bigzoo", "split": "val", "transform": {},
                      "weights_hash": name})
        record = ModelRecord(name=name, arch=fam, source="random" if name == "control" else "train", family=fam,
                             arch_family=fam, params=1_000_000, num_classes=classes, dataset="bigzoo",
                             weights_hash=name, top1=None, kwargs={}, recipe={})
        write_json(asdict(record), results / "zoo" / f"{name}.json")
    assert main(["all-pairs", "--results", str(results),
                 "--out", str(results / "recommend" / "all_pairs.parquet")]) == 0
    return results


@pytest.fixture(scope="module")
def big_zoo(tmp_path_factory):
    from gkt.db.build import build_database
    from gkt.figures.commands import render_all

    results = _zoo_of(tmp_path_factory.mktemp("bigzoo"), FAMILIES)
    db = build_database(results)
    (result,), out, _ = render_all(db, tmp_path_factory.mktemp("figures"), only=["zoo_rho_pos"])
    assert result.status == "rendered", result.reason
    return db, out


def test_zoo_rho_pos_of_300_models_labels_family_bands_and_block_means(big_zoo):
    """300 models and a control: the matrix keeps every pair (one cell each) but labels family bands, not 300
    names, leaves bands too narrow for a label unlabelled, and a second panel gives each family block's mean
    ρ_pos (the SQL's window mean, equal to the mean of the block's pairs); no text leaves the figure and no two
    tick labels overlap."""
    import duckdb

    from gkt.figures.style import layout_problems, styled

    db, out = big_zoo
    with styled() as plt:
        fig = _drawn("zoo_rho_pos", db)
        matrix_ax, blocks_ax = fig.axes[:2]
        assert matrix_ax.images[0].get_array().shape == (300, 301)  # students: no control row
        x_labels = [t.get_text() for t in matrix_ax.get_xticklabels()]
        assert x_labels == ["CNN", "Hybrid", "MLP", "Transformer"]  # 'mamba' (2 of 301) and control too narrow
        assert [t.get_text() for t in matrix_ax.get_yticklabels()] == x_labels
        assert [t.get_text() for t in blocks_ax.get_xticklabels()] == ["CNN", "Hybrid", "mamba", "MLP", "Transformer",
                                                                   "control"]
        cells = {t.get_text() for t in blocks_ax.texts}
        assert len(cells) > 1 and len(blocks_ax.texts) == 5 * 6
        assert layout_problems(fig) == ([], [])
        plt.close(fig)
    con = duckdb.connect(str(db), read_only=True)
    means = dict(con.execute(
        "SELECT t.family, avg(100 * a.rho_pos) FROM all_pairs a JOIN models t ON t.name = a.teacher "
        "JOIN models s ON s.name = a.student WHERE s.family = 'mlp' AND NOT t.is_random_init "
        "GROUP BY t.family").fetchall())
    assert f"{means['transformer']:.1f}" in cells and f"{means['mlp']:.1f}" in cells
    width, height = Image.open(out / "zoo_rho_pos.png").size
    assert width >= 1300 and height >= 900  # page width at print resolution: a few pixels per pair


def test_zoo_rho_pos_of_a_small_zoo_names_every_model(figure_db):
    from gkt.figures.style import styled

    db = figure_db
    with styled() as plt:
        fig = _drawn("zoo_rho_pos", db)
        assert len(fig.axes) == 2  # the matrix and its colour bar, no family panel
        names = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert len(names) == 8 and names[-1] == "control"
        plt.close(fig)


# --- index.html in headless Chromium --------------------------------------------------------------
def _chromium() -> str:
    """The Chromium binary, installed with apt-get (Debian package chromium) when missing and root."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0:
        pytest.skip("needs Chromium (apt-get install chromium) or root to install it")
    proc = subprocess.run("apt-get update -q && apt-get install -y -q --no-install-recommends chromium",
                          shell=True, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if proc.returncode != 0 or not shutil.which("chromium"):
        pytest.skip(f"cannot install Chromium with apt-get:\n{proc.stderr[-2000:]}")
    return shutil.which("chromium")


def _headless(chromium: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--allow-file-access-from-files", "--virtual-time-budget=10000", *args],
                          capture_output=True, text=True, timeout=120)


WINDOW = (1200, 2400)  # a desktop browser's width; tall enough for the header and the first figures


def test_index_html_in_headless_chromium_shows_every_figure(rendered, tmp_path):
    """Chromium opens index.html from the file system. After load, every <img> has loaded its PNG (naturalWidth,
    which a script in a copy of the page writes into the DOM, equals the file's width); a screenshot of the
    page's top has content down the page (not blank, not one blob), and every figure that lies in the window is
    drawn there: its area in the screenshot holds ink, where the DOM puts it."""
    chromium = _chromium()
    _, out, _, _ = rendered
    page = (out / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 16
    probe = out / "index_probe.html"  # beside index.html, for its relative links; index.html has no scripts
    probe.write_text(page.replace("</body>", """<script>
window.addEventListener('load', () => {
  const p = document.createElement('pre'); p.id = 'probe';
  p.textContent = JSON.stringify([...document.images].map(i => {
    const r = i.getBoundingClientRect();
    return [i.getAttribute('src'), i.complete, i.naturalWidth, r.left, r.top, r.width, r.height];
  }));
  document.body.appendChild(p);
});
</script></body>"""))
    window = [f"--window-size={WINDOW[0]},{WINDOW[1]}", "--force-device-scale-factor=1", "--hide-scrollbars"]
    start = time.perf_counter()
    dom = _headless(chromium, *window, "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    loaded = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S).group(1)))
    assert [src for src, *_ in loaded] == images
    for src, complete, natural_width, *_ in loaded:
        assert complete and natural_width == Image.open(out / src).size[0], src
    shot = tmp_path / "index.png"
    proc = _headless(chromium, *window, f"--screenshot={shot}", (out / "index.html").as_uri())
    seconds = time.perf_counter() - start
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    ink = np.asarray(Image.open(shot).convert("L")) < 200
    assert ink.shape == (WINDOW[1], WINDOW[0])
    assert 0.02 < ink.mean() < 0.6  # neither blank nor a solid fill
    rows = ink.any(axis=1)
    assert (np.diff(rows.astype(int)) == 1).sum() >= 10  # heading, lines of text, figures: not one blob
    shown = [(src, round(x), round(y), round(w), round(h)) for src, _, _, x, y, w, h in loaded
             if y + h <= WINDOW[1]]
    assert len(shown) >= 2  # the first figures lie in the window
    for src, x, y, w, h in shown:
        area = ink[y:y + h, x:x + w]
        assert w > 400 and 0.01 < area.mean() < 0.7, (src, area.mean())  # a drawn figure, not an empty frame
    print(f"Chromium: DOM check and screenshot in {seconds:.1f} s")
