"""task.yaml as pydantic models (unknown keys rejected) and `load_task`, which names every bad field."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator

from .errors import UserError, did_you_mean

DEFAULT_MODEL = "smollm2-135m"
MAX_TOP_K = 1000  # chunks in one prompt; far beyond any context window
LEVER_NAMES = ("prompt", "retrieval", "finetune", "retrieval+finetune")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointModel(_Strict):
    """An OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, llm-katan)."""

    base_url: str
    name: str = Field(description="the model name the server expects")
    api_key_env: str | None = Field(None, description="NAME of the environment variable holding the key")
    weights: str | None = Field(None, description="local folder or Hugging Face id of the same weights, for finetune")
    concurrency: int = Field(4, ge=1, le=256)
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0, le=20)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        parsed = urlparse(v)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8000/v1")
        return v.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and (not v.replace("_", "").isalnum() or v.startswith(("sk-", "sk_"))):
            raise ValueError("give the NAME of an environment variable (e.g. OPENAI_API_KEY), never the key itself")
        return v


class DataSpec(_Strict):
    train: Path = Field(description="a .jsonl or .csv file of input/output rows, relative to task.yaml")
    eval: Path = Field(description="held-out .jsonl or .csv rows the levers are scored on, relative to task.yaml")
    corpus: list[Path] = Field(default_factory=list)
    guard: Path | None = None
    dev_size: int | None = Field(None, ge=4, description="rows carved from train for choosing variants "
                                                         "(default a quarter of train, 8 to 96; at most half)")

    @field_validator("corpus", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, Path)) else v


class PromptOptions(_Strict):
    enabled: bool = True
    shots: list[int] = Field(default_factory=lambda: [0, 4])
    selection: list[Literal["fixed", "nearest"]] = Field(default_factory=lambda: ["fixed", "nearest"])
    placements: list[Literal["system", "user"]] = Field(default_factory=lambda: ["system", "user"])

    @field_validator("shots")
    @classmethod
    def _shots(cls, v: list[int]) -> list[int]:
        if not v or any(k < 0 or k > 32 for k in v):
            raise ValueError("each k must be between 0 and 32")
        return sorted(set(v))


class RetrievalOptions(_Strict):
    enabled: bool = True
    top_k: list[int] = Field(default_factory=lambda: [2, 4], description="k values tried on dev")
    chunk_tokens: int = Field(160, ge=16, le=2048)
    chunk_overlap: int = Field(32, ge=0)
    embedder: str | None = Field(None, description="sentence-transformers folder or id; default bundled MiniLM")

    @field_validator("top_k", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, int) else v

    @field_validator("top_k")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(k < 1 or k > MAX_TOP_K for k in v):
            raise ValueError(f"each k must be between 1 and {MAX_TOP_K}, got {v}")
        return sorted(set(v))

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap(cls, v: int, info: ValidationInfo) -> int:
        tokens = info.data.get("chunk_tokens")  # absent when chunk_tokens itself was invalid
        if tokens is not None and v >= tokens:
            raise ValueError(f"must be smaller than chunk_tokens ({tokens}), got {v}")
        return v


class FinetuneOptions(_Strict):
    enabled: bool = True
    rank: int = Field(16, gt=0, le=1024)
    alpha: float = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: Union[Literal["all-linear"], list[str]] = "all-linear"
    epochs: int = Field(3, ge=1, le=50)
    lr: Union[Literal["auto"], float, list[float]] = "auto"
    batch_size: int = Field(8, ge=1, le=512)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    patience: int = Field(1, ge=0, description="epochs without dev-loss improvement before stopping")
    max_length: int = Field(512, ge=32)
    max_steps: int | None = Field(None, ge=1, strict=True, description="the step budget: the schedule ends after this many optimizer "
                                                          "steps (default: epochs x steps per epoch)")
    max_train_minutes: float | None = Field(None, gt=0, description="a safety net, not a budget: a lever it stops "
                                                                    "is marked undertrained")
    seeds: int = Field(1, ge=1, le=10, description="train this many times; training noise enters the intervals")
    processes: int = Field(1, ge=1, le=64, description="data-parallel training processes (torchrun; GPUs or CPU/gloo)")
    keep_instruction: bool = Field(False, description="train and prompt with the instruction; default: the input alone, "
                                                      "since fine-tuning replaces the instruction and shortens prompts")
    learning_curve: bool = Field(False, description="also train on 25% and 50% of train and score each")

    @field_validator("lr")
    @classmethod
    def _lr(cls, v: Any) -> Any:
        values = v if isinstance(v, list) else [v] if isinstance(v, float) else []
        if isinstance(v, list) and not v:
            raise ValueError("give at least one learning rate")
        if any(not (0 < x < 1) for x in values):
            raise ValueError("learning rates must be between 0 and 1 (e.g. 1e-3)")
        return v


class CombinedOptions(_Strict):
    """retrieval+finetune: LoRA trained with retrieved context in the prompt (RAFT, with distractors)."""

    enabled: bool = True
    distractors: int = Field(1, ge=0, le=10, description="random chunks added to each training context")
    oracle_free_share: float = Field(0.2, ge=0, le=1, description="share of training rows whose context is distractors only")
    max_steps: int | None = Field(None, ge=1, strict=True, description="this lever's step budget (its rows are longer); default: "
                                                          "levers.finetune.max_steps")


class LeverOptions(_Strict):
    prompt: PromptOptions = Field(default_factory=PromptOptions)
    retrieval: RetrievalOptions = Field(default_factory=RetrievalOptions)
    finetune: FinetuneOptions = Field(default_factory=FinetuneOptions)
    combined: CombinedOptions = Field(default_factory=CombinedOptions, alias="retrieval+finetune")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class GenerationOptions(_Strict):
    max_new_tokens: int | None = Field(None, ge=1, le=4096, description="default: from the training outputs")
    batch_size: Union[Literal["auto"], Annotated[int, Field(ge=1, le=512)]] = Field(
        "auto", description="rows per generation batch; auto: as many as a quarter of free memory holds, up to "
                            "32 on CPU and 256 on a GPU")


class CostOptions(_Strict):
    """Prices for the cost model: token prices for an endpoint, or the hourly cost of the machine for local runs."""

    price_per_1m_input: float | None = Field(None, ge=0)
    price_per_1m_output: float | None = Field(None, ge=0)
    machine_cost_per_hour: float | None = Field(0.20, ge=0, description="default: a small cloud CPU machine")
    calls_per_month: float | None = Field(10_000, ge=0)
    min_yearly_saving: float = Field(100.0, ge=0, description="a costlier-to-build lever wins on cost alone only if it "
                                                               "saves at least this much over 12 months")


class DecisionOptions(_Strict):
    """How the recommendation weighs a simpler lever against the best one (docs/DECISION_RULES.md)."""

    margin: float = Field(0.05, gt=0, lt=1, strict=True, description="the smallest score difference that matters to you: a "
                                                         "simpler or cheaper lever is preferred over the best one "
                                                         "only when shown to be at most this much worse")


class Task(_Strict):
    name: str = Field(min_length=1, max_length=100, description="a short name; it names the run folder")
    instruction: str = Field(min_length=1, description="what the model should do, in a sentence or two")
    model: Union[str, EndpointModel] = DEFAULT_MODEL
    data: DataSpec = Field(description="`train:` and `eval:` paths (and optionally `corpus:`), relative to task.yaml")
    rubric: Union[str, list[dict], dict] = Field(
        description="a shipped rubric name such as short_answer_qa, a path to a rubric .yaml, or a list of criteria")
    levers: LeverOptions = Field(default_factory=LeverOptions)
    generation: GenerationOptions = Field(default_factory=GenerationOptions)
    costs: CostOptions = Field(default_factory=CostOptions)
    decision: DecisionOptions = Field(default_factory=DecisionOptions)
    seed: int = 0

    # set by load_task, not by the user
    task_file: Path = Field(Path("task.yaml"), exclude=True)
    _source: str = PrivateAttr("")  # the YAML text, to give later errors a line number

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if "/" in v or "\\" in v or v.startswith("."):
            raise ValueError("must not contain slashes or start with a dot (it names the run folder)")
        return v

    @property
    def base_dir(self) -> Path:
        return self.task_file.parent

    def locate(self, field: str) -> str:
        """`field` with the line of task.yaml that sets it: 'levers.prompt.shots (line 12)'."""
        line = _yaml_line(self._source, _parse_field_path(field)) if self._source else None
        return f"{field} (line {line})" if line else field

    def resolve(self, path: Path) -> Path:
        """A path from task.yaml, relative to the task file."""
        return path if path.is_absolute() else (self.base_dir / path)


def _as_model(tp: Any) -> type[BaseModel] | None:
    """The pydantic model behind an annotation (a model, or an Optional of one), else None."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    args = [a for a in getattr(tp, "__args__", ()) if a is not type(None)]
    return args[0] if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel) else None


