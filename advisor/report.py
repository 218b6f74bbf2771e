"""Render results.json + prediction records into report.html (self-contained) and report.md.

Rendering only: every number shown comes from `results`; this module picks and orders what to
show (which examples to put side by side) and formats it. Every string reaches the page through
jinja2 autoescape; the only markup injected as-is is the SVG that `charts.py` draws. report.md
has its own escaping, applied to every value a template prints (`md_text`): user strings land as
plain text, never as links, images, HTML or table breaks. Every user string is bounded (a 1 MB
prediction shows its first TEXT_CHARS characters, once) and credentials are redacted.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import warnings
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from . import __version__, charts
from .errors import redact
from .resources import data_dir
from .results import Results
from .runs import atomic_write_text, finite

EVIDENCE_DISAGREE = 30  # examples where the levers' totals differ most
EVIDENCE_ALL_FAIL = 5  # examples every lever gets wrong
FAIL_BELOW = 0.5  # a total under this counts as a failure for "all levers fail"
LONG_TEXT = 280  # longer texts fold into <details>
NAME_CHARS = 200  # names, codes, ids, labels: longer ones are cut, with "… (N more chars)"
TEXT_CHARS = 2_000  # inputs, references, predictions, reasons, messages
PROMPT_CHARS = 10_000  # the instruction to deploy: cut only when absurd
NAME_KEYS = frozenset({"name", "lever", "a", "b", "versus", "code", "status", "label", "id", "kind", "source", "verdict",
                       "confidence", "test", "scorer", "variant", "schema_version", "created", "base_url"})
PROMPT_KEYS = ("instruction", "prompt", "system_prompt", "template")
# How the "Checked:" list names each check (results.json "checks"); other names show with spaces for underscores.
CHECK_LABELS = {"leakage_train_eval": "train → eval leakage", "leakage_corpus_eval": "corpus → eval leakage",
                "duplicates": "duplicates", "near_duplicates": "near duplicates", "label_imbalance": "label balance",
                "eval_size": "eval size", "overfitting": "overfitting", "forgetting": "forgetting",
                "dev_eval_gap": "dev vs eval", "majority_baseline": "majority baseline"}
CHECK_MARKS = {"passed": "✓", "warning": "⚠", "skipped": "–"}


def render_report(results: dict, predictions: dict[str, list[dict]], out_dir: Path) -> tuple[Path, Path]:
    """Write report.html and report.md into `out_dir` (atomically) and return their paths. `results` is a run that
    meets results.json's contract (`advisor.results.Results`: compare and `runs.read_results` checked it)."""
    out_dir = Path(out_dir)
    context = build_context(results, predictions)
    html_text = _environment().get_template("report.html.j2").render(**context)
    md_page = _md_environment().get_template("report.md.j2").render(**context)
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    atomic_write_text(html_path, html_text, mode=0o644)  # a report is meant to be shared
    atomic_write_text(md_path, md_page, mode=0o644)
    return html_path, md_path


def build_context(results: dict, predictions: dict[str, list[dict]]) -> dict:
    """Everything the templates read: the validated results (the contract's defaults filled in: a skipped lever's
    criteria, chosen, dev and details are empty, absent checks and judges are empty lists) with every string
    bounded, charts, evidence rows. `results` is read as results.json holds it (compare passes its dict before any
    JSON round trip: tuples, paths)."""
    r = bounded(Results.model_validate(json.loads(json.dumps(results, default=str))).model_dump())  # as stored
    ok = [lv for lv in r["levers"] if lv["status"] == "ok"]
    rec_name = r["recommendation"]["lever"]
    winner = next((lv for lv in r["levers"] if lv["name"] == rec_name), None)
    with warnings.catch_warnings():  # matplotlib's layout notes on long labels are not the user's business
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        svgs = charts.report_charts(r)
    return {
        "r": r,
        "ok_levers": ok,
        "ranked_levers": _ranked(r["levers"]),
        "winner": winner,
        "criteria": _criterion_names(r),
        "charts": {"scoreboard": _svg(svgs["scoreboard"]), "criteria": _svg(svgs["criteria"]),
                   "break_even": _svg(svgs["break_even"]), "grid": _svg(svgs.get("grid")),
                   "loss": {name: _svg(svg) for name, svg in svgs["loss"].items()}},
        "grid": grid_view(r),
        "evidence": select_evidence(predictions or {}, [lv["name"] for lv in ok], _criterion_names(r)),
        "evidence_total": _count_examples(predictions or {}, [lv["name"] for lv in ok]),
        "judges": [_judge_row(j) for j in r["judges"]],
        "checks": [_check_row(c) for c in r["checks"]],
        "check_counts": _check_counts(r["checks"]),
        "deploy": _deploy(winner, r["model"]) if winner else None,
        "css": Markup((data_dir("templates") / "report.css").read_text(encoding="utf-8")),
        "version": __version__,
        "long_text": LONG_TEXT,
        "fail_below": FAIL_BELOW,
    }


