import json

import numpy as np
import pytest
import safetensors.torch
import timm
import torch

from gkt.errors import GktError
from gkt.inference import predict_dataset
from gkt.zoo.build import create_model
from gkt.zoo.families import arch_family, family
from gkt.zoo.spec import ModelSpec
from gkt.zoo.store import load_model, read_record, save_model
from gkt.zoo.make import make_zoo_model
from gkt.zoo.transforms import model_transform

TINY = dict(name="tiny", arch="resnet10t", kwargs={"channels": [8, 16, 32, 64]}, recipe={"epochs": 1, "batch_size": 64, "lr": 0.005})
CPU = torch.device("cpu")


def test_training_a_tiny_zoo_model_round_trips(mnist, tmp_path):
    model, record = make_zoo_model(ModelSpec(**TINY), mnist, CPU)
    path = save_model(model, record, tmp_path)
    saved = json.loads(path.read_text())
    assert saved["family"] == "cnn" and saved["arch_family"] == "resnet"
    assert saved["params"] == sum(p.numel() for p in model.parameters())
    assert saved["recipe"]["epochs"] == 1 and saved["train_seconds"] > 0
    assert 0.2 < saved["top1"] <= 1.0  # one epoch learns digits well above chance (0.1)
    loaded, rec = load_model("tiny", tmp_path, mnist)
    assert rec.weights_hash == record.weights_hash
    val = mnist.split("val", model_transform(loaded))
    logits = predict_dataset(loaded, val, CPU)
    assert float((logits.argmax(1) == mnist.labels("val")).mean()) == pytest.approx(saved["top1"])


def test_training_is_seeded(mnist):
    spec = ModelSpec(**{**TINY, "recipe": {"epochs": 0}})
    _, a = make_zoo_model(spec, mnist, CPU)
    _, b = make_zoo_model(spec, mnist, CPU)
    _, c = make_zoo_model(ModelSpec(**{**TINY, "recipe": {"epochs": 0}, "seed": 1}), mnist, CPU)
    assert a.weights_hash == b.weights_hash != c.weights_hash



def test_training_with_augmentation_is_seeded(mnist):
    """timm's random crops draw from Python's `random`: training seeds it too."""
    import random

    spec = ModelSpec(**{**TINY, "recipe": {"epochs": 1, "augmentation": "light"}})
    random.seed(1)
    _, a = make_zoo_model(spec, mnist, CPU)
    random.seed(2)
    _, b = make_zoo_model(spec, mnist, CPU)
    assert a.weights_hash == b.weights_hash


def test_each_model_gets_its_own_timm_transform(mnist):
    at28 = create_model(ModelSpec(**TINY), mnist)
    at32 = create_model(ModelSpec(name="m", arch="test_efficientnet",
                                  kwargs={"pretrained_cfg_overlay": {"input_size": [1, 32, 32]}}), mnist)
    img, _ = mnist.split("val")[0]
    assert model_transform(at28)(img).shape == (1, 28, 28)
    assert model_transform(at32)(img).shape == (1, 32, 32)


def test_families_come_from_timm_modules():
    assert (family("vit_base_patch16_224.augreg_in21k"), arch_family("vit_base_patch16_224")) == ("transformer", "vision_transformer")
    assert family("gkt_mixer") == "mlp" and arch_family("gkt_mixer") == "mlp_mixer"
    assert family("convnext_tiny") == "cnn" and family("levit_128s") == "hybrid"


def test_unknown_architecture(mnist):
    with pytest.raises(GktError, match="unknown timm architecture 'resnet_9000'"):
        create_model(ModelSpec(name="x", arch="resnet_9000"), mnist)


def test_pretrained_file_path_loads_identical_weights(tmp_path):
    """timm's pretrained path (`pretrained_cfg_overlay=dict(file=...)`), as for ImageNet zoos,
    on a random-init model saved to a local safetensors file."""
    from tests.helpers import SYNSETS, write_image_folder
    from gkt.data.factory import get_dataset

    write_image_folder(tmp_path / "img", SYNSETS, per_class=2)
    ds = get_dataset({"name": "imagenet", "root": str(tmp_path / "img")})
    torch.manual_seed(0)
    original = timm.create_model("resnet10t", num_classes=1000).eval()
    weights = tmp_path / "resnet10t_random.safetensors"
    safetensors.torch.save_file(original.state_dict(), str(weights))
    spec = ModelSpec(name="r10", arch="resnet10t", source="file", file=str(weights))
    model, record = make_zoo_model(spec, ds, CPU)
    save_model(model, record, tmp_path / "zoo")
    assert not (tmp_path / "zoo" / "r10.safetensors").exists()  # pretrained weights are not copied
    loaded, _ = load_model("r10", tmp_path / "zoo", ds)
    val = ds.split("val", model_transform(loaded))
    x = torch.stack([val[i][0] for i in range(len(val))])
    assert x.shape[1:] == (3, 224, 224)  # resnet10t's own pretrained cfg (test-time size), not another model's
    torch.testing.assert_close(loaded(x), original(x), rtol=0, atol=0)


def test_missing_pretrained_file_is_one_clear_error(mnist, tmp_path):
    spec = ModelSpec(name="r10", arch="resnet10t", source="file", file=str(tmp_path / "missing.safetensors"))
    with pytest.raises(GktError, match="weights file .*missing.safetensors does not exist"):
        create_model(spec, mnist)
    # No weights in the (offline) HF cache: one clear error, not a minute of retries.
    with pytest.raises(GktError, match="could not load pretrained weights for 'resnet10t.a1_in1k'"):
        create_model(ModelSpec(name="r10", arch="resnet10t.a1_in1k", source="timm"), mnist)


def test_class_count_mismatch_between_zoo_and_dataset(mnist, tmp_path):
    from tests.helpers import SYNSETS, write_image_folder
    from gkt.data.factory import get_dataset

    model, record = make_zoo_model(ModelSpec(**{**TINY, "recipe": {"epochs": 0}}), mnist, CPU)
    save_model(model, record, tmp_path)
    write_image_folder(tmp_path / "img", SYNSETS, per_class=1)
    imagenet = get_dataset({"name": "imagenet", "root": str(tmp_path / "img")})
    with pytest.raises(GktError, match="has 10 classes but dataset 'imagenet' has 1000"):
        load_model("tiny", tmp_path, imagenet)
    assert read_record(tmp_path, "tiny").num_classes == 10
