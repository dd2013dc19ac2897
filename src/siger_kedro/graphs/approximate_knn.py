"""Approximate semantic kNN graph with a faiss inverted-file index, and its recall.

`faiss_knn_graph` returns the same kind of graph as `knn.knn_graph`: float32 CSR, n x n, each
row the item itself and its top k - 1 others of H_ij = (1 + cos(x_i, x_j)) / 2, ties as there.
Only the neighbour *search* is approximate: faiss (IndexIVFFlat, inner product on L2-normalised
float32 rows, i.e. cosine) proposes 2k candidates per row, whose H values are then recomputed
from the raw rows by the exact builder's formula and re-ranked by `topk_rows`. A kept edge
therefore has the exact graph's value (to float32 rounding); what may differ is which
neighbours are found. `knn_recall` measures that against the exact graph, and `knn_rows`
gives the exact rows of a sample when the whole exact graph is too expensive to build.

Recall depends on the data: measure it on a sample of your own features (`FaissKnnIndex.rows`
against `knn_rows`, or `python -m siger_kedro.bench.knn_recall --sweep`) before relying on it.
Memory: the scaled rows and the index each hold a float32 copy of the features, beside the
caller's; peak RSS was 5.4 GiB at 10^6 x 384-d (docs/scaling.md).

faiss is an optional dependency: ``pip install -e '.[faiss]'``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .knn import _scaled_rows, similarity_to_h
from .topk import stack_rows, topk_rows

# Rows per chunk are chosen so that a chunk holds about this many float32 numbers (64 MiB).
_CHUNK_ELEMENTS = 1 << 24
# Rows per list the coarse quantizer is trained on (faiss wants 39 to 256): k-means time grows
# with rows x lists; 256 rows per list gave the same recall as 64 (0.990, 10^5 x 384-d, noise 2).
_TRAIN_ROWS_PER_LIST = 64


def _import_faiss():
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            "the faiss kNN backend (graphs.knn_backend: faiss) needs faiss, which is an optional "
            "dependency: pip install -e '.[faiss]' (or pip install faiss-cpu==1.15.1), or set "
            "graphs.knn_backend: exact"
        ) from err
    return faiss


def default_nlist(n: int) -> int:
    """About 4 sqrt(n) inverted lists (faiss's guideline), with at least 39 rows per list."""
    return max(1, min(int(round(4 * math.sqrt(n))), n // 39))


def faiss_knn_graph(features, k: int = 10, nlist: int | None = None, nprobe: int = 16,
                    seed: int = 0) -> sp.csr_matrix:
    """Top-k (1 + cos) / 2 graph over feature rows, neighbours found by a faiss IVF index.

    nlist: inverted lists (default `default_nlist(n)`); nprobe: lists searched per row (capped
    at nlist; nprobe = nlist searches every list, i.e. exhaustively; a row whose probed lists
    hold fewer than k items is searched again with more, so every row gets k neighbours);
    seed: k-means seed and training sample. Raises ImportError (naming the install command)
    when faiss is missing.
    """
    _check_search(k, nprobe)
    return FaissKnnIndex(features, nlist=nlist, seed=seed).graph(k, nprobe)


class FaissKnnIndex:
    """A faiss inverted-file index over the L2-normalised feature rows (inner product = cosine).

    `graph(k, nprobe)` is the whole kNN graph; `rows(rows, k, nprobe)` the same rows for a
    subset only, e.g. to measure recall against `knn_rows` at several nprobe values without
    building the index again.
    """

    def __init__(self, features, nlist: int | None = None, seed: int = 0):
        self._faiss = faiss = _import_faiss()
        self.x, self.inv_norm = _scaled_rows(features)
        n, dim = self.x.shape
        self.n = n
        self.nlist = default_nlist(n) if nlist is None else nlist
        if n and (int(self.nlist) != self.nlist or not 1 <= self.nlist <= n):
            raise ValueError(f"nlist must be an integer between 1 and the number of rows ({n}), "
                             f"got {nlist!r}")
        self.nlist = int(self.nlist)
        if self.nlist <= 1:  # one list is an exhaustive search: faiss's flat index, no training
            self.index = faiss.IndexFlatIP(dim)
        else:
            self.index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, self.nlist,
                                            faiss.METRIC_INNER_PRODUCT)
            self.index.cp.seed = int(seed)
            train = min(n, _TRAIN_ROWS_PER_LIST * self.nlist)
            self.index.train(self._unit(np.sort(np.random.default_rng(seed).choice(n, train, replace=False))))
        step = max(1, _CHUNK_ELEMENTS // max(dim, 1))
        for start in range(0, n, step):
            self.index.add(self._unit(np.arange(start, min(start + step, n))))

    def _unit(self, rows: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.x[rows] * self.inv_norm[rows, None])

    def graph(self, k: int = 10, nprobe: int = 16) -> sp.csr_matrix:
        """The n x n top-k graph (float32 CSR, sorted indices), one chunk of rows at a time."""
        if self.n == 0:
            _check_search(k, nprobe)
            return sp.csr_matrix((0, 0), dtype=np.float32)
        chunk = max(1, _CHUNK_ELEMENTS // (max(self.x.shape[1], 1) * min(self.n, 2 * int(k))))
        blocks = [self.rows(np.arange(start, min(start + chunk, self.n)), k, nprobe)
                  for start in range(0, self.n, chunk)]
        return stack_rows(blocks, self.n)

    def rows(self, rows, k: int = 10, nprobe: int = 16) -> sp.csr_matrix:
        """Top-k rows `rows` (len(rows) x n): 2k candidates from the index and the item itself,
        their H values recomputed by the exact builder's formula and re-ranked as it ranks."""
        _check_search(k, nprobe)
        k, rows = int(k), np.asarray(rows, dtype=np.int64)
        candidates = min(self.n, 2 * k)
        nprobe = min(int(nprobe), self.nlist)
        params = (lambda p: {}) if self.nlist <= 1 else (
            lambda p: {"params": self._faiss.SearchParametersIVF(nprobe=p)})
        _, found = self.index.search(self._unit(rows), candidates, **params(nprobe))
        # A row whose probed lists hold fewer than k items searches again with twice the lists.
        short = (found >= 0).sum(axis=1) < min(k, self.n)
        while short.any() and nprobe < self.nlist:
            nprobe = min(2 * nprobe, self.nlist)
            _, found[short] = self.index.search(self._unit(rows[short]), candidates, **params(nprobe))
            short = (found >= 0).sum(axis=1) < min(k, self.n)
        local, pos = np.nonzero(found >= 0)  # -1: fewer candidates in the probed lists
        cols = found[local, pos]
        # the item itself, kept first, once whether or not the index found it
        pairs = np.unique(np.concatenate([local * self.n + cols, np.arange(rows.size) * self.n + rows]))
        local, cols = pairs // self.n, pairs % self.n
        # The exact builder's formula, pair by pair: dot of the scaled rows, then the norms.
        sim = similarity_to_h(np.einsum("ij,ij->i", self.x[rows[local]], self.x[cols]),
                              self.inv_norm[rows[local]], self.inv_norm[cols])
        block = sp.csr_matrix((sim, (local, cols)), shape=(rows.size, self.n), dtype=np.float32)
        return topk_rows(block, k, row_ids=rows, pinned=rows)


def _check_search(k, nprobe) -> None:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if int(nprobe) != nprobe or nprobe < 1:
        raise ValueError(f"nprobe must be a positive integer, got {nprobe!r}")


def knn_rows(features, rows, k: int = 10, chunk_size: int | None = None) -> sp.csr_matrix:
    """The exact top-k rows `rows` of `knn_graph(features, k)` (len(rows) x n), computed against
    all items one column block at a time: a recall check for catalogues too large for the exact
    graph. Values agree with knn_graph's to float32 rounding (a different matrix-product shape)."""
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    x, inv_norm = _scaled_rows(features)
    n = x.shape[0]
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= n)):
        raise ValueError(f"rows must be a 1-D array of row ids in [0, {n})")
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_ELEMENTS // max(rows.size, 1))
    q, q_inv = x[rows], inv_norm[rows, None]
    found = []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        sim = similarity_to_h(q @ x[start:stop].T, q_inv, inv_norm[None, start:stop])
        inside = (rows >= start) & (rows < stop)
        top = topk_rows(sim, k, row_ids=rows, col_offset=start, pinned=np.where(inside, rows - start, -1)).tocoo()
        found.append((top.row, top.col + start, top.data))
    r, c, v = (np.concatenate(parts) for parts in zip(*found)) if found else ([], [], [])
    merged = sp.csr_matrix((v, (r, c)), shape=(rows.size, n), dtype=np.float32)
    return topk_rows(merged, k, row_ids=rows, pinned=rows) if rows.size else merged


def knn_recall(approx, exact) -> float:
    """Fraction of the exact graph's edges that the approximate graph also has (1.0 when the
    exact graph has none). Both are sparse matrices of the same shape; values are ignored."""
    if approx.shape != exact.shape:
        raise ValueError(f"graphs differ in shape: {approx.shape} vs {exact.shape}")
    e = sp.csr_matrix(exact, dtype=bool, copy=True)
    e.eliminate_zeros()
    if e.nnz == 0:
        return 1.0
    a = sp.csr_matrix(approx, dtype=bool, copy=True)
    a.eliminate_zeros()
    return float(e.multiply(a).count_nonzero() / e.nnz)
