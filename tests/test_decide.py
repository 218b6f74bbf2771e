"""Every decision rule (docs/DECISION_RULES.md), each on a constructed comparison."""
from __future__ import annotations

from advisor.costs import LeverCost
from advisor.decide import LeverSummary, Recommendation, recommend
from advisor.stats import PairVerdict


def lever(name: str, mean: float, half: float = 0.05, **kw) -> LeverSummary:
    return LeverSummary(name, "ok", mean, round(mean - half, 4), round(mean + half, 4), **kw)


def skipped(name: str, reason: str) -> LeverSummary:
    return LeverSummary(name, "skipped", reason=reason)


def v(a: str, b: str, diff: float, lo: float, hi: float, verdict: str, p: float | None = None) -> PairVerdict:
    test = "paired_bootstrap" if p is None else "mcnemar+paired_bootstrap"
    return PairVerdict(a, b, diff, lo, hi, p, test, verdict)


def same(a: str, b: str, diff: float = 0.02, half: float = 0.025) -> PairVerdict:
    """Not significantly different, and narrow enough that either is within the default 0.05 margin."""
    return v(a, b, diff, diff - half, diff + half, "indistinguishable")


def unsure(a: str, b: str, diff: float = 0.02) -> PairVerdict:
    """Not significantly different, but too wide to show the lower one within the 0.05 margin."""
    return v(a, b, diff, diff - 0.08, diff + 0.08, "indistinguishable")


def better(a: str, b: str, diff: float = 0.3) -> PairVerdict:
    return v(a, b, diff, diff - 0.08, diff + 0.08, "better")


# Rule 1: only levers that ran compete.

def test_no_lever_ran():
    rec = recommend([skipped("prompt", "backend error"), skipped("retrieval", "no corpus")], [])
    assert rec.lever is None and rec.confidence == "none"
    assert any("retrieval was not run: no corpus." == r for r in rec.reasons)


def test_skipped_lever_never_competes():
    levers = [lever("prompt", 0.5), LeverSummary("finetune", "skipped", 0.99, 0.98, 1.0, reason="no GPU")]
    rec = recommend(levers, [])
    assert rec.lever == "prompt"
    assert "running finetune (skipped: no GPU) could change this." in rec.what_would_change


# Rule 2: the best lever is the reference; significantly worse levers drop out.

def test_significantly_better_lever_wins_clearly():
    levers = [lever("prompt", 0.41, 0.08), lever("retrieval", 0.45), lever("finetune", 0.82, 0.06)]
    verdicts = [v("finetune", "prompt", 0.41, 0.33, 0.50, "better", p=0.0001), better("finetune", "retrieval", 0.37),
                same("retrieval", "prompt", 0.04)]
    rec = recommend(levers, verdicts)
    assert rec.lever == "finetune" and rec.confidence == "clear"
    assert ("finetune scored 0.82 [0.76, 0.88] vs prompt 0.41 [0.33, 0.49]: +0.41 [+0.33, +0.50], "
            "significant, McNemar p=0.0001.") in rec.reasons


def test_lever_beaten_by_another_is_not_a_candidate():
    # prompt ties with the best (finetune) but retrieval beats prompt significantly: the simpler
    # prompt must not win over a lever that beats it.
    levers = [lever("prompt", 0.50), lever("retrieval", 0.58), lever("finetune", 0.60)]
    verdicts = [same("finetune", "prompt", 0.10), same("finetune", "retrieval", 0.02), better("retrieval", "prompt", 0.08)]
    rec = recommend(levers, verdicts)
    assert rec.lever == "retrieval" and rec.confidence == "likely"


def test_verdicts_are_read_either_way_round_and_from_dicts():
    levers = [lever("prompt", 0.3), lever("finetune", 0.7)]
    rec = recommend(levers, [v("prompt", "finetune", -0.4, -0.5, -0.3, "worse").to_dict()])
    assert rec.lever == "finetune" and rec.confidence == "clear"
    assert "finetune scored 0.70 [0.65, 0.75] vs prompt 0.30 [0.25, 0.35]: +0.40 [+0.30, +0.50], significant." in rec.reasons


def test_missing_verdict_counts_as_indistinguishable():
    # Never compared: not worse, but not shown within the margin either, so the best by mean stays.
    rec = recommend([lever("prompt", 0.3), lever("finetune", 0.7)], [])
    assert rec.lever == "finetune" and rec.confidence == "toss-up"
    assert "finetune and prompt were not compared directly; treated as indistinguishable." in rec.reasons



# Rule 3: among candidates, the simplest wins.

