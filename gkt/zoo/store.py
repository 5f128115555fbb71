"""Zoo entries on disk: `<zoo_dir>/<name>.json` (a ModelRecord) and, for models made here,
`<name>.safetensors`. The JSON is written last, so its presence means the entry is complete."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import safetensors.torch
import torch.nn as nn

from gkt.data.base import DatasetSource
from gkt.errors import GktError
from gkt.io import atomic_path, write_json
from gkt.zoo.build import create_model
from gkt.zoo.record import ModelRecord, record_path
from gkt.zoo.spec import SAVED_HERE


def weights_hash(model: nn.Module | dict) -> str:
    """sha256 over the state dict (a model's, or one given) in key order: identical weights give
    identical hashes."""
    h = hashlib.sha256()
    for key, tensor in (model if isinstance(model, dict) else model.state_dict()).items():
        h.update(key.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def weights_path(zoo_dir: str | Path, name: str) -> Path:
    return Path(zoo_dir) / f"{name}.safetensors"


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """A model's state dict as safetensors, atomically: zoo models and transferred students alike."""
    with atomic_path(path) as tmp:
        safetensors.torch.save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    return Path(path)


def save_model(model: nn.Module, record: ModelRecord, zoo_dir: str | Path) -> Path:
    if record.source in SAVED_HERE:
        save_weights(model, weights_path(zoo_dir, record.name))
    return write_json(asdict(record), record_path(zoo_dir, record.name))


def read_record(zoo_dir: str | Path, name: str) -> ModelRecord:
    path = record_path(zoo_dir, name)
    if not path.exists():
        raise GktError(f"no zoo entry {path}: run the zoo stage for model {name!r} first (snakemake {path})")
    try:
        return ModelRecord(**json.loads(path.read_text()))
    except (ValueError, TypeError) as e:  # truncated or edited by hand: the zoo job remakes it
        raise GktError(
            f"zoo record {path} is damaged ({type(e).__name__}: {' '.join(str(e).split())[:100]}): "
            f"remake it with: snakemake {path} --forcerun zoo_model"
        ) from None


def load_model(name: str, zoo_dir: str | Path, dataset: DatasetSource) -> tuple[nn.Module, ModelRecord]:
    """The zoo model `name` with its weights, in eval mode."""
    record = read_record(zoo_dir, name)
    if record.num_classes != dataset.num_classes:
        raise GktError(
            f"model {name!r} has {record.num_classes} classes but dataset {dataset.name!r} has "
            f"{dataset.num_classes}: use a zoo made for this dataset"
        )
    # A model made on another data set (a domain-shifted teacher) cannot hold this one's val images.
    if record.train_samples and record.dataset == dataset.name and record.train_samples != dataset.samples_key("train"):
        raise GktError(
            f"zoo model {name!r} was trained on other samples of {dataset.name!r} than the configured train split "
            f"(a changed dataset seed or folder?), so the val split may hold its training images: rerun the zoo "
            f"stage for it (snakemake {record_path(zoo_dir, name)} --forcerun zoo_model)"
        )
    if record.source == "finetune" and record_path(record.base_zoo, record.base_model).exists():
        base = read_record(record.base_zoo, record.base_model)
        if base.weights_hash != record.base_weights_hash:
            raise GktError(
                f"zoo model {name!r} was fine-tuned from {record.base_model!r} with weights hash {record.base_weights_hash}, "
                f"which now has {base.weights_hash} ({record_path(record.base_zoo, record.base_model)}): rerun the zoo "
                f"stage for it (snakemake {record_path(zoo_dir, name)} --forcerun zoo_model)"
            )
    model = create_model(record.spec(), dataset)
    if record.source in SAVED_HERE:
        model.load_state_dict(safetensors.torch.load_file(str(weights_path(zoo_dir, name))))
    return model.eval(), record
