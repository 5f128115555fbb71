import numpy as np
import pytest

from gkt.data.factory import get_dataset
from gkt.errors import GktError
from tests.helpers import SYNSETS, write_image_folder


def test_mnist5k_split_is_stratified_and_deterministic(mnist):
    again = get_dataset({"name": "mnist5k", "seed": 0})
    other = get_dataset({"name": "mnist5k", "seed": 1})
    assert len(mnist.split("train")) == 3000 and len(mnist.split("val")) == 2000
    assert np.bincount(mnist.labels("val")).tolist() == [200] * 10
    assert np.bincount(mnist.labels("train")).tolist() == [300] * 10
    for split in ("train", "val"):
        assert np.array_equal(mnist.labels(split), again.labels(split))
        a, b = mnist._arrays[split][0], again._arrays[split][0]
        assert np.array_equal(a, b)
    assert not np.array_equal(mnist._arrays["val"][0], other._arrays["val"][0])
    # train and val never share an image
    train = {img.tobytes() for img in mnist._arrays["train"][0]}
    assert not any(img.tobytes() in train for img in mnist._arrays["val"][0][:200])
    assert mnist.class_names[:3] == ["zero", "one", "two"]


def test_unknown_dataset_is_one_clear_error():
    with pytest.raises(GktError, match="unknown dataset 'cifar' .*mnist5k"):
        get_dataset({"name": "cifar"})


def test_data_sets_are_known_from_their_modules_alone():
    """A data set is its module: the names `snakemake -n` reads from the sources without torch are those the
    factory's imports register, and each module registers the names it declares."""
    import importlib
    import subprocess
    import sys

    from gkt.data.factory import list_datasets
    from gkt.data.registry import REGISTRY, declared_datasets

    assert sorted(declared_datasets()) == list_datasets() and {"mnist5k", "digits", "imagefolder", "imagenet"} <= set(REGISTRY)
    for name, module in declared_datasets().items():
        assert REGISTRY[name].__module__ == importlib.import_module(module).__name__
    torch_free = subprocess.run([sys.executable, "-c", "import sys; from gkt.data.checks import dataset_problem; "
                                 "assert dataset_problem({'name': 'digits'}) is None; print('torch' in sys.modules)"],
                                capture_output=True, text=True, check=True)
    assert torch_free.stdout.strip() == "False"


def test_imagenet_folder_labels_follow_imagenet_indices_and_subset(tmp_path):
    write_image_folder(tmp_path, SYNSETS, per_class=5)
    ds = get_dataset({"name": "imagenet", "root": str(tmp_path), "train_per_class": 2, "seed": 3})
    assert ds.num_classes == 1000 and ds.class_names[0] == "tench" and ds.class_names[1] == "goldfish"
    assert sorted(set(ds.labels("val").tolist())) == [0, 1, 151]
    assert np.bincount(ds.labels("train"), minlength=152)[[0, 1, 151]].tolist() == [2, 2, 2]
    again = get_dataset({"name": "imagenet", "root": str(tmp_path), "train_per_class": 2, "seed": 3})
    assert [p for p, _ in ds._get("train")] == [p for p, _ in again._get("train")]
    img, label = ds.split("val")[0]
    assert img.mode == "RGB" and label == 0


def test_imagenet_missing_folder_and_unknown_synset(tmp_path):
    with pytest.raises(GktError, match=r"image folder .*val does not exist"):
        get_dataset({"name": "imagenet", "root": str(tmp_path / "nowhere")}).labels("val")
    (tmp_path / "val" / "cats").mkdir(parents=True)
    with pytest.raises(GktError, match="not ImageNet synsets .*'cats'"):
        get_dataset({"name": "imagenet", "root": str(tmp_path), "splits": {"val": "val"}}).labels("val")
