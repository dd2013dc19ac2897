"""SIGER (Semantic Item Graph Enhancement for multimodal Recommendation); equation by equation in docs/siger.md.

Every component can be switched off so that the paper's ablations are runs of this code:
/EISG is graphs.beta = 0 (the graphs are inputs), /MP is `use_mp=False`, MP* is
`modulus_weighting=False`, /DA is `use_da=False`, DA* is `anchor_infonce=False`, and the
single-modality variants pass one feature matrix.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import torch
import torch.nn.functional as F
from torch import nn

from .base import ModelInputs, check_choices, embedding_table, split_users_items
from .losses import anchor_info_nce, batch_bpr_loss, info_nce, squared_norms_of_rows, unique_rows
from .propagation import last_layer, lightgcn
from .sparse import SparseOperator


@dataclass(frozen=True)
class SigerConfig:
    embedding_dim: int = 64
    ui_layers: int = 3  # L_ui, Eq 1
    ii_layers: int = 2  # L_ii, Eq 10
    use_mp: bool = True  # modulus-based perturbation, Eq 12-13
    modulus_weighting: bool = True  # False = SIGER-MP* (w = 1)
    epsilon: float = 0.05
    tau_p: float = 0.2  # tau_0
    use_da: bool = True  # dual representation alignment, Eq 14-16
    anchor_infonce: bool = True  # False = SIGER-DA* (plain InfoNCE between semantic views)
    tau_mm: float = 0.2  # tau_1
    tau_bm: float = 0.2  # tau_2
    lambda_p: float = 0.005  # the paper gives only a grid; chosen on ML-100k validation (README)
    lambda_a: float = 0.005
    lambda_r: float = 1e-5
    # Not in the paper (0 = off, the paper): over the first N epochs the weights of the
    # contrastive terms rise linearly from 0 to lambda_p and lambda_a, so that BPR shapes the
    # ID embeddings before the contrastive gradients, hundreds of times larger at
    # initialisation, reach them (README, "SIGER on MovieLens-100k").
    aux_warmup_epochs: int = 0
    # Readings the paper leaves open (docs/siger.md), each a choice to make on validation; the
    # defaults are the readings this code has always taken.
    weight_gradient: bool = True  # Eq 12: W_p carries gradient; False: a constant per step
    reg_target: str = "layer0"  # Eq 19's L2 on the layer-0 ID rows, or "final": on E (Eq 17)
    contrastive_nodes: str = "batch"  # Eq 13, 14, 16 over the batch's unique nodes, or "all"
    da_view_order: str = "name"  # Eq 14's "v": the first modality of a pair by name, or "reversed"

    def __post_init__(self):
        check_choices("siger", self, {"reg_target": ("layer0", "final"), "contrastive_nodes": ("batch", "all"),
                                      "da_view_order": ("name", "reversed")})


@dataclass
class Representations:
    """Everything one forward pass computes; a batch's losses index into it."""

    item_input: dict[str, torch.Tensor]  # Ē_m, the semantic input (Eq 8)
    user_id: torch.Tensor  # Ê_id, users (Eq 2)
    item_id: torch.Tensor  # Ê_id, items
    user_sem: dict[str, torch.Tensor]  # Ẽ_u,m (Eq 11)
    item_sem: dict[str, torch.Tensor]  # Ẽ_i,m (Eq 10)
    user_fused: torch.Tensor  # E_mf, users (Eq 15)
    item_fused: torch.Tensor

    @property
    def user(self) -> torch.Tensor:  # Eq 17
        return self.user_id + self.user_fused

    @property
    def item(self) -> torch.Tensor:
        return self.item_id + self.item_fused


def perturb(e: torch.Tensor, epsilon: float, modulus_weighting: bool, weight_gradient: bool = True) -> torch.Tensor:
    """Eq 12: E + eps * w ⊙ shuffle_rows(normalize(E + eps * w ⊙ sign(E) ⊙ normalize(U(0,1)))).
    With modulus weighting, items with small embeddings get proportionally small noise;
    without it (SIGER-MP*), w = 1. `weight_gradient=False` treats w as a constant."""
    with torch.no_grad():  # the noise direction carries no gradient
        step = F.normalize(torch.rand_like(e), dim=1).mul_(torch.sign(e)).mul_(epsilon)
    perm = torch.randperm(e.shape[0], device=e.device)
    if modulus_weighting and weight_gradient:
        return _WeightedPerturbation.apply(e, step, perm, epsilon)
    if modulus_weighting:
        with torch.no_grad():
            norms = torch.linalg.vector_norm(e, dim=1, keepdim=True)
            w = norms / norms.max().clamp_min(1e-12)
        return e + epsilon * w * F.normalize(e + w * step, dim=1).index_select(0, perm)
    return e + epsilon * F.normalize(e + step, dim=1).index_select(0, perm)


