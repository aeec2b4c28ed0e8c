"""Shipped models: the registry each chapter declares, the model card, and the one loader.

A chapter lists its models in `models.toml` (name -> kind, directory, training entry point). Each
model directory holds `model.safetensors` and `card.json`, written together by the training run:
the card records the architecture, the training config, the sha256 of the weights, the metrics the
lessons quote and where the run came from. The engine never imports a part to load a model."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import json
import platform
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arena.catalog import COURSE_DIR, is_draft, show_drafts

CARD_FORMAT = 1
WEIGHTS_FILE, CARD_FILE = "model.safetensors", "card.json"
KINDS = ("hf-gpt2", "native")


class UnknownModel(LookupError):
    """No shipped model has this name; the message lists the known ones."""


class StaleModel(RuntimeError):
    """A shipped model's files do not match its card (edited or half-written weights)."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str
    dir: Path
    train: str  # "package.module:function"; called as fn(out_dir: Path, steps: int | None) -> dict
    tokenizer: Path | None = None
    description: str = ""

    @property
    def weights_path(self) -> Path:
        return self.dir / WEIGHTS_FILE

    @property
    def card_path(self) -> Path:
        return self.dir / CARD_FILE


def registry(course_dir: Path = COURSE_DIR) -> dict[str, ModelEntry]:
    """Every model the chapters (or their parts) declare in a `models.toml`; paths are relative to it."""
    found: dict[str, ModelEntry] = {}
    tomls = sorted(course_dir.glob("chapter*/models.toml")) + sorted(course_dir.glob("chapter*/part*/models.toml"))
    for toml_path in tomls:
        if is_draft(toml_path.parent) and not show_drafts():
            continue  # a draft part's models are not shipped yet
        chapter_dir = toml_path.parent
        for name, spec in tomllib.loads(toml_path.read_text(encoding="utf-8")).items():
            if spec["kind"] not in KINDS:
                raise ValueError(f"{toml_path}: model {name!r} has unknown kind {spec['kind']!r}")
            if name in found:
                raise ValueError(f"{toml_path}: model {name!r} is declared twice")
            found[name] = ModelEntry(
                name=name, kind=spec["kind"], dir=chapter_dir / spec["dir"], train=spec["train"],
                tokenizer=(chapter_dir / spec["tokenizer"]).resolve() if spec.get("tokenizer") else None,
                description=spec.get("description", ""))
    return found


def entry(name: str) -> ModelEntry:
    models = registry()
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise UnknownModel(f"There is no course model {name!r}. Known models: {known}.")
    return models[name]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(name: str) -> dict[str, Any]:
    """The card written by the run that made the model (architecture, training config, metrics)."""
    model = entry(name)
    if not model.card_path.exists():
        raise StaleModel(f"Course model {name!r} has no card at {model.card_path}. "
                         f"Re-make it with `arena train {name}`.")
    return json.loads(model.card_path.read_text(encoding="utf-8"))


def read_card_at(model_dir: Path) -> dict[str, Any]:
    """The card in a model directory (e.g. one written by `arena train NAME --out DIR`)."""
    return json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))


def verify(name: str) -> dict[str, Any]:
    """Read the card and check that the weights on disk are the ones it describes."""
    model, card = entry(name), read_card(name)
    if not model.weights_path.exists():
        raise StaleModel(f"Course model {name!r} has no weights at {model.weights_path}. "
                         f"Re-make them with `arena train {name}`.")
    if sha256_of(model.weights_path) != card["sha256"]:
        raise StaleModel(f"{model.weights_path} does not match its card (sha256 differs). "
                         f"Restore it from git or re-make it with `arena train {name}`.")
    return card


def provenance(started: float, **extra: Any) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "device": "cuda" if torch.cuda.is_available() else "cpu", "threads": torch.get_num_threads(),
        "wall_seconds": round(time.time() - started, 1),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d"),
    }
    try:
        from importlib.metadata import version
        info["transformer_lens"] = version("transformer-lens")
    except Exception:  # noqa: BLE001 - provenance is informative only
        pass
    info.update(extra)
    return info


def write_card(out_dir: Path, *, name: str, kind: str, architecture: dict, train_config: dict,
               metrics: dict, history: list | dict | None = None, provenance_info: dict | None = None,
               extra: dict | None = None) -> dict[str, Any]:
    """Write card.json beside model.safetensors (which must already be written)."""
    card = {
        "format": CARD_FORMAT, "name": name, "kind": kind, "architecture": architecture,
        "train_config": train_config, "sha256": sha256_of(out_dir / WEIGHTS_FILE), "metrics": metrics,
        "history": history or [], "provenance": provenance_info or {}, **(extra or {}),
    }
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return card


def train_function(name: str):
    module_name, _, fn_name = entry(name).train.partition(":")
    return getattr(importlib.import_module(module_name), fn_name)


def load_tokenizer_dir(path: Path):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(path))


def boot_hf_dir(model_dir: Path, device: str = "cpu"):
    """A Hugging Face GPT-2-format directory (weights, config, tokenizer) as a TransformerBridge in eval mode."""
    import warnings

    from transformer_lens.model_bridge import TransformerBridge

    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers 5 warns on every generate step
    return TransformerBridge.boot_transformers(str(model_dir), device=device).eval()


def boot(kind: str, model_dir: Path, card: dict, tokenizer_dir: Path | None = None, device: str = "cpu"):
    """Build the model a card describes from its directory, in eval mode."""
    if kind == "hf-gpt2":
        return boot_hf_dir(model_dir, device)
    from safetensors.torch import load_file
    from transformer_lens import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(**{**card["architecture"], "device": device})
    tokenizer = load_tokenizer_dir(tokenizer_dir) if tokenizer_dir else None
    model = TransformerBridge.boot_native(cfg, tokenizer=tokenizer)
    model.load_state_dict(load_file(str(model_dir / WEIGHTS_FILE)), strict=True)
    return model.eval()


def load(name: str, device: str = "cpu"):
    """Load a shipped model (verified against its card) in eval mode."""
    model_entry, card = entry(name), verify(name)
    return boot(model_entry.kind, model_entry.dir, card, model_entry.tokenizer, device)
