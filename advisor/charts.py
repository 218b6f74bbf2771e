"""Static SVG charts for the report: matplotlib (no pyplot, no global state), deterministic output.

Every function takes plain results.json pieces and returns an `<svg>` string ready to inline, or
None when there is nothing to draw. Missing or null fields never raise: the chart just omits them.
"""
from __future__ import annotations

import hashlib
import html
import io
import re
import textwrap
import unicodedata
import warnings
from collections.abc import Iterable

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from .costs import DEFAULT_HORIZON_MONTHS
from .levers import registry
from .runs import finite

# Okabe-Ito, like the registered levers' colours: for a lever that has none, or is not registered.
_EXTRA_COLORS = ("#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH = 5.2  # inches at 100 dpi: 520 px, legible both at full size and shrunk onto a phone
HIGHLIGHT = "#1d4ed8"
MUTED = "#b6c0cc"
INK = "#1f2933"
GRID = "#e4e7eb"
MAX_LABEL_CHARS = 40  # a criterion or lever name on an axis; longer names end in "…" (the tables show them whole)

_RC = {
    "svg.fonttype": "none",  # text stays text: small, selectable, uses the page's sans-serif fallback
    "font.family": "sans-serif",
    "font.size": 12,
    "axes.edgecolor": "#9aa5b1",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": "#52606d",
    "ytick.color": "#52606d",
    "text.color": INK,
    "legend.frameon": False,
    # names are the user's text: "$x$", "a_b^c" or "\\frac" are drawn as typed, never parsed as mathtext or TeX
    "text.parse_math": False,
    "text.usetex": False,
}


def _label(value: object, limit: int = MAX_LABEL_CHARS) -> str:
    """A name as chart text: control characters dropped (an SVG cannot hold NUL), one line, at most `limit`."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") else ch for ch in str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def lever_color(name: str, order: int = 0) -> str:
    """The colour a lever has in every chart: its registered colour, else a spare one by its place `order`."""
    t = registry.find(name)
    return t.color if t is not None and t.color else _EXTRA_COLORS[order % len(_EXTRA_COLORS)]


def _ok_levers(results: dict) -> list[dict]:
    return [lv for lv in results.get("levers") or [] if isinstance(lv, dict) and lv.get("status") == "ok"]


def _to_svg(fig: Figure, label: str) -> str:
    """Serialize without prolog, DOCTYPE or metadata (they hold http:// URIs and dates)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    attrs = f'<svg class="chart" role="img" aria-label="{html.escape(label, quote=True)}"'
    return svg.replace("<svg", attrs, 1).strip()


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _render(salt: str, label: str, width: float, height: float, draw) -> str | None:
    """Draw with a per-chart hash salt, so ids stay unique when several SVGs share one page."""
    if not salt.isascii() or len(salt) > 60:  # ids stay distinct for long or non-ASCII lever names
        salt = hashlib.sha256(salt.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    with rc_context({**_RC, "svg.hashsalt": f"advise-{salt}"}), warnings.catch_warnings():
        # an emoji or a script the fonts lack still goes into the SVG as text; the browser finds a font for it
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig = _figure(width, height)
        if draw(fig) is False:
            return None
        return _to_svg(fig, label)


def scoreboard_chart(results: dict) -> str | None:
    """Each ok lever's mean score with its 95% CI, best on top, the recommended lever highlighted."""
    rows = []
    for lv in _ok_levers(results):
        score = lv.get("score") or {}
        mean = finite(score.get("mean"))
        if mean is not None:
            rows.append((str(lv.get("name")), mean, finite(score.get("ci_low")), finite(score.get("ci_high"))))
    if not rows:
        return None
    rows.sort(key=lambda r: r[1])  # barh draws bottom-up: best ends on top
    recommended = (results.get("recommendation") or {}).get("lever")
    baseline = ((results.get("baselines") or {}).get("majority_class") or {})
    base_score = finite(baseline.get("score")) if isinstance(baseline, dict) else None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ys = range(len(rows))
        colors = [HIGHLIGHT if name == recommended else MUTED for name, *_ in rows]
        ax.barh(list(ys), [r[1] for r in rows], color=colors, height=0.6, zorder=2)
        labels = []
        for y, (name, mean, lo, hi) in zip(ys, rows):
            has_ci = lo is not None and hi is not None
            if has_ci:
                ax.errorbar(mean, y, xerr=[[max(0.0, mean - lo)], [max(0.0, hi - mean)]], fmt="none",
                            ecolor=INK, elinewidth=1.4, capsize=4, zorder=3)
            # the numbers sit under the name, so they never run off the plot on a narrow figure
            labels.append(f"{_label(name)}{'  ★' if name == recommended else ''}\n{mean:.3f}"
                          + (f" [{lo:.2f}, {hi:.2f}]" if has_ci else ""))
        ax.set_yticks(list(ys), labels)
        for tick, (name, *_) in zip(ax.get_yticklabels(), rows):
            if name == recommended:
                tick.set_fontweight("bold")
                tick.set_color(HIGHLIGHT)
        if base_score is not None:
            ax.axvline(base_score, color="#7b8794", linestyle="--", linewidth=1, zorder=1)
            ax.text(base_score, len(rows) - 0.45, f" majority class {base_score:.2f}", fontsize=10,
                    color="#52606d", va="bottom")
        ax.set_xlim(0, 1.0)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_ylim(-0.6, len(rows) - 0.1)
        ax.set_xlabel("score (mean, 95% CI)")
        ax.grid(axis="x", color=GRID, zorder=0)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)

    return _render("scoreboard", "Mean score per lever with 95% confidence intervals", WIDTH,
                   1.1 + 0.55 * len(rows), draw)


def _criterion_names(results: dict, levers: list[dict]) -> list[str]:
    names = [c.get("name") for c in ((results.get("rubric") or {}).get("criteria") or [])
             if isinstance(c, dict) and c.get("name")]
    for lv in levers:
        for key in (lv.get("criteria") or {}):
            if key not in names and key != "total":
                names.append(key)
    return [str(n) for n in names]


def criteria_chart(results: dict) -> str | None:
    """Grouped bars: one group per rubric criterion, one bar per ok lever, CI whiskers when known."""
    levers = [lv for lv in _ok_levers(results) if lv.get("criteria")]
    names = _criterion_names(results, levers)
    if not levers or not names:
        return None

    def draw(fig: Figure) -> bool:
        ax = fig.add_subplot()
        width = 0.8 / len(levers)
        drawn = False
        for i, lv in enumerate(levers):
            means = lv.get("criteria") or {}
            cis = lv.get("criteria_ci") or {}
            xs, hs, lows, highs = [], [], [], []
            for j, crit in enumerate(names):
                mean = finite(means.get(crit))
                if mean is None:
                    continue
                ci = cis.get(crit) if isinstance(cis.get(crit), dict) else {}
                lo, hi = finite(ci.get("ci_low")), finite(ci.get("ci_high"))
                xs.append(j - 0.4 + width * (i + 0.5))
                hs.append(mean)
                lows.append(max(0.0, mean - lo) if lo is not None and hi is not None else 0.0)
                highs.append(max(0.0, hi - mean) if lo is not None and hi is not None else 0.0)
            if not xs:
                continue
            drawn = True
            ax.bar(xs, hs, width=width * 0.92, color=lever_color(str(lv.get("name")), i),
                   label=_label(lv.get("name")), zorder=2)
            if any(lows) or any(highs):
                ax.errorbar(xs, hs, yerr=[lows, highs], fmt="none", ecolor=INK, elinewidth=1,
                            capsize=2.5, zorder=3)
        if not drawn:
            return False
        ax.set_xticks(range(len(names)), ["\n".join(textwrap.wrap(_label(n), 16)) or "?" for n in names])
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("mean score")
        ax.grid(axis="y", color=GRID, zorder=0)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3 if len(levers) == 3 else 2, fontsize=11)
        return True

    return _render("criteria", "Mean score per rubric criterion and lever", WIDTH, 3.4, draw)


def _points(series: object) -> list[tuple[float, float]]:
    """[[step, loss], ...] -> finite pairs; anything malformed is dropped."""
    out = []
    for item in series if isinstance(series, Iterable) and not isinstance(series, (str, dict)) else []:
        if isinstance(item, (list, tuple)) and len(item) >= 2:
            x, y = finite(item[0]), finite(item[1])
            if x is not None and y is not None:
                out.append((x, y))
    return out


def loss_curve_chart(lever: dict) -> str | None:
    """Train and dev loss per step from `details.loss_curve`, with the chosen (best) step marked."""
    curve = (lever.get("details") or {}).get("loss_curve")
    if not isinstance(curve, dict):
        return None
    train, dev = _points(curve.get("train")), _points(curve.get("dev"))
    if not train and not dev:
        return None
    best = finite(curve.get("best_step"))
    name = str(lever.get("name"))

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        if train:
            ax.plot(*zip(*train), color="#0072B2", linewidth=1.8, label="train loss")
        if dev:
            ax.plot(*zip(*dev), color="#D55E00", linewidth=1.8, marker="o", markersize=3.5, label="dev loss")
        if best is not None:
            ax.axvline(best, color="#52606d", linestyle=":", linewidth=1.2)
            ax.annotate(f"kept step {best:g}", xy=(best, 1), xycoords=("data", "axes fraction"),
                        xytext=(4, -12), textcoords="offset points", fontsize=10, color="#52606d")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(color=GRID)
        handles, labels = ax.get_legend_handles_labels()
        if scores:  # the dev score checks (levers.finetune.stop_on_score), on their own axis
            right = ax.twinx()
            line, = right.plot(*zip(*scores), color="#009E73", linewidth=1.8, marker="s", markersize=3.5,
                               label="dev score")
            right.set_ylabel("dev score")
            handles, labels = handles + [line], labels + ["dev score"]
        ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=11)

    scores = _points(curve.get("dev_score"))
    title = "Training and dev loss" + (" and dev score" if scores else "")
    return _render(f"loss-{name}", f"{title} per step for {_label(name)}", WIDTH, 3.0, draw)


