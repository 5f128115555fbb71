"""ffcv `.beton` files for a dataset split: one file instead of a million small JPEGs (optional extra).

    pip install 'gkt[ffcv]'   # builds ffcv 1.0.2 from source; first:
    apt-get install -y --no-install-recommends pkg-config libturbojpeg0-dev libopencv-dev

Writing (`write_beton`) stores a split as ffcv's standard ImageNet layout: field `image`
(`RGBImageField`: JPEG or raw uint8 pixels) and field `label` (`IntField`, the ImageNet index), in
the split's own sample order. Files written by ffcv-imagenet's `write_imagenet.py` from a full
ImageNet ImageFolder have the same layout, labels and order, so they can be used as they are.

Reading (`BetonImages`) is a map-style torch Dataset of `(PIL RGB image, label)` in file order: each
image is decoded on its own and handed to the model's own timm transform, exactly as on the
ImageFolder path. Per-model preprocessing (resize, crop, interpolation, mean/std of every zoo model)
is therefore preserved. Deliberately not used: ffcv's `Loader` with its fused decoders
(`CenterCropRGBImageDecoder` …). Those crop square with OpenCV's area interpolation to one output
size for all models, which is not timm's resize-then-crop with the model's interpolation, so the
logits would be those of a differently preprocessed model.

What a `.beton` can still change against the ImageFolder (documented deviation, both opt-in):
  * `write_mode="jpg"` re-encodes every image as JPEG (`jpeg_quality`, default 95): pixels differ by a
    few grey levels from the original JPEG's decode. `write_mode="raw"` stores decoded pixels and is
    exact, at about 10x the disk space.
  * `max_resolution` shrinks images whose longer side exceeds it (OpenCV INTER_AREA) before storing;
    the default None keeps every image at its own size.

`ffcv` is imported lazily: gkt imports and runs without it; asking for a `.beton` without it is a
one-line GktError naming the extra to install.
"""
from __future__ import annotations

import io
import logging
import multiprocessing
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch.utils.data
from PIL import Image

from gkt.data.base import DatasetSource
from gkt.errors import GktError
from gkt.io import atomic_path

log = logging.getLogger(__name__)

IMAGE_FIELD, LABEL_FIELD = "image", "label"
WRITE_MODES = ("jpg", "raw", "smart", "proportion")
_JPG, _RAW = 0, 1  # ffcv's IMAGE_MODES


def require_ffcv():
    """The `ffcv` module, or a GktError saying how to install it."""
    try:
        import ffcv
        import ffcv.fields  # noqa: F401  (fails when the native extension or OpenCV is missing)
        import ffcv.reader  # noqa: F401
    except ImportError as e:
        raise GktError(
            f"ffcv .beton files need the optional ffcv package, which cannot be imported ({e}): "
            f"install gkt[ffcv] (apt-get install pkg-config libturbojpeg0-dev libopencv-dev; "
            f"pip install 'gkt[ffcv]'), or remove dataset.ffcv to read the ImageFolder"
        ) from None
    return ffcv


class _RGBSamples(torch.utils.data.Dataset):
    """A split as ffcv's writer wants it: (uint8 HWC RGB array, int label).

    ffcv's writer hangs forever when a worker process dies, so a sample that cannot be read is not
    raised in the worker: it is replaced by a 1x1 placeholder and counted, and `write_beton` fails
    with the first such sample after the writer is done (the temp file is then removed).
    """

    def __init__(self, data: torch.utils.data.Dataset):
        self.data = data
        self.failures = multiprocessing.Value("q", 0)  # shared with the writer's forked workers
        self.first_failure = multiprocessing.Value("q", -1)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        try:
            img, label = self.data[i]
            if not isinstance(img, Image.Image):
                img = Image.fromarray(np.asarray(img))
            return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8)), int(label)
        except Exception as e:  # noqa: BLE001  (reported after the writer finishes)
            log.error("sample %d cannot be read: %s", i, e)
            with self.failures.get_lock():
                self.failures.value += 1
                if self.first_failure.value < 0:
                    self.first_failure.value = i
            return np.zeros((1, 1, 3), dtype=np.uint8), -1