def test_simplest_of_indistinguishable_levers_wins():
    levers = [lever("finetune", 0.62), lever("retrieval", 0.61), lever("prompt", 0.60)]
    verdicts = [same("finetune", "retrieval", 0.01), same("finetune", "prompt", 0.02), same("retrieval", "prompt", 0.01)]
    rec = recommend(levers, verdicts)
    assert rec.lever == "prompt" and rec.confidence == "toss-up"
    assert "prompt and retrieval are indistinguishable (-0.01 [-0.04, +0.02]); prompt is chosen because it is simpler." \
        in rec.reasons


def test_cheaper_and_simpler_when_costs_say_so():
    levers = [lever("prompt", 0.60), lever("retrieval", 0.63)]
    costs = {"prompt": LeverCost(1.0, 0.0, 10.0), "retrieval": LeverCost(2.0, 0.5, 20.0)}
    rec = recommend(levers, [same("retrieval", "prompt", 0.03, half=0.015)], costs)
    assert rec.lever == "prompt"
    assert "prompt is chosen because it is cheaper and simpler." in " ".join(rec.reasons)


# Rule 4: a later lever wins on cost only when cheaper per call AND in total at the volume.

PROMPT_FT = [lever("prompt", 0.70), lever("finetune", 0.72)]
TIE = [same("finetune", "prompt", 0.02)]


def test_cost_promotes_a_cheaper_later_lever_at_volume():
    # finetune: $24 once + $1 per 1k; prompt: $3 per 1k. 100k calls a month over 12 months:
    # finetune 24 + 12*100 = 1224 vs prompt 12*300 = 3600.
    costs = {"prompt": LeverCost(3.0, 0.0, 300.0), "finetune": LeverCost(1.0, 24.0, 100.0)}
    rec = recommend(PROMPT_FT, TIE, costs)
    assert rec.lever == "finetune"
    assert any("cheaper at the stated volume: $1,224.00 vs $3,600.00 over 12 months" in r for r in rec.reasons)
    # Break-even 24 / 0.002 = 12,000 calls = 1,000 a month.
    assert any(w.startswith("below 1,000 calls a month finetune would be dearer than prompt")
               for w in rec.what_would_change)


def test_cost_promotes_only_a_material_saving():
    # finetune saves 3600 - 1224 = 2376 over 12 months: promoted at a 2,000 threshold, not at 3,000.
    costs = {"prompt": LeverCost(3.0, 0.0, 300.0), "finetune": LeverCost(1.0, 24.0, 100.0)}
    assert recommend(PROMPT_FT, TIE, costs, min_saving=2000).lever == "finetune"
    assert recommend(PROMPT_FT, TIE, costs, min_saving=3000).lever == "prompt"


def test_break_even_lines_count_the_material_saving():
    # Promoted finetune stops saving $120 a year below (24 + 120) / 0.002 / 12 = 6,000 calls a month.
    costs = {"prompt": LeverCost(3.0, 0.0, 300.0), "finetune": LeverCost(1.0, 24.0, 100.0)}
    rec = recommend(PROMPT_FT, TIE, costs, min_saving=120)
    assert rec.lever == "finetune"
    assert ("below 6,000 calls a month finetune would no longer save at least $120.00 over 12 months against "
            "prompt, and prompt, being simpler, would be recommended.") in rec.what_would_change
    # Kept prompt at 100 calls a month: finetune takes over at (24 + 120) / 0.002 / 12 = 6,000 a month, not 1,000.
    low = {"prompt": LeverCost(3.0, 0.0, 0.3), "finetune": LeverCost(1.0, 24.0, 0.1)}
    rec = recommend(PROMPT_FT, TIE, low, min_saving=120)
    assert rec.lever == "prompt"
    assert any(w.startswith("at more than 6,000 calls a month finetune becomes cheaper than prompt by at least "
                            "$120.00 over 12 months") for w in rec.what_would_change)


def test_low_volume_keeps_the_simpler_lever_and_states_break_even():
    # 100 calls a month: finetune 24 + 12*0.1 = 25.2 vs prompt 12*0.3 = 3.6.
    costs = {"prompt": LeverCost(3.0, 0.0, 0.3), "finetune": LeverCost(1.0, 24.0, 0.1)}
    rec = recommend(PROMPT_FT, TIE, costs)
    assert rec.lever == "prompt"
    assert any(w.startswith("at more than 1,000 calls a month finetune becomes cheaper than prompt")
               for w in rec.what_would_change)


def test_cheaper_per_call_alone_does_not_promote():
    # No volume known: totals unknown, so simplicity decides.
    costs = {"prompt": LeverCost(3.0, 0.0, None), "finetune": LeverCost(1.0, 24.0, None)}
    assert recommend(PROMPT_FT, TIE, costs).lever == "prompt"


