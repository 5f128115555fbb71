"""Fine-tuned zoo entries (`source: finetune`): a model of another zoo (or of this one), fine-tuned on a
data set before it joins this zoo (docs/method.md#experiments).

    - {name: r10_digits, source: finetune, base: {zoo: results/mnist5k/zoo, model: resnet10t_a}, tune: head,
       recipe: {epochs: 2, lr: 0.01}}
    - {name: r10_shifted, source: finetune, base: {zoo: results/mnist5k/zoo, model: resnet10t_a}, tune: all,
       dataset: {name: digits}}

* `tune: head` trains the classification layer only, on a fixed network (kept in eval mode, so its
  BatchNorm statistics do not move either): the paper's Supp. B.4, where the heads of ImageNet models
  are fine-tuned on CUB200, Caltech256 or Stanford Cars before transfer on that data set.
* `tune: all` trains the whole network: Supp. B.5, where a teacher is fine-tuned on DomainNet Infograph
  and then teaches ImageNet students. With `dataset:` the model is fine-tuned on that data set (which
  must have this zoo's classes) and then serves this zoo: its record's `dataset` names the data set it
  was fine-tuned on, so the database marks its runs as teacher_domain_shifted (Fig. 10).

The base's weights: its `<name>.safetensors` when it was made here, else timm's pretrained weights
as its record describes them. The base's classification layer is kept when it has as many classes as
the data set (its classes are taken to be these: mnist5k and digits, ImageNet and ImageNet-labelled
folders); otherwise the layer starts afresh. The record keeps the base's zoo, name, origin (`source`
of the model the chain of bases starts from, which decides the preprocessing), data set and weights
hash, and what was tuned; the workflow's zoo job depends on the base's zoo record, and readers of a
fine-tuned model refuse it once its base's weights hash has changed (gkt.zoo.store.load_model).
"""
from __future__ import annotations

import dataclasses
import logging

import safetensors.torch
import torch
import torch.nn as nn

from gkt.data.base import DatasetSource
from gkt.device import seed_all
from gkt.errors import GktError
from gkt.zoo.build import create_model
from gkt.zoo.record import ModelRecord
from gkt.zoo.spec import SAVED_HERE, ModelSpec, origin_source
from gkt.zoo.store import read_record, record_path, weights_hash, weights_path
from gkt.zoo.train import DEFAULT_RECIPE, fit

log = logging.getLogger(__name__)

# Over gkt.zoo.train.DEFAULT_RECIPE: a linear layer on fixed features takes a larger learning rate
# than a whole pretrained network, which a small one keeps near its starting point.
TUNE_RECIPE = {"head": dict(epochs=3, lr=1e-2, weight_decay=0.0), "all": dict(epochs=3, lr=1e-3)}


def origin(base: ModelRecord) -> str:
    """The source of the model a chain of fine-tuned bases starts from (timm/file: pretrained preprocessing)."""
    return origin_source(base.source, base.base_source)


def base_state(base: ModelRecord, zoo_dir: str, in_chans: int) -> dict[str, torch.Tensor]:
    """The base model's weights, checked against the hash its zoo record holds."""
    # The base's architecture as its record describes it (pretrained ones with their weights, from the HF
    # cache or their file), so that its state dict has the order the record's hash was taken in.
    stand_in = DatasetSource(name=base.dataset, class_names=[str(i) for i in range(base.num_classes)],
                             in_chans=in_chans)
    model = create_model(base.spec(), stand_in)
    if base.source in SAVED_HERE:
        model.load_state_dict(safetensors.torch.load_file(str(weights_path(zoo_dir, base.name))))
    state = model.state_dict()
    found = weights_hash(state)
    if found != base.weights_hash:
        raise GktError(f"base model {base.name!r} in {zoo_dir} has weights hash {found}, but its zoo record says "
                       f"{base.weights_hash}: rerun that zoo's stage for it ({record_path(zoo_dir, base.name)})")
    return state


def head_prefix(model: nn.Module) -> str:
    """The state-dict prefix of the model's classification layer (timm's get_classifier())."""
    head = model.get_classifier()
    for name, module in model.named_modules():
        if module is head and name:
            return name + "."
    raise GktError(f"cannot find the classification layer of {type(model).__name__} (timm get_classifier())")


def load_base(model: nn.Module, state: dict[str, torch.Tensor], name: str) -> bool:
    """Load the base's weights into `model`; a classification layer of another shape is left as built.
    Returns whether the layer was kept."""
    own, head = model.state_dict(), head_prefix(model)
    differ = sorted({k for k in own if k not in state or state[k].shape != own[k].shape} | (set(state) - set(own)))
    if any(not k.startswith(head) for k in differ):
        body = [k for k in differ if not k.startswith(head)]
        raise GktError(f"model {name!r}: its base's weights do not fit its architecture ({len(body)} tensor(s), e.g. "
                       f"{body[0]!r}): the data set's images must have the base's channels (in_chans)")
    model.load_state_dict({k: v for k, v in state.items() if k in own and k not in differ}, strict=False)
    return not differ


def finetune(spec: ModelSpec, dataset: DatasetSource, device: torch.device
             ) -> tuple[nn.Module, ModelSpec, dict, DatasetSource, dict]:
    """Fine-tune `spec` for the zoo of `dataset`. Returns the model, the spec it was built from (the
    base's architecture), the recipe used, the data set it was fine-tuned on and the record's base_*
    fields."""
    from gkt.data.factory import get_dataset

    zoo_dir, base_name = spec.base["zoo"], spec.base["model"]
    base = read_record(zoo_dir, base_name)
    resolved = (spec.arch, spec.kwargs, spec.base.get("source"))
    if spec.arch and resolved != (base.arch, base.kwargs, origin(base)):
        raise GktError(f"model {spec.name!r}: the workflow took its base {base_name!r} to be {resolved}, but its zoo record "
                       f"({record_path(zoo_dir, base_name)}) says {(base.arch, base.kwargs, origin(base))}: rerun the "
                       f"base's zoo job, or the workflow, so that both agree")
    data = get_dataset(spec.dataset) if spec.dataset is not None else dataset
    if data.class_names != dataset.class_names:
        raise GktError(f"model {spec.name!r} is fine-tuned on {data.name!r}, whose classes differ from those of "
                       f"{dataset.name!r} (its zoo's data set): a fine-tuning data set needs the zoo's classes")
    built = dataclasses.replace(
        spec, arch=base.arch, kwargs=dict(base.kwargs), family=spec.family or base.family,
        arch_family=spec.arch_family or base.arch_family,
        base={"zoo": zoo_dir, "model": base_name, "source": origin(base)},
    )
    seed_all(spec.seed)
    model = create_model(built, data)
    kept = load_base(model, base_state(base, zoo_dir, data.in_chans), spec.name)
    recipe = {**DEFAULT_RECIPE, **TUNE_RECIPE[spec.tune], **spec.recipe}
    head = model.get_classifier()
    params = list(head.parameters()) if spec.tune == "head" else None
    log.info("%s: fine-tuning %s of %s/%s (%s, %s) on %s%s", spec.name, "the classification layer" if params else
             "the whole network", zoo_dir, base_name, base.arch, base.dataset, data.name,
             "" if kept else " (new classification layer)")
    model = fit(model, spec.name, recipe, data, device, spec.seed, params=params)
    fields = dict(base_zoo=zoo_dir, base_model=base_name, base_source=origin(base), base_dataset=base.dataset,
                  base_weights_hash=base.weights_hash, tune=spec.tune)
    return model, built, recipe, data, fields