def _calls(value: float, _pos: object = None) -> str:
    """Compact call counts for a narrow axis: 0, 20k, 1.5M."""
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    return f"{value / 1000:g}k" if abs(value) >= 1000 else f"{value:g}"


def _money(value: float, _pos: object = None) -> str:
    if value == 0 or abs(value) >= 0.1:
        return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"
    return f"${value:.3g}"  # small budgets: keep the digits that differ between ticks


def break_even_chart(results: dict) -> str | None:
    """Monthly cost against calls per month, one line per ok lever with a price per call.

    As in advisor/costs.py, a lever's one-off cost is spread over the break-even horizon (months),
    so each line is one_off / horizon + cost_per_1k_calls * calls / 1000, and two lines cross at
    the `break_even_calls_per_month` of the cost model's break-even rows (marked with dots).
    """
    model = results.get("cost_model")
    if not isinstance(model, dict):
        return None
    rows = [row for row in model.get("break_even") or [] if isinstance(row, dict)]
    horizon = next((h for h in (finite(row.get("horizon_months")) for row in rows) if h and h > 0),
                   float(DEFAULT_HORIZON_MONTHS))
    lines = []
    for i, lv in enumerate(_ok_levers(results)):
        cost = lv.get("cost") or {}
        per_1k = finite(cost.get("cost_per_1k_calls"))
        if per_1k is not None:
            lines.append((str(lv.get("name")), i, per_1k, (finite(cost.get("one_off_cost")) or 0.0) / horizon))
    if not lines:
        return None
    by_name = {name: (per_1k, fixed) for name, _, per_1k, fixed in lines}
    crossings = []
    for row in rows:
        x = finite(row.get("break_even_calls_per_month"))
        name = str(row.get("lever"))
        if x is not None and x > 0 and name in by_name:
            per_1k, fixed = by_name[name]
            crossings.append((x, fixed + per_1k * x / 1000))
    volume = finite(model.get("calls_per_month"))
    marks = [x for x, _ in crossings] + ([volume] if volume else [])
    # log-log: break-evens of a few hundred calls and a volume of millions both stay readable
    x_lo = max(1.0, min(marks) / 10) if marks else 100.0
    x_hi = max(marks) * 10 if marks else 1_000_000.0
    xs = np.geomspace(x_lo, x_hi, 64)
    curves = [(name, i, fixed + per_1k * xs / 1000) for name, i, per_1k, fixed in lines]
    log_scale = all(float(ys.min()) > 0 for _, _, ys in curves)

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        for name, i, ys in curves:
            ax.plot(xs, ys, color=lever_color(name, i), linewidth=2, label=_label(name))
        if volume is not None:
            ax.axvline(volume, color="#52606d", linestyle="--", linewidth=1)
            ax.annotate(f"your volume: {_calls(volume)}/month", xy=(volume, 1), xycoords=("data", "axes fraction"),
                        xytext=(-4, -12), textcoords="offset points", fontsize=10, color="#52606d", ha="right")
        for x, y in crossings:
            ax.plot([x], [y], marker="o", color=INK, markersize=5, zorder=4)
        if log_scale:
            ax.set_xscale("log")
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set_xlim(x_lo, x_hi)
        ax.xaxis.set_major_formatter(FuncFormatter(_calls))
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        ax.set_xlabel("calls per month" + (" (log scale)" if log_scale else ""))
        ax.set_ylabel(f"cost per month (one-off / {horizon:g})")
        ax.grid(color=GRID)
        ax.legend(loc="upper left", fontsize=11)

    return _render("break-even", "Monthly cost against calls per month for each lever", WIDTH, 3.4, draw)


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")  # one per model of a grid