def test_cost_never_rescues_a_significantly_worse_lever():
    costs = {"prompt": LeverCost(3.0, 0.0, 300.0), "finetune": LeverCost(1.0, 24.0, 100.0)}
    rec = recommend([lever("prompt", 0.9), lever("finetune", 0.5)], [better("prompt", "finetune", 0.4)], costs)
    assert rec.lever == "prompt" and rec.confidence == "clear"


# Rule 5: risk moves a lever down one place among equals.

TWO_FT = [lever("prompt", 0.40), lever("finetune", 0.80), lever("retrieval+finetune", 0.79)]
TWO_FT_VERDICTS = [better("finetune", "prompt", 0.4), better("retrieval+finetune", "prompt", 0.39),
                   same("finetune", "retrieval+finetune", 0.01)]


def test_without_risk_the_simpler_finetune_wins():
    assert recommend(TWO_FT, TWO_FT_VERDICTS).lever == "finetune"


def test_risky_lever_moves_down_one_place():
    levers = [TWO_FT[0], lever("finetune", 0.80, risks=["forgetting drop significant"]), TWO_FT[2]]
    rec = recommend(levers, TWO_FT_VERDICTS)
    assert rec.lever == "retrieval+finetune" and rec.confidence == "likely"
    assert "finetune carries risk: forgetting drop significant and was moved down one place among equally good levers." \
        in rec.reasons


def test_risk_warning_codes_apply_to_finetune_levers():
    # A global "overfitting" warning marks both fine-tuning levers: neither moves past the other.
    rec = recommend(TWO_FT, TWO_FT_VERDICTS, warnings=[{"code": "overfitting", "message": "..."}])
    assert rec.lever == "finetune"
    assert "retrieval+finetune carries risk: overfitting." in rec.reasons


def test_risk_does_not_override_quality():
    levers = [lever("prompt", 0.40), lever("finetune", 0.80, risks=["overfitting"])]
    rec = recommend(levers, [better("finetune", "prompt", 0.4)])
    assert rec.lever == "finetune" and rec.confidence == "clear"


# Rule 6: confidence.

def test_likely_when_tie_break_but_beats_one():
    levers = [lever("prompt", 0.70), lever("retrieval", 0.72), lever("finetune", 0.40)]
    verdicts = [same("retrieval", "prompt"), better("prompt", "finetune"), better("retrieval", "finetune")]
    rec = recommend(levers, verdicts)
    assert rec.lever == "prompt" and rec.confidence == "likely"


def test_single_lever_is_likely():
    rec = recommend([lever("prompt", 0.5), skipped("retrieval", "no corpus")], [])
    assert rec.lever == "prompt" and rec.confidence == "likely"


def test_small_eval_set_below_mdd_is_a_toss_up():
    levers = [lever("prompt", 0.5), lever("finetune", 0.6)]
    verdicts = [v("finetune", "prompt", 0.10, 0.02, 0.18, "better")]
    assert recommend(levers, verdicts, warnings=["small_eval_set"], mdd=0.15).confidence == "toss-up"
    assert recommend(levers, verdicts, warnings=["small_eval_set"], mdd=0.05).confidence == "clear"
    assert recommend(levers, verdicts, mdd=0.15).confidence == "clear"  # no warning: significance stands


# Rule 7: criterion sentences.

def test_criterion_sentence_knowledge_vs_behaviour():
    levers = [lever("prompt", 0.45, criteria={"json_valid": 0.41, "field_f1": 0.50}),
              lever("finetune", 0.75, criteria={"json_valid": 0.98, "field_f1": 0.52})]
    rec = recommend(levers, [better("finetune", "prompt", 0.30)])
    sentence = next(r for r in rec.reasons if r.startswith("finetune fixed"))
    assert sentence.startswith("finetune fixed json_valid (41% -> 98%) over prompt but not field_f1 (50% -> 52%)")
    assert "retrieval" in sentence


def test_no_criterion_sentence_below_threshold():
    levers = [lever("prompt", 0.5, criteria={"a": 0.5}), lever("finetune", 0.6, criteria={"a": 0.65})]
    rec = recommend(levers, [better("finetune", "prompt", 0.1)])
    assert not any("fixed" in r or "improved" in r for r in rec.reasons)


# Rule 8: what would change the recommendation.

