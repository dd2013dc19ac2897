"""The losses every model shares: BPR, InfoNCE (plain and behaviour-anchored), L2."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigmoid(pos - neg); softplus is the numerically stable form."""
    return F.softplus(neg_scores - pos_scores).mean()


def batch_bpr_loss(user_table: torch.Tensor, item_table: torch.Tensor, users: torch.Tensor,
                   pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """bpr_loss of the batch's triples, reading the rows with two gathers and scoring positives
    and negatives as one (2, batch) product: separate gathers each scatter back into the whole
    table, and chunks of one gather are concatenated again in the backward."""
    return rows_bpr_loss(user_table.index_select(0, users), item_table.index_select(0, torch.cat([pos, neg])))


def rows_bpr_loss(user_rows: torch.Tensor, item_rows: torch.Tensor) -> torch.Tensor:
    """bpr_loss of a batch given its users' rows (B, d) and its positives' rows followed by its
    negatives' rows (2B, d)."""
    scores = (user_rows * item_rows.view(2, *user_rows.shape)).sum(2)
    return bpr_loss(scores[0], scores[1])


# The L2 regularisers of the reference implementations. Each model uses its reference's form,
# so that a reg_weight copied from a paper or from MMRec's configs weighs the same here.
def l2_penalty(*embeddings: torch.Tensor) -> torch.Tensor:
    """Sum of squared entries of the batch's layer-0 embeddings, per training triple (SIGER's
    ‖E⁰_batch‖², DA-MRS)."""
    return sum(e.pow(2).sum() for e in embeddings) / embeddings[0].shape[0]


def emb_loss(*embeddings: torch.Tensor) -> torch.Tensor:
    """MMRec's `EmbLoss`: the sum of each tensor's Frobenius norm (not squared), divided by
    the row count of the last one (LightGCN, VBPR, LGMRec on batch rows; BM3 on whole tables,
    so over n_items)."""
    return sum(torch.linalg.vector_norm(e) for e in embeddings) / embeddings[-1].shape[0]


def half_l2(*embeddings: torch.Tensor, batch_size: int) -> torch.Tensor:
    """½ Σ‖e‖² / batch_size: LATTICE's and MGCN's regulariser on the batch rows, and MIG-GT's
    on all final embeddings (its authors sum the batch's BPR, so per triple it is this)."""
    return sum(e.pow(2).sum() for e in embeddings) / (2 * batch_size)


def squared_norms_of_rows(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(table[rows] ** 2).sum() without the gather: each row's squared norm times how often
    `rows` names it. One pass over the table instead of a gather and its scatter back (10% of a
    LightGCN epoch on ML-100k); the propagation reads the whole table anyway, so this pass
    never costs more than a fraction of it."""
    # index_add_, not bincount: on CUDA bincount reads the largest index back to the host
    counts = table.new_zeros(table.shape[0]).index_add_(0, rows, table.new_ones(rows.shape[0]))
    return (table.square().sum(1) * counts).sum()


def first_occurrences(ids: torch.Tensor) -> torch.Tensor:
    """True at the first position of each distinct id in `ids`: the rows a loss over a batch's
    unique ids keeps. torch.unique would have to read its output size back to the host, one
    device synchronisation per call; a stable sort and a comparison do not."""
    sorted_ids, order = torch.sort(ids, stable=True)
    first = torch.ones_like(sorted_ids, dtype=torch.bool)
    first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    return torch.empty_like(first).scatter_(0, order, first)


def unique_rows(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(rows, keep) for a loss over a batch's distinct ids. On the CPU, torch.unique: the
    smallest matrices. On a GPU, where torch.unique reads its output size back to the host
    every batch, every row with `keep` = first_occurrences: the same loss at the batch's
    fixed size, more arithmetic (2,048² instead of ~700² on MovieLens-100k) but no wait."""
    if ids.device.type == "cpu":
        return torch.unique(ids), None
    return ids, first_occurrences(ids)


def kept_mean(values: torch.Tensor, *keeps: torch.Tensor | None) -> torch.Tensor:
    """Mean of `values` over the entries whose index along dimension d is kept by keeps[d]
    (`unique_rows`' masks; None keeps the whole dimension): the mean over a batch's distinct
    rows computed at the batch's fixed size."""
    weight = None
    for dim, keep in enumerate(keeps):
        if keep is not None:
            shape = [1] * values.dim()
            shape[dim] = -1
            mask = keep.view(shape).to(values.dtype)
            weight = mask if weight is None else weight * mask
    if weight is None:
        return values.mean()
    weight = weight.expand_as(values)
    return (values * weight).sum() / weight.sum()


class _BatchInfoNCE(torch.autograd.Function):
    """Mean over rows i of logsumexp_j(a_i . b_j) - a_i . b_i, where the diagonal logits may be
    given instead (`positive`, Eq 14). With `keep` (bool per row), only the kept rows count
    and only the kept columns are negatives: the loss over the unique rows of a batch whose
    duplicates are not kept, at the batch's fixed size. One n x n buffer is exponentiated in
    place, kept, and turned into the gradient in place: autograd's cross_entropy makes four
    n x n passes more (log-softmax, its backward, the diagonal gather/scatter), a third of the
    loss's time."""

    @staticmethod
    def forward(ctx, a, b, positive, keep):
        s = a @ b.T
        a, b = a.to(s.dtype), b.to(s.dtype)  # under autocast s is bfloat16: so is the backward
        ctx.replaced = positive is not None
        if not ctx.replaced:
            positive = s.diagonal().clone()
        if keep is not None:
            s.masked_fill_(~keep.unsqueeze(0), float("-inf"))  # a dropped column is no negative
        if ctx.replaced:
            s.diagonal().copy_(positive)
        shift = s.amax(1, keepdim=True)  # exp never overflows
        z = s.sub_(shift).exp_().sum(1, keepdim=True)
        losses = z.log() + shift - positive.unsqueeze(1)
        if keep is None:
            weights = None
            loss = losses.mean()
        else:
            weights = keep.to(a.dtype).unsqueeze(1)
            weights = weights / weights.sum()
            loss = (losses * weights).sum()
        ctx.save_for_backward(a, b, s, z, weights)
        return loss

    @staticmethod
    def backward(ctx, grad):
        a, b, p, z, weights = ctx.saved_tensors
        scale = grad / a.shape[0] if weights is None else grad * weights  # each row's weight in the mean
        p.mul_(scale / z)  # softmax, times the mean's weight
        diagonal = p.diagonal()
        diagonal.sub_(scale.squeeze(1) if weights is not None else scale)
        grad_positive = None
        if ctx.replaced:  # the diagonal logits are the positive's, not a_i . b_i
            grad_positive = diagonal.clone()
            diagonal.zero_()
        return p @ b, p.T @ a, grad_positive, None


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float, keep: torch.Tensor | None = None,
             cosine: bool = True) -> torch.Tensor:
    """Mean over rows i of -log( exp(s(a_i,b_i)/t) / sum_j exp(s(a_i,b_j)/t) ), s = cosine, or
    the plain dot product with `cosine=False` (SLMRec's FAC task in its reference code); with
    `keep`, over the kept rows, the kept columns as negatives (`first_occurrences`)."""
    if cosine:
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    # the temperature scales the n x d factor, not the n x n product: one pass fewer over n²
    return _BatchInfoNCE.apply(a / temperature, b, None, keep)


def anchor_info_nce(
    a: torch.Tensor, b: torch.Tensor, anchor: torch.Tensor, temperature: float, keep: torch.Tensor | None = None
) -> torch.Tensor:
    """SIGER Eq 14: InfoNCE between two semantic views whose positive pair is replaced by
    the mean of each view's similarity to the behaviour anchor:
    positive exp((s(a_i, id_i) + s(b_i, id_i)) / 2t), negatives exp(s(a_i, b_j)/t), j != i;
    `keep` as in `info_nce`.
    """
    a_n, b_n, anchor_n = (F.normalize(x, dim=1) for x in (a, b, anchor))
    positive = ((a_n * anchor_n).sum(1) + (b_n * anchor_n).sum(1)) / (2 * temperature)
    return _BatchInfoNCE.apply(a_n / temperature, b_n, positive, keep)
