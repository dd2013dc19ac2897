"""DA-MRS's denoised kNN item graphs: an edge must be similar in every modality at once."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .topk import stack_rows, topk_rows


def consistent_knn_graphs(
    features: dict[str, np.ndarray], k: int = 10, chunk_size: int | None = None, ties: str = "hash"
) -> dict[str, sp.csr_matrix]:
    """DA-MRS's denoised item-item graphs, one per modality, unnormalised, each kept edge
    holding H = (1 + cos) / 2 like `knn.knn_graph` (so `knn.nearest` restricts them to fewer
    neighbours; DA-MRS binarises them).

    Candidate edge (i, j) survives only if cos_m(x_i, x_j) >= mean_m for every modality m,
    mean_m being the mean cosine over all n^2 pairs (self pairs included). The mean is exact
    without the n x n matrix: mean over i, j of <x̂_i, x̂_j> = ||sum_i x̂_i||^2 / n^2. Each row then
    keeps itself and its k - 1 most similar survivors in that modality (ties as in
    `topk.topk_rows`). A zero feature row has cosine 0 with everything.
    """
    if not features:
        raise ValueError("consistent_knn_graphs needs at least one modality")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    names = sorted(features)
    unit = {m: _unit_rows(features[m]) for m in names}
    n = {x.shape[0] for x in unit.values()}
    if len(n) != 1:
        raise ValueError(f"modalities disagree on the number of items: {sorted(n)}")
    n = n.pop()
    means = {m: float(np.square(unit[m].sum(0, dtype=np.float64)).sum()) / max(n, 1) ** 2 for m in names}
    if chunk_size is None:  # about 2^24 similarities per modality per block
        chunk_size = max(1, (1 << 24) // max(n, 1))
    blocks: dict[str, list[sp.csr_matrix]] = {m: [] for m in names}
    for start in range(0, n, chunk_size):
        sims = {m: unit[m][start : start + chunk_size] @ unit[m].T for m in names}
        # the tolerance only absorbs float32 rounding (e.g. a self cosine of 0.99999994
        # against a mean of 1 when every item of a modality has the same feature)
        consistent = np.logical_and.reduce([sims[m] >= means[m] - 1e-6 for m in names])
        for m in names:
            # H > 0 for every survivor (cos >= mean >= 0), so a zero marks a non-candidate
            rows = np.arange(start, start + sims[m].shape[0])
            blocks[m].append(topk_rows(np.where(consistent, (1.0 + sims[m]) / 2, 0.0).astype(np.float32), k,
                                       row_ids=rows, pinned=rows, ties=ties))
    return {m: stack_rows(blocks[m], n) for m in names}


def _unit_rows(x) -> np.ndarray:
    x = np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError("features must be a finite 2-D array")
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0).astype(np.float32)
