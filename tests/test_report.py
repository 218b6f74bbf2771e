"""report.html / report.md rendering: content, escaping, self-containment, optional fields."""
from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from advisor import charts
from advisor.report import render_report, select_evidence
from report_fixture import XSS_ATTR, XSS_IMG, XSS_SCRIPT, make_predictions, make_results


class Page(HTMLParser):
    """The parsed page: every start tag with its attributes, and the text under each id'd section."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text_parts: list[str] = []
        self.section_text: dict[str, list[str]] = {}
        self._section: str | None = None
        self._in_script = False
        self._stack: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag == "section":
            self._section = attributes.get("id")
            self.section_text.setdefault(self._section or "", [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
            return
        self.text_parts.append(data)
        if self._section:
            self.section_text[self._section].append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def section(self, name: str) -> str:
        return " ".join(" ".join(self.section_text.get(name, [])).split())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def render(tmp_path: Path, results: dict | None = None, predictions: dict | None = None) -> tuple[Page, str, str]:
    results = make_results() if results is None else results
    predictions = make_predictions(results) if predictions is None else predictions
    html_path, md_path = render_report(results, predictions, tmp_path)
    assert html_path == tmp_path / "report.html" and md_path == tmp_path / "report.md"
    html_text = html_path.read_text(encoding="utf-8")
    page = Page()
    page.feed(html_text)
    page.close()
    return page, html_text, md_path.read_text(encoding="utf-8")


def test_summary_names_recommendation_reasons_and_warnings(tmp_path: Path) -> None:
    results = make_results()
    page, _, _ = render(tmp_path, results)
    summary = page.section("summary")
    assert "Use finetune for support-triage" in summary
    assert "likely" in summary
    for reason in results["recommendation"]["reasons"] + results["recommendation"]["what_would_change"]:
        assert " ".join(reason.split()) in summary
    for warning in results["warnings"]:
        assert warning["code"] in summary and warning["message"] in summary


def test_checked_lists_every_check_with_its_mark_and_detail(tmp_path: Path) -> None:
    page, html_text, md = render(tmp_path)
    summary = page.section("summary")
    assert "Checked: 4 passed, 1 warning, 1 skipped" in summary
    assert ("✓ duplicates : 0 of 480 training examples repeat an earlier example's input and output, and 0 inputs "
            "appear with different outputs.") in summary
    assert f"⚠ train → eval leakage : 3 of 60 eval inputs match a training input exactly or at cosine >= 0.95 " \
           f"({XSS_SCRIPT})." in summary
    assert "– forgetting (finetune) : no guard set" in summary  # the lever is named once
    assert "✓ overfitting (finetune) : dev loss rose after epoch 2" in summary
    assert len(page.find("li", **{"class": "check-passed"})) == 4
    assert len(page.find("li", **{"class": "check-warning"})) == 1
    assert "<script>alert" not in html_text
    assert "**Checked:** 4 passed, 1 warning, 1 skipped" in md
    assert "- ⚠ **train → eval leakage**: 3 of 60 eval inputs match a training input exactly" in md
    assert "- ✓ **majority baseline**: no lever scores below always answering 'billing' (0.31)" in md
    assert "- – **forgetting (finetune)**: no guard set (data.guard), so forgetting was not measured" in md
    assert md.index("**Checked:**") < md.index("## Scoreboard")


def test_old_results_without_checks_still_render(tmp_path: Path) -> None:
    results = make_results()
    del results["checks"]
    page, _, md = render(tmp_path, results)
    assert "Checked:" not in page.text and "Checked:" not in md
    assert "Use finetune for support-triage" in page.section("summary")
    results["checks"] = [{"name": "eval_size", "status": "skipped", "detail": ""}]  # shown by name, even with no detail
    page, _, md = render(tmp_path, results)
    assert "Checked: 1 skipped" in page.section("summary") and "– eval size :" in page.section("summary")


def test_scoreboard_has_every_lever_skip_reason_baseline_and_verdicts(tmp_path: Path) -> None:
    results = make_results()
    page, _, _ = render(tmp_path, results)
    rows = [a.get("data-lever") for a in page.find("tr") if a.get("data-lever")]
    assert rows == ["finetune", "retrieval", "prompt", "retrieval+finetune"]  # best first, skipped last
    board = page.section("scoreboard")
    assert "0.741 [0.679, 0.802]" in board
    assert "time budget: finetune took 24 min and --max-minutes is 30" in board
    assert "majority class (“billing”)" in board and "0.310" in board
    assert "+0.214 [+0.131, +0.297]" in board and "A better" in board and "indistinguishable" in board
    assert len(page.find("svg", **{"class": "chart"})) >= 2  # scoreboard + per-criterion charts
    cost = page.section("cost")
    assert "Per 1,000 calls" in cost and "$0.036" in cost and "$0.0846" in cost
    assert "At more than 737 calls a month finetune becomes cheaper than prompt" in cost
    assert "finetune retrieval above 241 2,897 yes" in cost  # break-even table row
    dev = page.section("dev")
    assert "4-shot nearest, instruction in system ★ chosen" in dev
    assert "recall@4 0.83" in dev and "mrr@4 0.692" in dev  # retrieval metrics from details.retriever
    assert "lr dev_loss 0.0001 1.31" in dev  # the learning-rate grid as a small table
    deploy = page.section("deploy")
    assert "PeftModel.from_pretrained(base, 'runs/support-triage/cache/finetune/lr2e-04/best')" in deploy
    assert "from_pretrained('~/.cache/advise/models/smollm2-135m-instruct')" in deploy
    method = page.section("method")
    assert "sha256:3f9a1c0d5e7b" in method and "1234" in method and "transformers" in method
    assert "lever_finetune 23.8 min" in method


def test_hostile_text_is_printed_not_executed(tmp_path: Path) -> None:
    page, html_text, _ = render(tmp_path)
    for payload in (XSS_SCRIPT, XSS_IMG, XSS_ATTR):
        assert payload in page.text  # visible as text after entity decoding
    assert "<script>alert" not in html_text and "<img src=x" not in html_text and "<svg onload" not in html_text
    scripts = page.find("script")
    assert len(scripts) == 1 and scripts[0] == {}  # only our own inline script, no src
    assert "alert(" not in page.scripts[0]
    assert page.find("img") == []
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    # the Content-Security-Policy pins the one inline script by hash
    csp = [a["content"] for a in page.find("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "script-src 'sha256-" in csp[0]


def test_page_references_nothing_outside_itself(tmp_path: Path) -> None:
    page, html_text, _ = render(tmp_path)
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
            if tag != "a":
                assert value == "" or value.startswith(("#", "data:")), (tag, name, value)
    assert not page.find("link", rel="stylesheet")
    assert "@import" not in html_text and "@font-face" not in html_text
    assert re.findall(r"url\((?!#)", html_text) == []  # only in-page references such as clip paths


def test_evidence_picks_disagreements_then_all_fail(tmp_path: Path) -> None:
    results = make_results()
    predictions = make_predictions(results)
    ok = ["prompt", "retrieval", "finetune"]
    rows = select_evidence(predictions, ok, ["label", "answer", "similarity"])
    disagree = [r for r in rows if r["kind"] == "disagree"]
    failing = [r for r in rows if r["kind"] == "all fail"]
    assert 0 < len(disagree) <= 30 and 0 < len(failing) <= 5
    spreads = [r["spread"] for r in disagree]
    assert spreads == sorted(spreads, reverse=True) and spreads[0] > 0.5
    assert all(r["best"] < 0.5 for r in failing)
    assert [c["lever"] for c in rows[0]["cells"]] == ok
    page, _, _ = render(tmp_path, results, predictions)
    evidence_rows = [a for a in page.find("tr") if a.get("data-kind")]
    assert len(evidence_rows) == len(rows)


def test_markdown_has_summary_scoreboard_verdicts_and_costs(tmp_path: Path) -> None:
    _, _, md = render(tmp_path)
    assert md.startswith("# advise: support-triage")
    assert "**Recommendation: use `finetune`** (confidence: likely)" in md
    assert "| lever | status | score [95% CI] | label | answer | similarity |" in md
    assert "| finetune ★ | ok | 0.741 [0.679, 0.802] | 0.800 | 0.660 | 0.730 |" in md
    assert "| retrieval+finetune | skipped: time budget" in md
    assert "| majority class (billing) | baseline | 0.310 |" in md
    assert ("| finetune | prompt | +0.214 [+0.131, +0.297] | < 0.001 | mcnemar + paired bootstrap | better |"
            in md)
    assert "| per 1k calls |" in md and "| finetune | 96 / 36 | 0.61 s |" in md
    assert "- At more than 737 calls a month finetune becomes cheaper than prompt" in md
    assert "<script>" not in md
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") >= 2 for line in table)


def test_optional_parts_missing_still_render(tmp_path: Path) -> None:
    results = make_results(skipped=False, cost_model=False, loss_curve=False, baselines=False,
                           retrieval_details=False)
    results["comparisons"] = []
    results["warnings"] = []
    results["environment"]["packages"] = {}
    page, html_text, md = render(tmp_path, results)
    assert "No cost model was given" in page.section("cost")
    assert "majority class" not in page.section("scoreboard")
    assert "retrieval+finetune" in page.section("scoreboard")
    assert "Training loss" not in html_text
    assert "No warnings" in page.section("risks")
    assert "No cost model was given" in md and "Break-even" not in md
    assert "break-even" not in html_text.lower().replace("break-even</a>", "")


def test_sparse_results_render(tmp_path: Path) -> None:
    """Nulls and absent keys everywhere the contract (advisor.results) allows them, and intervals that are not
    numbers (NaN): nothing raises, dashes appear."""
    results = make_results(cost_model=False, baselines=False)
    del results["checks"], results["task"]["max_new_tokens"]
    results["timings"] = {}
    results["min_detectable_difference"] = None
    results["model"]["parameters"] = None
    results["task"]["sizes"]["corpus_chunks"] = None
    results["task"]["hashes"]["corpus"] = None
    results["comparisons"][0]["p_value"] = None
    results["recommendation"] = {"lever": None, "confidence": "toss-up", "reasons": [], "what_would_change": []}
    lever = results["levers"][0]
    lever["score"] = {"mean": 0.5, "ci_low": float("nan"), "ci_high": float("nan")}
    lever["criteria_ci"] = {}
    lever["details"] = {"loss_curve": {"train": None, "dev": [[1, None]], "best_step": None}}
    results["levers"][2]["details"]["loss_curve"] = {"train": [[0, 2.0], [10, 1.0]]}
    page, _, md = render(tmp_path, results, predictions={})
    assert "No recommendation" in page.section("summary")
    assert "No prediction records" in page.section("evidence")
    assert "There is no recommended lever" in page.section("deploy")
    assert "| prompt | ok | 0.500 |" in md


def test_charts_are_deterministic_escaped_and_tolerant() -> None:
    results = make_results()
    first, second = charts.report_charts(results), charts.report_charts(copy.deepcopy(results))
    assert first == second
    assert set(first["loss"]) == {"finetune"}
    for svg in [first["scoreboard"], first["criteria"], first["break_even"], *first["loss"].values()]:
        assert svg.startswith('<svg class="chart" role="img"') and "<metadata" not in svg
        assert "http://purl" not in svg and not re.search(r'(?:src|href)="https?:', svg)
    ids = re.findall(r'id="(m[0-9a-f]{10}|p[0-9a-f]{10})"', "".join(
        [first["scoreboard"], first["criteria"], first["break_even"]]))
    assert len(ids) == len(set(ids))  # several SVGs share one page: no id clashes
    hostile = make_results()
    hostile["rubric"]["criteria"][0]["name"] = "<script>x</script>"
    for lever in hostile["levers"]:
        if lever.get("criteria"):
            lever["criteria"]["<script>x</script>"] = lever["criteria"].pop("label")
    svg = charts.criteria_chart(hostile)
    assert svg and "<script" not in svg and "&lt;script&gt;" in svg
    assert charts.scoreboard_chart({"levers": [{"name": "prompt", "status": "skipped"}]}) is None
    assert charts.break_even_chart({"levers": [], "cost_model": {}}) is None
    assert charts.loss_curve_chart({"name": "finetune", "details": {"loss_curve": {"train": "bad"}}}) is None


def test_writes_are_atomic_and_rerenders_identical(tmp_path: Path) -> None:
    results = make_results()
    predictions = make_predictions(results)
    first = [p.read_bytes() for p in render_report(results, predictions, tmp_path)]
    second = [p.read_bytes() for p in render_report(results, predictions, tmp_path)]
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.md"]  # no temp files left


@pytest.mark.parametrize("confidence", ["clear", "likely", "toss-up"])
def test_confidence_badge(tmp_path: Path, confidence: str) -> None:
    results = make_results()
    results["recommendation"]["confidence"] = confidence
    page, _, _ = render(tmp_path, results)
    assert page.find("span", **{"class": f"badge badge-{confidence}"})


@pytest.mark.parametrize("lever, expected", [
    ("prompt", ["Instruction", "Reply as `label: answer`. <b>Be brief.</b>", "4-shot nearest, instruction in system"]),
    ("retrieval", ["faiss.read_index('cache/index/faiss.index')",
                   "chunks = [json.loads(line) for line in open('cache/index/chunks.jsonl')]"]),
])
def test_deploy_section_follows_the_winner(tmp_path: Path, lever: str, expected: list[str]) -> None:
    results = make_results()
    results["recommendation"]["lever"] = lever
    page, _, _ = render(tmp_path, results)
    deploy = page.section("deploy")
    assert f"How to deploy {lever}" in deploy
    for text in expected:
        assert text in deploy
    assert "PeftModel" not in deploy


def test_cost_model_without_prices(tmp_path: Path) -> None:
    """compare.py writes a cost_model with null prices and no break-even when task.yaml sets no costs."""
    results = make_results(cost_model=False)
    results["cost_model"] = {"price_per_1m_input": None, "price_per_1m_output": None,
                             "machine_cost_per_hour": None, "calls_per_month": None, "break_even": []}
    page, html_text, md = render(tmp_path, results)
    assert "No cost model was given" in page.section("cost")
    assert 'aria-label="Monthly cost against calls per month' not in html_text
    assert "No cost model was given" in md


def test_fixture_break_even_matches_cost_model() -> None:
    """The fixture's break-even rows are what advisor.costs would write for the same prices."""
    from advisor import costs

    results = make_results()
    priced = {lv["name"]: costs.LeverCost(lv["cost"]["cost_per_1k_calls"], lv["cost"]["one_off_cost"],
                                          lv["cost"]["monthly_cost"])
              for lv in results["levers"] if lv["status"] == "ok"}
    expected = costs.break_even_table(priced)
    got = results["cost_model"]["break_even"]
    assert [(r["lever"], r["versus"]) for r in got] == [(r["lever"], r["versus"]) for r in expected]
    for mine, theirs in zip(got, expected):
        assert mine["break_even_calls_per_month"] == pytest.approx(theirs["break_even_calls_per_month"])
        assert mine["sentence"] == theirs["sentence"]
