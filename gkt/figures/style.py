"""One style for every figure: sizes for a page-wide figure, fonts, and fixed colours/labels per
method and model family, so the same method looks the same in every figure."""
from __future__ import annotations

import contextlib

from gkt.transfer import vocabulary as vocab

PAGE_WIDTH = 6.75  # inches: the text width of a two-sided paper page (ICLR: 5.5, NeurIPS: 5.5, A4 article ~6.3)
HEIGHT = 3.0
DPI = 200

RC = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.title_fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    # Constrained layout fits what it knows of; "tight" would cost a draw per file. catalog.render checks each
    # figure once (layout_problems) and saves only one that does not fit with a tight bounding box.
    "savefig.bbox": None,
    "savefig.pad_inches": 0.05,
    "pdf.fonttype": 3,  # Type 3 subsets in matplotlib itself: several times faster than TrueType (42) via fontTools
    "font.family": "DejaVu Sans",
}

# Transfer methods: their labels, colour groups, colours and the paper's order come from their cards
# (gkt.transfer.vocabulary.MethodCard, declared by the loss classes). Multi-teacher modes as tables name them.
MODE_LABELS = {"sequential": "sequential", "parallel": "parallel", "soup": "soup", "soup_greedy": "greedy soup"}
# The paper's colour code (Figs. 4a, 6): distillation blue, continual learning orange, contrastive green.
GROUP_COLORS = {"distillation": "#4C72B0", "continual learning": "#DD8452", "contrastive": "#55A868"}
FAMILY_ORDER = ["cnn", "transformer", "mlp", "hybrid"]
FAMILY_LABELS = {"cnn": "CNN", "transformer": "Transformer", "mlp": "MLP", "hybrid": "Hybrid"}
FAMILY_COLORS = {"cnn": "#4C72B0", "transformer": "#DD8452", "mlp": "#55A868", "hybrid": "#C44E52"}
FAMILY_MARKERS = {"cnn": "o", "transformer": "^", "mlp": "s", "hybrid": "D"}
EXTRA_COLORS = ["#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD"]
HIGHLIGHT = "#C44E52"  # control pairs, diagonals, reference lines that matter
NEUTRAL = "#555555"


def method_label(method: str) -> str:
    card = vocab.method_card(method)
    return card.label if card else method


def method_group(method: str) -> str | None:
    card = vocab.method_card(method)
    return card.group if card else None


def method_color(method: str) -> str:
    card = vocab.method_card(method)
    return card.color if card else EXTRA_COLORS[sum(map(ord, method)) % len(EXTRA_COLORS)]


def sort_methods(methods) -> list[str]:
    """The paper's order (the cards' `order`), then the rest by name."""
    def key(m):
        card = vocab.method_card(m)
        return (0, card.order, m) if card and card.order is not None else (1, 0, m)

    return sorted(set(methods), key=key)


def family_label(family: str | None) -> str:
    return FAMILY_LABELS.get(family, family or "unknown")


def family_color(family: str | None) -> str:
    if family in FAMILY_COLORS:
        return FAMILY_COLORS[family]
    return EXTRA_COLORS[sum(map(ord, family or "?")) % len(EXTRA_COLORS)]


def family_marker(family: str | None) -> str:
    return FAMILY_MARKERS.get(family, "P")


def sort_families(families) -> list[str]:
    return sorted({f for f in families if f is not None} | ({None} if None in set(families) else set()),
                  key=lambda f: (FAMILY_ORDER.index(f) if f in FAMILY_ORDER else len(FAMILY_ORDER), str(f)))


