"""Render an upgrade drill (advisor/upgrade.py): upgrade.html (self-contained), upgrade.md and upgrade.json, and the
lock-in table's rows as display text (the terminal prints the same rows).

The templates go through report.py's environments: autoescape and bounded strings in HTML, `md_text` on every value
printed in Markdown.
"""
from __future__ import annotations

from pathlib import Path

from .upgrade import money

COLUMNS = ("lever", "old", "as-is: new", "as-is: new - old [95% CI]", "re-tuned: new", "re-tuned: new - old [95% CI]",
           "paired", "redone (as-is)", "move: s / $ / tokens", "lock-in")


def _score(side: dict | None) -> str:
    if not side or side.get("status") != "ok":
        return "—"
    return f"{side['score']:.3f}"


def _delta(side: dict | None) -> str:
    paired = (side or {}).get("paired") or {}
    if paired.get("diff") is None:
        return "—" if not paired.get("note") else f"not paired: {paired['note']}"
    verdict = {"worse": " worse", "better": " better"}.get(str(paired.get("verdict")), "")
    return f"{paired['diff']:+.3f} [{paired['ci_low']:+.3f}, {paired['ci_high']:+.3f}]{verdict}"


def _tokens(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)


def _move(side: dict | None) -> str:
    if not side or side.get("status") != "ok":
        return "—"
    c = side["cost"]
    tokens = c["prompt_tokens"] + c["output_tokens"] + c["training_tokens"]
    dollars = money(c["dollars"]) if c["dollars"] is not None else "$ unpriced"
    return f"{c['seconds']:,.1f} s / {dollars} / {_tokens(tokens)}"


def table_rows(u: dict) -> list[dict[str, str]]:
    """One row per lever of the old run, as text, in COLUMNS order."""
    rows = []
    for r in u["levers"]:
        old = r["old"]
        old_text = f"{old['score']:.3f}" if old.get("status") == "ok" else old["status"]
        if not r["carried"]:
            cells = (r["name"], old_text, "—", "—", "—", "—", "—", f"not moved: {r['reason']}", "—", "—")
            rows.append(dict(zip(COLUMNS, cells)))
            continue
        a, t = r.get("as_is"), r.get("re_tuned")
        counts = [str(((s or {}).get("paired") or {}).get("n", 0)) for s in (a, t)]
        redone = "; ".join(a["redone"]) if a and a.get("status") == "ok" else \
            f"skipped: {(a or {}).get('reason') or 'not run'}"
        rows.append(dict(zip(COLUMNS, (r["name"], old_text, _score(a), _delta(a), _score(t), _delta(t),
                                       " / ".join(counts), redone, _move(a), r["lock_in"]["text"]))))
    return rows


def render_upgrade(u: dict, out_dir: Path) -> tuple[Path, Path, Path]:
    """Write upgrade.html, upgrade.md and upgrade.json into `out_dir` (atomically) and return their paths."""
    from .report import write_pages  # the report's escaping, filters and bounds

    context = {"u": u, "rows": table_rows(u), "columns": COLUMNS, "money": money}
    return write_pages(Path(out_dir), "upgrade", context, u)