def grid_view(r: dict) -> dict | None:
    """The model x lever grid as the report shows it: one row per model, one column per lever (cells marked as on
    the Pareto front and recommended), and the recommended cell against every other cell, from its side."""
    grid = r.get("grid")
    if not grid:
        return None
    levers = list(dict.fromkeys(c["lever"] for c in grid["cells"]))
    cells = {(c["model"], c["lever"]): c for c in grid["cells"]}
    front, chosen = set(grid["pareto"]), r["recommendation"].get("cell")
    missing = {"name": None, "status": "not run", "reason": "not in this run"}
    rows = [{"label": m["label"], "model": m["model"], "own": m["recommendation"], "warnings": m["warnings"],
             "cells": [dict(cell, pareto=cell["name"] in front, chosen=cell["name"] == chosen)
                       for cell in (cells.get((m["label"], lever), missing) for lever in levers)]}
            for m in grid["models"]]
    flip = {"better": "worse", "worse": "better"}
    against = []
    for c in grid["comparisons"]:
        if c["a"] == chosen:
            against.append(c)
        elif c["b"] == chosen:
            against.append(dict(c, a=c["b"], b=c["a"], diff=-c["diff"], ci_low=-c["ci_high"], ci_high=-c["ci_low"],
                                verdict=flip.get(c["verdict"], c["verdict"])))
    return {"levers": levers, "rows": rows, "against": sorted(against, key=lambda c: c["diff"]),
            "pareto": grid["pareto"], "chosen": chosen, "mdd": grid["min_detectable_difference"]}


def select_evidence(predictions: dict[str, list[dict]], levers: list[str], criteria: list[str],
                    limit: int = EVIDENCE_DISAGREE, all_fail: int = EVIDENCE_ALL_FAIL) -> list[dict]:
    """Examples worth reading side by side: the widest spread of totals across levers, then a
    few that every lever fails. Each row: id, input, reference, kind, spread, cells per lever."""
    by_lever = {name: {str(rec.get("id")): rec for rec in predictions.get(name) or [] if isinstance(rec, dict)}
                for name in levers}
    order = list(dict.fromkeys(ex_id for name in levers for ex_id in by_lever[name]))  # first seen, no repeats
    rows = []
    for pos, ex_id in enumerate(order):
        records = {name: by_lever[name].get(ex_id) for name in levers}
        totals = [t for t in (_total(rec) for rec in records.values()) if t is not None]
        if not totals:
            continue
        first = next(rec for rec in records.values() if rec)
        rows.append({"id": clip(redact(ex_id), NAME_CHARS), "pos": pos, "input": _text(first.get("input")),
                     "reference": _text(first.get("reference")),
                     "spread": max(totals) - min(totals) if len(totals) > 1 else 0.0,
                     "best": max(totals), "cells": [_cell(name, records[name], criteria) for name in levers]})
    disagree = sorted((row for row in rows if row["spread"] > 0), key=lambda row: (-row["spread"], row["pos"]))
    chosen = [dict(row, kind="disagree") for row in disagree[:limit]]
    taken = {row["id"] for row in chosen}
    failing = sorted((row for row in rows if row["best"] < FAIL_BELOW and row["id"] not in taken),
                     key=lambda row: (row["best"], row["pos"]))
    chosen += [dict(row, kind="all fail") for row in failing[:all_fail]]
    return chosen


