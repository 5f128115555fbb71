"""The ImageNet path end to end through the CLI: an ImageFolder of real synsets, timm models with their
weights in local files (`source: file`, timm's pretrained path), `gkt zoo-model` + `gkt logits`."""
import json

import numpy as np
import pytest
import safetensors.torch
import timm
import torch
from timm.data import create_transform, resolve_data_config

from gkt.cli import main
from gkt.logits.cache import read_logits
from tests.helpers import SYNSETS, write_image_folder

# Two architectures with different pretrained cfgs: each cache must record (and use) its model's own.
ARCHS = {
    "r10": ("resnet10t", dict(input_size=[3, 176, 176], mean=[0.485, 0.456, 0.406], crop_pct=0.875)),
    "tvit": ("test_vit", dict(input_size=[3, 160, 160], mean=[0.5, 0.5, 0.5], crop_pct=0.95)),
}


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    """A tiny ImageFolder (tench, goldfish, Chihuahua; 2 JPEGs each) and random-init 1000-class
    models saved as local safetensors files."""
    root = tmp_path_factory.mktemp("imagenet")
    write_image_folder(root / "images", SYNSETS, per_class=2)
    originals = {}
    for name, (arch, _) in ARCHS.items():
        torch.manual_seed(0)
        model = timm.create_model(arch, num_classes=1000).eval()
        safetensors.torch.save_file(model.state_dict(), str(root / f"{name}.safetensors"))
        originals[name] = model
    return root, originals


def dataset_json(root, **extra):
    return json.dumps({"name": "imagenet", "root": str(root / "images"), **extra})


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, err


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_zoo_model_and_logits_cli_on_an_imagefolder(imagenet, tmp_path, capsys, name):
    root, originals = imagenet
    arch, expected_cfg = ARCHS[name]
    zoo = tmp_path / "zoo"
    entry = {"name": name, "arch": arch, "source": "file", "file": str(root / f"{name}.safetensors")}
    code, err = run(capsys, "zoo-model", "--dataset", dataset_json(root), "--model", json.dumps(entry),
                    "--zoo-dir", zoo, "--threads", 1)
    assert code == 0, err
    record = json.loads((zoo / f"{name}.json").read_text())
    assert record["num_classes"] == 1000 and record["source"] == "file" and record["top1"] is None
    assert record["params"] == sum(p.numel() for p in originals[name].parameters())
    assert not (zoo / f"{name}.safetensors").exists()  # weights stay in their own file

    out = tmp_path / "logits" / "val" / f"{name}.parquet"
    code, err = run(capsys, "logits", "--dataset", dataset_json(root), "--model", name, "--zoo-dir", zoo,
                    "--split", "val", "--out", out, "--batch-size", 4, "--threads", 1,
                    "--eval-size", "train")  # the training size: timm's test size is tests/test_data_path.py's
    assert code == 0, err
    cache = read_logits(out, num_classes=1000, rows=6)
    assert cache.label.tolist() == [0, 0, 1, 1, 151, 151]  # ImageNet indices of the synset folders
    assert cache.meta["dataset"] == "imagenet" and cache.meta["architecture"] == arch
    transform = cache.meta["transform"]
    for key, value in expected_cfg.items():
        assert transform[key] == pytest.approx(value), key
    assert transform == json.loads(json.dumps(resolve_data_config(model=originals[name])))

    # The logits are the original model's on its own preprocessing (stored as float16).
    tf = create_transform(**resolve_data_config(model=originals[name]))
    from PIL import Image

    files = sorted((root / "images" / "val").glob("*/*.JPEG"))
    x = torch.stack([tf(Image.open(f).convert("RGB")) for f in files])
    assert x.shape[1:] == tuple(expected_cfg["input_size"])
    with torch.inference_mode():
        direct = originals[name](x).numpy()
    np.testing.assert_allclose(cache.logits, direct, rtol=2e-3, atol=2e-3)
    assert np.array_equal(cache.pred, direct.argmax(1))


def one_error_line(code, err, *, contains):
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gkt: error: "), err
    assert contains in lines[0], lines[0]
    assert "Traceback" not in err


def test_cli_bad_inputs_are_one_line_exit_2_and_no_output(imagenet, tmp_path, capsys):
    root, _ = imagenet
    zoo = tmp_path / "zoo"

    # Unknown architecture.
    entry = {"name": "bad", "arch": "resnet_9000", "source": "file", "file": str(root / "r10.safetensors")}
    code, err = run(capsys, "zoo-model", "--dataset", dataset_json(root), "--model", json.dumps(entry), "--zoo-dir", zoo)
    one_error_line(code, err, contains="unknown timm architecture 'resnet_9000'")
    assert not zoo.exists() or not list(zoo.iterdir())

    # A good zoo entry for the logits cases below.
    entry = {"name": "r10", "arch": "resnet10t", "source": "file", "file": str(root / "r10.safetensors")}
    assert run(capsys, "zoo-model", "--dataset", dataset_json(root), "--model", json.dumps(entry), "--zoo-dir", zoo)[0] == 0
    out = tmp_path / "logits" / "r10.parquet"

    # Unknown dataset.
    code, err = run(capsys, "logits", "--dataset", '{"name": "cifar"}', "--model", "r10", "--zoo-dir", zoo, "--out", out)
    one_error_line(code, err, contains="unknown dataset 'cifar' (config key dataset.name)")
    assert not out.parent.exists() or not list(out.parent.iterdir())

    # Missing ImageFolder directory.
    missing = json.dumps({"name": "imagenet", "root": str(tmp_path / "nowhere")})
    code, err = run(capsys, "logits", "--dataset", missing, "--model", "r10", "--zoo-dir", zoo, "--out", out)
    one_error_line(code, err, contains="image folder")
    assert "nowhere/val does not exist" in err
    assert not out.parent.exists() or not list(out.parent.iterdir())

    # The same bad inputs through zoo-model (it reads the dataset first).
    code, err = run(capsys, "zoo-model", "--dataset", '{"name": "cifar"}', "--model", json.dumps(entry), "--zoo-dir", tmp_path / "z2")
    one_error_line(code, err, contains="unknown dataset 'cifar'")
    assert not (tmp_path / "z2").exists()
