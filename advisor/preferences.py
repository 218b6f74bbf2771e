"""Preference pairs (`data.preferences`): a prompt with a preferred and a rejected answer, in the formats teams
already have: OpenAI's preference fine-tuning rows and TRL's. Read with the same checks and one-line errors as the
other data files."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from .data import _ROLES, _json_shown, read_rows
from .errors import UserError

FIELD = "data.preferences"
OPENAI_KEYS = ("input", "preferred_output", "non_preferred_output")
TRL_KEYS = ("prompt", "chosen", "rejected")
FORMATS_HINT = ('one JSON object per line: TRL\'s {"prompt", "chosen", "rejected"} or OpenAI\'s '
                '{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}')


@dataclass(frozen=True)
class Preference:
    """One pair: `prompt` is the input as the model sees it (a transcript for several turns)."""

    id: str
    prompt: str
    chosen: str
    rejected: str


def _turns_text(messages: object, path: Path, where: str, roles: tuple[str, ...]) -> list[dict]:
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise UserError(path, where, "must be a non-empty list of {role, content} objects", FORMATS_HINT)
    for i, m in enumerate(messages):
        if m.get("role") not in roles:
            raise UserError(path, f"{where}[{i}].role", f"must be {' or '.join(roles)}, got {_json_shown(m.get('role'))}")
        if not isinstance(m.get("content"), str):
            raise UserError(path, f"{where}[{i}].content", f"must be text, got {_json_shown(m.get('content'))}")
    return messages


def _prompt(value: object, path: Path, where: str) -> str:
    """A prompt as text: a string, or chat turns (one user turn as its text, several as a transcript)."""
    if isinstance(value, str):
        return value
    turns = _turns_text(value, path, where, ("system", "user", "assistant"))
    if turns[-1]["role"] != "user":
        raise UserError(path, where, "must end with a user turn (the answers are the assistant's reply to it)")
    talk = [m for m in turns if m["role"] != "system"]
    if len(talk) == 1:
        return talk[0]["content"]
    return "\n".join(f"{_ROLES[m['role']]}: {m['content']}" for m in turns)


def _answer(value: object, path: Path, where: str) -> str:
    """An answer as text: a string, or a list holding one assistant turn."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    turns = _turns_text(value, path, where, ("assistant",))
    if len(turns) != 1:
        raise UserError(path, where, f"has {len(turns)} assistant turns; a preference compares one answer each")
    return turns[0]["content"]


def _pair(row: object, path: Path, line: int, index: int) -> Preference:
    where = f"line {line}"
    if not isinstance(row, dict):
        raise UserError(path, where, f"must be a JSON object, got {_json_shown(row)}", FORMATS_HINT)
    if all(k in row for k in OPENAI_KEYS):
        messages = row["input"].get("messages") if isinstance(row["input"], dict) else None
        prompt = _prompt(messages, path, f"{where}: input.messages")
        chosen = _answer(row["preferred_output"], path, f"{where}: preferred_output")
        rejected = _answer(row["non_preferred_output"], path, f"{where}: non_preferred_output")
    elif all(k in row for k in TRL_KEYS):
        prompt = _prompt(row["prompt"], path, f"{where}: prompt")
        chosen = _answer(row["chosen"], path, f"{where}: chosen")
        rejected = _answer(row["rejected"], path, f"{where}: rejected")
    else:
        have = [k for k in (*TRL_KEYS, *OPENAI_KEYS) if k in row]
        form = OPENAI_KEYS if any(k in OPENAI_KEYS for k in have) else TRL_KEYS
        missing = [k for k in form if k not in row]
        raise UserError(path, where, f"row has no `{missing[0]}`", FORMATS_HINT)
    for name, text in (("prompt", prompt), ("chosen", chosen), ("rejected", rejected)):
        if not text.strip():
            raise UserError(path, f"{where}: {name}", "is empty", "every pair needs a prompt and two non-empty answers")
    if chosen.strip() == rejected.strip():
        raise UserError(path, where, "the chosen and the rejected answer are the same",
                        "a pair teaches a preference only when its answers differ; drop the row")
    raw_id = row.get("id")
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or not str(raw_id).strip()):
        raise UserError(path, f"{where}: id", f"must be a string or a whole number, got {_json_shown(raw_id)}")
    return Preference(str(raw_id) if raw_id is not None else f"{path.stem}-{index}", prompt, chosen, rejected)


def load_preferences(path: Path, task_file: Path | None = None) -> list[Preference]:
    """Every pair of a .jsonl file (or a CSV with prompt,chosen,rejected columns), checked; ids unique."""
    rows, _ = read_rows(path, FIELD, task_file, required=TRL_KEYS)
    pairs: list[Preference] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        pair = _pair(row, path, line, len(pairs))
        if pair.id in seen:
            raise UserError(path, f"line {line}", f"duplicate id {_json_shown(pair.id)} (also on line {seen[pair.id]})",
                            "ids must be unique within a file")
        seen[pair.id] = line
        pairs.append(pair)
    if len(pairs) < 8:
        raise UserError(path, None, f"{len(pairs)} preference pair{'s' if len(pairs) != 1 else ''}; at least 8 are "
                        "needed", "a quarter of the pairs is held out to measure preference accuracy")
    return pairs


def split_pairs(pairs: list[Preference], seed: int) -> tuple[list[Preference], list[Preference]]:
    """(train, dev): a quarter of the pairs (4 to 64) held out for the reward margins and preference accuracy."""
    n = min(64, max(4, len(pairs) // 4))
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    held = set(order[:n])
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]
