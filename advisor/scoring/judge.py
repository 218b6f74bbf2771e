"""`llm_judge`: a model grades each prediction against plain-language criteria (pass/fail or 1-5).

Pure: options are checked here, prompts built and replies parsed here; the run supplies the judge model
(`Context.judge`, which generates greedily and caches every judgement). A reply that does not parse scores 0 and
is counted, never a crash. Pointwise judging (one answer per prompt) has no position bias; the length bias and the
self-preference of a judge are measured by the run (advisor/judging.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from advisor.errors import UserError, did_you_mean, shown
from advisor.scoring.scorers import Context, Scorer, _check_bool, register

SCALES = {"pass_fail": "pass_fail", "pass/fail": "pass_fail", "1-5": "1-5"}
PLACEHOLDERS = ("criteria", "input", "output", "reference")
MAX_TEXT = 20_000  # criteria and template: a page or two, not a pasted document
SYSTEM = "You are a strict, impartial grader. You judge one answer at a time and reply in the exact format asked."
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_VERDICT = re.compile(r"^[ \t*_#>-]*verdict[ \t*_]*:[ \t*_]*(pass|fail)[ \t*_.!]*$", re.IGNORECASE | re.MULTILINE)
_SCORE = re.compile(r"^[ \t*_#>-]*score[ \t*_]*:[ \t*_]*([1-5])(?:[ \t]*/[ \t]*5)?[ \t*_.!]*$",
                    re.IGNORECASE | re.MULTILINE)
_REASON = re.compile(r"^[ \t*_#>-]*reason[ \t*_]*:[ \t*_]*(.+?)[ \t*_]*$", re.IGNORECASE | re.MULTILINE)


def default_template(reference: bool) -> str:
    """The judge prompt users get unless they write `template` (placeholders in double braces)."""
    shown_reference = "Reference answer (treat it as correct):\n{{reference}}\n\n" if reference else ""
    return ("Grade the answer below against this criterion:\n{{criteria}}\n\n"
            "Input the answer responds to:\n{{input}}\n\n" + shown_reference + "Answer to grade:\n{{output}}")


def reply_format(scale: str) -> str:
    """Appended to every judge prompt, template or not, so that replies stay parseable."""
    verdict = ("VERDICT: PASS or FAIL" if scale == "pass_fail"
               else "SCORE: a whole number from 1 (poor) to 5 (excellent)")
    return f"Reply with exactly two lines and nothing else:\nREASON: one short sentence\n{verdict}"


@dataclass(frozen=True)
class JudgeSpec:
    """One llm_judge criterion's settings; `model` is what `judge:` says (text or an EndpointModel)."""

    model: Any
    criteria: str
    scale: str
    reference: bool
    template: str
    max_tokens: int

    @property
    def pass_fail(self) -> bool:
        return self.scale == "pass_fail"

    def conversation(self, input_text: str, output: str, reference: str) -> list[dict]:
        values = {"criteria": self.criteria, "input": input_text, "output": output, "reference": reference}
        user = _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.template)  # one pass: values are not expanded
        return [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"{user}\n\n{reply_format(self.scale)}"}]


@dataclass(frozen=True)
class Judgement:
    score: float  # in [0, 1]; 0 when the reply did not parse
    parsed: bool
    reason: str
    reply: str


def parse_reply(reply: str, scale: str) -> Judgement:
    """Strict: exactly one verdict (pass/fail) or score (1-5) line, in its own line; else unparsed (score 0)."""
    pattern = _VERDICT if scale == "pass_fail" else _SCORE
    found = {m.lower() for m in pattern.findall(reply)}
    reason_match = _REASON.search(reply)
    reason = reason_match.group(1).strip() if reason_match else ""
    if len(found) != 1:  # none, or a pass and a fail: ambiguous
        return Judgement(0.0, False, reason, reply)
    value = found.pop()
    score = (1.0 if value == "pass" else 0.0) if scale == "pass_fail" else (int(value) - 1) / 4
    return Judgement(score, True, reason, reply)