def test_larger_eval_set_is_sized_from_mdd():
    levers = [lever("prompt", 0.60), lever("retrieval", 0.63)]
    rec = recommend(levers, [same("retrieval", "prompt", 0.03, half=0.015)], mdd=0.10, n_eval=100)
    # 100 * (0.10 / 0.03)^2 = 1111.1 -> 1112
    assert ("a larger eval set (~1,112 examples, now 100) is needed to separate prompt and retrieval: "
            "the difference -0.03 is below the 0.10 this set can detect.") in rec.what_would_change


def test_larger_eval_set_without_mdd():
    rec = recommend([lever("prompt", 0.60), lever("retrieval", 0.63)], [same("retrieval", "prompt", 0.03, half=0.015)])
    assert "a larger eval set is needed to separate prompt and retrieval (difference -0.03)." in rec.what_would_change


def test_low_retrieval_recall_is_mentioned_only_when_retrieval_lost():
    levers = [lever("prompt", 0.60), lever("retrieval", 0.40)]
    rec = recommend(levers, [better("prompt", "retrieval", 0.2)], retrieval_recall=0.45)
    assert any(w.startswith("if retrieval's recall improved") and "45%" in w for w in rec.what_would_change)
    assert not any("recall" in w for w in recommend(levers, [better("prompt", "retrieval", 0.2)],
                                                     retrieval_recall=0.9).what_would_change)


def test_to_dict_matches_results_schema():
    d = recommend([lever("prompt", 0.5)], []).to_dict()
    assert set(d) == {"lever", "confidence", "reasons", "what_would_change"}
    assert isinstance(recommend([lever("prompt", 0.5)], []), Recommendation)


# Non-inferiority: a simpler lever is preferred only when shown within decision.margin of the best.

def test_simpler_lever_shown_within_margin_is_preferred():
    levers = [lever("prompt", 0.70), lever("finetune", 0.72)]
    rec = recommend(levers, [same("finetune", "prompt", 0.02, half=0.025)], margin=0.05)
    assert rec.lever == "prompt"
    assert ("prompt is shown to be within 0.05 (decision.margin) of the best lever, finetune: "
            "-0.02 [-0.04, +0.01], the interval lies above -0.05.") in rec.reasons


def test_simpler_lever_not_shown_within_margin_is_refused():
    # prompt 0.12 below finetune, not significantly (wide interval): the old rule picked prompt as "simpler".
    levers = [lever("prompt", 0.60), lever("finetune", 0.72)]
    verdicts = [v("finetune", "prompt", 0.12, -0.01, 0.25, "indistinguishable", p=0.07)]
    rec = recommend(levers, verdicts, n_eval=100)
    assert rec.lever == "finetune" and rec.confidence == "toss-up"
    assert rec.reasons[0].startswith("This is a toss-up: the data cannot say whether the simpler prompt would do as well as finetune")
    assert any("finetune and prompt are indistinguishable" in r and "prompt is simpler, but not shown to be within "
               "0.05 (decision.margin) of finetune, so finetune is kept" in r for r in rec.reasons)
    # It trails by more than the margin: no eval set size would show it within.
    assert any(w.startswith("no eval set size would show prompt within 0.05 of finetune")
               for w in rec.what_would_change)


def test_non_inferiority_power_line_sizes_the_eval_set():
    # prompt - finetune = -0.01 [-0.07, +0.05]: se = 0.12 / 3.92 = 0.0306; room 0.04;
    # 100 * ((1.96 + 0.8416) * 0.0306 / 0.04)^2 = 459.6 -> 460 examples.
    levers = [lever("prompt", 0.70), lever("finetune", 0.71)]
    rec = recommend(levers, [v("finetune", "prompt", 0.01, -0.05, 0.07, "indistinguishable")], n_eval=100)
    assert rec.lever == "finetune"
    assert ("a larger eval set (~460 examples, now 100) would show prompt within 0.05 of finetune (decision.margin) "
            "80% of the time if the true difference is the observed -0.01; prompt, being simpler, would then be "
            "recommended.") in rec.what_would_change


def test_a_wider_margin_lets_the_simpler_lever_win():
    levers = [lever("prompt", 0.70), lever("finetune", 0.71)]
    verdicts = [v("finetune", "prompt", 0.01, -0.05, 0.07, "indistinguishable")]
    assert recommend(levers, verdicts, margin=0.05).lever == "finetune"
    assert recommend(levers, verdicts, margin=0.10).lever == "prompt"


