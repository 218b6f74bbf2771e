"""task.yaml as pydantic models (unknown keys rejected) and `load_task`, which names every bad field."""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import parse_qsl, urlparse

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, Strict, ValidationError,
                      ValidationInfo, field_validator)
from pydantic_core import PydanticCustomError

from .errors import UserError, did_you_mean, looks_like_secret, redact, shown
from .files import MAX_CONFIG_BYTES, load_yaml, read_text

DEFAULT_MODEL = "smollm2-135m"
MAX_TOP_K = 1000  # chunks in one prompt; far beyond any context window
MAX_SEED = 2**32 - 1  # numpy and torch take seeds in 0 <= seed < 2**32
MAX_NAME_BYTES = 200  # the run folder's name; file systems allow 255 bytes
MAX_REF_CHARS = 1000  # a model folder, hub id or embedder: longer is a pasted value, not a path
YAML_BOOLEANS = "true/false, yes/no and on/off are booleans in YAML"


def _is_key(text: str) -> bool:
    """True for text with a known key shape (sk-..., hf_..., ghp_..., a JWT, user:key@ in a URL). Stricter than
    `looks_like_secret`, whose long-token rule also matches names like my-bakery-qa-2024-with-more-data-v2:
    good enough to hide a value, not to refuse one."""
    return redact(text) != text


def refuse(message: str, hint: str | None = None) -> PydanticCustomError:
    """A validation error with our own message and hint (pydantic keeps both; `load_task` prints them)."""
    return PydanticCustomError("task_value", "{message}", {"message": message, "hint": hint})


def _no_bool(kind: str, words: str):
    def check(value: Any) -> Any:
        if isinstance(value, bool):  # YAML reads yes/no/on/off as booleans; int(True) would silently be 1
            raise PydanticCustomError(kind, words)
        return value

    return BeforeValidator(check)


Whole = Annotated[int, _no_bool("int_type", "Input should be a valid integer")]   # an int, never a bool
Number = Annotated[float, _no_bool("float_type", "Input should be a valid number")]  # a finite float, never a bool
Flag = Annotated[bool, Strict()]  # true or false only: not 1, not 'yes'