class _WeightedPerturbation(torch.autograd.Function):
    """Eq 12 with modulus weights, given its random draws (`step` = eps * sign(E) ⊙
    normalize(U) and the row permutation), with its gradient written out, including the paths
    through w (the row norms and their maximum). Autograd's chain of ~30 row-wise nodes made
    the eight perturbations of a batch a third of SIGER's loss; this takes a fifth less.
    Checked against autograd in the tests."""

    @staticmethod
    def forward(ctx, e, step, perm, epsilon):
        norms = torch.linalg.vector_norm(e, dim=1, keepdim=True)
        top = norms.max().clamp_min(1e-12)
        w = norms / top  # Eq 12's modulus weights: each row's norm over the largest
        e_dot = torch.addcmul(e, w, step)
        length = torch.linalg.vector_norm(e_dot, dim=1, keepdim=True).clamp_min(1e-12)  # F.normalize's
        unit = e_dot.div_(length)
        shuffled = unit.index_select(0, perm)
        ctx.save_for_backward(e, step, perm, norms, top, w, length, unit, shuffled)
        ctx.epsilon = epsilon
        return torch.addcmul(e, w, shuffled, value=epsilon)

    @staticmethod
    def backward(ctx, grad):
        e, step, perm, norms, top, w, length, unit, shuffled = ctx.saved_tensors
        # out = e + eps * w ⊙ unit[perm]; unit = e_dot / |e_dot|; e_dot = e + w ⊙ step; w = |e| / max|e|
        grad_unit = torch.empty_like(grad).index_copy_(0, perm, grad * (w * ctx.epsilon))
        grad_e_dot = (grad_unit - unit * (unit * grad_unit).sum(1, keepdim=True)).div_(length)
        grad_w = (grad_e_dot * step).sum(1, keepdim=True).add_((grad * shuffled).sum(1, keepdim=True),
                                                              alpha=ctx.epsilon)
        grad_norms = grad_w / top
        grad_norms.view(-1)[norms.argmax()] -= (grad_w * norms).sum() / top**2  # the maximum's row
        return grad.add(grad_e_dot).addcmul_(grad_norms / norms.clamp_min(1e-30), e), None, None, None


