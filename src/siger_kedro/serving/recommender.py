"""A trained model as a recommender: its final user and item embeddings (every model here
scores a user-item pair by their dot product), what each user has already interacted with,
the original ids, item titles and item popularity. Stored as a folder of plain arrays and
tables (`.npy`, `.npz`, `.parquet`, `manifest.json`): data, never code, so that the same
folder serves the `recommend` pipeline and the MLflow model (serving/mlflow_model.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..data.errors import DataFormatError
from ..data.split import TRAIN
from ..metrics import Evaluator
from ..storage import atomic_path

FORMAT = 1
FILES = ("manifest.json", "user_embeddings.npy", "item_embeddings.npy", "seen.npz", "users.parquet", "items.parquet")
UNKNOWN_USERS = ("error", "popular")
COLUMNS = ["user", "rank", "item", "title", "score", "source"]


class UnknownUserError(KeyError):
    """A requested user id is not one of the dataset's users."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Recommender:
    model: str
    dataset: str
    users: np.ndarray  # original user id (str) of each internal user index
    items: np.ndarray  # original item id (str) of each internal item index
    titles: np.ndarray  # each item's title ("" where the dataset has none)
    user_embeddings: np.ndarray  # float32, users x d
    item_embeddings: np.ndarray  # float32, items x d
    seen: sp.csr_matrix  # users x items, 1 where the user interacted with the item
    popularity: np.ndarray  # interactions per item in the training split
    k: int = 10  # default list length

    def __post_init__(self) -> None:
        n_users, n_items = len(self.users), len(self.items)
        expected = {"user_embeddings": (n_users, self.item_embeddings.shape[1]),
                    "item_embeddings": (n_items, self.user_embeddings.shape[1]),
                    "seen": (n_users, n_items), "titles": (n_items,), "popularity": (n_items,)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise DataFormatError(f"recommender {self.model}/{self.dataset}: {name} has shape "
                                      f"{getattr(self, name).shape}, expected {shape}")

    @property
    def name(self) -> str:
        """Its name in the MLflow model registry."""
        return f"{self.model}-{self.dataset}"

    def recommend(self, users: Sequence[str] | None = None, k: int | None = None, keep_seen: bool = False,
                  unknown_users: str = "error") -> pd.DataFrame:
        """Each user's top-k items, best first: columns user, rank, item, title, score, source
        ("model", or "popular" for an unknown user when `unknown_users="popular"`). `users`:
        original ids (None = every user), in the order the lists are wanted; items the user
        has interacted with are left out unless `keep_seen`."""
        k = min(int(self.k if k is None else k), len(self.items))
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if unknown_users not in UNKNOWN_USERS:
            raise ValueError(f"unknown_users must be one of {UNKNOWN_USERS}, got {unknown_users!r}")
        wanted = list(self.users) if users is None else list(dict.fromkeys(str(u) for u in users))
        index = self._user_index()
        unknown = [u for u in wanted if u not in index]
        if unknown and unknown_users == "error":
            raise UnknownUserError(
                f"user id(s) {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''} not in dataset "
                f"{self.dataset} ({len(self.users)} users, e.g. {', '.join(self.users[:3])}); pass known ids, "
                "or set unknown_users to 'popular' for popularity-based lists marked as such")
        known = [u for u in wanted if u in index]
        frames = {u: self._popular(u, k) for u in unknown}
        if known:
            frames |= dict(zip(known, self._ranked([index[u] for u in known], k, keep_seen)))
        if not wanted:
            return pd.DataFrame({c: [] for c in COLUMNS})
        return pd.concat([frames[u] for u in wanted], ignore_index=True)[COLUMNS]

    def _user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.users)}

    def _ranked(self, rows: list[int], k: int, keep_seen: bool) -> list[pd.DataFrame]:
        evaluator = Evaluator(len(self.items), ks=[k])
        items, scores = evaluator.top_k(torch.from_numpy(self.user_embeddings), torch.from_numpy(self.item_embeddings),
                                        [] if keep_seen else [self.seen], k, users=rows)
        items, scores = items.numpy(), scores.numpy()
        out = []
        for row, user in enumerate(self.users[rows]):
            kept = np.isfinite(scores[row])  # a user who has seen almost every item gets a shorter list
            out.append(self._frame(user, items[row][kept], scores[row][kept], "model"))
        return out

    def _popular(self, user: str, k: int) -> pd.DataFrame:
        top = np.argsort(-self.popularity, kind="stable")[:k]
        return self._frame(user, top, self.popularity[top].astype(np.float32), "popular")

    def _frame(self, user: str, items: np.ndarray, scores: np.ndarray, source: str) -> pd.DataFrame:
        return pd.DataFrame({"user": user, "rank": np.arange(1, len(items) + 1), "item": self.items[items],
                             "title": self.titles[items], "score": scores.astype(np.float32), "source": source})

    def save(self, folder: str | Path) -> None:
        """Write the folder atomically; an existing folder is replaced only if it holds nothing
        but a recommender's files."""
        manifest = {"format": FORMAT, "model": self.model, "dataset": self.dataset, "k": self.k,
                    "n_users": len(self.users), "n_items": len(self.items), "dim": self.user_embeddings.shape[1]}
        with atomic_path(folder, is_dir=True, owned=lambda p: p.name in FILES) as tmp:
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
            np.save(tmp / "user_embeddings.npy", self.user_embeddings, allow_pickle=False)
            np.save(tmp / "item_embeddings.npy", self.item_embeddings, allow_pickle=False)
            sp.save_npz(tmp / "seen.npz", self.seen)
            pd.DataFrame({"user": self.users}).to_parquet(tmp / "users.parquet")
            pd.DataFrame({"item": self.items, "title": self.titles,
                          "popularity": self.popularity}).to_parquet(tmp / "items.parquet")

    @classmethod
    def load(cls, folder: str | Path) -> Recommender:
        folder = Path(folder)
        missing = [f for f in FILES if not (folder / f).is_file()]
        if missing:
            raise DataFormatError(f"{folder}: not a recommender folder (missing {', '.join(missing)})")
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("format") != FORMAT:
            raise DataFormatError(f"{folder / 'manifest.json'}: format {manifest.get('format')!r}, "
                                  f"this version reads format {FORMAT}")
        users = pd.read_parquet(folder / "users.parquet")
        items = pd.read_parquet(folder / "items.parquet")
        return cls(model=manifest["model"], dataset=manifest["dataset"], k=int(manifest["k"]),
                   users=users["user"].astype(str).to_numpy(dtype=object),
                   items=items["item"].astype(str).to_numpy(dtype=object),
                   titles=items["title"].astype(str).to_numpy(dtype=object),
                   popularity=items["popularity"].to_numpy(),
                   user_embeddings=np.load(folder / "user_embeddings.npy", allow_pickle=False),
                   item_embeddings=np.load(folder / "item_embeddings.npy", allow_pickle=False),
                   seen=sp.load_npz(folder / "seen.npz").tocsr())