def _count_examples(predictions: dict[str, list[dict]], levers: list[str]) -> int:
    ids = {str(rec.get("id")) for name in levers for rec in predictions.get(name) or [] if isinstance(rec, dict)}
    return len(ids)


def _cell(lever: str, record: dict | None, criteria: list[str]) -> dict:
    if not record:
        return {"lever": lever, "prediction": None, "total": None, "scores": []}
    scores = record.get("scores") if isinstance(record.get("scores"), dict) else {}
    judged = record.get("judgements") if isinstance(record.get("judgements"), dict) else {}
    return {"lever": lever, "prediction": _text(record.get("prediction")), "total": _total(record),
            "scores": [(c, finite(scores.get(c))) for c in criteria if c in scores],
            "judged": [{"name": c, "score": finite(j.get("score")), "parsed": j.get("parsed") is True,
                        "reason": _text(j.get("reason") or ""), "reply": _text(j.get("reply") or "")}
                       for c, j in judged.items() if c in criteria and isinstance(j, dict)]}


def _judge_row(judge: dict) -> dict:
    """One llm_judge criterion for the report: who judged, how often it failed to answer, its biases, its validity."""
    bias, validity = judge.get("length_bias"), judge.get("validity")
    bias_text = ("not measured (too few answers, or no spread)" if bias is None else
                 f"Spearman {fmt_signed(bias['spearman'], 2)} with answer length (p={fmt_p(bias['p_value'])}, "
                 f"{fmt_count(bias['answers'])} answers)")
    if validity is not None:
        ci = (f" [{fmt_num(validity['ci_low'], 2)}, {fmt_num(validity['ci_high'], 2)}]"
              if finite(validity["ci_low"]) is not None else "")
        value = (f"{validity['statistic'].replace('_', ' ')} {fmt_num(validity['value'], 2)}{ci}"
                 if finite(validity["value"]) is not None else "agreement statistic undefined (one label only)")
        agree = finite(validity["agreement"])
        validity_text = (f"{value} on {fmt_count(validity['labels'])} human labels"
                         + (f"; exact agreement {agree:.0%}" if agree is not None else ""))
    else:
        validity_text = "unvalidated: no human labels (data.judge_labels)"
    unparsed_rate = finite(judge["unparsed_rate"])
    return {"criterion": _text(judge["criterion"], NAME_CHARS), "judge": _text(judge["judge"], NAME_CHARS),
            "scale": _text(judge["scale"], NAME_CHARS), "reference": judge["reference"],
            "answers": judge["answers"], "unparsed": judge["unparsed"],
            "unparsed_rate": f"{unparsed_rate:.0%}" if unparsed_rate is not None else "—",
            "self_preference": judge["self_preference"], "length_bias": bias_text,
            "validity": validity_text, "validated": validity is not None,
            "calls": judge["calls"]["judged"], "seconds": judge["calls"]["seconds"]}


def _total(record: dict | None) -> float | None:
    if not record or not isinstance(record.get("scores"), dict):
        return None
    return finite(record["scores"].get("total"))


def _text(value: object, limit: int = TEXT_CHARS) -> str:
    """A user value as bounded, redacted text (chat messages and other JSON as JSON)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False)
        except (ValueError, RecursionError):  # circular or absurdly deep: not from a JSON file
            value = "(not shown: nested too deeply)"
    return clip(redact(value), limit)


_CLIPPED = re.compile(r"… \(([\d,]+) more chars\)$")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how many more there were (counted from the original when `text` was
    already cut, so cutting twice never understates what was left out)."""
    done = _CLIPPED.search(text)
    kept, more = (done.start(), int(done.group(1).replace(",", ""))) if done else (len(text), 0)
    if kept <= limit:
        return text
    return f"{text[:limit]}… ({kept - limit + more:,} more chars)"