def grid_chart(results: dict) -> str | None:
    """A model x lever grid: each ok cell's mean score (95% CI whiskers) against its cost per 1,000 calls, colour
    by lever, marker by model; the Pareto front (results.json grid.pareto) joined by a line, the recommended cell
    ringed. Cells without a price are left out (the table lists them)."""
    grid = results.get("grid")
    if not isinstance(grid, dict):
        return None
    points = []
    labels = [str(m.get("label")) for m in grid.get("models") or [] if isinstance(m, dict)]
    levers: list[str] = []
    for cell in grid.get("cells") or []:
        if not isinstance(cell, dict) or cell.get("status") != "ok":
            continue
        score, cost = cell.get("score") or {}, cell.get("cost") or {}
        mean, per_1k = finite(score.get("mean")), finite(cost.get("cost_per_1k_calls"))
        if mean is None or per_1k is None:
            continue
        lever = str(cell.get("lever"))
        levers += [lever] if lever not in levers else []
        points.append((str(cell.get("name")), str(cell.get("model")), lever, per_1k, mean,
                       finite(score.get("ci_low")), finite(score.get("ci_high"))))
    if not points:
        return None
    by_name = {p[0]: p for p in points}
    front = sorted((by_name[n] for n in grid.get("pareto") or [] if n in by_name), key=lambda p: p[3])
    chosen = by_name.get(str((results.get("recommendation") or {}).get("cell")))
    positive = all(p[3] > 0 for p in points)
    log_scale = positive and max(p[3] for p in points) / min(p[3] for p in points) > 20

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        if len(front) > 1:
            ax.plot([p[3] for p in front], [p[4] for p in front], color=INK, linewidth=1.2, linestyle="--",
                    zorder=1, label="Pareto front")
        for name, model, lever, x, y, lo, hi in points:
            if lo is not None and hi is not None:
                ax.errorbar(x, y, yerr=[[max(0.0, y - lo)], [max(0.0, hi - y)]], fmt="none", ecolor=MUTED,
                            elinewidth=1, capsize=2, zorder=2)
            marker = _MARKERS[labels.index(model) % len(_MARKERS)] if model in labels else "o"
            on_front = name in (p[0] for p in front)
            ax.scatter([x], [y], s=70 if on_front else 45, marker=marker, zorder=3,
                       color=lever_color(lever, levers.index(lever)), edgecolors=INK if on_front else "white",
                       linewidths=1.2)
        if chosen is not None:
            ax.scatter([chosen[3]], [chosen[4]], s=260, facecolors="none", edgecolors=HIGHLIGHT, linewidths=2,
                       zorder=4, label="recommended")
        for i, lever in enumerate(levers):  # a lever is a colour (a swatch line), a model a grey marker
            ax.plot([], [], color=lever_color(lever, i), linewidth=6, label=_label(lever))
        for i, model in enumerate(labels):
            if any(p[1] == model for p in points):
                ax.scatter([], [], marker=_MARKERS[i % len(_MARKERS)], color="#7b8794", s=40, label=_label(model))
        if log_scale:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.xaxis.set_major_formatter(FuncFormatter(_money))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("cost per 1,000 calls" + (" (log scale)" if log_scale else ""))
        ax.set_ylabel("score (mean, 95% CI)")
        ax.grid(color=GRID, zorder=0)
        fig.legend(loc="outside lower center", ncol=3, fontsize=9, columnspacing=1.2, handlelength=1.6)

    return _render("grid", "Score against cost per 1,000 calls for every model and lever, Pareto front marked",
                   WIDTH, 4.8, draw)


def report_charts(results: dict) -> dict:
    """Every chart the report shows: {"scoreboard", "criteria", "break_even", "grid": svg|None,
    "loss": {lever: svg}}."""
    loss = {}
    for lv in _ok_levers(results):
        svg = loss_curve_chart(lv)
        if svg:
            loss[str(lv.get("name"))] = svg
    return {"scoreboard": scoreboard_chart(results), "criteria": criteria_chart(results),
            "break_even": break_even_chart(results), "grid": grid_chart(results), "loss": loss}
