"""A raw dataset folder as read from disk, in MMRec or RecBole atomic format."""
from __future__ import annotations

import importlib.util
from pathlib import Path


from .amazon import read_amazon
from .atomic import is_typed_header, read_atomic_inter, read_atomic_items
from .dataset import RawDataset
from .errors import DataFormatError, not_utf8
from .microlens import read_microlens
from .mmrec import read_feature_files, read_id_mapping, read_mmrec_inter
from .validate import validate_features

# Datasets shipped inside installed wheels: name -> (package, folder inside the package).
PACKAGED = {"ml-100k": ("recbole", "dataset_example/ml-100k")}


def _header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            line = f.readline().rstrip("\r\n")
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    if not line.strip():
        raise DataFormatError(f"{path}: empty first line; expected a tab-separated header")
    return line.split("\t")


def _raw_release(folder: Path, name: str, kcore: int) -> RawDataset | None:
    """An Amazon 2014 category (`reviews_<Cat>_5.json.gz` or `ratings_<Cat>.csv`) or MicroLens
    (`*pairs*.csv`) folder, k-core filtered; None when the folder holds neither."""
    for pattern, prefix, suffix in (("reviews_*_5.json.gz", "reviews_", "_5.json.gz"),
                                    ("ratings_*.csv", "ratings_", ".csv")):
        found = sorted(folder.glob(pattern))
        if found:
            category = found[0].name[len(prefix):-len(suffix)]
            return read_amazon(folder, category, k=kcore, name=name)
    if any(folder.glob("*pairs*.csv")):
        return read_microlens(folder, k=kcore, name=name)
    return None


def read_raw_folder(folder: Path, name: str, kcore: int = 5) -> RawDataset:
    """Read `<folder>/<name>.inter` (+ `.item`, `*_feat.npy`, id mappings), detecting the
    format from the header: typed fields (`user_id:token`) = RecBole atomic, plain names
    (`userID itemID ... x_label`) = MMRec. Without a `.inter` file, a raw Amazon 2014 or
    MicroLens release is read and filtered to its `kcore`-core."""
    folder = Path(folder)
    expected = (f"{name}.inter (MMRec: plus <modality>_feat.npy; "
                f"RecBole atomic: plus an optional {name}.item), or an Amazon 2014 category "
                "(reviews_<Cat>_5.json.gz or ratings_<Cat>.csv, meta_<Cat>.json.gz) or MicroLens "
                "(*pairs.csv, titles, covers/)")
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: dataset folder not found; expected a folder holding {expected}")
    inter = folder / f"{name}.inter"
    if not inter.is_file() and (raw := _raw_release(folder, name, kcore)) is not None:
        return raw
    if not inter.is_file():
        present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        raise DataFormatError(f"{inter}: file not found; expected {expected} in {folder} (found {present})")

    features = read_feature_files(folder)
    if is_typed_header(_header(inter)):
        item_file = folder / f"{name}.item"
        return RawDataset(
            name=name, source=str(folder), format="atomic",
            interactions=read_atomic_inter(inter),
            items=read_atomic_items(item_file) if item_file.is_file() else None,
            # Atomic feature rows follow the prepared item index, so their row count is
            # checked downstream against the prepared n_items.
            features=validate_features(features, None, str(folder)),
        )

    interactions = read_mmrec_inter(inter)
    n_items = int(interactions["item"].max()) + 1 if len(interactions) else 0
    u_map, i_map = folder / "u_id_mapping.csv", folder / "i_id_mapping.csv"
    return RawDataset(
        name=name, source=str(folder), format="mmrec",
        interactions=interactions,
        features=validate_features(features, n_items, str(folder)),
        user_ids=read_id_mapping(u_map, "userID", "user") if u_map.is_file() else None,
        item_ids=read_id_mapping(i_map, "itemID", "item") if i_map.is_file() else None,
    )


def packaged_dataset_folder(name: str) -> Path | None:
    """The folder of a dataset shipped in an installed wheel (RecBole's MovieLens-100k for
    "ml-100k"), located without importing the package; None otherwise."""
    if name not in PACKAGED:
        return None
    package, sub = PACKAGED[name]
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / sub
    return folder if folder.is_dir() else None
