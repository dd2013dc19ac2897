"""MIG-GT (Hu et al., AAAI 2025): Modality-Independent Graph neural networks with a Global
Transformer.

Facts from the paper and the authors' code (MIG-GT repository):
- Modality-Independent Receptive Fields (MIRF): one GNN per modality, each with its OWN number
  of hops K over the user-item graph with self-loops, A_hat = D^-1/2 (A + I) D^-1/2. The GNN is
  MGDCF's Markov diffusion: h_{k+1} = beta A_hat h_k + alpha h_0, output h_K / gamma_K with
  gamma_K = beta^K + alpha sum_{i<K} beta^i (alpha 0.1, beta 0.9). Paper defaults on Baby:
  K_id = 4, K_text = 2, K_image = 1 (Sports 4/2/3, Clothing 2/2/0).
- Inputs per GNN: the ID GNN starts from [user ID embeddings; 0] (items carry no free ID
  embedding in the published configs: `use_item_embedding=False`); a content GNN starts from
  [0; MLP_m(x_m)], MLP_m = Linear-BN-PReLU-Dropout-Linear-BN-PReLU (hidden 512). So users
  receive content only through hops, and K = 0 gives items their encoded features only.
- Fusion: the sum of the modality GNN outputs (then dropout).
- Sampling-based Global Transformer (SGT): every user and item attends over the sequence
  [itself; C items drawn uniformly at random] (C = 10 on Baby/Sports, 20 on Clothing): one head,
  Q and K linear maps to 4 dimensions, V = the tokens themselves, softmax(QK^T / sqrt(4)), and a
  weighted residual h' = (1 - w) h + w attention with w = 0.1. Cost is O(N C d): no all-pairs
  attention. Only the node's own token is needed for the final embedding; the whole sequence
  output is computed just for the batch's positive items (for TUR below).
- Loss: BPR + l2 * ½||all final user and item embeddings||² + Transformer Unsmooth
  Regularisation (TUR): for each (user, positive item), cross-entropy that the user scores the
  item's own SGT output above the SGT outputs of the item's sampled tokens. The authors sum BPR
  and TUR over the batch; here they are batch means and the L2 term is divided by the batch
  size (`losses.half_l2`), the same objective over the batch size.
- Training (the authors' Baby setting, in the YAML's `training` block): Adam, lr 1e-2 decayed
  ×0.99 per epoch, batch 8000.

Generic modalities: `hops` maps a modality name to K; any modality not named gets
`default_hops`; a negative K switches that modality (or, via `id_hops`, the ID GNN) off.

Simplifications, stated honestly: the authors randomly project 4096-d image features to the
text dimension before the MLP (a memory trick); here the MLP's first layer takes the raw
dimension. Evaluation draws the SGT samples from a fixed seed so that embeddings() is
deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..graphs.normalize import normalize_square
from .base import ModelInputs, require_modalities, split_users_items
from .losses import bpr_loss, half_l2
from .sparse import csr_tensor, sparse_matmul, to_torch_csr


def _paper_hops() -> dict[str, int]:
    return {"image": 1, "text": 2}


@dataclass(frozen=True)
class MIGGTConfig:
    embedding_dim: int = 64
    id_hops: int = 4  # K^(E)
    hops: dict[str, int] = field(default_factory=_paper_hops)  # K^(m) per modality (Baby)
    default_hops: int = 2  # K for a modality not in `hops`
    alpha: float = 0.1  # MGDCF restart weight
    beta: float = 0.9  # MGDCF propagation weight
    feat_hidden: int = 512  # hidden width of the modality MLPs
    num_samples: int = 10  # C: items sampled per node by the global transformer
    attention_dim: int = 4  # width of the SGT queries and keys
    attention_weight: float = 0.1  # w in h' = (1 - w) h + w attention
    tur_weight: float = 1.0  # transformer unsmooth regularisation
    reg_weight: float = 1e-5  # l2_coef
    use_item_embedding: bool = False  # True: the ID GNN also starts from item ID embeddings
    input_dropout: float = 0.3  # on the raw features
    feat_dropout: float = 0.3  # inside the modality MLPs
    user_dropout: float = 0.3  # on the ID GNN's user input
    item_dropout: float = 0.3  # on the GNNs' item input
    edge_dropout: float = 0.2  # on the edge weights, per GNN per forward
    z_dropout: float = 0.2  # on the fused output
    eval_seed: int = 0  # SGT samples at evaluation time


def mgdcf_gamma(alpha: float, beta: float, hops: int) -> float:
    """gamma_K = beta^K + alpha * sum_{i<K} beta^i, which keeps the diffusion's scale."""
    return beta**hops + alpha * sum(beta**i for i in range(hops))