def _control_char(text: str, allowed: str = "") -> str | None:
    """The first control character in `text` (NUL, escape, line separators ...) not in `allowed`, else None."""
    return next((c for c in text if c not in allowed and unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)


def _plain_text(value: str, what: str) -> str:
    """A one-line reference (model folder, hub id, model name): not blank, no control characters, bounded."""
    if not value.strip():
        raise refuse("must not be blank", f"give {what}")
    if len(value) > MAX_REF_CHARS:
        raise refuse(f"is {len(value):,} characters long", f"give {what}; this looks like a pasted value")
    bad = _control_char(value)
    if bad is not None:
        raise refuse(f"contains the control character U+{ord(bad):04X}", "remove it (check the quoting in task.yaml)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EndpointModel(_Strict):
    """An OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, llm-katan)."""

    base_url: str
    name: str = Field(description="the model name the server expects")
    api_key_env: str | None = Field(None, description="NAME of the environment variable holding the key")
    weights: str | None = Field(None, description="local folder or Hugging Face id of the same weights, for finetune")
    concurrency: Whole = Field(4, ge=1, le=256)
    timeout: Number = Field(60.0, gt=0)
    max_retries: Whole = Field(4, ge=0, le=20)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        no_key = "put the key in an environment variable and name it in model.api_key_env"
        try:
            parsed = urlparse(v)
            parsed.port  # raises for a port that is not a number from 0 to 65535
        except ValueError:
            raise refuse("is not a valid URL (check the host and port)", "e.g. http://127.0.0.1:8000/v1") from None
        if "@" in parsed.netloc or "@" in v.split("/")[0]:
            raise refuse("must not contain credentials (user:key@host)", no_key)  # the value is never shown
        params = {k.lower() for k, _ in parse_qsl(parsed.query, keep_blank_values=True)}
        if _is_key(v) or any(word in k for k in params for word in ("key", "token", "secret", "password", "auth")):
            raise refuse("looks like it contains an API key", no_key)
        if len(v) > 2000 or _control_char(v) is not None or any(c.isspace() for c in v):
            raise refuse("must be an http(s) URL without spaces or control characters", "e.g. http://127.0.0.1:8000/v1")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8000/v1")
        return v.rstrip("/")

    @field_validator("name", "weights")
    @classmethod
    def _reference(cls, v: str | None, info: ValidationInfo) -> str | None:
        what = "the model name the server lists" if info.field_name == "name" else "a folder or Hugging Face id"
        return None if v is None else _plain_text(v, what)

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is None:
            return v
        env_shaped = "_" in v and v == v.upper()  # MY_COMPANY_OPENAI_KEY_2024: long, but clearly a name
        if (not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", v) or v.lower().startswith(("sk-", "sk_"))
                or (looks_like_secret(v) and not env_shaped)):
            raise refuse("give the NAME of an environment variable (e.g. OPENAI_API_KEY), never the key itself",
                         "export OPENAI_API_KEY=... in your shell, then write api_key_env: OPENAI_API_KEY")
        return v


class DataSpec(_Strict):
    train: Path = Field(description="a .jsonl or .csv file of input/output rows, relative to task.yaml")
    eval: Path = Field(description="held-out .jsonl or .csv rows the levers are scored on, relative to task.yaml")
    corpus: list[Path] = Field(default_factory=list)
    guard: Path | None = None
    preferences: Path | None = Field(None, description="preference pairs (TRL prompt/chosen/rejected or OpenAI "
                                     "preference rows) for the preference lever, relative to task.yaml")
    judge_labels: Path | None = Field(None, description="people's scores of some eval answers ({id, lever, score}), "
                                      "to measure how well an llm_judge criterion agrees with them")
    dev_size: Whole | None = Field(None, ge=4, description="rows carved from train for choosing variants "
                                                         "(default a quarter of train, 8 to 96; at most half)")

    @field_validator("corpus", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        v = [v] if isinstance(v, (str, Path)) else v
        if isinstance(v, list) and any(isinstance(p, str) and not p.strip() for p in v):
            raise ValueError("must not be empty: give a folder or files of documents, relative to task.yaml")
        return v

    @field_validator("train", "eval", "guard", "judge_labels", "preferences", mode="before")
    @classmethod
    def _not_blank(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip():  # Path("") would quietly mean the task's own folder
            raise ValueError("must not be empty: give the path of a file, relative to task.yaml")
        return v


class PromptOptions(_Strict):
    enabled: Flag = True
    shots: list[Whole] = Field(default_factory=lambda: [0, 4])
    selection: list[Literal["fixed", "nearest"]] = Field(default_factory=lambda: ["fixed", "nearest"])
    placements: list[Literal["system", "user"]] = Field(default_factory=lambda: ["system", "user"])

    @field_validator("shots")
    @classmethod
    def _shots(cls, v: list[int]) -> list[int]:
        if not v or any(k < 0 or k > 32 for k in v):
            raise ValueError("each k must be between 0 and 32")
        return sorted(set(v))


class RetrievalOptions(_Strict):
    enabled: Flag = True
    top_k: list[Whole] = Field(default_factory=lambda: [2, 4], description="k values tried on dev")
    chunk_tokens: Whole = Field(160, ge=16, le=2048)
    chunk_overlap: Whole = Field(32, ge=0)
    embedder: str | None = Field(None, description="sentence-transformers folder or id; default bundled MiniLM")

    @field_validator("top_k", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, (int, float, str)) else v  # a bool stays one, to be refused as a bool

    @field_validator("top_k")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(k < 1 or k > MAX_TOP_K for k in v):
            raise ValueError(f"each k must be between 1 and {MAX_TOP_K}, got {shown(v)}")
        return sorted(set(v))

    @field_validator("embedder")
    @classmethod
    def _embedder(cls, v: str | None) -> str | None:
        return None if v is None else _plain_text(v, "a sentence-transformers folder or Hugging Face id")

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap(cls, v: int, info: ValidationInfo) -> int:
        tokens = info.data.get("chunk_tokens")  # absent when chunk_tokens itself was invalid
        if tokens is not None and v >= tokens:
            raise ValueError(f"must be smaller than chunk_tokens ({tokens}), got {v}")
        return v


class FinetuneOptions(_Strict):
    enabled: Flag = True
    rank: Whole = Field(16, gt=0, le=1024)
    alpha: Number = Field(32, gt=0)
    dropout: Number = Field(0.05, ge=0, lt=1)
    target_modules: Union[Literal["all-linear"], list[str]] = "all-linear"
    epochs: Whole = Field(3, ge=1, le=50)
    lr: Union[Literal["auto"], Number, list[Number]] = "auto"
    batch_size: Whole = Field(8, ge=1, le=512)
    warmup_ratio: Number = Field(0.1, ge=0, lt=1)
    patience: Whole = Field(1, ge=0, le=1000, description="epochs without dev-loss improvement before stopping")
    max_length: Whole = Field(512, ge=32, le=1_000_000)
    max_steps: int | None = Field(None, ge=1, le=10**9, strict=True, description="the step budget: the schedule ends after this many optimizer "
                                                          "steps (default: epochs x steps per epoch)")
    max_train_minutes: Number | None = Field(None, gt=0, description="a safety net, not a budget: a lever it stops "
                                                                    "is marked undertrained")
    seeds: Whole = Field(1, ge=1, le=10, description="train this many times; training noise enters the intervals")
    processes: Whole = Field(1, ge=1, le=64, description="data-parallel training processes (torchrun; GPUs or CPU/gloo)")
    keep_instruction: Flag = Field(False, description="train and prompt with the instruction; default: the input alone, "
                                                      "since fine-tuning replaces the instruction and shortens prompts")
    learning_curve: Flag = Field(False, description="also train on 25% and 50% of train and score each")
    stop_on_score: Flag = Field(True, description="when training is planned for 2 epochs or more: generate and "
                                "score dev every half epoch, keep the best-scoring adapter and stop once the score "
                                "has not risen by more than one dev row's worth since the best earlier check")

    @field_validator("lr", mode="before")
    @classmethod
    def _lr_kind(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, list) and any(isinstance(x, bool) for x in v)):
            raise refuse(f"expected 'auto' or a number or a list, got {shown(v)}", YAML_BOOLEANS + "; write e.g. 1e-3")
        return v

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

    enabled: Flag = True
    distractors: Whole = Field(1, ge=0, le=10, description="random chunks added to each training context")
    distractor_tokens: Whole = Field(64, ge=8, le=4096, description="a distractor keeps only its first N embedder "
                                      "tokens: noise to ignore needs no whole chunk, and shorter rows train faster")
    oracle_free_share: Number = Field(0.2, ge=0, le=1, description="share of training rows whose context is distractors only")
    max_steps: int | None = Field(None, ge=1, le=10**9, strict=True, description="this lever's step budget (its rows are longer); default: "
                                                          "levers.finetune.max_steps")


class PreferenceOptions(_Strict):
    """preference: SFT LoRA (train rows and preferred answers), then DPO on the preference pairs on top of it; LoRA
    size, learning rate, batch size and length come from levers.finetune."""

    enabled: Flag = True
    beta: Union[Number, list[Number]] = Field([0.1, 0.5], description="DPO's beta (how far from the SFT model it "
                                              "may move); a list is a grid chosen on dev")
    epochs: Whole = Field(2, ge=1, le=50, description="passes over the preference pairs")
    max_steps: int | None = Field(None, ge=1, le=10**9, strict=True, description="the DPO step budget (default: "
                                  "epochs x steps per epoch)")

    @field_validator("beta")
    @classmethod
    def _beta(cls, v: Any) -> Any:
        values = v if isinstance(v, list) else [v]
        if not values:
            raise ValueError("give at least one beta")
        if any(isinstance(x, bool) or not 0 < x <= 10 for x in values):
            raise ValueError("beta must be a number above 0 and at most 10 (0.1 is usual)")
        return v


class LeverOptions(_Strict):
    prompt: PromptOptions = Field(default_factory=PromptOptions)
    retrieval: RetrievalOptions = Field(default_factory=RetrievalOptions)
    finetune: FinetuneOptions = Field(default_factory=FinetuneOptions)
    combined: CombinedOptions = Field(default_factory=CombinedOptions, alias="retrieval+finetune")
    preference: PreferenceOptions = Field(default_factory=PreferenceOptions)

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class GenerationOptions(_Strict):
    max_new_tokens: Whole | None = Field(None, ge=1, le=4096, description="default: from the training outputs")
    batch_size: Union[Literal["auto"], Annotated[int, Field(ge=1, le=512)]] = Field(
        "auto", description="rows per generation batch; auto: as many as a quarter of free memory holds, up to "
                            "32 on CPU and 256 on a GPU")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="what a local model generates in; auto: bf16 on a GPU, fp32 on a CPU (bf16 there is "
                            "opt-in, for CPUs with AMX / AVX512-BF16). Training keeps fp32 weights either way")

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, v: Any) -> Any:
        """One message for both branches of 'auto' | 1..512 (pydantic would report each branch's error)."""
        if v == "auto" and isinstance(v, str):
            return v
        if isinstance(v, bool) or not isinstance(v, int):
            hint = YAML_BOOLEANS if isinstance(v, bool) else "leave it out for auto"
            raise refuse(f"must be 'auto' or a whole number >= 1, got {shown(v)}", hint)
        if not 1 <= v <= 512:
            bound = ">= 1" if v < 1 else "<= 512"
            raise refuse(f"must be 'auto' or a whole number {bound}, got {shown(v)}", "leave it out for auto")
        return v


class CostOptions(_Strict):
    """Prices for the cost model: token prices for an endpoint, or the hourly cost of the machine for local runs."""

    price_per_1m_input: Number | None = Field(None, ge=0)
    price_per_1m_output: Number | None = Field(None, ge=0)
    machine_cost_per_hour: Number | None = Field(0.20, ge=0, description="default: a small cloud CPU machine")
    calls_per_month: Number | None = Field(10_000, ge=0)
    min_yearly_saving: Number = Field(100.0, ge=0, description="a costlier-to-build lever wins on cost alone only if it "
                                                               "saves at least this much over 12 months")


class DecisionOptions(_Strict):
    """How the recommendation weighs a simpler lever against the best one (docs/DECISION_RULES.md)."""

    margin: float = Field(0.05, gt=0, lt=1, strict=True, description="the smallest score difference that matters to you: a "
                                                         "simpler or cheaper lever is preferred over the best one "
                                                         "only when shown to be at most this much worse")


def _model_reference(v: Any) -> Any:
    """`model:` as text (bundled default, folder, hub id): not a key, one plain line. Endpoints check themselves."""
    if isinstance(v, str):
        if _is_key(v):
            raise refuse("looks like an API key (not shown)", "name a model folder, a Hugging Face id or an "
                         "endpoint {base_url, name, api_key_env}; the key goes in an environment variable")
        return _plain_text(v, "a model folder, a Hugging Face id or an endpoint {base_url, name}")
    return v


class _ModelOnly(_Strict):
    model: Union[str, EndpointModel]

    _reference = field_validator("model")(_model_reference)


def parse_model(value: Any, where: str) -> str | EndpointModel:
    """A model given somewhere other than `model:` (an llm_judge's `judge`), checked exactly like `model:`.
    A problem is UserError(None, where or where.FIELD, message, hint); the caller adds the file."""
    try:
        return _ModelOnly.model_validate({"model": value}).model
    except ValidationError as err:
        parts, errors = _pick(err.errors())
        sub = _field_path(parts[1:])
        raise UserError(None, f"{where}.{sub}" if sub else where, _message(errors), _hint_for(parts, errors)) from None


MODEL_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class ModelPrices(_Strict):
    """One grid model's prices: each key given replaces the task's `costs:` value for that model."""

    price_per_1m_input: Number | None = Field(None, ge=0)
    price_per_1m_output: Number | None = Field(None, ge=0)
    machine_cost_per_hour: Number | None = Field(None, ge=0)


class ModelEntry(_Strict):
    """One model of a model x lever grid (`models:`): a short label and what `model:` accepts."""

    label: str = Field(description="a short name for the grid, e.g. small: letters, digits, '.', '_', '-'")
    model: Union[str, EndpointModel] = Field(description="what `model:` accepts: default, a folder, a Hugging Face "
                                             "id or an endpoint {base_url, name, weights?}")

    prices: ModelPrices | None = Field(None, description="this model's prices, replacing costs: for it "
                                       "(a hosted model's token prices beside local models priced by the hour)")

    _reference = field_validator("model")(_model_reference)

    @field_validator("label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not MODEL_LABEL.fullmatch(v):
            raise refuse(f"must be a short name of letters, digits, '.', '_' or '-' (at most 40, starting with a "
                         f"letter or digit), got {shown(v, 40)}", "e.g. label: small or label: SmolLM2-135M")
        return v


class Task(_Strict):
    name: str = Field(max_length=100, description="a short name; it names the run folder")
    instruction: str = Field(description="what the model should do, in a sentence or two")
    model: Union[str, EndpointModel] = DEFAULT_MODEL
    models: list[ModelEntry] | None = Field(None, description="a model x lever grid: every lever on every model, "
                                            "each entry {label, model}")
    data: DataSpec = Field(description="`train:` and `eval:` paths (and optionally `corpus:`), relative to task.yaml")
    rubric: Union[str, list[dict], dict] = Field(
        description="a shipped rubric name such as short_answer_qa, a path to a rubric .yaml, or a list of criteria")
    levers: LeverOptions = Field(default_factory=LeverOptions)
    generation: GenerationOptions = Field(default_factory=GenerationOptions)
    costs: CostOptions = Field(default_factory=CostOptions)
    decision: DecisionOptions = Field(default_factory=DecisionOptions)
    seed: Whole = Field(0, description="0 to 4294967295 (numpy and torch seeds)")

    # set by load_task, not by the user
    task_file: Path = Field(Path("task.yaml"), exclude=True)
    _source: str = PrivateAttr("")  # the YAML text, to give later errors a line number
    _model_field: str = PrivateAttr("model")  # where `model` was set: models[i].model for one model of a grid

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        """`name` names the run folder (runs/NAME): one safe folder name."""
        folder = "it names the run folder, e.g. name: bakery-qa"
        if not v.strip():
            raise refuse("must not be blank", folder)
        if _is_key(v):
            raise refuse("looks like an API key (not shown)", folder + "; keys belong in an environment variable")
        bad = _control_char(v)
        if bad is not None:
            raise refuse(f"contains the control character U+{ord(bad):04X}", folder)
        if "/" in v or "\\" in v or v.startswith("."):
            raise refuse("must not contain slashes or start with a dot", folder)
        if v != v.strip():
            raise refuse("must not start or end with a space", folder)
        if len(v.encode("utf-8")) > MAX_NAME_BYTES:
            raise refuse(f"is {len(v.encode('utf-8'))} bytes long in UTF-8; a folder name takes at most {MAX_NAME_BYTES} bytes", folder)
        return v

    @field_validator("instruction")
    @classmethod
    def _instruction(cls, v: str) -> str:
        if not v.strip():
            raise refuse("must not be blank", "say what the model should do, in a sentence or two")
        bad = _control_char(v, allowed="\t\n")
        if bad is not None:
            raise refuse(f"contains the control character U+{ord(bad):04X}", "remove it (check the quoting in task.yaml)")
        return v

    @field_validator("model")
    @classmethod
    def _model(cls, v: Any) -> Any:
        return _model_reference(v)

    @field_validator("models", mode="before")
    @classmethod
    def _models_list(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, list):
            raise refuse(f"must be a list of {{label, model}} entries, got {shown(v, 40)}",
                         "write each model as a line '  - {label: small, model: default}' under models:")
        return v

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[ModelEntry] | None) -> list[ModelEntry] | None:
        if v is not None and not v:
            raise refuse("must list at least one model", "give entries {label, model}, or remove models: and use model:")
        return v

    @field_validator("seed")
    @classmethod
    def _seed(cls, v: int) -> int:
        if not 0 <= v <= MAX_SEED:
            raise refuse(f"must be between 0 and {MAX_SEED}, got {shown(v)}", "numpy and torch take seeds in "
                         "0 <= seed < 2**32")
        return v

    @property
    def base_dir(self) -> Path:
        return self.task_file.parent

    def for_model(self, index: int) -> "Task":
        """This task on one model of its grid (`models[index]`): `model` is that entry's, and `locate("model...")`
        names models[index].model, so every check and error made for a single model points at the right line."""
        entry = self.models[index]
        prices = {key: getattr(entry.prices, key) for key in entry.prices.model_fields_set} if entry.prices else {}
        task = self.model_copy(update={"model": entry.model, "models": None,
                                       "costs": self.costs.model_copy(update=prices)})
        task._source, task._model_field = self._source, f"models[{index}].model"
        return task

    def locate(self, field: str) -> str:
        """`field` with the line of task.yaml that sets it: 'levers.prompt.shots (line 12)'."""
        if field == "model" or field.startswith("model."):
            field = self._model_field + field[len("model"):]
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


def _key_text(part: object) -> str:
    """A key as the user wrote it, unless it is long, odd or secret-looking (an unknown key is user text)."""
    text = str(part)
    if len(text) > 40 or looks_like_secret(text) or _control_char(text) is not None or not text.strip():
        return shown(part, 40)
    return text


def _field_path(parts: tuple) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + _key_text(part)
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


def _yaml_node(text: str, parts: tuple) -> tuple[int | None, Any]:
    """(line, node) of the deepest key of `parts` found in the YAML text (line 1-based), or (None, None). Never
    raises: this only adds a line number to an error that is already being reported."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # aliases stay shared nodes: no expansion here
    except (yaml.YAMLError, RecursionError, ValueError):
        return None, None
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
            if not match:
                break
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line, node


def _yaml_line(text: str, parts: tuple) -> int | None:
    """Line of the deepest key of `parts` found in the YAML text (1-based), or None."""
    return _yaml_node(text, parts)[0]


_KINDS = {"string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
          "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
          "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
          "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
          "finite_number": "a finite number", "path_type": "a path", "string_sub_type": "a string"}
_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="), "less_than": ("lt", "<"),
           "less_than_equal": ("le", "<=")}


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
        return f"expected {' or '.join(kinds)}, got {shown(first.get('input'))}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "task_value":
        return first["ctx"]["message"]
    if kind == "invalid_key":
        return f"a key must be text, got {shown(first.get('input'))}"
    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        return f"must be {op} {first['ctx'][key]}, got {shown(first.get('input'))}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _KINDS or kind == "literal_error":
        return f"must be {_expected(first)}, got {shown(first.get('input'))}"
    return first["msg"].removeprefix("Value error, ")


def _pick(errors: list[dict]) -> tuple[tuple, list[dict]]:
    """The error to report and its union siblings: unknown keys first (a typo also makes a field 'missing'),
    then, within a union, the branch that got furthest (the one the user meant)."""
    cleaned = [(_clean_loc(tuple(e["loc"])[:-1]) if e["type"] == "invalid_key" else _clean_loc(tuple(e["loc"])), e)
               for e in errors]  # a key that is not text: report it at its mapping
    first_parts, first = next(((p, e) for p, e in cleaned if e["type"] in ("extra_forbidden", "invalid_key")),
                              cleaned[0])
    if first["type"] in ("extra_forbidden", "invalid_key"):
        return first_parts, [first]
    related = [(p, e) for p, e in cleaned if p[:len(first_parts)] == first_parts]
    deepest = max(len(p) for p, _ in related)
    if deepest > len(first_parts):
        parts, error = next((p, e) for p, e in related if len(p) == deepest)
        return parts, [error]
    return first_parts, [e for p, e in related if p == first_parts]


def _quote_hint(parts: tuple, value: Any, text: str) -> str:
    """'quote it: name: "no"': YAML read the user's word as a boolean or number where text is expected."""
    _, node = _yaml_node(text, parts)
    written = node.value if isinstance(node, yaml.ScalarNode) else str(value).lower() if isinstance(value, bool) else str(value)
    if len(written) > 30 or looks_like_secret(written):
        return "quote it, so YAML reads it as text"
    key = f"{parts[-1]}: " if parts and isinstance(parts[-1], str) else ""
    why = (YAML_BOOLEANS if isinstance(value, bool) else "YAML reads it as a date" if isinstance(value, date)
           else "YAML reads it as a number")
    return f'{why}; quote it: {key}"{written}"'


def _hint_for(parts: tuple, errors: list[dict], text: str = "") -> str | None:
    kind = errors[0]["type"]
    value = errors[0].get("input")
    if kind == "task_value":
        return errors[0]["ctx"].get("hint")
    if kind == "invalid_key":
        return ("keys are names such as seed or levers; " + YAML_BOOLEANS if isinstance(value, bool) else
                "keys are names such as seed or levers; quote a key that should be text")
    if kind in ("string_type", "path_type") and isinstance(value, (bool, int, float, date)) and not errors[1:]:
        return _quote_hint(parts, value, text)
    if isinstance(value, bool) and kind in ("int_type", "float_type"):
        return YAML_BOOLEANS + "; write a number"
    if isinstance(value, bool):
        return YAML_BOOLEANS + "; quote the word if you meant text"
    if kind == "finite_number":
        return ".inf and .nan are not usable values; write a number"
    if kind in ("bool_type", "bool_parsing"):
        return "write true or false, without quotes"
    if kind == "extra_forbidden":
        allowed = _model_fields(parts)
        return did_you_mean(str(parts[-1]), allowed) if allowed else None
    if kind == "missing":
        model = _model_at(parts)
        field = model.model_fields.get(parts[-1]) if model is not None and parts else None
        return field.description if field is not None and field.description else "`advise init DIR` writes a complete example"
    return None


def pinpoint(err: UserError) -> UserError:
    """`err` with 'line N' added when it names a field of a YAML file (task.yaml, a rubric file) that is there.
    The file is read with the safe reader (a FIFO or a huge file is skipped); any problem leaves `err` as it is."""
    if not (err.file and err.where and err.file.endswith((".yaml", ".yml"))) or re.search(r"\bline \d+", err.where):
        return err
    try:
        text = read_text(Path(err.file), MAX_CONFIG_BYTES)
    except (UserError, OSError, ValueError):
        return err
    line = _yaml_line(text, _parse_field_path(err.where))
    return UserError(err.file, f"{err.where} (line {line})", err.message, err.hint) if line else err


def _find_binary(value: Any, parts: tuple) -> tuple | None:
    """The field path of the first `!!binary` (bytes) value in the parsed YAML, else None (depth bounded by
    load_yaml)."""
    if isinstance(value, bytes):
        return parts
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found = _find_binary(child, (*parts, key))
        if found is not None:
            return found
    return None


def load_task(path: str | Path) -> Task:
    """Read and validate task.yaml; any problem is a one-line UserError naming the field."""
    path = Path(path)
    # the name errors show: a path of thousands of characters is cut, so the error stays one short line
    label = path if len(str(path)) <= 200 else Path(f"{str(path)[:60]}...{str(path)[-60:]}")
    start = "pass the path of a task.yaml; `advise init DIR` writes one"
    if str(path) in ("", "."):
        raise UserError(path, None, "is a folder or an empty path, not a task file", start)
    try:
        text = read_text(path, MAX_CONFIG_BYTES)  # regular files only: a FIFO or /dev/zero never blocks
    except UserError as err:
        if err.where is None and err.message == "not found":
            raise UserError(label, None, "task file not found", start) from None
        if err.where is None and err.message.startswith("is a folder"):
            raise UserError(label, None, "is a folder, not a task file", start) from None
        raise UserError(label, err.where, err.message, err.hint) from None
    raw = load_yaml(label, MAX_CONFIG_BYTES, text=text)
    binary = _find_binary(raw, ())
    if binary is not None:  # pydantic would read bytes as text where a string is expected
        where = _field_path(binary) or "(top level)"
        line = _yaml_line(text, binary)
        raise UserError(label, where + (f" (line {line})" if line else ""), "a !!binary value is not allowed here",
                        "write the value as plain text")
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise UserError(label, None, f"expected a mapping of keys (name, instruction, data, rubric, ...), got {got}",
                        "see `advise init DIR` for a working example")
    try:
        task = Task.model_validate(raw)
    except ValidationError as err:
        parts, errors = _pick(err.errors())
        where = _field_path(parts) or "(top level)"
        line = _yaml_line(text, parts)  # for a missing key: the line of its parent, where it belongs
        raise UserError(label, where + (f" (line {line})" if line else ""), _message(errors),
                        _hint_for(parts, errors, text)) from None
    task.task_file = path.resolve()
    task._source = text
    check_grid(task, label)
    return task


def check_grid(task: Task, label: Path) -> None:
    """`models:` replaces `model:` (never both), and its labels and models are unique: a label names a row of the
    grid, and the same model twice would only share its caches."""
    if task.models is None:
        return
    if "model" in task.model_fields_set:
        raise UserError(label, task.locate("model"), "model: and models: are both set",
                        "keep models: (a list of {label, model}) for a grid, or model: alone for one model")
    labels: dict[str, int] = {}
    models: dict[str, int] = {}
    for i, entry in enumerate(task.models):
        if entry.label in labels:
            raise UserError(label, task.locate(f"models[{i}].label"), f"label {entry.label} is used twice (also "
                            f"models[{labels[entry.label]}])", "give each model its own label")
        labels[entry.label] = i
        key = entry.model if isinstance(entry.model, str) else f"{entry.model.base_url} {entry.model.name}"
        if key in models:
            raise UserError(label, task.locate(f"models[{i}].model"), f"the same model as models[{models[key]}]",
                            "list each model once; a second label for the same model measures nothing new")
        models[key] = i
