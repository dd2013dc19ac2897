"""DA-MRS (Xv et al., KDD 2024): Denoising and Aligning Multi-modal Recommender System, here on
the paper's LightGCN backbone (DA-MRS+LightGCN, the variant reported as the baseline).

Four parts, each following the authors' implementation (the paper's code, also in MMRec):
- Denoised item-item graphs (DIIG): for every modality, a kNN graph over cosine similarities of
  the raw features in which an edge (i, j) may exist only if s_m(i, j) is at least the mean
  similarity of modality m for EVERY modality m (cross-modal consistency); each row keeps its
  top-k survivors (the item itself included), binary, D^-1/2 A D^-1/2. Plus the authors'
  item-item session graph (`session_graph`): each item's top-`cooc_k` (2) co-occurring items
  and itself, binary, D^-1/2 A D^-1/2 with D the row sums.
  The layer-0 item ID embedding is propagated `ii_layers` times on every item graph ("views");
  an item is its LightGCN embedding plus the mean of its views, a user its LightGCN embedding.
- Denoised BPR (DBPR): each triple's BPR term is weighted by how probable the observed
  feedback is under the content views: p_v = sigmoid(u . normalize(h_v[i])) for every view v;
  w+ = mean_v p_v * exp(-var_v p_v)^2 (confident and consistent positives count fully);
  a positive whose mean probability is below the batch's mean negative probability is treated
  as likely noisy and also gets the flipped term with weight w- = max_v p_v - mean(p_neg).
- Alignment guided by User preference (L_AU): symmetric KL between the Bernoulli preference
  distributions sigmoid(u . normalize(i)) of the ID (LightGCN) items and the content items
  (mean of the views), over the batch's users x items.
- Alignment guided by graded Item relations (L_AI): per view, pseudo-labels from all views'
  softmax similarities: "multimodal" positives (top-P of the other views' probabilities plus
  twice the view's own) and "single-view" positives (the view's own next top-P); a two-level
  InfoNCE (temperature tau) pulls the first closer than the second and both closer than the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..graphs.cooccurrence import cooccurrence_graph
from ..graphs.knn import binary
from ..graphs.normalize import normalize_square
from .base import ModelInputs, embedding_table, require_modalities, split_users_items
from .losses import bpr_loss, kept_mean, l2_penalty, unique_rows
from .propagation import last_layer, lightgcn
from .sparse import SparseOperator

COOCCURRENCE_VIEW = "cooccurrence"


@dataclass(frozen=True)
class DAMRSConfig:
    embedding_dim: int = 64
    ui_layers: int = 2  # n_ui_layers: LightGCN backbone depth
    ii_layers: int = 1  # n_mm_layers: propagations on each item-item graph
    knn_k: int = 10  # neighbours kept per item in each denoised kNN graph
    cooc_k: int = 2  # co-occurring items per row of the session graph (the authors' item_graph_dict_2)
    denoised_bpr: bool = True  # False: plain BPR (the paper's "w/o DBPR" ablation)
    kl_weight: float = 1.0  # weight of L_AU
    neighbor_weight: float = 0.001  # weight of L_AI
    n_positives: int = 10  # pseudo-positives per level in L_AI
    temperature: float = 0.2  # L_AI
    reg_weight: float = 0.0  # the authors' DA-MRS adds no L2 term; kept for grids


def session_graph(inputs: ModelInputs, k: int) -> sp.csr_matrix:
    """The authors' session graph: every item linked to itself and to its top-k co-occurring
    items (most shared training users), binary, normalised D^-1/2 A D^-1/2 by row sums."""
    users, items = inputs.train_pairs()
    top = binary(cooccurrence_graph(users, items, inputs.n_users, inputs.n_items, k=k))
    return normalize_square(top + sp.identity(inputs.n_items, dtype=top.dtype, format="csr"))


# -- the pieces of the objective, as plain functions of tensors --------------------------------
def feedback_weights(p_pos: torch.Tensor, p_neg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DBPR weights from per-view feedback probabilities, shape (views, batch).

    w+ = clamp(mean_v p+ * exp(-var_v p+)^2, 0, 1) (unbiased variance over views);
    w- = clamp(max_v p+ - mean(p-), 0, 1) where mean_v p+ < mean(p-), else 0, mean(p-) being
    the mean over every view and triple of the batch (as in the authors' code). No gradient.
    """
    p_pos, p_neg = p_pos.detach(), p_neg.detach()
    mean = p_pos.mean(0)
    var = p_pos.var(0) if p_pos.shape[0] > 1 else torch.zeros_like(mean)
    w_pos = (mean * torch.exp(-var).pow(2)).clamp(0, 1)
    neg_mean = p_neg.mean()
    w_neg = (p_pos.max(0).values - neg_mean).clamp(0, 1) * (mean < neg_mean)
    return w_pos, w_neg