def _clean_loc(loc: tuple) -> tuple:
    """A pydantic error location without its union-branch labels ('str', "literal['auto']", 'EndpointModel')."""
    parts: list = []
    current: Any = Task
    for part in loc:
        if isinstance(part, int):
            parts.append(part)
            args = getattr(current, "__args__", ())
            current = args[0] if args else None
            continue
        model = _as_model(current)
        if model is not None and part in model.model_fields:
            parts.append(part)
            current = model.model_fields[part].annotation
            continue
        member = next((a for a in getattr(current, "__args__", ()) if _as_model(a) and a.__name__ == part), None)
        if member is not None:  # the branch of a union that holds a model: its fields follow
            current = member
        elif model is not None:  # an unknown key
            parts.append(part)
            current = None
    return tuple(parts)


def _field_path(parts: tuple) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _parse_field_path(field: str) -> tuple:
    """'rubric[0].options.pattern' -> ('rubric', 0, 'options', 'pattern')."""
    return tuple(int(tok[1:-1]) if tok.startswith("[") else tok for tok in re.findall(r"\[\d+\]|[^.\[\]]+", field))


def _model_at(parts: tuple) -> type[BaseModel] | None:
    """The model that holds the last of `parts` (the model branch of a union), or None."""
    current: type[BaseModel] | None = Task
    for part in parts[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return None
        ann = field.annotation
        current = next((_as_model(a) for a in getattr(ann, "__args__", (ann,)) if _as_model(a)), None)
    return current


def _model_fields(parts: tuple) -> list[str]:
    """Field names allowed where the last of `parts` sits, for did-you-mean hints on unknown keys."""
    model = _model_at(parts)
    return [n for n in model.model_fields if n != "task_file"] if model else []


def _yaml_line(text: str, parts: tuple) -> int | None:
    """Line of the deepest key of `parts` found in the YAML text (1-based), or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                break
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


_KINDS = {"string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
          "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
          "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
          "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping"}
_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="), "less_than": ("lt", "<"),
           "less_than_equal": ("le", "<=")}


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(error: dict) -> str:
    if error["type"] == "literal_error":
        return error.get("ctx", {}).get("expected", "one of the allowed values")
    return _KINDS.get(error["type"], error["msg"])


def _message(errors: list[dict]) -> str:
    """Plain words for one field's error; several errors are the branches of a union ('expected a or b')."""
    first = errors[0]
    kind = first["type"]
    if len(errors) > 1:
        kinds = list(dict.fromkeys(_expected(e) for e in errors))
        return f"expected {' or '.join(kinds)}, got {_got(first.get('input'))}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        return f"must be {op} {first['ctx'][key]}, got {_got(first.get('input'))}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _KINDS or kind == "literal_error":
        return f"must be {_expected(first)}, got {_got(first.get('input'))}"
    return first["msg"].removeprefix("Value error, ")


def _pick(errors: list[dict]) -> tuple[tuple, list[dict]]:
    """The error to report and its union siblings: unknown keys first (a typo also makes a field 'missing'),
    then, within a union, the branch that got furthest (the one the user meant)."""
    cleaned = [(_clean_loc(tuple(e["loc"])), e) for e in errors]
    first_parts, first = next(((p, e) for p, e in cleaned if e["type"] == "extra_forbidden"), cleaned[0])
    if first["type"] == "extra_forbidden":
        return first_parts, [first]
    related = [(p, e) for p, e in cleaned if p[:len(first_parts)] == first_parts]
    deepest = max(len(p) for p, _ in related)
    if deepest > len(first_parts):
        parts, error = next((p, e) for p, e in related if len(p) == deepest)
        return parts, [error]
    return first_parts, [e for p, e in related if p == first_parts]


def _hint_for(parts: tuple, errors: list[dict]) -> str | None:
    kind = errors[0]["type"]
    if kind == "extra_forbidden":
        allowed = _model_fields(parts)
        return did_you_mean(str(parts[-1]), allowed) if allowed else None
    if kind == "missing":
        model = _model_at(parts)
        field = model.model_fields.get(parts[-1]) if model is not None and parts else None
        return field.description if field is not None and field.description else "`advise init DIR` writes a complete example"
    return None


def pinpoint(err: UserError) -> UserError:
    """`err` with 'line N' added when it names a field of a YAML file (task.yaml, a rubric file) that is there."""
    if not (err.file and err.where and err.file.endswith((".yaml", ".yml"))) or re.search(r"\bline \d+", err.where):
        return err
    try:
        text = Path(err.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return err
    line = _yaml_line(text, _parse_field_path(err.where))
    return UserError(err.file, f"{err.where} (line {line})", err.message, err.hint) if line else err


def load_task(path: str | Path) -> Task:
    """Read and validate task.yaml; any problem is a one-line UserError naming the field."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a task file" if path.is_dir() else "task file not found"
        raise UserError(path, None, what, "pass the path of a task.yaml; `advise init DIR` writes one")
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UserError(path, f"line {line}", "not valid UTF-8", "save the file as UTF-8") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark, context = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        problem = getattr(err, "problem", None) or "invalid YAML"
        if context is not None and getattr(err, "context", None) and (mark is None or context.line != mark.line):
            problem += f", {err.context} that starts on line {context.line + 1}"  # e.g. an unclosed [
        raise UserError(path, where, f"YAML syntax error: {problem}", "check indentation and quoting") from None
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise UserError(path, None, f"expected a mapping of keys (name, instruction, data, rubric, ...), got {got}",
                        "see `advise init DIR` for a working example")
    try:
        task = Task.model_validate(raw)
    except ValidationError as err:
        parts, errors = _pick(err.errors())
        where = _field_path(parts) or "(top level)"
        line = _yaml_line(text, parts)  # for a missing key: the line of its parent, where it belongs
        raise UserError(path, where + (f" (line {line})" if line else ""), _message(errors),
                        _hint_for(parts, errors)) from None
    task.task_file = path.resolve()
    task._source = text
    return task