def test_lever_out_of_the_running_names_who_beats_it():
    # finetune ties with the chosen retrieval, but retrieval+finetune beats finetune: that, not retrieval, rules it out.
    levers = [lever("retrieval", 0.70), lever("finetune", 0.66), lever("retrieval+finetune", 0.71)]
    verdicts = [same("retrieval+finetune", "retrieval", 0.01), same("retrieval", "finetune", 0.04, half=0.035),
                better("retrieval+finetune", "finetune", 0.05)]
    rec = recommend(levers, verdicts)
    assert rec.lever == "retrieval"
    assert ("retrieval and finetune are indistinguishable (+0.04 [+0.00, +0.08]); finetune is out of the running "
            "because retrieval+finetune is significantly better than it.") in rec.reasons
    assert not any("significantly worse than another lever" in r for r in rec.reasons)


def test_significant_pair_reports_raw_and_holm_p():
    levers = [lever("prompt", 0.4), lever("finetune", 0.8)]
    verdict = PairVerdict("finetune", "prompt", 0.4, 0.3, 0.5, 0.001, "sign_flip+paired_bootstrap", "better", 0.006)
    rec = recommend(levers, [verdict])
    assert any(r.endswith("significant, sign-flip p=0.001, Holm-adjusted p=0.006.") for r in rec.reasons)


# Skipped levers: only experiments left undone belong in what would change.

def test_no_corpus_skip_is_not_a_missing_experiment():
    levers = [lever("prompt", 0.5), skipped("retrieval", "no corpus: set data.corpus to documents ..."),
              skipped("finetune", "disabled in task.yaml (levers.finetune.enabled: false)")]
    rec = recommend(levers, [])
    assert not any("retrieval" in w for w in rec.what_would_change)
    assert any(w.startswith("running finetune (skipped: disabled") for w in rec.what_would_change)
    assert "retrieval was not run: no corpus: set data.corpus to documents ...." in rec.reasons


# Undertrained levers: their score is a lower bound.

def test_undertrained_lever_within_reach_caps_confidence():
    note = "train retrieval+finetune to its 56 steps (the 4-minute safety limit stopped it after 2)"
    levers = [lever("prompt", 0.40), lever("retrieval", 0.80, 0.04),
              lever("retrieval+finetune", 0.70, 0.08, undertrained=True, undertrained_note=note)]
    verdicts = [better("retrieval", "prompt", 0.4), better("retrieval", "retrieval+finetune", 0.1),
                better("retrieval+finetune", "prompt", 0.3)]
    rec = recommend(levers, verdicts)
    # Significantly worse, but its interval [0.62, 0.78] reaches retrieval's lower end 0.76: within reach.
    assert rec.lever == "retrieval" and rec.confidence == "likely"
    assert note in rec.what_would_change
    assert any("retrieval+finetune stopped before its planned training" in r for r in rec.reasons)


def test_undertrained_lever_out_of_reach_leaves_confidence_clear():
    levers = [lever("prompt", 0.40), lever("retrieval", 0.80, 0.04),
              lever("retrieval+finetune", 0.50, 0.05, undertrained=True, undertrained_note="train it longer")]
    verdicts = [better("retrieval", "prompt", 0.4), better("retrieval", "retrieval+finetune", 0.3),
                better("retrieval+finetune", "prompt", 0.1)]
    rec = recommend(levers, verdicts)
    assert rec.confidence == "clear" and "train it longer" not in rec.what_would_change


# Per-lever risks replace the global warnings' codes.

def test_per_lever_risks_are_not_smeared():
    levers = [TWO_FT[0], lever("finetune", 0.80, risks=[], risks_measured=True),
              lever("retrieval+finetune", 0.79, risks=["overfitting"], risks_measured=True)]
    rec = recommend(levers, TWO_FT_VERDICTS, warnings=[{"code": "overfitting", "message": "..."}])
    assert rec.lever == "finetune"
    assert "retrieval+finetune carries risk: overfitting." in rec.reasons
    assert not any(r.startswith("finetune carries risk") for r in rec.reasons)


# Unknown costs are not free.

def test_unpriced_training_never_wins_on_cost():
    costs = {"prompt": LeverCost(3.0, 0.0, 300.0), "finetune": LeverCost(1.0, None, 100.0)}
    rec = recommend(PROMPT_FT, TIE, costs)
    assert rec.lever == "prompt"
    assert not any("calls a month" in w for w in rec.what_would_change)


def test_eval_size_suggestion_is_capped():
    levers = [lever("prompt", 0.60), lever("retrieval", 0.6001)]
    rec = recommend(levers, [same("retrieval", "prompt", 0.0001)], mdd=0.10, n_eval=100)
    assert any(w.startswith("a larger eval set (more than 100,000 examples, now 100)") for w in rec.what_would_change)
    rec = recommend(levers, [same("retrieval", "prompt", 1e-16)], mdd=0.10, n_eval=100)
    assert "prompt and retrieval score the same; no eval set size would separate them." in rec.what_would_change
