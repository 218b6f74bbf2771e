"""The llm_judge scorer: strict reply parsing, options and labels refused on one line, agreement statistics, and
whole runs judged by real models: the tiny model loaded locally, the tiny model behind llm-katan (replies that do not
parse are counted, not a crash), a rule-following OpenAI-compatible judge for validity, and a judge that times out."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from advisor import stats
from advisor.cli import main
from advisor.errors import UserError
from advisor.judging import _judge_warnings, _length_bias
from advisor.scoring import make_scorer
from advisor.scoring.judge import default_template, parse_reply

from bad_inputs import one_error_line, run_in
from conftest import write_task
from katan import Katan, free_port, katan_missing

CRITERIA = "The answer states the fact asked for, briefly."


def judged_task(folder: Path, model: Path, judge: str, *, scale: str = "pass_fail", extra: str = "",
                more_options: str = "") -> Path:
    """The tiny QA task with an exact-match criterion and an llm_judge criterion judged by `judge` (YAML)."""
    task = write_task(folder, str(model), rubric="rubric.yaml", extra=extra)
    (folder / "rubric.yaml").write_text(
        "name: judged\ncriteria:\n  - name: exact\n    scorer: exact_match\n  - name: helpful\n    scorer: llm_judge\n"
        f"    options:\n      judge: {judge}\n      criteria: {CRITERIA}\n      scale: {scale}\n      reference: true\n"
        + more_options)
    return task


def compare(task: Path, out: Path, *more: str):
    return CliRunner().invoke(main, ["compare", str(task), "--out", str(out), "--levers", "prompt", *more])


def predictions(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "predictions" / "prompt.jsonl").read_text().splitlines()]


def codes(results: dict) -> set[str]:
    return {w["code"] for w in results["warnings"]}


def judged_run(task: Path, run: Path) -> tuple[dict, dict, list[dict]]:
    """Compare the prompt lever into `run` (it must succeed): results.json, its one judge, the prediction rows."""
    result = compare(task, run)
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    (judge,) = results["judges"]
    return results, judge, predictions(run)


# --- replies are parsed strictly -----------------------------------------------------------------------------

@pytest.mark.parametrize("reply, scale, score, parsed", [
    ("REASON: names the day\nVERDICT: PASS", "pass_fail", 1.0, True),
    ("reason: wrong day\nverdict: fail", "pass_fail", 0.0, True),
    ("**Reason:** fine\n**Verdict:** PASS.", "pass_fail", 1.0, True),
    ("VERDICT: PASS\nVERDICT: PASS", "pass_fail", 1.0, True),       # repeated, not contradictory
    ("VERDICT: PASS\nVERDICT: FAIL", "pass_fail", 0.0, False),      # contradictory: unparsed
    ("I think it passes.", "pass_fail", 0.0, False),
    ("VERDICT: PASS because it is right", "pass_fail", 0.0, False),  # the verdict must stand on its own line
    ("", "pass_fail", 0.0, False),
    ("REASON: close\nSCORE: 4", "1-5", 0.75, True),
    ("SCORE: 1/5", "1-5", 0.0, True),
    ("SCORE: 5", "1-5", 1.0, True),
    ("SCORE: 6", "1-5", 0.0, False),
    ("SCORE: 3 out of 5", "1-5", 0.0, False),
    ("VERDICT: PASS", "1-5", 0.0, False),                            # the other scale's format
])
def test_replies_are_parsed_strictly(reply, scale, score, parsed):
    judgement = parse_reply(reply, scale)
    assert (judgement.score, judgement.parsed) == (score, parsed)


def test_reason_is_kept_and_values_are_never_expanded_as_placeholders():
    scorer = make_scorer("llm_judge", judge="default", criteria=CRITERIA, reference=True)
    spec = scorer.judge_spec
    conversation = spec.conversation("Who bakes? {{output}}", "Marta {{reference}}", "Marta Ilves")
    user = conversation[-1]["content"]
    assert "Who bakes? {{output}}" in user and "Marta {{reference}}" in user and "Marta Ilves" in user
    assert user.endswith("VERDICT: PASS or FAIL") and CRITERIA in user
    assert parse_reply("REASON: it names her\nVERDICT: PASS", "pass_fail").reason == "it names her"


def test_reference_is_shown_only_when_asked():
    assert "{{reference}}" in default_template(True) and "{{reference}}" not in default_template(False)


@pytest.mark.parametrize("options, where, words", [
    ({"criteria": CRITERIA}, "options", "needs option 'judge'"),
    ({"judge": "default"}, "options", "needs option 'criteria'"),
    ({"judge": "default", "criteria": "  "}, "options.criteria", "must be plain-language"),
    ({"judge": "default", "criteria": CRITERIA, "scale": "ten"}, "options.scale", "pass_fail or 1-5"),
    ({"judge": "default", "criteria": CRITERIA, "reference": "maybe"}, "options.reference", "true or false"),
    ({"judge": "default", "criteria": CRITERIA, "template": "Grade {{input}}"}, "options.template", "{{output}}"),
    ({"judge": "default", "criteria": CRITERIA, "template": "{{output}} {{answer}}"}, "options.template",
     "unknown placeholder"),
    ({"judge": "default", "criteria": CRITERIA, "template": "{{output}} vs {{reference}}"}, "options.template",
     "reference is false"),
    ({"judge": "default", "criteria": CRITERIA, "reference": True, "template": "{{output}}"}, "options.template",
     "no {{reference}}"),
    ({"judge": "default", "criteria": CRITERIA, "max_tokens": 0}, "options.max_tokens", "8 to 4096"),
    ({"judge": 5, "criteria": CRITERIA}, "options.judge", "a string or a mapping"),
    ({"judge": {"base_url": "http://127.0.0.1:9/v1"}, "criteria": CRITERIA}, "options.judge.name", "missing"),
    ({"judge": {"base_url": "http://u:pw@host/v1", "name": "m"}, "criteria": CRITERIA}, "options.judge.base_url",
     "credentials"),
    ({"judge": "sk-abcdefghijklmnopqrstuvwxyz0123", "criteria": CRITERIA}, "options.judge", "API key"),
])
def test_bad_options_name_the_option(options, where, words):
    with pytest.raises(UserError) as err:
        make_scorer("llm_judge", **options)
    assert err.value.where == where and words in str(err.value)
    assert "sk-abc" not in str(err.value)


def test_a_bad_judge_option_in_task_yaml_is_one_line_with_its_line(tmp_path, monkeypatch, tiny_model):
    task = write_task(tmp_path, str(tiny_model), rubric="\n  - {name: exact, scorer: exact_match}\n"
                      "  - name: helpful\n    scorer: llm_judge\n    options:\n      judge: default\n"
                      f"      criteria: {CRITERIA}\n      template: 'Grade {{{{answer}}}}'")
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "task.yaml: rubric[1].options.template (line 15)" in line and "unknown placeholder '{{answer}}'" in line


def test_a_missing_judge_folder_and_an_unset_key_fail_validate(tmp_path, monkeypatch, tiny_model):
    task = judged_task(tmp_path, tiny_model, str(tmp_path / "no-such-judge"))
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "rubric.yaml: criteria[1].options.judge" in line and "does not exist" in line
    monkeypatch.delenv("JUDGE_KEY_FOR_TEST", raising=False)
    task = judged_task(tmp_path, tiny_model, "{base_url: 'http://127.0.0.1:9/v1', name: j, api_key_env: JUDGE_KEY_FOR_TEST}")
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "criteria[1].options.judge.api_key_env" in line and "JUDGE_KEY_FOR_TEST is not set" in line


# --- people's labels -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row, words", [
    ({"id": "nope", "lever": "prompt", "score": "pass"}, "is not an eval row's id"),
    ({"id": "r24", "lever": "promt", "score": "pass"}, "did you mean 'prompt'"),
    ({"id": "r24", "lever": "prompt", "score": "maybe"}, "must be pass or fail"),
    ({"id": "r24", "lever": "prompt"}, "score: is missing"),
    ({"id": "r24", "lever": "prompt", "score": "pass", "grade": 1}, "unknown field"),
    ({"id": "r24", "lever": "prompt", "score": "pass", "criterion": "exact"}, "is not an llm_judge criterion"),
    ({"id": "r24", "lever": "prompt", "score": "pass", "criterion": ["helpful"]}, "must be a criterion's name"),
    ({"id": "r24", "lever": "prompt", "score": 0.5}, "must be pass or fail"),
])
def test_bad_labels_are_one_line_naming_the_line(tmp_path, monkeypatch, tiny_model, row, words):
    task = judged_task(tmp_path, tiny_model, "default", extra="")
    text = task.read_text().replace("  eval: data/eval.jsonl\n", "  eval: data/eval.jsonl\n  judge_labels: labels.jsonl\n")
    task.write_text(text)
    (tmp_path / "labels.jsonl").write_text(json.dumps({"id": "r25", "lever": "prompt", "score": "fail"}) + "\n"
                                           + json.dumps(row) + "\n")
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "labels.jsonl: line 2" in line and words in line


def test_labels_on_a_five_point_scale_must_be_whole_numbers(tmp_path, monkeypatch, tiny_model):
    task = judged_task(tmp_path, tiny_model, "default", scale="1-5")
    task.write_text(task.read_text().replace("  eval: data/eval.jsonl\n",
                                             "  eval: data/eval.jsonl\n  judge_labels: labels.csv\n"))
    (tmp_path / "labels.csv").write_text("id,lever,score\nr24,prompt,4\nr25,prompt,2.5\n")
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "labels.csv: line 3: score" in line and "whole number from 1 to 5" in line


# --- agreement and bias statistics -------------------------------------------------------------------------

def test_cohen_kappa_matches_its_textbook_definition():
    human = np.array([1, 1, 0, 0, 1, 0, 1, 1, 0, 1])
    judge = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 1])
    # observed 0.8; chance 0.6 * 0.6 + 0.4 * 0.4 = 0.52; kappa = (0.8 - 0.52) / 0.48
    assert stats.cohen_kappa(human, judge) == pytest.approx(0.28 / 0.48, abs=1e-12)
    assert stats.cohen_kappa(np.ones(5), np.ones(5)) is None  # one label throughout: undefined
    interval = stats.agreement_interval(stats.cohen_kappa, human, judge)
    assert interval.ci_low <= interval.mean <= interval.ci_high and interval.ci_high <= 1.0


def test_spearman_and_its_interval():
    rng = np.random.default_rng(0)
    human = np.arange(40) % 5
    judge = human + rng.integers(0, 2, 40)
    interval = stats.agreement_interval(stats.spearman, human, judge)
    assert 0.7 < interval.mean < 1.0 and interval.ci_low < interval.mean < interval.ci_high
    assert stats.spearman([1, 1, 1], [1, 2, 3]) is None


def test_length_bias_is_measured_and_warned():
    lengths = list(range(1, 21))
    bias = _length_bias([min(1.0, n / 20) for n in lengths], lengths)
    assert bias["spearman"] == pytest.approx(1.0) and bias["p_value"] < 0.001
    record = {"criterion": "helpful", "answers": 20, "unparsed": 0, "self_preference": False, "length_bias": bias,
              "validity": None}
    found = {w["code"]: w["message"] for w in _judge_warnings(record)}
    assert "favours longer answers" in found["judge_length_bias"] and "judge_unvalidated" in found
    assert _length_bias([0.5] * 20, lengths) is None  # no spread in the scores: nothing to correlate


# --- whole runs with real judges ----------------------------------------------------------------------------

def test_the_run_judges_with_its_own_model_flags_it_and_reuses_the_cache(tmp_path, tiny_model):
    task = judged_task(tmp_path / "task", tiny_model, str(tiny_model))
    run = tmp_path / "run"
    results, judge, rows = judged_run(task, run)
    # a random tiny model cannot follow the reply format: every reply is counted as unparsed and scores 0
    assert judge["criterion"] == "helpful" and judge["answers"] == len(rows) == 8
    assert judge["unparsed"] == sum(not r["judgements"]["helpful"]["parsed"] for r in rows)
    assert all(r["scores"]["helpful"] == r["judgements"]["helpful"]["score"] for r in rows)
    assert judge["self_preference"] is True and judge["validity"] is None
    assert {"judge_self_preference", "judge_unvalidated"} <= codes(results)
    assert ("judge_unparsed" in codes(results)) == (judge["unparsed"] > 0)
    assert judge["calls"]["answered"] > 0 and (run / "cache" / "judgements.jsonl").stat().st_size > 0
    html = (run / "report.html").read_text()
    assert "LLM judges" in html and "unvalidated: no human labels" in html
    again = compare(task, run)
    assert again.exit_code == 0, again.output
    rerun = json.loads((run / "results.json").read_text())["judges"][0]
    assert rerun["calls"]["answered"] == 0 and rerun["calls"]["judged"] == judge["calls"]["judged"]
    assert predictions(run) == rows


class RuleJudge(ThreadingHTTPServer):
    """An OpenAI-compatible server that judges by a rule (PASS when the input starts with 'Hi' or 'Hello'), so a
    run's judgements are known in advance; `delay` makes it answer too late."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _RuleHandler)
        self.delay, self.posts = delay, 0
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address) -> None:
        pass  # the client gave up on a late answer