def item_titles(items: pd.DataFrame, columns: Sequence[str], max_chars: int = 120) -> pd.Series:
    """Each item's title: the first of `columns` the item table has, whitespace collapsed and
    cut at `max_chars` (a long text field serves as a title); "" where there is none."""
    for column in columns:
        if column in items.columns:
            text = items[column].fillna("").astype(str).str.split().str.join(" ")
            return text.where(text.str.len() <= max_chars, text.str.slice(0, max_chars - 1) + "…")
    return pd.Series([""] * len(items), index=items.index, dtype=object)


def recommender_from_training(model: str, dataset: str, user_embeddings: np.ndarray, item_embeddings: np.ndarray,
                              interactions: pd.DataFrame, user_ids: pd.DataFrame, item_ids: pd.DataFrame,
                              items: pd.DataFrame, title_columns: Sequence[str], k: int) -> Recommender:
    """A recommender from a trained model's embeddings and the ingest stage's tables: every
    interaction of every split counts as seen; popularity counts the training split."""
    n_users, n_items = len(user_ids), len(item_ids)
    seen = sp.csr_matrix((np.ones(len(interactions), dtype=np.float32),
                          (interactions["user"].to_numpy(), interactions["item"].to_numpy())), shape=(n_users, n_items))
    seen.sum_duplicates()
    seen.data[:] = 1.0
    train = interactions[interactions["split"] == TRAIN]
    titles = item_titles(items.set_index("item").reindex(range(n_items)), title_columns)
    return Recommender(
        model=model, dataset=dataset, k=k,
        users=user_ids.sort_values("user")["original"].astype(str).to_numpy(dtype=object),
        items=item_ids.sort_values("item")["original"].astype(str).to_numpy(dtype=object),
        titles=titles.to_numpy(dtype=object),
        user_embeddings=np.ascontiguousarray(user_embeddings, dtype=np.float32),
        item_embeddings=np.ascontiguousarray(item_embeddings, dtype=np.float32),
        seen=seen, popularity=np.bincount(train["item"].to_numpy(), minlength=n_items))
