import logging
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

from siger_kedro.features.image import ImageReport, encode_images, preprocess_image


def _gradient(width, height):
    x = np.linspace(0, 255, width, dtype=np.uint8)
    return Image.fromarray(np.stack([np.tile(x, (height, 1))] * 3, axis=-1))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    Image.new("RGB", (64, 48), (200, 30, 30)).save(d / "red.png")
    Image.new("RGB", (64, 48), (200, 30, 30)).save(d / "red_copy.png")
    Image.new("RGB", (80, 80), (20, 40, 220)).save(d / "blue.jpg", quality=95)
    _gradient(120, 90).save(d / "gradient.jpg")
    _gradient(90, 120).convert("L").save(d / "grey.png")  # grayscale must become RGB
    (d / "corrupt.jpg").write_bytes(np.random.default_rng(0).bytes(2048))
    return d


@pytest.fixture(scope="module")
def encoded(images):
    paths = [images / "red.png", str(images / "blue.jpg"), images / "corrupt.jpg", None,
             images / "gradient.jpg", images / "absent.png", images / "grey.png",
             images / "red_copy.png"]
    # batch_size 3: the identical pair lands in different batches
    return encode_images(paths, batch_size=3, show_progress=False)


GOOD, BAD = [0, 1, 4, 6, 7], [2, 3, 5]


def test_default_encoder_shape_and_report(encoded, images):
    emb, report = encoded
    assert emb.shape == (8, 1280) and emb.dtype == np.float32
    assert np.isfinite(emb).all()
    assert report == ImageReport(n_encoded=5, n_missing=2, n_corrupt=1,
                                 corrupt_paths=[str(images / "corrupt.jpg")])


def test_missing_and_corrupt_rows_get_the_mean(encoded):
    emb, _ = encoded
    mean = emb[GOOD].mean(axis=0)
    for row in BAD:
        np.testing.assert_allclose(emb[row], mean, rtol=1e-6, atol=1e-7)


def test_identical_images_same_row_different_images_differ(encoded):
    emb, _ = encoded
    np.testing.assert_allclose(emb[0], emb[7], rtol=1e-5, atol=1e-6)
    for a, b in [(0, 1), (1, 4), (4, 6)]:
        assert not np.allclose(emb[a], emb[b], atol=1e-3)


def test_corrupt_image_is_logged(images, caplog):
    with caplog.at_level(logging.WARNING, logger="siger_kedro.features.image"):
        emb, report = encode_images([images / "corrupt.jpg", images / "blue.jpg"],
                                    show_progress=False)
    assert report.n_corrupt == 1 and report.n_encoded == 1
    assert str(images / "corrupt.jpg") in caplog.text
    np.testing.assert_array_equal(emb[0], emb[1])


def test_no_readable_image_raises(images):
    with pytest.raises(ValueError, match="could be read"):
        encode_images([images / "corrupt.jpg"], show_progress=False)
    with pytest.raises(ValueError, match="exists"):
        encode_images([None, images / "absent.png"], show_progress=False)


def test_preprocess_scales_to_minus_one_one():
    half = np.zeros((200, 300, 3), dtype=np.uint8)
    half[:, 150:] = 255  # black left, white right: both survive the centre crop
    x = preprocess_image(Image.fromarray(half))
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0


@pytest.mark.parametrize("lib", ["torchvision", "timm"])
def test_optional_backend_not_installed(monkeypatch, lib):
    monkeypatch.setitem(sys.modules, lib, None)  # as if not installed, even where it is
    with pytest.raises(ImportError, match=f"pip install {lib}"):
        encode_images([None], model=f"{lib}:resnet18")


def test_unknown_model_prefix():
    with pytest.raises(ValueError, match="unknown image model"):
        encode_images([None], model="keras:resnet18")


def test_torchvision_penultimate_features(monkeypatch, images, tmp_path):
    # A stand-in torchvision whose tiny "resnet" ends in a linear classifier.
    def get_model(name, weights=None):
        assert weights is None  # never ask torchvision for pretrained weights
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=8),
                                   torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                   torch.nn.Linear(4, 10))

    fake = types.SimpleNamespace(models=types.SimpleNamespace(get_model=get_model))
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    with pytest.raises(ValueError, match="needs `weights`"):
        encode_images([images / "red.png"], model="torchvision:tiny", show_progress=False)

    trained = get_model("tiny")
    trained[3] = torch.nn.Linear(4, 7)  # fine-tuned head with another class count is fine
    torch.save({"state_dict": trained.state_dict()}, tmp_path / "w.pt")
    emb, report = encode_images([images / "red.png", images / "blue.jpg"], model="torchvision:tiny",
                                weights=str(tmp_path / "w.pt"), show_progress=False)
    assert emb.shape == (2, 4) and report.n_encoded == 2

    torch.save(torch.nn.Linear(4, 7).state_dict(), tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="do not fit"):
        encode_images([images / "red.png"], model="torchvision:tiny",
                      weights=str(tmp_path / "wrong.pt"), show_progress=False)