def bounded(value: object, limit: int = TEXT_CHARS, depth: int = 0) -> object:
    """A copy of `value` (results.json content) where every string is redacted and cut to its limit: names and
    keys NAME_CHARS, instructions PROMPT_CHARS, everything else TEXT_CHARS."""
    if isinstance(value, str):
        return clip(redact(value), limit)
    if depth > 64:
        return "(not shown: nested too deeply)"
    if isinstance(value, dict):
        return {bounded(k, NAME_CHARS): bounded(v, _limit_for(k), depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bounded(v, limit, depth + 1) for v in value]
    return value


def _limit_for(key: object) -> int:
    return NAME_CHARS if key in NAME_KEYS else PROMPT_CHARS if key in PROMPT_KEYS else TEXT_CHARS


def _check_row(check: dict) -> dict:
    """One "Checked:" line: status mark, readable name (with its lever, for per-lever checks), detail."""
    status, name = check["status"], check["name"]
    label = CHECK_LABELS.get(name, name.replace("_", " "))
    detail, lever = _text(check["detail"]), check["lever"]
    if lever:  # the label names the lever, so the detail need not start with it too
        label, detail = f"{label} ({lever})", detail.removeprefix(f"{lever}: ")
    return {"status": status, "mark": CHECK_MARKS.get(status, "?"), "label": label, "detail": detail}


def _check_counts(checks: list[dict]) -> str:
    """`8 passed, 1 warning, 1 skipped`: the statuses present, in that order."""
    counts = Counter(c["status"] for c in checks)
    order = [*CHECK_MARKS, *sorted(s for s in counts if s not in CHECK_MARKS)]
    return ", ".join(f"{counts[s]} {s}{'s' if s == 'warning' and counts[s] != 1 else ''}" for s in order if counts[s])


def _ranked(levers: list[dict]) -> list[dict]:
    """Ok levers by mean score (best first), then the rest in their original order."""
    def key(item: tuple[int, dict]) -> tuple:
        pos, lv = item
        mean = finite(lv["score"]["mean"]) if lv["score"] else None
        ok = lv["status"] == "ok" and mean is not None
        return (0 if ok else 1, -(mean or 0.0) if ok else 0.0, pos)
    return [lv for _, lv in sorted(enumerate(levers), key=key)]


def _criterion_names(r: dict) -> list[str]:
    names = [c["name"] for c in r["rubric"]["criteria"]]
    for lv in r["levers"]:
        names += [k for k in lv["criteria"] if k != "total" and k not in names]
    return names


def _deploy(winner: dict, model: dict) -> dict:
    """What the deploy section shows for the recommended lever: paths and snippet inputs."""
    artifacts, chosen = winner["artifacts"] or {}, winner["chosen"]  # a skipped lever has no artifacts
    texts = [source[k] for k in PROMPT_KEYS for source in (artifacts, chosen)
             if isinstance(source.get(k), str) and source[k].strip()]
    shown = ("adapter", "index", "chunks", "predictions", *PROMPT_KEYS)
    return {"adapter": artifacts.get("adapter"), "index": artifacts.get("index"), "chunks": artifacts.get("chunks"),
            "predictions": artifacts.get("predictions"), "prompt": texts[0] if texts else None,
            "base_model": model.get("source") or model.get("id") or "BASE_MODEL",
            "other": {k: v for k, v in artifacts.items() if k not in shown}}


def _svg(svg: str | None) -> Markup | None:
    """Chart SVG from charts.py: matplotlib escapes the text it writes; we never inline a script."""
    if not svg:
        return None
    if "<script" in svg.lower():
        raise ValueError("chart SVG contains a script element")
    return Markup(svg)


def _templates(autoescape: bool, finalize) -> Environment:  # type: ignore[no-untyped-def]
    """A Jinja environment over the shipped templates; `finalize` bounds or escapes every printed value."""
    return Environment(loader=FileSystemLoader(str(data_dir("templates"))), autoescape=autoescape,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                       finalize=finalize)


def write_pages(out_dir: Path, stem: str, context: dict, data: object) -> tuple[Path, Path, Path]:
    """`stem`.html, `stem`.md (from templates/`stem`.html.j2 and .md.j2, with the report's CSS) and `stem`.json
    (`data`), written atomically into `out_dir`: the pages of `advise diff` and `advise upgrade`."""
    context = {**context, "version": __version__,
               "css": Markup((data_dir("templates") / "report.css").read_text(encoding="utf-8"))}
    paths = out_dir / f"{stem}.html", out_dir / f"{stem}.md", out_dir / f"{stem}.json"
    atomic_write_text(paths[0], _environment().get_template(f"{stem}.html.j2").render(**context), mode=0o644)
    atomic_write_text(paths[1], _md_environment().get_template(f"{stem}.md.j2").render(**context), mode=0o644)
    atomic_write_text(paths[2], json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", mode=0o644)
    return paths


def _environment() -> Environment:
    """The HTML environment: autoescape on for every template, every printed plain string bounded."""
    env = _templates(autoescape=True, finalize=lambda v: v if isinstance(v, Markup) or not isinstance(v, str)
                     else clip(v, PROMPT_CHARS))
    env.filters.update(num=fmt_num, money=fmt_money, count=fmt_count, secs=fmt_secs, pvalue=fmt_p,
                       ci=fmt_ci, pyrepr=lambda v: repr(str(v)), csp_hash=csp_hash,
                       plain=fmt_plain, when=fmt_when, columns=table_columns)
    env.tests.update(
        number=lambda v: finite(v) is not None,
        chosen_by=is_chosen_row,
        scalar_mapping=lambda v: isinstance(v, dict) and bool(v) and all(map(_is_scalar, v.values())),
        records=lambda v: isinstance(v, list) and bool(v) and all(
            isinstance(row, dict) and all(map(_is_scalar, row.values())) for row in v),
    )
    return env


class MdText(str):
    """Markdown that is already safe to print: escaped user text, a code span, or one of our formatted numbers."""


def _md_environment() -> Environment:
    """The Markdown environment: no HTML autoescape, but every printed value passes `md_text` unless a filter has
    already made it safe (MdText), so no template line can print a user string raw."""
    def trusted(fmt):  # type: ignore[no-untyped-def]
        return lambda *args: MdText(fmt(*args))

    env = _templates(autoescape=False, finalize=lambda v: v if isinstance(v, MdText) else md_text("" if v is None else v))
    env.filters.update(num=trusted(fmt_num), money=trusted(fmt_money), count=trusted(fmt_count),
                       secs=trusted(fmt_secs), pvalue=trusted(fmt_p), ci=trusted(fmt_ci), signed=trusted(fmt_signed),
                       when=fmt_when, md=md_text, code=md_code,
                       ours=MdText)  # `ours`: text the template built from formatted numbers only
    env.tests.update(number=lambda v: finite(v) is not None)
    return env


# escapes, code spans, HTML and autolinks, links and images, table cells, entities: always (<> as entities, so even
# a reader that treats the text as HTML shows them as typed)
_MD_ALWAYS = {"\\": "\\\\", "`": "\\`", "[": "\\[", "|": "\\|", "&": "\\&", "<": "&lt;", ">": "&gt;"}
_MD_PAIRED = "*_~$"  # emphasis, strikethrough and math need two of these: a lone one is shown as typed
_MD_LINE_START = re.compile(r"^([-+=*#]|\d+(?=[.)]))")  # list items, headings, quotes if a value starts a line


def md_text(value: object, limit: int = TEXT_CHARS) -> MdText:
    """A value as Markdown that renders as exactly that text on one line: no links, images, raw HTML, code spans,
    emphasis, headings, list markers or table breaks (Markdown-active characters are backslash-escaped, newlines
    become spaces, `://` and `www.` are broken so GitHub does not autolink them)."""
    text = re.sub(r"[\\`\[|&<>]", lambda m: _MD_ALWAYS[m.group()], clip(" ".join(str(value).split()), limit))
    for mark in _MD_PAIRED:
        if text.count(mark) > 1:
            text = text.replace(mark, "\\" + mark)
    text = re.sub(r"(?i)(www)\.", r"\1\\.", text.replace("://", "\\://"))
    text = _MD_LINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), text)
    return MdText(text)


