"""The embedded digits data set and image folders with their own classes (gkt/data/digits.py,
gkt/data/imagefolder.py), and their parse-time checks (gkt/data/checks.py)."""
import numpy as np
import pytest
from PIL import Image

from gkt.data.checks import dataset_problem
from gkt.data.factory import get_dataset
from gkt.errors import GktError
from tests.helpers import SYNSETS, write_image_folder


def test_digits_is_the_sklearn_data_stratified_at_the_mnist_zoo_input(mnist):
    from sklearn.datasets import load_digits

    ds = get_dataset({"name": "digits", "seed": 0})
    ref = load_digits()
    assert ds.class_names == mnist.class_names and ds.input_cfg == mnist.input_cfg and ds.in_chans == 1
    assert np.bincount(ds.labels("val")).tolist() == [60] * 10 and len(ds.labels("train")) == 1797 - 600
    ids = np.concatenate([ds.sample_ids("train"), ds.sample_ids("val")])
    assert sorted(ids.tolist()) == list(range(1797))  # every image once, train and val disjoint
    assert np.array_equal(ds.labels("val"), ref.target[ds.sample_ids("val")])  # the file load_digits reads
    img, label = ds.split("val")[0]
    assert img.size == (28, 28) and img.mode == "L" and label == ds.labels("val")[0]
    frame = np.asarray(img)
    assert frame[:4].max() == 0 and frame[-4:].max() == 0 and frame[4:24, 4:24].max() > 150  # MNIST's 20x20 box
    # Brighter where load_digits is brighter: the upsampled digit is the 8x8 one.
    i = ds.sample_ids("val")[0]
    small = np.asarray(Image.fromarray(frame[4:24, 4:24]).resize((8, 8), Image.BILINEAR), dtype=float)
    assert np.corrcoef(small.ravel(), ref.images[i].ravel())[0, 1] > 0.9
    again, other = get_dataset({"name": "digits"}), get_dataset({"name": "digits", "seed": 1})
    assert again.samples_key("val") == ds.samples_key("val") != other.samples_key("val")


def test_image_folder_with_its_own_classes(tmp_path):
    classes = ["001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"]
    write_image_folder(tmp_path, classes, per_class=4)
    cfg = {"type": "imagefolder", "name": "cub200", "root": str(tmp_path), "train_per_class": 2, "seed": 1}
    assert dataset_problem(cfg) is None
    ds = get_dataset(cfg)
    assert ds.name == "cub200" and ds.num_classes == 3 and ds.in_chans == 3
    assert ds.class_names == ["Black footed Albatross", "Laysan Albatross", "Sooty Albatross"]
    assert ds.labels("val").tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert np.bincount(ds.labels("train")).tolist() == [2, 2, 2]
    assert ds.sample_ids("val")[0] == "001.Black_footed_Albatross/001.Black_footed_Albatross_0.JPEG"
    img, label = ds.split("val")[5]
    assert img.mode == "RGB" and label == 1
    assert ds.samples_key("train") == get_dataset(cfg).samples_key("train")


def test_imagenet_labelled_folders_under_another_name(tmp_path):
    write_image_folder(tmp_path, SYNSETS, per_class=1)
    ds = get_dataset({"type": "imagenet", "name": "infograph", "root": str(tmp_path)})
    assert ds.name == "infograph" and ds.num_classes == 1000 and sorted(set(ds.labels("val"))) == [0, 1, 151]


def test_folder_problems_are_one_line_before_any_job(tmp_path):
    assert "unknown dataset 'cifar' (config key dataset.name)" in dataset_problem({"name": "cifar"})
    assert "dataset.type" in dataset_problem({"name": "cifar"})
    assert "unknown dataset 'folders' (config key dataset.type)" in dataset_problem({"name": "x", "type": "folders"})
    assert "dataset.root is missing" in dataset_problem({"type": "imagefolder", "name": "cars"})
    assert "does not exist" in dataset_problem({"type": "imagefolder", "name": "cars", "root": str(tmp_path / "no")})
    write_image_folder(tmp_path, ["audi", "bmw"], per_class=1)
    (tmp_path / "val" / "tesla").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "val" / "tesla" / "a.png")
    problem = dataset_problem({"type": "imagefolder", "name": "cars", "root": str(tmp_path)})
    assert "are not in the train split (e.g. 'tesla')" in problem
    with pytest.raises(GktError, match="not classes of the train split"):
        get_dataset({"type": "imagefolder", "name": "cars", "root": str(tmp_path)}).labels("val")
