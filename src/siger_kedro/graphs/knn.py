"""Semantic kNN item graph (SIGER Eq 6).

H_ij = (1 + cos(x_i, x_j)) / 2 on the raw feature rows; each row keeps its
top-k, the item itself included (a candidate like any other; cos = 1 usually
makes it the top). Similarities are computed one chunk x n block at a time and
only the top-k of each block is kept, so memory is bounded by the chunk.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .normalize import normalize_square
from .topk import stack_rows, topk_rows

# Default chunk: about 2^25 similarities (128 MiB of float32) per block.
_BLOCK_ELEMENTS = 1 << 25
# Rows scaled at a time: about 2^24 features (128 MiB of float64 temporaries) per block.
_SCALE_BLOCK_ELEMENTS = 1 << 24


def knn_graph(features, k: int = 10, chunk_size: int | None = None, ties: str = "hash",
              keep_self: bool = True) -> sp.csr_matrix:
    """Top-k (1 + cos) / 2 graph over feature rows (n x n, float32).

    Each row keeps the item itself (the paper's "including the item itself"; without
    `keep_self` it is a candidate like any other and can lose a tie to identical items) and
    its k - 1 most similar others, ties broken by `topk.topk_rows`' rule. A zero-norm row
    has cosine 0 with everything (H = 0.5), never NaN. H = 0 (opposite vectors) is not
    stored, so such a row may hold fewer than k edges.
    """
    x, inv_norm = _scaled_rows(features)
    n = x.shape[0]
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if chunk_size is None:
        chunk_size = max(1, _BLOCK_ELEMENTS // max(n, 1))
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk_size = int(chunk_size)

    xt = np.ascontiguousarray(x.T)
    blocks = []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        rows = np.arange(start, stop)
        h = similarity_to_h(x[start:stop] @ xt, inv_norm[start:stop, None], inv_norm[None, :])
        blocks.append(topk_rows(h, k, row_ids=rows, pinned=rows if keep_self else None, ties=ties))
    return stack_rows(blocks, n)


def similarity_to_h(dots: np.ndarray, inv_norm_a: np.ndarray, inv_norm_b: np.ndarray) -> np.ndarray:
    """H = (1 + cos) / 2 from dot products of `_scaled_rows` rows and their inverse norms
    (broadcast against `dots`), in place. The dots are of the raw rows, normalised afterwards
    element by element: for small integer-valued (e.g. multi-hot) features they are exact, so
    ties are exact whatever the chunk size, BLAS kernel or neighbour search."""
    dots *= inv_norm_a
    dots *= inv_norm_b
    np.clip(dots, -1.0, 1.0, out=dots)  # rounding overshoot: H stays within [0, 1]
    dots += 1.0
    dots *= 0.5
    return dots


def _scaled_rows(features) -> tuple[np.ndarray, np.ndarray]:
    """Validated float32 feature rows and their inverse norms (0 for zero rows), one row block
    at a time: the float64 temporaries are bounded by the block, not by the catalogue."""
    if sp.issparse(features):
        features = sp.csr_matrix(features)
    else:
        features = np.asarray(features)
        if features.ndim != 2:
            raise ValueError(f"features must be a 2-D array, got {features.ndim}-D with shape {features.shape}")
    if features.dtype.kind not in "biuf":
        raise ValueError(f"features must be numeric, got dtype {features.dtype}")
    n, dim = features.shape
    x = np.empty((n, dim), dtype=np.float32)
    inv_norm = np.empty(n, dtype=np.float32)
    step = max(1, _SCALE_BLOCK_ELEMENTS // max(dim, 1))
    for start in range(0, n, step):
        stop = min(start + step, n)
        x[start:stop], inv_norm[start:stop] = _scaled_block(features[start:stop])
    return x, inv_norm


def _scaled_block(block) -> tuple[np.ndarray, np.ndarray]:
    x = (block.toarray() if sp.issparse(block) else block).astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or infinite values")
    # Scale each row by a power of two near its max: exact (integer features
    # keep exact dot products) and keeps float32 products from overflowing.
    _, exponent = np.frexp(np.abs(x).max(axis=1, initial=0.0))
    x = np.ldexp(x, -exponent[:, None]).astype(np.float32)
    norm = np.linalg.norm(x.astype(np.float64), axis=1)
    inv_norm = np.zeros_like(norm)
    inv_norm[norm > 0] = 1.0 / norm[norm > 0]
    return x, inv_norm.astype(np.float32)


def nearest(graph: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's top k of a stored top-K kNN graph (the item itself first, ties as when it
    was built): for k <= K exactly the graph `knn_graph` would build with k, without the
    features. How models take their kNN graphs from the graphs stage's."""
    return topk_rows(graph, k, pinned=np.arange(graph.shape[0]))


def binary(graph: sp.csr_matrix) -> sp.csr_matrix:
    """The same edges, each set to 1 (FREEDOM's and DA-MRS's graphs, which weight neighbours
    only through normalisation)."""
    g = sp.csr_matrix(graph, copy=True)
    g.data[:] = 1.0
    return g


def normalized_cosine_graph(graph: sp.csr_matrix) -> sp.csr_matrix:
    """From a (1 + cos) / 2 kNN graph, edges weighted by the cosine, then D^-1/2 S D^-1/2 with
    D the row sums (the item graphs of MGCN and LATTICE). Edges with cos <= 0 are dropped:
    they would make degrees non-positive; with non-negative CNN features and sentence
    embeddings a top-k cosine is positive anyway."""
    g = sp.csr_matrix(graph, dtype=np.float32, copy=True)
    g.data = np.clip(2.0 * g.data - 1.0, 0.0, None).astype(np.float32)
    g.eliminate_zeros()
    return normalize_square(g)