def mgdcf(adjacency, h0: torch.Tensor, hops: int, alpha: float, beta: float) -> torch.Tensor:
    """K hops of h_{k+1} = beta A h_k + alpha h_0, divided by gamma_K (MGDCF; MIG-GT's GNN).
    `adjacency` is anything usable as `A @ dense`."""
    h = h0
    for _ in range(hops):
        h = beta * (adjacency @ h) + alpha * h0
    return h / mgdcf_gamma(alpha, beta, hops)


def sampled_attention(
    tokens: torch.Tensor, query: nn.Linear, key: nn.Linear, weight: float, first_only: bool = True
) -> torch.Tensor:
    """One SGT step over sequences `tokens` (N, 1 + C, d): softmax(Q K^T / sqrt(a)) V with
    Q = query(tokens), K = key(tokens), V = tokens, then (1 - weight) tokens + weight attention.
    With `first_only`, only each sequence's first token (the node itself) is updated: (N, d)."""
    q_in = tokens[:, :1] if first_only else tokens
    q, k = query(q_in), key(tokens)
    att = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)
    out = (1 - weight) * q_in + weight * (att @ tokens)
    return out[:, 0] if first_only else out


class _EdgeDropoutAdjacency:
    """A fixed sparse matrix whose stored values can be dropped out per call (DGL-style edge
    dropout: kept weights scaled by 1/(1-p)). The transpose's value order is a permutation of
    the matrix's, found once, so each backward is one sparse product like SparseOperator's.
    (SparseOperator holds fixed values; this is the missing per-call-values variant.)"""

    def __init__(self, matrix: sp.spmatrix, device):
        m = sp.csr_matrix(matrix, dtype=np.float32)
        m.sort_indices()
        self.shape = m.shape
        position = sp.csr_matrix((np.arange(1, m.nnz + 1, dtype=np.float64), m.indices, m.indptr), shape=m.shape)
        t = position.T.tocsr()
        t.sort_indices()
        self.matrix = to_torch_csr(m, device)
        self.crow, self.col = self.matrix.crow_indices(), self.matrix.col_indices()
        self.values = self.matrix.values()
        self.t_perm = torch.as_tensor(t.data.astype(np.int64) - 1, device=device)
        self.matrix_t = csr_tensor(torch.from_numpy(t.indptr), torch.from_numpy(t.indices),
                                   self.values[self.t_perm], m.shape[::-1], device)
        self.t_crow, self.t_col = self.matrix_t.crow_indices(), self.matrix_t.col_indices()

    def dropped(self, p: float) -> "_Dropped":
        if p <= 0:
            return _Dropped(self.matrix, self.matrix_t)
        values = F.dropout(self.values, p, training=True)
        return _Dropped(csr_tensor(self.crow, self.col, values, self.shape),
                        csr_tensor(self.t_crow, self.t_col, values[self.t_perm], self.shape[::-1]))


class _Dropped:
    def __init__(self, matrix, matrix_t):
        self.matrix, self.matrix_t = matrix, matrix_t

    def __matmul__(self, dense):
        return sparse_matmul(self.matrix, self.matrix_t, dense)


def _mlp(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    """The authors' modality encoder: Linear-BN-PReLU-Dropout, Linear-BN-PReLU (xavier, zero bias)."""
    layers = nn.Sequential(
        nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.PReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, d_out), nn.BatchNorm1d(d_out), nn.PReLU(),
    )
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return layers


