"""The embedded second data set: scikit-learn's 1,797 handwritten 8x8 digits (UCI optdigits, shipped in
the scikit-learn wheel: no download), as a data set of its own with mnist5k's ten classes.

It is what other-data-set experiments (paper Supp. B.4, Fig. 9; docs/method.md#fig-9) and
domain-shifted teachers (Supp. B.5, Fig. 10) run on in the embedded default: models of the mnist5k
zoo are fine-tuned on it (`source: finetune`, gkt/zoo/finetune.py). So that they can be, its images
are brought to the mnist5k zoo's input: 28x28, one channel, uint8, the same preprocessing (mnist5k's
INPUT_CFG) and the same class names. Each 8x8 image (values 0-16) is scaled to 0-255, upsampled
(bilinear) to 20x20 and centred in a black 28x28 frame, which is how MNIST lays out its digits (size-
normalised into a 20x20 box in a 28x28 image); what differs from MNIST is the writers, the scanner and
the 8x8 resolution the strokes were averaged down to.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from gkt.data.base import ArraySplits
from gkt.data.mnist5k import CLASS_NAMES, INPUT_CFG
from gkt.data.registry import register_dataset
from gkt.errors import GktError

VAL_PER_CLASS = 60  # 600 val / 1,197 train, stratified (each class has 174-183 images)
BOX, FRAME = 20, 28  # MNIST's digit box and image size


def to_frames(images: np.ndarray) -> np.ndarray:
    """[n, 8, 8] values 0..16 -> [n, 28, 28] uint8: each digit upsampled into MNIST's 20x20 box, centred."""
    out = np.zeros((len(images), FRAME, FRAME), dtype=np.uint8)
    at = (FRAME - BOX) // 2
    for i, img in enumerate(np.rint(np.asarray(images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)):
        out[i, at:at + BOX, at:at + BOX] = np.asarray(Image.fromarray(img).resize((BOX, BOX), Image.BILINEAR))
    return out


def digits_file() -> Path:
    """The file behind `sklearn.datasets.load_digits()`, found without importing scikit-learn, whose
    import costs every job ~2.4 s (tests/test_more_datasets.py checks that both give the same data)."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():
        raise GktError("the digits data set needs scikit-learn's digits.csv.gz (in the scikit-learn wheel): "
                       "pip install scikit-learn")
    return path


class Digits(ArraySplits):
    """Sample ids: row numbers in scikit-learn's digits data."""

    def __init__(self, seed: int = 0, name: str = "digits"):
        super().__init__(name=name, class_names=list(CLASS_NAMES), in_chans=1, input_cfg=dict(INPUT_CFG))
        self.seed, self.val_per_class = seed, VAL_PER_CLASS

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        # 64 pixel values, then the label, per row; rows cycle through the classes 0..9 (each writer's
        # digits in that order), so the split (ArraySplits) is stratified and shuffled.
        table = np.loadtxt(digits_file(), delimiter=",")
        return to_frames(table[:, :-1].reshape(-1, 8, 8)), table[:, -1].astype(np.int64)


@register_dataset("digits")
def _digits(cfg: dict) -> Digits:
    return Digits(seed=cfg.get("seed", 0), name=cfg.get("name", "digits"))
