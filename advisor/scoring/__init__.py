"""Scoring: scorers (small registered factories) and rubrics (weighted criteria)."""
from advisor.scoring.rubric import Criterion, Rubric, load_rubric, load_rubric_file, shipped_rubrics
from advisor.scoring.scorers import SCORERS, Scorer, make_scorer, parse_json_lenient
from advisor.scoring.judge import JudgeSpec  # importing it registers the llm_judge scorer

__all__ = ["SCORERS", "Criterion", "JudgeSpec", "Rubric", "Scorer", "load_rubric", "load_rubric_file", "make_scorer",
           "parse_json_lenient", "shipped_rubrics"]