def _text_option(option: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserError(None, f"options.{option}", f"must be {what}, got {shown(value)}")
    if len(value) > MAX_TEXT:
        raise UserError(None, f"options.{option}", f"is {len(value):,} characters; the limit is {MAX_TEXT:,}",
                        "keep the judge's instructions to a page")
    return value


def _check_template(template: str, reference: bool) -> None:
    names = [m.strip() for m in _PLACEHOLDER.findall(template)]
    for name in names:
        if name not in PLACEHOLDERS:
            raise UserError(None, "options.template", f"unknown placeholder {shown('{{' + name + '}}', 60)}",
                            did_you_mean(name[:40], list(PLACEHOLDERS)))
    if "output" not in names:
        raise UserError(None, "options.template", "has no {{output}} placeholder, so the judge would not see the "
                        "answer", "put {{output}} where the answer to grade goes")
    if reference and "reference" not in names:
        raise UserError(None, "options.template", "reference: true but the template has no {{reference}}",
                        "put {{reference}} where the reference answer goes, or set reference: false")
    if not reference and "reference" in names:
        raise UserError(None, "options.template", "uses {{reference}} but reference is false",
                        "set reference: true to show the judge the reference answer")


@register("llm_judge")
def llm_judge(judge: Any, criteria: str, scale: str = "pass_fail", reference: bool = False,
              template: str | None = None, max_tokens: int = 128) -> Scorer:
    """A model grades each answer against `criteria` (pass_fail, or 1-5 mapped to 0, .25, ... 1)."""
    from advisor.spec import parse_model

    model = parse_model(judge, "options.judge")
    criteria = _text_option("criteria", criteria, "plain-language grading criteria")
    if not isinstance(scale, str) or scale.strip().lower() not in SCALES:
        raise UserError(None, "options.scale", f"must be pass_fail or 1-5, got {shown(scale)}",
                        "pass_fail scores 0 or 1; 1-5 maps 1..5 to 0, 0.25, 0.5, 0.75, 1")
    scale = SCALES[scale.strip().lower()]
    reference = _check_bool("reference", reference)
    if template is not None:
        template = _text_option("template", template, "the judge prompt, with {{output}} (and {{input}}, "
                                "{{criteria}}, {{reference}}) in double braces")
    else:
        template = default_template(reference)
    _check_template(template, reference)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 8 <= max_tokens <= 4096:
        raise UserError(None, "options.max_tokens", f"must be a whole number from 8 to 4096, got {shown(max_tokens)}",
                        "the judge writes one sentence and a verdict; 128 tokens is plenty")
    spec = JudgeSpec(model, criteria, scale, reference, template, max_tokens)

    def judgements(preds: list[str], refs: list[str], context: Context) -> list[Judgement]:
        if not preds:
            return []
        if context.judge is None or context.inputs is None:
            raise ValueError("llm_judge needs judge= and inputs= (the run provides them)")
        conversations = [spec.conversation(i, p, r) for i, p, r in zip(context.inputs, preds, refs)]
        return [parse_reply(reply, scale) for reply in context.judge(spec, conversations)]

    def batch(preds: list[str], refs: list[str], context: Context) -> list[float]:
        return [j.score for j in judgements(preds, refs, context)]

    def explain(preds: list[str], refs: list[str], context: Context) -> list[dict]:
        return [{"score": j.score, "parsed": j.parsed, "reason": j.reason,
                 **({} if j.parsed else {"reply": j.reply[:500]})} for j in judgements(preds, refs, context)]

    options = {"judge": model if isinstance(model, str) else model.model_dump(), "criteria": criteria,
               "scale": scale, "reference": reference, "template": template, "max_tokens": max_tokens}
    return Scorer("llm_judge", spec.pass_fail, batch, options, needs_judge=True, explain_fn=explain, judge_spec=spec)
