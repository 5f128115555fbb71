"""Which coarse family (cnn / transformer / mlp / hybrid) a timm architecture belongs to.

Derived from the timm module that defines the architecture, so every variant and tag of a family
is covered without listing models one by one.
"""
from __future__ import annotations

import timm

from gkt.zoo.architectures import ARCH_FAMILY

TRANSFORMER = {
    "vision_transformer", "vision_transformer_relpos", "vision_transformer_sam", "deit", "cait",
    "swin_transformer", "swin_transformer_v2", "swin_transformer_v2_cr", "xcit", "twins", "pit",
    "beit", "eva", "tnt", "crossvit", "sequencer", "focalnet", "hiera", "vitamin", "nest", "gcvit",
    "pvt_v2", "mvitv2", "davit", "naflexvit",
}
HYBRID = {
    "levit", "coat", "convit", "volo", "efficientformer", "efficientformer_v2", "mobilevit",
    "maxxvit", "vision_transformer_hybrid", "edgenext", "fastvit", "tiny_vit", "nextvit", "cvt",
    "byoanet", "metaformer", "efficientvit_mit", "efficientvit_msra", "efficientvim", "iformer",
    "lowformer", "shvit", "swiftformer", "visformer",
}
MLP = {"mlp_mixer"}


def arch_family(arch: str) -> str:
    """The timm module name of an architecture (`resnet`, `convnext`, `vision_transformer`, …)."""
    base = arch.split(".")[0]
    if base in ARCH_FAMILY:
        return ARCH_FAMILY[base]
    module = timm.models.model_entrypoint(base).__module__
    return module.rsplit(".", 1)[-1]


def family(arch: str) -> str:
    module = arch_family(arch)
    if module in TRANSFORMER:
        return "transformer"
    if module in HYBRID:
        return "hybrid"
    if module in MLP:
        return "mlp"
    return "cnn"
