"""Print the zoo of workflow/config/imagenet.yaml: ~300 timm ImageNet-1k classifiers of varied
architecture family, size and training recipe (the paper's §3 study drew 301 from timm at random).

    python scripts/imagenet_zoo.py > /tmp/zoo.yaml      # then paste over the zoo: list

Selection, deterministic for a given timm version:
  * candidates: `timm.list_pretrained()` weights whose tag ends in `in1k` (a 1,000-class ImageNet-1k
    head, whatever the pretraining), timm's default tag of each architecture when it is such a tag,
    else its first one; no `test_*` models; input at most --max-size px (pretrained cfg);
  * each model is built on the meta device (no memory, no weights) to count parameters and to check
    that a forward pass at its input size gives 1,000 logits; failures are reported and left out;
  * the models docs/method.md#experiments names (Tables 1/3/4 students and teachers) are always in, plus a few extra
    training recipes of ResNet-50 and ViT-B/16 (same architecture, different recipe);
  * the rest is spread over timm modules (architecture families): each module gets about
    count**alpha models (alpha solved so the total is --target), picked evenly over its
    parameter-count range so sizes vary within every family.
"""
from __future__ import annotations

import argparse
import collections
import math
import sys
import warnings
from pathlib import Path

import timm
import torch
from timm.models import get_pretrained_cfg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # gkt without installing it
from gkt.zoo.families import arch_family, family  # noqa: E402

# docs/method.md#experiments: multi-teacher students XCiT-P16, Twins, PiT-B; teachers SWSL-ResNeXt101, VOLO-D2,
# ResMLP-36.
REQUIRED = [
    "xcit_small_12_p16_224.fb_in1k",
    "twins_svt_base.in1k",
    "twins_pcpvt_base.in1k",
    "pit_b_224.in1k",
    "resnext101_32x8d.fb_swsl_ig1b_ft_in1k",
    "volo_d2_224.sail_in1k",
    "resmlp_36_224.fb_in1k",
    "resmlp_36_224.fb_distilled_in1k",
    "convnext_small.fb_in22k_ft_in1k",
    "convnext_base.fb_in1k",
]
# Same architecture, different training recipe: complementary knowledge without an architecture change.
RECIPES = [
    "resnet50.a1_in1k", "resnet50.a3_in1k", "resnet50.tv_in1k", "resnet50.tv2_in1k", "resnet50.gluon_in1k",
    "resnet50.fb_ssl_yfcc100m_ft_in1k", "resnet50.fb_swsl_ig1b_ft_in1k", "resnet50.ram_in1k",
    "vit_base_patch16_224.augreg_in1k", "vit_base_patch16_224.augreg_in21k_ft_in1k",
    "vit_base_patch16_224.orig_in21k_ft_in1k",
]
CONTROL = "control_resnet50"


def candidates(max_size: int) -> dict[str, str]:
    """architecture -> the `arch.tag` chosen for it."""
    by_arch: dict[str, list[str]] = collections.defaultdict(list)
    for name in timm.list_pretrained():
        arch, _, tag = name.partition(".")
        if tag.endswith("in1k") and not arch.startswith("test_"):
            by_arch[arch].append(name)
    chosen = {}
    for arch, names in sorted(by_arch.items()):
        default = f"{arch}.{get_pretrained_cfg(arch).tag}"
        name = default if default in names else names[0]
        cfg = get_pretrained_cfg(name)
        if cfg.num_classes == 1000 and max(cfg.input_size[1:]) <= max_size:
            chosen[arch] = name
    return chosen


def probe(name: str) -> tuple[int | None, str | None]:
    """(parameters, None), or (None, why it cannot be used): built and run on the meta device."""
    cfg = get_pretrained_cfg(name)
    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = timm.create_model(name, pretrained=False).eval()
            params = sum(p.numel() for p in model.parameters())
            with torch.no_grad():
                out = model(torch.empty(2, *cfg.input_size))
        if tuple(out.shape) != (2, 1000):
            return None, f"output shape {tuple(out.shape)}"
        return params, None
    except Exception as e:  # noqa: BLE001  (reported, model left out)
        return None, f"{type(e).__name__}: {' '.join(str(e).split())[:120]}"


def spread(items: list[tuple[int, str]], k: int) -> list[str]:
    """k names evenly over the sorted parameter range (smallest and largest included)."""
    items = sorted(items)
    if k >= len(items):
        return [n for _, n in items]
    if k == 1:
        return [items[len(items) // 2][1]]
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i][1] for i in idx]


def select(target: int, max_size: int) -> tuple[list[str], dict[str, int]]:
    pool = candidates(max_size)
    wanted = list(dict.fromkeys(REQUIRED + RECIPES))
    params: dict[str, int] = {}
    for i, name in enumerate(wanted + [n for n in pool.values() if n not in wanted]):
        p, why = probe(name)
        if why:
            print(f"# left out {name}: {why}", file=sys.stderr)
        else:
            params[name] = p
        if i % 100 == 99:
            print(f"# probed {i + 1}", file=sys.stderr)
    missing = [n for n in wanted if n not in params]
    if missing:
        raise SystemExit(f"required models unusable: {missing}")
    taken = {n.split(".")[0] for n in wanted}
    modules: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for arch, name in pool.items():
        if name in params and arch not in taken:
            modules[arch_family(arch)].append((params[name], name))
    budget = target - len(wanted)

    def total(alpha: float) -> int:
        return sum(min(len(v), math.ceil(len(v) ** alpha)) for v in modules.values())

    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if total(mid) < budget else (lo, mid)
    alpha = hi
    picked = []
    for module in sorted(modules):
        items = modules[module]
        picked += spread(items, min(len(items), math.ceil(len(items) ** alpha)))
    # The ceiling can overshoot by a few: drop from the largest modules' middle picks.
    while len(picked) > budget:
        counts = collections.Counter(arch_family(n) for n in picked)
        module = counts.most_common(1)[0][0]
        in_module = sorted((params[n], n) for n in picked if arch_family(n) == module)
        picked.remove(in_module[len(in_module) // 2][1])
    return wanted + picked, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=int, default=300, help="pretrained models (the control comes on top)")
    parser.add_argument("--max-size", type=int, default=384, help="largest input side (pretrained cfg)")
    args = parser.parse_args()
    names, params = select(args.target, args.max_size)
    groups: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for n in names:
        groups[(family(n), arch_family(n))].append(n)
    fams = collections.Counter(family(n) for n in names)
    print(f"zoo:  # {len(names)} timm models + control, written by scripts/imagenet_zoo.py (timm {timm.__version__}); "
          + ", ".join(f"{f} {c}" for f, c in sorted(fams.items())) + f"; {len(groups)} timm modules")
    for (fam, module), members in sorted(groups.items()):
        print(f"  # {fam} / {module}")
        for n in sorted(members, key=lambda n: (params[n], n)):
            size = get_pretrained_cfg(n).input_size[-1]
            print(f"  - {{name: {n}, arch: {n}, source: timm}}  # {params[n] / 1e6:.1f}M, {size}px")
    print("  # control: random init, never trained (paper §3: a random ResNet-50 teacher)")
    print(f"  - {{name: {CONTROL}, arch: resnet50, source: random, seed: 0}}")


if __name__ == "__main__":
    main()