class MIGGT(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        adjacency: _EdgeDropoutAdjacency,
        features: dict[str, torch.Tensor],
        config: MIGGTConfig = MIGGTConfig(),
    ):
        """`adjacency`: D^-1/2 (A + I) D^-1/2 of the (users + items) interaction graph;
        `features[m]`: raw item features of modality m."""
        super().__init__()
        c, d = config, config.embedding_dim
        self.n_users, self.n_items, self.config = n_users, n_items, config
        self.adjacency, self.features = adjacency, features
        self.hops = {m: int(c.hops.get(m, c.default_hops)) for m in sorted(features)}
        self.content = [m for m in sorted(features) if self.hops[m] >= 0]
        if c.id_hops < 0 and not self.content:
            raise ValueError("MIG-GT needs at least one GNN: every hop count is negative")
        # init as the authors': N(0, 1/d)
        self.user_embedding = nn.Parameter(torch.randn(n_users, d) / d**0.5)
        self.item_embedding = nn.Parameter(torch.randn(n_items, d) / d**0.5) if c.use_item_embedding else None
        self.encoders = nn.ModuleDict({m: _mlp(features[m].shape[1], c.feat_hidden, d, c.feat_dropout) for m in self.content})
        self.query, self.key = nn.Linear(d, c.attention_dim), nn.Linear(d, c.attention_dim)
        for layer in (self.query, self.key):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def _gnn(self, h0: torch.Tensor, hops: int) -> torch.Tensor:
        c = self.config
        adjacency = self.adjacency.dropped(c.edge_dropout if self.training else 0.0)
        return mgdcf(adjacency, h0, hops, c.alpha, c.beta)

    def local(self) -> torch.Tensor:
        """MIRF: the sum over modalities (ID included) of each one's own K-hop GNN, (U+I) x d."""
        c, drop = self.config, lambda x, p: F.dropout(x, p, self.training)
        zeros_u = torch.zeros_like(self.user_embedding)
        outputs = []
        if c.id_hops >= 0:
            items = (
                drop(self.item_embedding, c.item_dropout)
                if self.item_embedding is not None
                else torch.zeros(self.n_items, c.embedding_dim, device=zeros_u.device)
            )
            outputs.append(self._gnn(torch.cat([drop(self.user_embedding, c.user_dropout), items]), c.id_hops))
        for m in self.content:
            encoded = self.encoders[m](drop(self.features[m], c.input_dropout))
            outputs.append(self._gnn(torch.cat([zeros_u, drop(encoded, c.item_dropout)]), self.hops[m]))
        return drop(torch.stack(outputs).sum(0), c.z_dropout)

    def _samples(self, n_nodes: int, device) -> torch.Tensor:
        shape = (n_nodes, self.config.num_samples)
        if self.training:
            return torch.randint(0, self.n_items, shape, device=device)
        generator = torch.Generator(device=device).manual_seed(self.config.eval_seed)
        return torch.randint(0, self.n_items, shape, device=device, generator=generator)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(final users, final items, local embeddings h, sampled item ids per node)."""
        h = self.local()
        samples = self._samples(h.shape[0], h.device)
        tokens = self._tokens(h, samples, torch.arange(h.shape[0], device=h.device))
        final = sampled_attention(tokens, self.query, self.key, self.config.attention_weight)
        users, items = split_users_items(final, self.n_users)
        return users, items, h, samples

    def _tokens(self, h, samples, nodes) -> torch.Tensor:
        """The SGT sequences [h_node; h of its sampled items] of `nodes`: (len(nodes), 1 + C, d)."""
        item_h = h[self.n_users :]
        return torch.cat([h[nodes].unsqueeze(1), item_h[samples[nodes]]], dim=1)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        users, items, _, _ = self.forward()
        return users, items

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        c = self.config
        u, i, h, samples = self.forward()
        ub = u[users]
        terms = {
            "bpr": bpr_loss((ub * i[pos]).sum(1), (ub * i[neg]).sum(1)),
            "reg": half_l2(u, i, batch_size=len(users)),  # every final embedding, as the authors
        }
        total = terms["bpr"] + c.reg_weight * terms["reg"]
        if c.tur_weight and c.num_samples > 0:
            # TUR: the user must prefer the positive item's own SGT output (token 0) over the
            # outputs of that item's sampled tokens, so the attention does not smooth them alike
            seq = sampled_attention(self._tokens(h, samples, pos + self.n_users), self.query, self.key,
                                    c.attention_weight, first_only=False)
            logits = (seq @ ub.unsqueeze(2)).squeeze(2)
            terms["tur"] = F.cross_entropy(logits, torch.zeros_like(pos))
            total = total + c.tur_weight * terms["tur"]
        return {**terms, "loss": total}


def self_loop_adjacency(train: sp.spmatrix) -> sp.csr_matrix:
    """D^-1/2 ([[0, R], [R^T, 0]] + I) D^-1/2 over users then items (MGDCF's graph)."""
    r = sp.csr_matrix(train, dtype=np.float32)
    n = r.shape[0] + r.shape[1]
    a = sp.bmat([[None, r], [r.T, None]], format="csr") + sp.identity(n, dtype=np.float32, format="csr")
    return normalize_square(a)


def build(inputs: ModelInputs, config: MIGGTConfig, device: torch.device) -> MIGGT:
    require_modalities("miggt", inputs.features)
    return MIGGT(
        inputs.n_users,
        inputs.n_items,
        adjacency=_EdgeDropoutAdjacency(self_loop_adjacency(inputs.train), device),
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