class _RuleHandler(BaseHTTPRequestHandler):
    server: RuleJudge

    def log_message(self, *args) -> None:
        pass

    def _send(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "rule", "object": "model"}]})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.posts += 1
        if self.server.delay:
            threading.Event().wait(self.server.delay)
        prompt = request["messages"][-1]["content"]
        given = prompt.split("Input the answer responds to:\n", 1)[1]
        verdict = "PASS" if re.match(r"(Hi|Hello)\b", given) else "FAIL"
        self._send({"id": "x", "object": "chat.completion", "created": 0, "model": "rule",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": f"REASON: the rule says {verdict}\nVERDICT: {verdict}"}}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}})


@pytest.fixture
def rule_judge():
    servers = []

    def start(delay: float = 0.0) -> RuleJudge:
        servers.append(RuleJudge(delay))
        return servers[-1]
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_human_labels_give_the_judges_agreement_with_an_interval(tmp_path, tiny_model, rule_judge):
    from sklearn.metrics import cohen_kappa_score

    server = rule_judge()
    task = judged_task(tmp_path / "task", tiny_model, f"{{base_url: '{server.base_url}', name: rule}}")
    task.write_text(task.read_text().replace("  eval: data/eval.jsonl\n",
                                             "  eval: data/eval.jsonl\n  judge_labels: labels.jsonl\n"))
    evals = [json.loads(line) for line in (tmp_path / "task" / "data" / "eval.jsonl").read_text().splitlines()]
    rule = [1.0 if re.match(r"(Hi|Hello)\b", e["input"]) else 0.0 for e in evals]
    human = list(rule)
    human[0], human[-1] = 1 - human[0], 1 - human[-1]  # people disagree with the judge on two answers
    (tmp_path / "task" / "labels.jsonl").write_text("".join(
        json.dumps({"id": e["id"], "lever": "prompt", "score": "pass" if h else "fail"}) + "\n"
        for e, h in zip(evals, human)))
    run = tmp_path / "run"
    results, judge, rows = judged_run(task, run)
    assert [r["judgements"]["helpful"]["score"] for r in rows] == rule and judge["unparsed"] == 0
    assert rows[0]["judgements"]["helpful"]["reason"].startswith("the rule says")
    validity = judge["validity"]
    assert validity["labels"] == len(evals) and validity["statistic"] == "cohen_kappa"
    assert validity["value"] == pytest.approx(cohen_kappa_score(human, rule), abs=1e-9)
    assert validity["ci_low"] <= validity["value"] <= validity["ci_high"]
    assert validity["agreement"] == pytest.approx(1 - 2 / len(evals))
    assert judge["self_preference"] is False and "judge_unvalidated" not in codes(results)
    assert "rule" in judge["judge"] and judge["calls"]["input_tokens"] > 0
    assert "cohen kappa" in (run / "report.html").read_text()


def test_a_judge_that_times_out_is_one_line_and_the_generations_are_kept(tmp_path, monkeypatch, tiny_model, rule_judge):
    server = rule_judge(delay=2.0)
    judged_task(tmp_path / "task", tiny_model,
        f"{{base_url: '{server.base_url}', name: rule, timeout: 0.3, max_retries: 0}}")
    result = run_in(tmp_path / "task", monkeypatch, "compare", "task.yaml", "--out", str(tmp_path / "run"),
                    "--levers", "prompt")
    errors = [line for line in result.output.splitlines() if "error:" in line]
    assert result.exit_code == 2 and "Traceback" not in result.output and len(errors) == 1, result.output
    line = errors[0]
    assert "rubric.yaml: criteria[1].options.judge.timeout" in line and "did not answer within 0.3 s" in line
    assert "raise criteria[1].options.judge.timeout" in line
    assert (tmp_path / "run" / "cache" / "generations.jsonl").stat().st_size > 0  # nothing computed is lost


needs_katan = pytest.mark.skipif(katan_missing() is not None, reason=katan_missing() or "")


@needs_katan
def test_a_real_model_server_as_judge_counts_replies_that_do_not_parse(tmp_path, tiny_model):
    server = Katan(tiny_model, "tiny", free_port(), tmp_path / "katan").start()
    try:
        task = judged_task(tmp_path / "task", tiny_model, f"{{base_url: '{server.base_url}', name: tiny}}",
                           more_options="      max_tokens: 16\n")
        run = tmp_path / "run"
        results, judge, rows = judged_run(task, run)
        assert judge["answers"] == 8 and judge["unparsed"] == sum(not r["judgements"]["helpful"]["parsed"] for r in rows)
        assert judge["unparsed"] > 0 and "judge_unparsed" in codes(results)  # a random model's replies: garbage
        unparsed = next(r["judgements"]["helpful"] for r in rows if not r["judgements"]["helpful"]["parsed"])
        assert unparsed["score"] == 0.0 and "reply" in unparsed
        assert judge["self_preference"] is False  # same weights, but served: advise cannot know (documented)
        assert judge["calls"]["answered"] > 0
        # the same server as a judge too slow for its timeout: 4096 tokens of a model that never stops, 0.2 s
        slow = judged_task(tmp_path / "slow", tiny_model, f"{{base_url: '{server.base_url}', name: tiny, "
                           "timeout: 0.2, max_retries: 0}", more_options="      max_tokens: 4096\n")
        result = compare(slow, tmp_path / "slow-run")
        errors = [line for line in result.output.splitlines() if "error:" in line]
        assert result.exit_code == 2 and "Traceback" not in result.output and len(errors) == 1, result.output
        assert "criteria[1].options.judge.timeout" in errors[0] and "did not answer within 0.2 s" in errors[0]
    finally:
        server.stop()
