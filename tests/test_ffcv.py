"""ffcv .beton round trips (optional extra gkt[ffcv]; skipped without it)."""
import sys

import numpy as np
import pytest
from PIL import Image

from gkt.data.factory import get_dataset
from gkt.errors import GktError
from tests.helpers import SYNSETS, write_image_folder

ffcv = pytest.importorskip("ffcv", reason="optional extra gkt[ffcv] not installed (pip install 'gkt[ffcv]')")

from gkt.data.ffcv import BetonImages, write_beton  # noqa: E402


def write_varied_folder(root, per_class=4):
    """Smooth images of different sizes per sample (what JPEG keeps well), as ImageNet JPEGs."""
    rng = np.random.default_rng(1)
    for split in ("train", "val"):
        for c, s in enumerate(SYNSETS):
            d = root / split / s
            d.mkdir(parents=True)
            for i in range(per_class):
                h, w = 30 + 7 * i, 44 - 3 * i + c
                yy, xx = np.mgrid[0:h, 0:w]
                base = rng.integers(0, 200, size=3)
                img = np.stack([(base[k] + 40 * np.sin((xx + k * yy) / (5 + k))) for k in range(3)], -1)
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(d / f"{s}_{i}.JPEG", quality=95)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("img")
    write_varied_folder(root)
    return root


def test_raw_round_trip_is_exact_and_keeps_order_and_labels(folder, tmp_path):
    ds = get_dataset({"name": "imagenet", "root": str(folder)})
    path = write_beton(ds, "val", tmp_path / "val.beton", write_mode="raw", workers=1)
    assert [p.name for p in tmp_path.iterdir()] == ["val.beton"]  # no temp file left behind
    beton = BetonImages(path)
    original = ds.split("val")
    assert len(beton) == len(original) == 12
    assert np.array_equal(beton.labels, ds.labels("val")) and sorted(set(beton.labels.tolist())) == [0, 1, 151]
    for i in range(len(beton)):
        (a, la), (b, lb) = beton[i], original[i]
        assert a.mode == "RGB" and la == lb
        assert np.array_equal(np.asarray(a), np.asarray(b)), f"sample {i} differs"
    assert {np.asarray(beton[i][0]).shape for i in range(4)} == {(30, 44, 3), (37, 41, 3), (44, 38, 3), (51, 35, 3)}


def test_jpeg_round_trip_is_close(folder, tmp_path):
    ds = get_dataset({"name": "imagenet", "root": str(folder)})
    beton = BetonImages(write_beton(ds, "val", tmp_path / "val.beton", jpeg_quality=95, workers=1))
    original = ds.split("val")
    for i in range(len(beton)):
        a, b = np.asarray(beton[i][0], dtype=float), np.asarray(original[i][0], dtype=float)
        assert a.shape == b.shape and beton[i][1] == original[i][1]
        assert np.abs(a - b).mean() < 2.0  # one more JPEG generation at quality 95


def test_dataset_option_reads_splits_from_betons(folder, tmp_path):
    """dataset.ffcv: same samples, labels, train subset and per-model transform as the ImageFolder."""
    from timm.data import create_transform

    plain = get_dataset({"name": "imagenet", "root": str(folder), "train_per_class": 2, "seed": 5})
    betons = {s: str(write_beton(get_dataset({"name": "imagenet", "root": str(folder)}), s,
                                 tmp_path / f"{s}.beton", write_mode="raw", workers=1)) for s in ("train", "val")}
    fast = get_dataset({"name": "imagenet", "ffcv": betons, "train_per_class": 2, "seed": 5})  # no root needed
    for split in ("train", "val"):
        assert np.array_equal(fast.labels(split), plain.labels(split))
    assert len(fast.split("train")) == 6
    transform = create_transform(input_size=(3, 32, 32), crop_pct=0.875, interpolation="bicubic")
    for split in ("train", "val"):
        a, b = fast.split(split, transform), plain.split(split, transform)
        for i in range(len(a)):
            assert a[i][1] == b[i][1]
            assert np.array_equal(a[i][0].numpy(), b[i][0].numpy())
    with pytest.raises(GktError, match=r"dataset.root is missing and split 'train' has no .beton"):
        get_dataset({"name": "imagenet", "ffcv": {"val": betons["val"]}}).labels("train")


def test_ffcv_loader_reads_what_gkt_wrote(tmp_path):
    """The file is a standard ffcv dataset: ffcv's own Loader (SEQUENTIAL, uint8 HWC) sees the same."""
    from ffcv.fields.decoders import IntDecoder, SimpleRGBImageDecoder
    from ffcv.loader import Loader, OrderOption

    write_image_folder(tmp_path / "img", SYNSETS, per_class=2, size=24)  # constant size: SimpleRGBImageDecoder
    ds = get_dataset({"name": "imagenet", "root": str(tmp_path / "img")})
    path = write_beton(ds, "val", tmp_path / "val.beton", write_mode="raw", workers=1)
    loader = Loader(str(path), batch_size=4, num_workers=1, order=OrderOption.SEQUENTIAL, drop_last=False,
                    pipelines={"image": [SimpleRGBImageDecoder()], "label": [IntDecoder()]})
    images, labels = zip(*[(np.array(x), np.array(y).ravel()) for x, y in loader])
    images, labels = np.concatenate(images), np.concatenate(labels)
    beton = BetonImages(path)
    assert images.dtype == np.uint8 and images.shape == (6, 24, 32, 3)
    assert np.array_equal(labels, ds.labels("val"))
    assert np.array_equal(images, np.stack([np.asarray(beton[i][0]) for i in range(len(beton))]))


