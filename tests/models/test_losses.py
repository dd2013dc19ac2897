import math

import pytest
import torch

from siger_kedro.models.losses import anchor_info_nce, bpr_loss, info_nce, l2_penalty


def test_bpr_loss_is_mean_negative_log_sigmoid_of_margin():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 0.0])
    # -log sigmoid(2) = log(1 + e^-2); -log sigmoid(0) = log 2
    expected = (math.log(1 + math.exp(-2)) + math.log(2)) / 2
    assert math.isclose(bpr_loss(pos, neg).item(), expected, rel_tol=1e-6)


def test_l2_penalty_is_sum_of_squares_per_triple():
    u, p, n = torch.tensor([[1.0, 2.0], [0.0, 1.0]]), torch.ones(2, 2), torch.zeros(2, 2)
    # (1 + 4 + 0 + 1) + (4 * 1) + 0 = 10, over 2 triples
    assert l2_penalty(u, p, n).item() == 5.0


def test_emb_loss_is_mmrecs_unsquared_norms_over_the_last_tensors_rows():
    from siger_kedro.models.losses import emb_loss

    u = torch.tensor([[3.0, 4.0], [0.0, 0.0]])  # norm 5
    i = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # norm sqrt 2, 3 rows
    assert emb_loss(u, i).item() == pytest.approx((5 + 2 ** 0.5) / 3)
    assert emb_loss(u).item() == pytest.approx(5 / 2)


def test_half_l2_is_half_the_squares_over_the_batch():
    from siger_kedro.models.losses import half_l2

    u = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    i = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert half_l2(u, i, batch_size=4).item() == pytest.approx((25 + 2) / 2 / 4)


def test_info_nce_hand_computed():
    # a = b = e1, e2 (orthogonal unit rows): cos matrix is the identity.
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # scale does not matter: cosine
    b = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    t = 0.5
    # each row: -log(e^{1/t} / (e^{1/t} + e^{0}))
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert math.isclose(info_nce(a, b, t).item(), expected, rel_tol=1e-6)


def test_anchor_info_nce_hand_computed():
    # Item 0: a0 = (1,0), b0 = (0,1), anchor (1,1)/√2 -> s(a0,id)=s(b0,id)=1/√2.
    # Item 1: a1 = (0,1), b1 = (1,0), anchor (1,0)   -> s(a1,id)=0, s(b1,id)=1.
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    anchor = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    t = 0.2
    # positives: exp((s_a + s_b) / 2t); negative of i: exp(s(a_i, b_j)/t), j != i
    pos0 = math.exp((2 / math.sqrt(2)) / (2 * t))
    neg0 = math.exp(1.0 / t)  # s(a0, b1) = cos((1,0),(1,0)) = 1
    pos1 = math.exp(1.0 / (2 * t))
    neg1 = math.exp(1.0 / t)  # s(a1, b0) = 1
    expected = (-math.log(pos0 / (pos0 + neg0)) - math.log(pos1 / (pos1 + neg1))) / 2
    assert math.isclose(anchor_info_nce(a, b, anchor, t).item(), expected, rel_tol=1e-5)


def test_anchor_info_nce_differs_from_plain_and_has_gradients():
    torch.manual_seed(0)
    a, b, anchor = (torch.randn(6, 4, requires_grad=True) for _ in range(3))
    loss = anchor_info_nce(a, b, anchor, 0.2)
    assert not torch.isclose(loss, info_nce(a, b, 0.2))
    loss.backward()
    assert anchor.grad is not None and anchor.grad.abs().sum() > 0


def _reference_info_nce(a, b, t, anchor=None):
    """The textbook form through autograd's cross_entropy, to check the fused loss against."""
    import torch.nn.functional as F
    a_n, b_n = F.normalize(a, dim=1), F.normalize(b, dim=1)
    logits = a_n @ b_n.T / t
    if anchor is not None:
        anchor_n = F.normalize(anchor, dim=1)
        logits = torch.diagonal_scatter(logits, ((a_n * anchor_n).sum(1) + (b_n * anchor_n).sum(1)) / (2 * t))
    return torch.nn.functional.cross_entropy(logits, torch.arange(a.shape[0]))


def test_fused_info_nce_values_and_gradients_match_autograd_cross_entropy():
    torch.manual_seed(0)
    for with_anchor in (False, True):
        inputs = [torch.randn(40, 8, dtype=torch.float64, requires_grad=True) for _ in range(3)]
        a, b, anchor = inputs
        fused = anchor_info_nce(a, b, anchor, 0.1) if with_anchor else info_nce(a, b, 0.1)
        reference = _reference_info_nce(a, b, 0.1, anchor if with_anchor else None)
        assert torch.allclose(fused, reference, atol=1e-12)
        grads = torch.autograd.grad(3.0 * fused, inputs, allow_unused=True)
        expected = torch.autograd.grad(3.0 * reference, inputs, allow_unused=True)
        for g, e in zip(grads, expected):
            assert (g is None and e is None) or torch.allclose(g, e, atol=1e-12)
    assert expected[2] is not None  # the anchor receives a gradient


