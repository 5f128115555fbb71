"""Figures stay legible: no figure draws a title, label or tick label outside its canvas (checked on every
figure the fixture renders, with the check that `gkt figures` runs before it saves each one); a clipped figure
is caught and saved whole; the zoo ρ_pos matrix of 300 models keeps readable labels; and index.html, opened in
headless Chromium, shows every figure it links."""
from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import make_results


def _drawn(spec_id: str, db: Path):
    """The matplotlib figure of `spec_id` rendered from `db` as `gkt figures` renders it (gkt style)."""
    from gkt.db.read import connect
    from gkt.figures.registry import Context, get_figure, query

    spec = get_figure(spec_id)
    con = connect(db)
    info = dict(con.execute("SELECT key, value FROM gkt_info").fetchall())
    return spec.render(query(spec, con), Context(con=con, dataset=info["dataset"], info=info))


def _tick_label_overlaps(fig) -> list[str]:
    """Pairs of drawn tick labels of one axis whose glyph boxes overlap. The tick labels of an axis share one
    rotation: each box is compared in the frame turned with the text (its centre turned back, its unrotated
    size), so slanted labels that merely share screen rows and columns do not count."""
    from gkt.figures.style import _drawn_texts

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    found = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in _drawn_texts(axis) if t is not axis.label and t is not axis.offsetText]
            boxes = []
            for t in labels:
                centre = t.get_window_extent(renderer).get_points().mean(axis=0)
                angle = np.deg2rad(t.get_rotation())
                rotation = t.get_rotation()
                t.set_rotation(0)
                size = t.get_window_extent(renderer).size
                t.set_rotation(rotation)
                turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
                boxes.append((turn @ centre, size))
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    (c1, s1), (c2, s2) = boxes[i], boxes[j]
                    if (np.abs(c1 - c2) < (s1 + s2) / 2 - 0.5).all():
                        found.append(f"{labels[i].get_text()!r} / {labels[j].get_text()!r}")
    return found


@pytest.fixture(scope="module")
def figure_set(results_dir, tmp_path_factory):
    """Every figure and table of the fixture's results (a second dataset beside it for Fig. 9), rendered by
    `gkt figures` with its log; returns (database, output folder, log records)."""
    from gkt.db.build import build_database
    from gkt.figures.commands import render_all

    other = make_results(tmp_path_factory.mktemp("other"), "otherset", complementary=False,
                         methods=["kl", "xekl_mcl", "kl_dp"], multi=False, seed=1)
    db = build_database(results_dir, tmp_path_factory.mktemp("db") / "gkt.duckdb", extra_results=[other])
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("gkt.figures.registry")
    logger.addHandler(handler)
    try:
        results, out, _ = render_all(db, tmp_path_factory.mktemp("figures") / "toyset")
    finally:
        logger.removeHandler(handler)
    assert all(r.status == "rendered" for r in results), [r.reason for r in results if r.status != "rendered"]
    return db, out, records


def test_no_figure_draws_text_outside_its_canvas(figure_set):
    """Every figure fits as drawn: none needed the tight bounding box that saving falls back to, and each one,
    drawn again, has every title, label, tick label and legend entry inside the figure and no two tick labels
    of an axis on top of each other."""
    from gkt.figures.registry import list_figures
    from gkt.figures.style import styled, texts_outside

    db, out, records = figure_set
    assert not [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    figures = [s.id for s in list_figures("figure")]
    assert len(figures) >= 16 and all((out / f"{f}.png").exists() for f in figures)
    for fid in figures:
        with styled() as plt:
            fig = _drawn(fid, db)
            assert texts_outside(fig) == [], fid
            assert _tick_label_overlaps(fig) == [], fid
            plt.close(fig)


def test_a_clipped_figure_is_caught_and_saved_whole(figure_set, tmp_path, caplog):
    """A title far wider than its figure: the check names it and the side it leaves by, `gkt figures` says so
    in one warning line and saves the figure with a tight bounding box, so the PNG grows to hold the title."""
    from gkt.db.read import connect
    from gkt.figures.registry import Context, get_figure, render
    from gkt.figures.style import DPI, styled, subplots, texts_outside

    db, _, _ = figure_set
    title = "a title far too long for a figure two inches wide " * 2

    def clipped(df, ctx):
        fig, axes = subplots(width=2.0, height=1.5)
        axes[0, 0].set_title(title)
        return fig

    with styled() as plt:
        fig = clipped(None, None)
        (outside,) = texts_outside(fig)
        assert outside.startswith('"a title far too long') and "left by" in outside and "right by" in outside
        plt.close(fig)
    spec = dataclasses.replace(get_figure("fig1a"), render=clipped)
    con = connect(db)
    with caplog.at_level(logging.WARNING, logger="gkt.figures.registry"):
        result = render(spec, con, tmp_path, Context(con=con, dataset="toyset", info={}))
    assert result.status == "rendered"
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith('fig1a: "a title far too long') and "tight bounding box" in warning
    width, height = Image.open(tmp_path / "fig1a.png").size
    assert width > 2.0 * DPI * 2  # the whole title, not the 400 px of the canvas


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

    from gkt.figures.style import styled, texts_outside

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
        assert texts_outside(fig) == [] and _tick_label_overlaps(fig) == []
        plt.close(fig)
    con = duckdb.connect(str(db), read_only=True)
    means = dict(con.execute(
        "SELECT t.family, avg(100 * a.rho_pos) FROM all_pairs a JOIN models t ON t.name = a.teacher "
        "JOIN models s ON s.name = a.student WHERE s.family = 'mlp' AND NOT t.is_random_init "
        "GROUP BY t.family").fetchall())
    assert f"{means['transformer']:.1f}" in cells and f"{means['mlp']:.1f}" in cells
    width, height = Image.open(out / "zoo_rho_pos.png").size
    assert width >= 1300 and height >= 900  # page width at print resolution: a few pixels per pair


def test_zoo_rho_pos_of_a_small_zoo_names_every_model(figure_set):
    from gkt.figures.style import styled

    db, _, _ = figure_set
    with styled() as plt:
        fig = _drawn("zoo_rho_pos", db)
        assert len(fig.axes) == 2  # the matrix and its colour bar, no family panel
        names = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert len(names) == 8 and names[-1] == "control"
        plt.close(fig)


# --- index.html in headless Chromium --------------------------------------------------------------
def _chromium() -> str:
    """The Chromium binary, installed with apt-get (Debian package chromium) when missing and root."""
    import os

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


def test_index_html_in_headless_chromium_shows_every_figure(figure_set, tmp_path):
    """Chromium opens index.html from the file system. After load, every <img> has loaded its PNG (naturalWidth,
    which a script in a copy of the page writes into the DOM, equals the file's width); a screenshot of the
    page's top has content down the page (not blank, not one blob), and every figure that lies in the window is
    drawn there: its area in the screenshot holds ink, where the DOM puts it."""
    import html
    import json

    chromium = _chromium()
    _, out, _ = figure_set
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