def write_beton(
    dataset_source: DatasetSource,
    split: str,
    path: str | os.PathLike,
    max_resolution: int | None = None,
    jpeg_quality: int = 95,
    write_mode: str = "jpg",
    workers: int | None = None,
    chunksize: int = 100,
) -> Path:
    """Write `split` of `dataset_source` to an ffcv `.beton` at `path`, atomically (temp file, rename).

    The samples are those `dataset_source.split(split)` serves, in its order (for the train split
    this includes a configured `train_per_class` subset; write the full split and let the reader
    take the subset, so one file serves every subset). Returns the path.
    """
    require_ffcv()
    from ffcv.fields import IntField, RGBImageField
    from ffcv.writer import DatasetWriter

    if write_mode not in WRITE_MODES:
        raise GktError(f"unknown ffcv write mode {write_mode!r}: use one of {', '.join(WRITE_MODES)}")
    if not 1 <= jpeg_quality <= 100:
        raise GktError(f"jpeg_quality {jpeg_quality} is outside 1..100")
    if max_resolution is not None and max_resolution < 1:
        raise GktError(f"max_resolution {max_resolution} must be a positive number of pixels (or None)")
    samples = _RGBSamples(dataset_source.split(split))
    if len(samples) == 0:
        raise GktError(f"split {split!r} of {dataset_source.name} has no samples: nothing to write to {path}")
    fields = {
        IMAGE_FIELD: RGBImageField(write_mode=write_mode, max_resolution=max_resolution, jpeg_quality=jpeg_quality),
        LABEL_FIELD: IntField(),
    }
    workers = max(1, min(workers or os.cpu_count() or 1, len(samples)))
    log.info("writing %d %s/%s images to %s (%s, max_resolution=%s, %d workers)",
             len(samples), dataset_source.name, split, path, write_mode, max_resolution, workers)
    with atomic_path(path) as tmp:
        writer = DatasetWriter(str(tmp), fields, num_workers=workers)
        writer.from_indexed_dataset(samples, chunksize=chunksize)
        if samples.failures.value:
            i = samples.first_failure.value
            files = getattr(samples.data, "samples", None)  # ImageFolder splits: (path, label) pairs
            name = files[i][0] if files else f"sample {i}"
            raise GktError(
                f"{samples.failures.value} image(s) of {dataset_source.name}/{split} could not be read "
                f"(first: {name}); fix or remove them, then write {path} again"
            )
    return Path(path)


class BetonImages(torch.utils.data.Dataset):
    """`(PIL RGB image, label)` of an ffcv `.beton`, in file order, through `transform` when given.

    `indices` selects (and orders) samples of the file, e.g. a stratified train subset. Metadata and
    the allocation table are read once with ffcv's own `Reader`; pixels are read from a memory map
    opened lazily in each process, so the dataset can go to DataLoader workers.
    """

    def __init__(self, path: str | os.PathLike, transform: Callable | None = None, indices: np.ndarray | None = None):
        require_ffcv()
        from ffcv.reader import Reader

        self.path, self.transform = Path(path), transform
        if not self.path.is_file():
            raise GktError(f"ffcv file {self.path} does not exist: write it with gkt.data.ffcv.write_beton "
                           f"(gkt write-beton) or fix the path under dataset.ffcv")
        try:
            reader = Reader(str(self.path))
        except (AssertionError, ValueError, OSError, IndexError, TypeError) as e:
            raise GktError(f"{self.path} is not a readable ffcv .beton ({e}); write it again") from None
        names = list(reader.field_names)
        if IMAGE_FIELD not in names or LABEL_FIELD not in names:
            raise GktError(f"{self.path} has fields {names}; gkt needs '{IMAGE_FIELD}' (RGBImageField) and "
                           f"'{LABEL_FIELD}' (IntField), as write_beton and ffcv-imagenet write them")
        image = reader.metadata[f"f{names.index(IMAGE_FIELD)}"]
        if image.dtype.names is None or "data_ptr" not in image.dtype.names:
            raise GktError(f"{self.path}: field '{IMAGE_FIELD}' is not an ffcv RGBImageField")
        self.mode = np.array(image["mode"])
        self.height = np.array(image["height"]).astype(np.int64)
        self.width = np.array(image["width"]).astype(np.int64)
        self.ptr = np.array(image["data_ptr"]).astype(np.int64)
        self.all_labels = np.array(reader.metadata[f"f{names.index(LABEL_FIELD)}"]).astype(np.int64)
        ptrs, sizes = reader.alloc_table["ptr"].astype(np.int64), reader.alloc_table["size"].astype(np.int64)
        order = np.argsort(ptrs)
        ptrs, sizes = ptrs[order], sizes[order]
        at = np.searchsorted(ptrs, self.ptr)
        if (at >= len(ptrs)).any() or not np.array_equal(ptrs[np.minimum(at, len(ptrs) - 1)], self.ptr):
            raise GktError(f"{self.path}: image pointers missing from the allocation table; the file is damaged, write it again")
        self.size = sizes[at]
        self.indices = np.arange(len(self.all_labels)) if indices is None else np.asarray(indices, dtype=np.int64)
        self._mm: np.memmap | None = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_mm"] = None  # each worker maps the file itself
        return state

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def labels(self) -> np.ndarray:
        return self.all_labels[self.indices]

    def image(self, i: int) -> Image.Image:
        """The stored image of sample `i` (after `indices`), as a PIL RGB image."""
        j = int(self.indices[i])
        if self._mm is None:
            self._mm = np.memmap(self.path, dtype=np.uint8, mode="r")
        data = self._mm[self.ptr[j]: self.ptr[j] + self.size[j]]
        h, w = int(self.height[j]), int(self.width[j])
        if self.mode[j] == _RAW:
            return Image.fromarray(np.array(data[: h * w * 3]).reshape(h, w, 3))
        try:
            return Image.open(io.BytesIO(data.tobytes())).convert("RGB")
        except (OSError, SyntaxError, ValueError) as e:  # what PIL raises for bytes it cannot decode
            detail = " ".join(str(e).split())[:200] or type(e).__name__
            raise GktError(f"image {j} of {self.path} is truncated or corrupt (PIL: {detail}): rewrite the .beton "
                           f"from its image folder (gkt.data.ffcv.write_beton)") from None

    def __getitem__(self, i: int):
        img = self.image(i)
        return (self.transform(img) if self.transform else img), int(self.all_labels[self.indices[i]])
