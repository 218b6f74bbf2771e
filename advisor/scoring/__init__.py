"""Scoring: scorers (small registered factories) and rubrics (weighted criteria)."""
from advisor.scoring.rubric import Criterion, Rubric, load_rubric, load_rubric_file, shipped_rubrics
from advisor.scoring.scorers import SCORERS, Scorer, make_scorer, parse_json_lenient

__all__ = ["SCORERS", "Criterion", "Rubric", "Scorer", "load_rubric", "load_rubric_file", "make_scorer",
           "parse_json_lenient", "shipped_rubrics"]
