"""Tiny generated datasets in the formats the project reads."""
from __future__ import annotations

from pathlib import Path

import numpy as np

GENRES = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi"]


def write_atomic(folder: Path, name: str = "tiny", n_users: int = 24, n_items: int = 30, seed: int = 0) -> Path:
    """A MovieLens-like RecBole atomic dataset: `.inter` with typed header and `.item` with
    title, year and genres. Every user rates 12 items, mostly from one of two genre groups."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    for u in range(n_users):
        half = n_items // 2
        pool = np.arange(half) if u % 2 else np.arange(half, n_items)
        items = rng.choice(pool, 10, replace=False).tolist() + rng.choice(n_items, 2, replace=False).tolist()
        for t, i in enumerate(dict.fromkeys(items)):
            lines.append(f"u{u}\tm{i}\t{rng.integers(1, 6)}\t{880000000 + 1000 * u + t}")
    (folder / f"{name}.inter").write_text("\n".join(lines) + "\n")
    rows = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    for i in range(n_items):
        genres = " ".join(GENRES[j] for j in sorted({i % 5, (i * 3) % 5}))
        rows.append(f"m{i}\tMovie number {i}\t{1990 + i % 10}\t{genres}")
    (folder / f"{name}.item").write_text("\n".join(rows) + "\n")
    return folder


def write_mmrec(folder: Path, name: str = "mini", n_users: int = 20, n_items: int = 16, seed: int = 0,
                modalities: dict[str, int] | None = None) -> Path:
    """An MMRec dataset: `<name>.inter` with x_label, and `<m>_feat.npy` per modality."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["userID\titemID\trating\ttimestamp\tx_label"]
    for u in range(n_users):
        items = rng.choice(n_items, 8, replace=False)
        if u == 0 and n_items - 1 not in items:
            items[0] = n_items - 1  # the largest id defines n_items
        labels = [0] * 6 + [1, 2]
        for i, x in zip(items, labels):
            lines.append(f"{u}\t{i}\t5\t{1000 + u}\t{x}")
    (folder / f"{name}.inter").write_text("\n".join(lines) + "\n")
    for m, dim in (modalities or {"image": 12, "text": 8}).items():
        np.save(folder / f"{m}_feat.npy", rng.random((n_items, dim)).astype(np.float32))
    return folder


def _two_group_pairs(n_users: int, n_items: int, rng) -> list[tuple[int, int]]:
    """Each user picks 10 items from one half of the catalogue: every item keeps >= 5 users."""
    pairs = []
    for u in range(n_users):
        half = n_items // 2
        pool = np.arange(half) if u % 2 else np.arange(half, n_items)
        pairs += [(u, int(i)) for i in rng.choice(pool, 10, replace=False)]
    return pairs


def write_amazon(folder: Path, category: str = "Toys", n_users: int = 24, n_items: int = 20,
                 seed: int = 0, with_b: bool = True) -> Path:
    """A raw Amazon 2014 category: 5-core reviews (gzipped JSON lines), Python-literal meta
    lines and an `image_features_<Cat>.b` of 10-byte asins + 4096 float32, which lacks the last
    two items (they get the mean vector)."""
    import gzip
    import json

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    asin = [f"B{i:09d}" for i in range(n_items)]
    with gzip.open(folder / f"reviews_{category}_5.json.gz", "wt") as f:
        for u, i in _two_group_pairs(n_users, n_items, rng):
            f.write(json.dumps({"reviewerID": f"A{u}", "asin": asin[i], "overall": 5.0,
                                "unixReviewTime": 1_400_000_000 + u}) + "\n")
    with gzip.open(folder / f"meta_{category}.json.gz", "wt") as f:
        for i, a in enumerate(asin):
            f.write(repr({"asin": a, "title": f"Toy {i}", "brand": "Acme",
                          "categories": [["Toys", "Blocks" if i % 2 else "Dolls"]],
                          "description": f"A toy number {i}."}) + "\n")
    if with_b:
        with open(folder / f"image_features_{category}.b", "wb") as f:
            for a in asin[:-2]:
                f.write(a.encode("ascii") + rng.random(4096).astype("<f4").tobytes())
    return folder


def write_microlens(folder: Path, n_users: int = 24, n_items: int = 20, seed: int = 0) -> Path:
    """MicroLens: pairs (ms timestamps), English titles and a covers/ folder of small images,
    one of them corrupt and one missing."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user,item,timestamp"] + [f"{u},{i},{1_600_000_000_000 + u}" for u, i in _two_group_pairs(n_users, n_items, rng)]
    (folder / "MicroLens-tiny_pairs.csv").write_text("\n".join(lines) + "\n")
    (folder / "MicroLens-tiny_title_en.csv").write_text(
        "item,title\n" + "".join(f"{i},Video about topic {i % 4}\n" for i in range(n_items)))
    covers = folder / "covers"
    covers.mkdir()
    for i in range(n_items - 2):
        Image.new("RGB", (40, 30), tuple(int(c) for c in rng.integers(0, 255, 3))).save(covers / f"{i}.jpg")
    (covers / f"{n_items - 2}.jpg").write_bytes(b"not an image")  # corrupt; the last item has none
    return folder
