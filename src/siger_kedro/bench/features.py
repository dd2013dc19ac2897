"""Feature-extraction throughput of the default encoders on this machine.

    python -m siger_kedro.bench.features [--texts 1682] [--images 200] [--out FILE.json]

Text: all-MiniLM-L6-v2 (from its wheel) on MovieLens-100k's "title (year) genres" strings.
Image: EfficientNet-Lite0 (from its wheel) on generated 300x300 JPEGs. Model loading is timed
separately from encoding; the first batch is a warm-up and is not counted.
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def environment() -> dict:
    cpu = platform.processor()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version()}


def _throughput(encode, items, warmup: int) -> float:
    encode(items[:warmup])
    start = time.perf_counter()
    encode(items)
    return len(items) / (time.perf_counter() - start)


def bench_text(n: int) -> dict:
    from ..data.prepare import align_items, prepare_interactions
    from ..data.raw import packaged_dataset_folder, read_raw_folder
    from ..features.text import encode_texts, item_texts

    raw = read_raw_folder(packaged_dataset_folder("ml-100k"), "ml-100k")
    _, _, item_ids, _ = prepare_interactions(raw, seed=0)
    texts = item_texts(align_items(raw.items, item_ids), "{movie_title} ({release_year}) {class}")[:n]
    rate = _throughput(lambda t: encode_texts(t, batch_size=128, show_progress=False), texts, 128)
    return {"items": len(texts), "items_per_second": round(rate, 1)}


def bench_images(n: int) -> dict:
    from PIL import Image

    from ..features.image import encode_images

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(n):
            pixels = (rng.random((300, 300, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(Path(tmp) / f"{i}.jpg", quality=90)
            paths.append(str(Path(tmp) / f"{i}.jpg"))
        rate = _throughput(lambda p: encode_images(p, batch_size=32, show_progress=False), paths, 32)
    return {"items": n, "items_per_second": round(rate, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1682)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report = {"environment": environment(), "text": bench_text(args.texts), "image": bench_images(args.images)}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