def md_code(value: object, limit: int = NAME_CHARS) -> MdText:
    """A value as one Markdown code span: fenced with more backticks than it contains, so nothing inside ends it."""
    text = clip(" ".join(str(value).split()), limit) or " "
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return MdText(f"{fence}{pad}{text}{pad}{fence}")


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def table_columns(rows: list[dict], first: tuple[str, ...] = ()) -> list[str]:
    """Column names for a list of dicts: `first` (when present), then every other key in order seen."""
    seen = [k for k in first if any(k in row for row in rows)]
    for row in rows:
        seen += [k for k in row if k not in seen]
    return seen


def is_chosen_row(row: dict, chosen: dict) -> bool:
    """Whether a dev-table row is the variant the lever kept: same `variant`, else same settings."""
    if "variant" in row and "variant" in chosen:
        return row["variant"] == chosen["variant"]
    keys = [k for k in row if k not in ("variant", "score")]
    return bool(keys) and all(k in chosen and chosen[k] == row[k] for k in keys)


def fmt_when(value: object) -> str:
    """An ISO timestamp as `2025-06-01 12:00 UTC`; anything else unchanged."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None and moment.utcoffset() == timezone.utc.utcoffset(None):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M") + (moment.strftime(" %z") if moment.tzinfo else "")


def fmt_num(value: object, digits: int = 3) -> str:
    v = finite(value)
    return "—" if v is None else f"{v:.{digits}f}"


def fmt_ci(score: object, digits: int = 3) -> str:
    """`0.741 [0.679, 0.802]` from a {mean, ci_low, ci_high} dict; missing bounds are dropped."""
    if not isinstance(score, dict) or finite(score.get("mean")) is None:
        return "—"
    text = fmt_num(score.get("mean"), digits)
    lo, hi = finite(score.get("ci_low")), finite(score.get("ci_high"))
    return text + (f" [{lo:.{digits}f}, {hi:.{digits}f}]" if lo is not None and hi is not None else "")


def fmt_money(value: object) -> str:
    v = finite(value)
    if v is None:
        return "—"
    if v == 0:
        return "$0"
    if abs(v) >= 1:
        return f"${v:,.2f}"
    text = f"{v:.3g}"  # per-call prices are tiny: keep three significant digits
    if "e" in text:
        return f"${v:.2e}"
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"${v:.{max(2, decimals)}f}"


def fmt_count(value: object) -> str:
    v = finite(value)
    if v is None:
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.1f}"


def fmt_secs(value: object) -> str:
    v = finite(value)
    if v is None:
        return "—"
    if v == 0:
        return "0 s"
    if v >= 120:
        return f"{v / 60:,.1f} min"
    return f"{v:.2f} s" if v < 10 else f"{v:.0f} s"


def fmt_p(value: object) -> str:
    v = finite(value)
    if v is None:
        return "—"
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def fmt_signed(value: object, digits: int = 3) -> str:
    """`+0.214`: a difference with its sign; a dash when missing."""
    v = finite(value)
    return "—" if v is None else f"{v:+.{digits}f}"


def fmt_plain(value: object) -> str:
    """A details/chosen value as short text: numbers trimmed, mappings as `k: v · k: v`."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, dict) and all(map(_is_scalar, value.values())):
        return clip(" · ".join(f"{k}: {fmt_plain(v)}" for k, v in value.items()), TEXT_CHARS)
    if isinstance(value, list) and all(map(_is_scalar, value)):
        return clip(", ".join(fmt_plain(v) for v in value), TEXT_CHARS) or "—"
    if isinstance(value, (dict, list)):
        return _text(value)
    return str(value)


def csp_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script and nothing else."""
    digest = hashlib.sha256(str(script).encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"
