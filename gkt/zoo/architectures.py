"""timm architectures gkt registers in timm's own registry, so `timm.create_model` builds them.

timm's `mixer_*`/`resmlp_*` entrypoints fix `patch_size` and reject an override (a duplicate-keyword
TypeError), which rules out small-image Mixers; `gkt_mixer` is timm's `MlpMixer` with every size free.
"""
from __future__ import annotations

from timm.models import register_model
from timm.models._builder import build_model_with_cfg
from timm.models._registry import generate_default_cfgs
from timm.models.mlp_mixer import MlpMixer

# The timm module family each registration belongs to (its entrypoint lives in gkt, not timm).
ARCH_FAMILY = {"gkt_mixer": "mlp_mixer"}

default_cfgs = generate_default_cfgs(
    {
        "gkt_mixer.untrained": {
            "num_classes": 1000, "input_size": (3, 224, 224), "crop_pct": 0.875,
            "interpolation": "bicubic", "fixed_input_size": True,
            "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5),
            "first_conv": "stem.proj", "classifier": "head",
        }
    }
)


@register_model
def gkt_mixer(pretrained: bool = False, **kwargs) -> MlpMixer:
    return build_model_with_cfg(MlpMixer, "gkt_mixer", pretrained, **kwargs)
