"""Export the JSON Schema of every contract: topic values (from topics.yaml) and ERP rows."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from schemas.erp import ROW_MODELS
from schemas.topics import load_catalogue

JSON_DIR = Path(__file__).resolve().parent / "json"


def _resolve(dotted: str) -> object:
    """The model a topic's `value` names; every contract lives in `schemas/`."""
    module, _, name = dotted.rpartition(".")
    if not module.startswith("schemas."):
        raise ValueError(f"topics.yaml names {dotted}: every topic's contract lives in schemas/")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValueError(f"topics.yaml names {dotted}, which does not exist") from None


def render_all() -> dict[str, str]:
    """File name -> JSON text, deterministic."""
    out: dict[str, str] = {}
    for spec in load_catalogue().topics.values():
        model = _resolve(spec.value)
        if f"{spec.value}.json" in out:
            continue
        schema = (model.model_json_schema() if isinstance(model, type)
                  and issubclass(model, BaseModel) else TypeAdapter(model).json_schema())
        out[f"{spec.value}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    for table, row_model in sorted(ROW_MODELS.items()):
        out[f"erp.{table}.json"] = json.dumps(row_model.model_json_schema(), indent=2,
                                              sort_keys=True) + "\n"
    return out


def export(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render_all()
    for stale in directory.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = []
    for name, text in rendered.items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written
