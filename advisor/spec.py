"""task.yaml as pydantic models (unknown keys rejected) and `load_task`, which names every bad field."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Union
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import UserError, did_you_mean

DEFAULT_MODEL = "smollm2-135m"
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
    train: Path
    eval: Path
    corpus: list[Path] = Field(default_factory=list)
    guard: Path | None = None
    dev_size: int | None = Field(None, ge=4, description="rows carved from train for choosing variants")

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
        if not v or any(k < 1 for k in v):
            raise ValueError("each k must be >= 1")
        return sorted(set(v))

    @model_validator(mode="after")
    def _overlap(self) -> "RetrievalOptions":
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})")
        return self


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
    max_train_minutes: float | None = Field(None, gt=0)

    @field_validator("lr")
    @classmethod
    def _lr(cls, v: Any) -> Any:
        values = v if isinstance(v, list) else [v] if isinstance(v, float) else []
        if isinstance(v, list) and not v:
            raise ValueError("give at least one learning rate")
        if any(not (0 < x < 1) for x in values):
            raise ValueError("learning rates must be between 0 and 1 (e.g. 1e-3)")
        return v


class LeverOptions(_Strict):
    prompt: PromptOptions = Field(default_factory=PromptOptions)
    retrieval: RetrievalOptions = Field(default_factory=RetrievalOptions)
    finetune: FinetuneOptions = Field(default_factory=FinetuneOptions)


class GenerationOptions(_Strict):
    max_new_tokens: int | None = Field(None, ge=1, le=4096, description="default: from the training outputs")
    batch_size: int = Field(8, ge=1, le=512)


class CostOptions(_Strict):
    """Prices for the cost model: token prices for an endpoint, or the hourly cost of the machine for local runs."""

    price_per_1m_input: float | None = Field(None, ge=0)
    price_per_1m_output: float | None = Field(None, ge=0)
    machine_cost_per_hour: float | None = Field(0.20, ge=0, description="default: a small cloud CPU machine")
    calls_per_month: float | None = Field(10_000, ge=0)


class Task(_Strict):
    name: str = Field(min_length=1, max_length=100)
    instruction: str = Field(min_length=1)
    model: Union[str, EndpointModel] = DEFAULT_MODEL
    data: DataSpec
    rubric: Union[str, list[dict], dict]
    levers: LeverOptions = Field(default_factory=LeverOptions)
    generation: GenerationOptions = Field(default_factory=GenerationOptions)
    costs: CostOptions = Field(default_factory=CostOptions)
    seed: int = 0

    # set by load_task, not by the user
    task_file: Path = Field(Path("task.yaml"), exclude=True)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if "/" in v or "\\" in v or v.startswith("."):
            raise ValueError("must not contain slashes or start with a dot (it names the run folder)")
        return v

    @property
    def base_dir(self) -> Path:
        return self.task_file.parent

    def resolve(self, path: Path) -> Path:
        """A path from task.yaml, relative to the task file."""
        return path if path.is_absolute() else (self.base_dir / path)


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[dict]", "dict", "EndpointModel", "float", "list[float]") or part.startswith(
            ("literal[", "function-")
        ):
            continue  # pydantic's union-branch labels are noise for users
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names allowed at `loc`, for did-you-mean hints on unknown keys."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        candidates = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = candidates[0] if candidates else ann
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [n for n in current.model_fields if n != "task_file"]
    return []


def _yaml_line(text: str, loc: tuple) -> str:
    """'line N' of the key at `loc` in the YAML text, when it can be found."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return ""
    line = None
    for part in loc:
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
    return f" (line {line})" if line else ""


def load_task(path: str | Path) -> Task:
    """Read and validate task.yaml; any problem is a one-line UserError naming the field."""
    path = Path(path)
    if not path.is_file():
        raise UserError(path, None, "task file not found", "pass the path of a task.yaml (advise init DIR makes one)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise UserError(path, f"byte {err.start}", "not valid UTF-8", "save the file as UTF-8") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise UserError(path, where, f"YAML syntax error: {problem}", "check indentation and quoting") from None
    if not isinstance(raw, dict):
        raise UserError(path, None, "expected a mapping of keys (name, instruction, data, rubric, ...)",
                        "see `advise init` for a working example")
    try:
        task = Task.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        where = _field_path(loc) or "(top level)"
        hint = None
        if first["type"] == "extra_forbidden":
            allowed = _model_fields(Task, loc)
            message = "unknown key"
            hint = did_you_mean(str(loc[-1]), allowed) if allowed else None
        elif first["type"] == "missing":
            message = "required field is missing"
        else:
            message = first["msg"].removeprefix("Value error, ")
        raise UserError(path, where + _yaml_line(text, loc), message, hint) from None
    task.task_file = path.resolve()
    return task