class Siger(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        user_item: SparseOperator,
        item_graphs: dict[str, SparseOperator],
        features: dict[str, torch.Tensor],
        config: SigerConfig = SigerConfig(),
    ):
        """`ui_adjacency` is the normalised (U+I)² matrix of Eq 1, `user_item` the normalised
        U×I matrix of Eq 11, `item_graphs[m]` the EISG S̄_m of Eq 7 and `features[m]` the raw
        item features of modality m (rows = items)."""
        super().__init__()
        if set(item_graphs) != set(features):
            raise ValueError(
                f"item graphs {sorted(item_graphs)} and features {sorted(features)} "
                "must cover the same modalities"
            )
        d = config.embedding_dim
        self.n_users, self.n_items, self.config = n_users, n_items, config
        self.modalities = sorted(features)
        self.ui_adjacency, self.user_item, self.item_graphs = ui_adjacency, user_item, item_graphs
        self.features = features
        self.aux_scale = 1.0  # the contrastive weights' share this epoch (aux_warmup_epochs)
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)
        # Eq 9: f_m(x) = sigmoid(W''(W' x + b') + b''), two affine maps with no activation between
        self.gates = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(x.shape[1], d), nn.Linear(d, d)) for m, x in features.items()}
        )

    # -- views -------------------------------------------------------------------------------
    def behaviour(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq 1-2: LightGCN on the user-item graph, mean over layers 0..L."""
        e = torch.cat([self.user_embedding, self.item_embedding])
        return split_users_items(lightgcn(self.ui_adjacency, e, self.config.ui_layers), self.n_users)

    def semantic_input(self, m: str) -> torch.Tensor:
        """Eq 8: the layer-0 item ID embedding gated by the modality features."""
        return self.item_embedding * torch.sigmoid(self.gates[m](self.features[m]))

    def propagate(self, m: str, e: torch.Tensor, perturbed: bool = False) -> torch.Tensor:
        """Eq 10 (and Eq 12 when perturbed): L_ii layers on S̄_m, the last layer returned."""
        if not perturbed:
            return last_layer(self.item_graphs[m], e, self.config.ii_layers)
        for _ in range(self.config.ii_layers):
            e = perturb(self.item_graphs[m] @ e, self.config.epsilon, self.config.modulus_weighting,
                        self.config.weight_gradient)
        return e

    def forward(self) -> Representations:
        user_id, item_id = self.behaviour()
        item_input = {m: self.semantic_input(m) for m in self.modalities}
        item_sem = {m: self.propagate(m, item_input[m]) for m in self.modalities}
        user_sem = {m: self.user_item @ item_sem[m] for m in self.modalities}  # Eq 11
        if self.modalities:
            user_fused = torch.stack(list(user_sem.values())).mean(0)
            item_fused = torch.stack(list(item_sem.values())).mean(0)
        else:  # no modality: SIGER reduces to LightGCN
            user_fused, item_fused = torch.zeros_like(user_id), torch.zeros_like(item_id)
        return Representations(item_input, user_id, item_id, user_sem, item_sem, user_fused, item_fused)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final user and item representations (Eq 17) for ranking."""
        r = self.forward()
        return r.user, r.item

    # -- objective ---------------------------------------------------------------------------
    def start_epoch(self, epoch: int) -> None:
        """Epoch 1 trains BPR alone when warming up; epoch N + 1 on, the full weights."""
        warmup = self.config.aux_warmup_epochs
        self.aux_scale = min(1.0, (epoch - 1) / warmup) if warmup > 0 else 1.0

    def term_weights(self) -> dict[str, float]:
        """Each term's weight in Eq 19 this epoch, for the per-term gradient diagnostics."""
        c, scale = self.config, self.aux_scale
        return {"bpr": 1.0, "reg": c.lambda_r, "mp": scale * c.lambda_p, "mm": scale * c.lambda_a,
                "bm": scale * c.lambda_a}

    def loss(
        self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Eq 19 on a batch of (user, positive, negative) triples; returns each term and
        `loss`, the weighted total. Contrastive terms use the batch's unique users and
        positive items (`losses.unique_rows`: no host sync on a GPU), or every user and item
        (`contrastive_nodes: all`)."""
        c = self.config
        r = self.forward()
        user_rows, item_rows = (self.user_embedding, self.item_embedding) if c.reg_target == "layer0" else (r.user, r.item)
        terms = {
            "bpr": batch_bpr_loss(r.user, r.item, users, pos, neg),
            "reg": (squared_norms_of_rows(user_rows, users)  # l2_penalty, without gathers
                    + squared_norms_of_rows(item_rows, torch.cat([pos, neg]))) / len(users),
        }
        # below, index_select rather than x[idx]: its backward adds rows, x[idx]'s sorts them
        total = terms["bpr"] + c.lambda_r * terms["reg"]
        if not self.modalities:
            return {**terms, "loss": total}
        if c.contrastive_nodes == "batch":
            (bu, keep_u), (bi, keep_i) = unique_rows(users), unique_rows(pos)
        else:  # every user and item, each once
            bu, keep_u = torch.arange(self.n_users, device=users.device), None
            bi, keep_i = torch.arange(self.n_items, device=pos.device), None
        lambda_p, lambda_a = self.aux_scale * c.lambda_p, self.aux_scale * c.lambda_a
        if c.use_mp:
            terms["mp"] = sum(self._perturbation_loss(m, r.item_input[m], bi, keep_i) for m in self.modalities)
            total = total + lambda_p * terms["mp"]
        if c.use_da:
            terms["mm"] = self._semantic_alignment(r, bu, bi, keep_u, keep_i)
            terms["bm"] = info_nce(r.user_fused.index_select(0, bu), r.user_id.index_select(0, bu), c.tau_bm, keep_u) \
                + info_nce(r.item_fused.index_select(0, bi), r.item_id.index_select(0, bi), c.tau_bm, keep_i)  # Eq 16
            total = total + lambda_a * (terms["mm"] + terms["bm"])
        return {**terms, "loss": total}

    def _perturbation_loss(self, m: str, x: torch.Tensor, items: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Eq 13: InfoNCE between two independently perturbed propagations of Ē_m (`x`)."""
        v1, v2 = self.propagate(m, x, perturbed=True), self.propagate(m, x, perturbed=True)
        return info_nce(v1.index_select(0, items), v2.index_select(0, items), self.config.tau_p, keep)

    def _semantic_alignment(self, r: Representations, users, items, keep_u, keep_i) -> torch.Tensor:
        """Eq 14 (L_mm = L^U + L^I), averaged over modality pairs; 0 with one modality."""
        c = self.config
        pairs = list(combinations(self.modalities, 2))
        if c.da_view_order == "reversed":  # the second of each pair by name plays v
            pairs = [(b, a) for a, b in pairs]
        if not pairs:
            return torch.zeros((), device=r.user.device)
        total = 0.0
        for a, b in pairs:
            views = ((r.user_sem, r.user_id, users, keep_u), (r.item_sem, r.item_id, items, keep_i))
            for sem, anchor, rows, keep in views:
                view_a, view_b = sem[a].index_select(0, rows), sem[b].index_select(0, rows)
                if c.anchor_infonce:
                    total = total + anchor_info_nce(view_a, view_b, anchor.index_select(0, rows), c.tau_mm, keep)
                else:
                    total = total + info_nce(view_a, view_b, c.tau_mm, keep)
        return total / len(pairs)


def build(inputs: ModelInputs, config: SigerConfig, device: torch.device) -> Siger:
    """SIGER on `device` over every modality in `inputs` (none: LightGCN with SIGER's loss)."""
    return Siger(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(inputs.ui_adjacency, device),
        user_item=SparseOperator(inputs.user_item, device),
        item_graphs={m: SparseOperator(inputs.eisg[m], device) for m in inputs.modalities},
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