@contextlib.contextmanager
def styled():
    """Matplotlib with the gkt style (and the non-interactive Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with plt.rc_context(RC):
        yield plt


def subplots(ncols: int = 1, nrows: int = 1, width: float = PAGE_WIDTH, height: float = HEIGHT, **kw):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, layout="constrained", **kw)
    return fig, axes


def layout_problems(fig, tolerance_px: float = 1.0) -> tuple[list[str], list[str]]:
    """What keeps `fig` from being read whole, as (texts outside, texts overlapping): the texts it draws that
    reach outside its canvas (titles, labels, tick labels, legend entries), each as '"text" (side by N px)', and
    the pairs of its layout texts (titles, axis labels, tick labels) drawn on top of each other, each as
    '"text" / "text"'; both empty when the figure reads well. Lays the figure out as savefig does; texts scale
    with the dpi like the canvas, so the answer at the figure's dpi holds for the saved PNG and PDF."""
    from matplotlib.text import Text

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    outside = []
    for text in _drawn_texts(fig):
        box = text.get_window_extent(renderer)
        over = {"left": -box.x0, "right": box.x1 - width, "bottom": -box.y0, "top": box.y1 - height}
        sides = ", ".join(f"{side} by {px:.0f} px" for side, px in over.items() if px > tolerance_px)
        if sides:
            outside.append(f"{_quoted(text)} ({sides})")
    layout = [t for t in fig.get_children() if isinstance(t, Text) and t.get_visible() and t.get_text().strip()]
    for ax in fig.axes:
        if ax.get_visible():  # its titles (not its annotations), then its axes' labels and tick labels
            layout += [t for t in ax.get_children() if isinstance(t, Text) and t.get_visible()
                       and t.get_text().strip() and t not in ax.texts]
            layout += [t for axis in (ax.xaxis, ax.yaxis) for t in _drawn_texts(axis) if t is not axis.offsetText]
    boxes = [_corners(t, renderer) for t in layout]
    overlapping = [f"{_quoted(layout[i])} / {_quoted(layout[j])}" for i in range(len(layout))
                   for j in range(i + 1, len(layout)) if _overlap(boxes[i], boxes[j], tolerance_px)]
    return outside, overlapping


def _quoted(text) -> str:
    words = " ".join(text.get_text().split())
    return f'"{words if len(words) <= 50 else words[:47] + "..."}"'


def _corners(text, renderer):
    """The four corners of a drawn text's box in pixels, turned with the text (its window extent is the upright
    box around the turned one: slanted tick labels side by side would seem to overlap)."""
    import numpy as np

    centre = text.get_window_extent(renderer).get_points().mean(axis=0)
    rotation = text.get_rotation()
    text.set_rotation(0)
    w, h = text.get_window_extent(renderer).size
    text.set_rotation(rotation)
    a = np.deg2rad(rotation)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return centre + np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2 @ turn.T


def _overlap(p, q, tolerance_px: float) -> bool:
    """Whether two convex quadrilaterals overlap by more than `tolerance_px` (separating axis test)."""
    import numpy as np

    for poly in (p, q):
        for edge in (poly[1] - poly[0], poly[3] - poly[0]):
            norm = np.hypot(*edge)
            if norm == 0:
                return False
            axis = np.array([-edge[1], edge[0]]) / norm
            a, b = p @ axis, q @ axis
            if min(a.max(), b.max()) - max(a.min(), b.min()) <= tolerance_px:
                return False
    return True


def _drawn_texts(artist):
    """The non-empty texts under `artist` that a draw paints: hidden artists and their children are left out,
    and of an axis's ticks only those the axis draws (those inside its view interval, as Axis.draw picks them;
    the others keep stale positions)."""
    from matplotlib.axis import Axis
    from matplotlib.text import Text

    if not artist.get_visible():
        return
    if isinstance(artist, Text):
        if artist.get_text().strip():
            yield artist
        return
    if isinstance(artist, Axis):
        ticks = [t for t in artist._update_ticks() if t.get_visible()]
        children = [artist.label, artist.offsetText, *(label for t in ticks for label in (t.label1, t.label2))]
    else:
        children = artist.get_children()
    for child in children:
        yield from _drawn_texts(child)


def wrap(text: str, width_in: float, fontsize: float) -> str:
    """`text` in lines that fit `width_in` inches at `fontsize` points (DejaVu Sans: about 0.6 em a character),
    broken at spaces where it can and inside a long name (a timm tag) where it must."""
    import textwrap

    chars = max(10, int(width_in * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) for line in text.split("\n"))


def zero_line(ax, axis: str = "y", label: str | None = None) -> None:
    (ax.axhline if axis == "y" else ax.axvline)(0, color=NEUTRAL, lw=0.8, ls="--", zorder=1, label=label)


def fmt_pm(mean, std, digits: int = 2) -> str:
    """'mean ± std' of percentage points; std missing for a single value."""
    import math

    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:+.{digits}f}"
    return f"{mean:+.{digits}f} ± {std:.{digits}f}"