def denoised_bpr_loss(pos_scores, neg_scores, w_pos, w_neg) -> torch.Tensor:
    """-mean(w+ log sigmoid(pos - neg) + w- log sigmoid(neg - pos)). The shared bpr_loss has
    no per-triple weights; this is it with them (w+ = 1, w- = 0 gives bpr_loss)."""
    diff = pos_scores - neg_scores
    return (w_pos * F.softplus(-diff) + w_neg * F.softplus(diff)).mean()


def symmetric_bernoulli_kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(Bern(p) || Bern(q)) + KL(Bern(q) || Bern(p)) for p = sigmoid(a),
    q = sigmoid(b). The log-odds terms collapse exactly to (p - q)(a - b): no log of a
    saturated probability, and one pass instead of eight logs."""
    return (torch.sigmoid(a) - torch.sigmoid(b)) * (a - b)


def pseudo_positives(
    probs: list[torch.Tensor], own: int, k: int, total: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """L_AI's pseudo-labels for view `own` from every view's (rows x items) probabilities:
    multimodal positives = top-k of sum_v probs_v + probs_own (the own view counts twice);
    single-view positives = top-k of probs_own once the multimodal ones are removed.
    `total` = sum_v probs_v, when the caller has it already."""
    score = (sum(probs) if total is None else total) + probs[own]
    mm = score.topk(k, dim=1).indices
    single = probs[own].scatter(1, mm, float("-inf")).topk(k, dim=1).indices
    return mm, single


def graded_infonce(logits: torch.Tensor, mm: torch.Tensor, single: torch.Tensor,
                   keep: torch.Tensor | None = None) -> torch.Tensor:
    """-log(sum_mm e^l / sum_all e^l) - log(sum_single e^l / (sum_all - sum_mm e^l)), mean over
    the rows (those `keep` marks, when given)."""
    logits = logits.float()  # under autocast: 1 - 1e-6 below is 1 in bfloat16, and log1p(-1) = -inf
    lse_all = logits.logsumexp(1)
    lse_mm = logits.gather(1, mm).logsumexp(1)
    lse_single = logits.gather(1, single).logsumexp(1)
    # log(sum_all - sum_mm) = lse_all + log(1 - e^(lse_mm - lse_all)), kept finite
    lse_rest = lse_all + torch.log1p(-torch.exp(lse_mm - lse_all).clamp(max=1 - 1e-6))
    return kept_mean((lse_all - lse_mm) + (lse_rest - lse_single), keep)


# -- the model ---------------------------------------------------------------------------------
class DAMRS(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        item_graphs: dict[str, SparseOperator],
        config: DAMRSConfig = DAMRSConfig(),
    ):
        """`item_graphs`: the normalised denoised kNN graph of every modality plus the
        normalised co-occurrence graph, by view name."""
        super().__init__()
        if not item_graphs:
            raise ValueError("DA-MRS needs at least one item-item graph")
        d = config.embedding_dim
        self.n_users, self.n_items, self.config = n_users, n_items, config
        self.ui_adjacency, self.item_graphs = ui_adjacency, item_graphs
        self.views = sorted(item_graphs)
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """LightGCN users and items, and every item-graph view of the layer-0 item embedding."""
        e = torch.cat([self.user_embedding, self.item_embedding])
        users, items = split_users_items(lightgcn(self.ui_adjacency, e, self.config.ui_layers), self.n_users)
        views = {v: last_layer(self.item_graphs[v], self.item_embedding, self.config.ii_layers) for v in self.views}
        return users, items, views

    @staticmethod
    def _content(views: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack(list(views.values())).mean(0)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        users, items, views = self.forward()
        return users, items + self._content(views)

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        c = self.config
        u, i_id, views = self.forward()
        content = self._content(views)
        items = i_id + content
        ub = u[users]
        pos_scores, neg_scores = (ub * items[pos]).sum(1), (ub * items[neg]).sum(1)
        terms = {}
        if c.denoised_bpr:
            # p_v(u, i) = sigmoid(u . normalize(h_v[i])), one row per view
            p_pos = torch.stack([torch.sigmoid((ub * F.normalize(h[pos], dim=1)).sum(1)) for h in views.values()])
            p_neg = torch.stack([torch.sigmoid((ub * F.normalize(h[neg], dim=1)).sum(1)) for h in views.values()])
            w_pos, w_neg = feedback_weights(p_pos, p_neg)
            terms["bpr"] = denoised_bpr_loss(pos_scores, neg_scores, w_pos, w_neg)
        else:
            terms["bpr"] = bpr_loss(pos_scores, neg_scores)
        total = terms["bpr"]

        # the batch's distinct users and items (losses.unique_rows: no host sync on a GPU)
        (bu, keep_u), (bi, keep_i) = unique_rows(users), unique_rows(torch.cat([pos, neg]))
        if c.kl_weight:
            # L_AU: symmetric KL of the user's preference over the batch items, ID vs content
            logit_id = u[bu] @ F.normalize(i_id[bi], dim=1).T
            logit_content = u[bu] @ F.normalize(content[bi], dim=1).T
            terms["au"] = kept_mean(symmetric_bernoulli_kl(logit_id, logit_content), keep_u, keep_i)
            total = total + c.kl_weight * terms["au"]
        k = min(c.n_positives, self.n_items // 2)
        if c.neighbor_weight and k > 0:
            terms["ai"] = self._item_alignment(views, bi, k, keep_i)
            total = total + c.neighbor_weight * terms["ai"]
        if c.reg_weight:
            terms["reg"] = l2_penalty(self.user_embedding[users], self.item_embedding[pos], self.item_embedding[neg])
            total = total + c.reg_weight * terms["reg"]
        return {**terms, "loss": total}

    def _item_alignment(self, views: dict[str, torch.Tensor], rows: torch.Tensor, k: int,
                        keep: torch.Tensor | None = None) -> torch.Tensor:
        """L_AI over the batch items `rows` (those `keep` marks), averaged over views; memory is
        rows x n_items."""
        normed = {v: F.normalize(h, dim=1) for v, h in views.items()}
        cos = {v: normed[v][rows] @ normed[v].T for v in self.views}
        with torch.no_grad():
            probs = [torch.softmax(cos[v].detach(), dim=1) for v in self.views]
            summed = sum(probs)
        loss = 0.0
        for own, v in enumerate(self.views):
            mm, single = pseudo_positives(probs, own, k, summed)
            loss = loss + graded_infonce(cos[v] / self.config.temperature, mm, single, keep)
        return loss / len(self.views)


def build(inputs: ModelInputs, config: DAMRSConfig, device: torch.device) -> DAMRS:
    require_modalities("damrs", inputs.features)
    graphs = {m: normalize_square(binary(g)) for m, g in inputs.consistent_knn_graphs(config.knn_k).items()}
    if COOCCURRENCE_VIEW in graphs:
        raise ValueError(f"a modality may not be called {COOCCURRENCE_VIEW!r}")
    graphs[COOCCURRENCE_VIEW] = session_graph(inputs, config.cooc_k)
    return DAMRS(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(inputs.ui_adjacency, device),
        item_graphs={v: SparseOperator(g, device) for v, g in graphs.items()},
        config=config,
    ).to(device)