def test_bad_inputs(folder, tmp_path):
    ds = get_dataset({"name": "imagenet", "root": str(folder)})
    with pytest.raises(GktError, match="ffcv file .*missing.beton does not exist"):
        BetonImages(tmp_path / "missing.beton")
    (tmp_path / "junk.beton").write_bytes(b"not a beton" * 100)
    with pytest.raises(GktError, match="junk.beton is not a readable ffcv .beton"):
        BetonImages(tmp_path / "junk.beton")
    with pytest.raises(GktError, match="unknown ffcv write mode 'png'"):
        write_beton(ds, "val", tmp_path / "x.beton", write_mode="png")
    # An unreadable image fails the write with its name, and no .beton is left behind.
    bad = folder / "val" / SYNSETS[0] / "broken.JPEG"
    bad.write_bytes(b"\xff\xd8 truncated")
    try:
        with pytest.raises(GktError, match=r"1 image\(s\) of imagenet/val could not be read \(first: .*broken.JPEG\)"):
            write_beton(get_dataset({"name": "imagenet", "root": str(folder)}), "val", tmp_path / "v.beton", workers=1)
    finally:
        bad.unlink()
    assert not list(tmp_path.glob("*v.beton*"))


def test_missing_ffcv_is_one_clear_error(monkeypatch, tmp_path):
    from gkt.data.ffcv import require_ffcv

    monkeypatch.setitem(sys.modules, "ffcv", None)  # what an environment without the extra sees
    with pytest.raises(GktError, match=r"install gkt\[ffcv\]"):
        require_ffcv()
    with pytest.raises(GktError, match=r"install gkt\[ffcv\]"):
        get_dataset({"name": "imagenet", "ffcv": {"val": str(tmp_path / "val.beton")}}).labels("val")


def test_logits_from_a_beton_equal_the_imagefolder_logits(folder, tmp_path, capsys):
    """`gkt logits` with dataset.ffcv (raw) gives the ImageFolder's logits: same pixels, same model transform."""
    import json

    import safetensors.torch
    import timm
    import torch

    from gkt.cli import main
    from gkt.logits.cache import read_logits

    torch.manual_seed(0)
    weights = tmp_path / "tvit.safetensors"
    safetensors.torch.save_file(timm.create_model("test_vit", num_classes=1000).state_dict(), str(weights))
    plain = {"name": "imagenet", "root": str(folder)}
    beton = write_beton(get_dataset(plain), "val", tmp_path / "val.beton", write_mode="raw", workers=1)
    entry = {"name": "tvit", "arch": "test_vit", "source": "file", "file": str(weights)}
    assert main(["zoo-model", "--dataset", json.dumps(plain), "--model", json.dumps(entry), "--zoo-dir", str(tmp_path)]) == 0
    caches = {}
    for kind, cfg in {"folder": plain, "beton": {"name": "imagenet", "ffcv": {"val": str(beton)}}}.items():
        out = tmp_path / f"{kind}.parquet"
        assert main(["logits", "--dataset", json.dumps(cfg), "--model", "tvit", "--zoo-dir", str(tmp_path),
                     "--out", str(out), "--workers", "1"]) == 0, capsys.readouterr().err
        caches[kind] = read_logits(out, num_classes=1000, rows=12)
    assert np.array_equal(caches["folder"].label, caches["beton"].label)
    assert np.array_equal(caches["folder"].logits, caches["beton"].logits)
    assert caches["folder"].meta["transform"] == caches["beton"].meta["transform"]


def test_write_beton_command_writes_the_full_split(folder, tmp_path):
    """`gkt write-beton` (gkt.data.commands): the whole train split, whatever train_per_class says."""
    import argparse
    import json

    from gkt.data import commands

    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command", required=True))
    cfg = {"name": "imagenet", "root": str(folder), "train_per_class": 1}
    args = parser.parse_args(["write-beton", "--dataset", json.dumps(cfg), "--split", "train",
                              "--out", str(tmp_path / "train.beton"), "--write-mode", "raw", "--workers", "1"])
    args.func(args)
    beton = BetonImages(tmp_path / "train.beton")
    assert len(beton) == 12
    subset = get_dataset({**cfg, "ffcv": {"train": str(tmp_path / "train.beton")}})
    assert np.array_equal(subset.labels("train"), get_dataset(cfg).labels("train"))  # 1 per class, same picks