def test_fused_info_nce_does_not_overflow_at_a_tiny_temperature():
    a = torch.randn(30, 4)
    assert torch.isfinite(info_nce(a, a.flip(0), 1e-3))


def test_squared_norms_of_rows_equals_the_gathered_sum_and_its_gradient():
    from siger_kedro.models.losses import squared_norms_of_rows
    torch.manual_seed(0)
    table = torch.randn(7, 3, requires_grad=True)
    rows = torch.tensor([0, 2, 2, 6, 0, 0])
    got = squared_norms_of_rows(table, rows)
    expected = table[rows].pow(2).sum()
    assert torch.allclose(got, expected)
    (g,) = torch.autograd.grad(got, table)
    (e,) = torch.autograd.grad(expected, table)
    assert torch.allclose(g, e)


def test_batch_bpr_loss_scores_each_triple_once():
    from siger_kedro.models.losses import batch_bpr_loss
    torch.manual_seed(0)
    users_e, items_e = torch.randn(4, 3), torch.randn(5, 3)
    users, pos, neg = torch.tensor([0, 3, 3]), torch.tensor([1, 2, 4]), torch.tensor([0, 0, 1])
    u = users_e[users]
    expected = bpr_loss((u * items_e[pos]).sum(1), (u * items_e[neg]).sum(1))
    assert torch.allclose(batch_bpr_loss(users_e, items_e, users, pos, neg), expected)


def test_first_occurrences_marks_each_ids_first_position():
    from siger_kedro.models.losses import first_occurrences

    assert first_occurrences(torch.tensor([3, 1, 3, 0, 1, 1])).tolist() == [True, True, False, True, False, False]


def test_info_nce_over_kept_rows_equals_the_loss_over_unique_rows_with_gradients():
    from siger_kedro.models.losses import first_occurrences

    torch.manual_seed(0)
    ids = torch.tensor([4, 0, 4, 2, 0, 1])
    table_a, table_b, anchor = (torch.randn(5, 3, requires_grad=True) for _ in range(3))
    keep = first_occurrences(ids)
    unique = torch.unique(ids)
    for loss in (lambda rows, keep: info_nce(table_a[rows], table_b[rows], 0.2, keep),
                 lambda rows, keep: anchor_info_nce(table_a[rows], table_b[rows], anchor[rows], 0.2, keep)):
        masked = loss(ids, keep)
        grads = torch.autograd.grad(masked, [table_a, table_b, anchor], allow_unused=True)
        reference = loss(unique, None)
        expected = torch.autograd.grad(reference, [table_a, table_b, anchor], allow_unused=True)
        assert torch.allclose(masked, reference, atol=1e-6)
        for g, e in zip(grads, expected):
            assert (g is None and e is None) or torch.allclose(g, e, atol=1e-6)


def test_kept_mean_averages_the_kept_rows_and_columns_only():
    from siger_kedro.models.losses import kept_mean

    x = torch.arange(12.0).view(3, 4)
    assert kept_mean(x).item() == pytest.approx(5.5)
    rows, cols = torch.tensor([True, False, True]), torch.tensor([False, True, True, False])
    assert kept_mean(x, rows).item() == pytest.approx((0 + 1 + 2 + 3 + 8 + 9 + 10 + 11) / 8)
    assert kept_mean(x, rows, cols).item() == pytest.approx((1 + 2 + 9 + 10) / 4)
    assert kept_mean(x, None, cols).item() == pytest.approx((1 + 2 + 5 + 6 + 9 + 10) / 6)


def test_projected_rows_gives_the_projection_of_the_rows_in_either_form():
    from siger_kedro.models.base import projected_rows

    torch.manual_seed(0)
    table, proj = torch.rand(5, 3, requires_grad=True), torch.nn.Linear(3, 2)
    for rows in (torch.tensor([4, 0, 4]), torch.tensor([4, 0, 4, 1, 1, 2])):  # fewer rows than the table, more
        got = projected_rows(proj, table, rows)
        expected = proj(table)[rows]
        assert torch.allclose(got, expected)
        weights = torch.rand_like(got)
        (grad_got,) = torch.autograd.grad((got * weights).sum(), table)
        (grad_expected,) = torch.autograd.grad((expected * weights).sum(), table)
        assert torch.allclose(grad_got, grad_expected, atol=1e-6)
