"""Build timm models for a zoo spec: the embedded zoo and ImageNet zoos go through the same call."""
from __future__ import annotations

import pickle

import timm
from safetensors import SafetensorError
import torch.nn as nn

from gkt.data.base import DatasetSource
from gkt.errors import GktError
from gkt.zoo import architectures  # noqa: F401  (registers gkt's architectures with timm)
from gkt.zoo.spec import ModelSpec, weights_file_problem


def create_model(spec: ModelSpec, dataset: DatasetSource, pretrained: bool | None = None) -> nn.Module:
    """A timm model for `spec` on `dataset`.

    `timm`/`file` sources load their weights through timm's pretrained machinery (the HF cache, with
    `HF_HUB_OFFLINE=1` honoured, or `pretrained_cfg_overlay=dict(file=...)`). Models trained here get
    the dataset's input config as their pretrained cfg, so `resolve_data_config` works for them too.
    A fine-tuned model (`finetune`) is built without weights the way its base was: a pretrained base's
    architecture keeps its timm preprocessing, a base made here takes the dataset's input config.
    """
    base = spec.arch.split(".")[0]
    if not timm.is_model(base):
        raise GktError(
            f"model {spec.name!r}: unknown timm architecture {spec.arch!r}; "
            f"check the name with timm.list_models('{base[:6]}*')"
        )
    kwargs = dict(spec.kwargs)
    if spec.source == "finetune" and (spec.base or {}).get("source") in ("timm", "file"):
        overlay = {k: v for k, v in kwargs.pop("pretrained_cfg_overlay", {}).items() if k != "file"}
        return timm.create_model(spec.arch, pretrained=False, num_classes=dataset.num_classes,
                                 pretrained_cfg_overlay=overlay or None, **kwargs)
    if spec.source in ("timm", "file"):
        overlay = dict(kwargs.pop("pretrained_cfg_overlay", {}))
        if spec.source == "file":
            if problem := weights_file_problem(spec.file):
                raise GktError(f"model {spec.name!r}: {problem}; fix its 'file:' path")
            overlay["file"] = spec.file
        try:
            model = timm.create_model(
                spec.arch, pretrained=True if pretrained is None else pretrained,
                num_classes=dataset.num_classes, pretrained_cfg_overlay=overlay or None, **kwargs,
            )
        except (FileNotFoundError, OSError, RuntimeError, KeyError, ValueError, pickle.UnpicklingError,
                SafetensorError) as e:
            # A file that passes the first-bytes check may still not hold this architecture's weights.
            detail = " ".join(str(e).split())[:200]
            raise GktError(
                f"model {spec.name!r}: could not load pretrained weights for {spec.arch!r} ({type(e).__name__} {detail}); "
                f"put them in the HF cache (HF_HUB_OFFLINE=1 reads it without network) or point 'file:' at a weights file"
            ) from None
        return model
    overlay = dict(dataset.input_cfg, num_classes=dataset.num_classes)
    overlay.update(kwargs.pop("pretrained_cfg_overlay", {}))
    if "img_size" in kwargs:
        overlay["input_size"] = (dataset.in_chans, kwargs["img_size"], kwargs["img_size"])
    return timm.create_model(
        spec.arch, pretrained=False, num_classes=dataset.num_classes, in_chans=dataset.in_chans,
        pretrained_cfg_overlay=overlay, **kwargs,
    )
