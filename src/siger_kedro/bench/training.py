"""Training-epoch, propagation-floor and evaluation timings (measured figures: docs/scaling.md).

An epoch is split into the phases of `training.trainer.fit`'s batch loop. Its floor is the
sparse propagations no implementation of the model can avoid, forward and backward, timed with
plain `torch.sparse.mm` autograd and with `SparseOperator`; epoch / floor says how much the rest
(sampling, dense ops, losses, optimiser) costs on top.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ..graphs import (cooccurrence_graph, interaction_matrix, knn_graph, mix_graphs, normalize_bipartite,
                      normalize_square, ui_adjacency)
from ..metrics import Evaluator
from ..models.lightgcn import LightGCN, LightGCNConfig
from ..models.losses import info_nce
from ..models.siger import Siger, SigerConfig
from ..models.sparse import SparseOperator, to_torch_csr
from ..training.sampler import NegativeSampler
from ..training.trainer import adam, epoch_triples

BATCH_SIZE, EMBEDDING_DIM, BETA = 2048, 64, 0.3  # conf/base/parameters.yml
PHASES = ("sampling", "forward_losses", "backward", "optimizer_step")


class Clock:
    """perf_counter that first waits for queued CUDA work, so a phase is charged its own
    kernels; on the CPU work is synchronous and no wait is needed."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def __call__(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


def median_seconds(fn, repeats: int, clock: Clock) -> float:
    """Median over `repeats` calls after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


@dataclass
class TrainData:
    """A model's fixed inputs: training pairs on the device and the scipy graphs behind it."""

    n_users: int
    n_items: int
    users: torch.Tensor
    items: torch.Tensor
    adjacency: sp.csr_matrix  # normalised (U+I)², Eq 1
    user_item: sp.csr_matrix  # normalised U×I, Eq 11
    item_graphs: dict[str, sp.csr_matrix]  # EISG per modality, Eq 7
    features: dict[str, np.ndarray]

    @classmethod
    def build(cls, users, items, n_users, n_items, features=None, device="cpu") -> "TrainData":
        r = interaction_matrix(users, items, n_users, n_items)
        graphs = {}
        if features:
            c = normalize_square(cooccurrence_graph(users, items, n_users, n_items, k=5))
            graphs = {m: mix_graphs(c, normalize_square(knn_graph(x, k=10)), BETA)
                      for m, x in features.items()}
        # a copy: pandas hands out read-only arrays, which torch warns about
        as_long = lambda a: torch.as_tensor(np.array(a, dtype=np.int64), device=device)  # noqa: E731
        return cls(n_users, n_items, as_long(users), as_long(items), ui_adjacency(r),
                   normalize_bipartite(r), graphs, features or {})

    def model(self, device) -> LightGCN | Siger:
        """SIGER over these graphs; with no features, LightGCN (models/lightgcn.py)."""
        if not self.features:
            return LightGCN(self.n_users, self.n_items, SparseOperator(self.adjacency, device),
                            LightGCNConfig(embedding_dim=EMBEDDING_DIM, layers=3)).to(device)
        return Siger(
            self.n_users, self.n_items,
            SparseOperator(self.adjacency, device), SparseOperator(self.user_item, device),
            {m: SparseOperator(g, device) for m, g in self.item_graphs.items()},
            {m: torch.as_tensor(x, dtype=torch.float32, device=device) for m, x in self.features.items()},
            SigerConfig(embedding_dim=EMBEDDING_DIM),
        ).to(device)

    def propagation_plan(self, model: LightGCN | Siger) -> list[tuple[sp.csr_matrix, int]]:
        """(matrix, layers) chains one `loss` call must propagate through: the layers on the
        adjacency; for SIGER per modality also the semantic view, two perturbed views (MP)
        and the item-to-user product."""
        if isinstance(model, LightGCN):
            return [(self.adjacency, model.config.layers)]
        config = model.config
        plan = [(self.adjacency, config.ui_layers)]
        for g in self.item_graphs.values():
            plan += [(g, config.ii_layers)] * (3 if config.use_mp else 1) + [(self.user_item, 1)]
        return plan


def timed_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, clock: Clock, triple,
               phases: dict[str, float]) -> None:
    """One training step, its loss (forward), backward and optimiser times added to `phases`."""
    t1 = clock()
    loss = model.loss(*triple)["loss"]
    t2 = clock()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    t3 = clock()
    optimizer.step()
    t4 = clock()
    for name, dt in zip(PHASES[1:], (t2 - t1, t3 - t2, t4 - t3)):
        phases[name] += dt


def timed_epoch(model: torch.nn.Module, data: TrainData, device: torch.device, max_batches: int | None,
                warmup: bool = True) -> dict:
    """One epoch of `fit`'s batch loop (fused Adam, the epoch's triples sampled up front), each
    phase timed, after one untimed `warmup` batch. `max_batches` cuts the epoch short (tiny
    runs only)."""
    torch.manual_seed(0)
    optimizer = adam(model, 1e-3)
    sampler = NegativeSampler(data.users, data.items, data.n_users, data.n_items)
    clock = Clock(device)
    batches = list(torch.randperm(data.users.numel(), device=device).split(BATCH_SIZE))
    full = max_batches is None or max_batches >= len(batches)
    batches = batches if full else batches[:max_batches]

    def step(triple, phases):
        timed_step(model, optimizer, clock, triple, phases)

    if warmup:  # the first batch pays for the allocator and thread pool
        step(epoch_triples(data.users, data.items, sampler, batches[:1])[0], dict.fromkeys(PHASES, 0.0))
    phases = dict.fromkeys(PHASES, 0.0)
    start = clock()
    triples = epoch_triples(data.users, data.items, sampler, batches)
    phases["sampling"] = clock() - start
    for triple in triples:
        step(triple, phases)
    return {"seconds": clock() - start, "n_batches": len(batches), "full_epoch": full,
            "n_train": int(data.users.numel()), "phases": phases}


def _sparse_mm(matrix: sp.csr_matrix, device):
    a = to_torch_csr(matrix, device)
    return lambda x: torch.sparse.mm(a, x)  # autograd transposes `a` in every backward


# how the floor multiplies: plain torch autograd, and the project's operator
FLOOR_IMPLEMENTATIONS = {
    "torch_sparse_mm": _sparse_mm,
    "sparse_operator": lambda matrix, device: SparseOperator(matrix, device).__matmul__,
}


def propagation_floor(plan, n_batches: int, device: torch.device, repeats: int) -> dict:
    """Seconds for `n_batches` batches' worth of the plan's propagations, forward + backward,
    with each implementation (median batch × n_batches)."""
    clock = Clock(device)
    out = {}
    for name, make in FLOOR_IMPLEMENTATIONS.items():
        chains = [(make(m, device), layers,
                   torch.randn(m.shape[1], EMBEDDING_DIM, device=device, requires_grad=True),
                   torch.ones(m.shape[0], EMBEDDING_DIM, device=device)) for m, layers in plan]

        def batch():
            for mm, layers, x, grad in chains:
                x.grad = None
                y = x
                for _ in range(layers):
                    y = mm(y)
                y.backward(grad)

        per_batch = median_seconds(batch, repeats, clock)
        out[f"{name}_seconds"] = per_batch * n_batches
        out[f"{name}_batch_ms"] = per_batch * 1e3
    return out


def epoch_report(data: TrainData, device: torch.device, max_batches: int | None, warmup: bool,
                 repeats: int) -> tuple[dict, torch.nn.Module]:
    """Epoch phases, floor and epoch/floor ratios of the model over `data`, and the model.
    Epoch and floor are timed in alternation, `repeats` rounds, so that a slow spell of a
    shared machine slows both: the report is the median round's epoch, each floor's median and
    the median of the rounds' ratios."""
    torch.manual_seed(0)
    model = data.model(device)
    plan = data.propagation_plan(model)
    epochs, floors = [], []
    for round_ in range(repeats):
        epochs.append(timed_epoch(model, data, device, max_batches, warmup and round_ == 0))
        floors.append(propagation_floor(plan, epochs[-1]["n_batches"], device, repeats=3))
    epoch = sorted(epochs, key=lambda e: e["seconds"])[len(epochs) // 2]
    floor = {k: statistics.median(f[k] for f in floors) for k in floors[0]}
    ratios = {f"epoch_over_floor_{name}": statistics.median(
        e["seconds"] / f[f"{name}_seconds"] for e, f in zip(epochs, floors)) for name in FLOOR_IMPLEMENTATIONS}
    return {**epoch, "rounds": repeats, "floor": floor, **ratios}, model


def evaluation_report(model: torch.nn.Module, train: sp.csr_matrix, test: sp.csr_matrix, device: torch.device,
                      repeats: int) -> dict:
    """Evaluator.evaluate (metrics @5..50 over every user with a test item) against the bare
    work it cannot avoid: score those users against all items, mask training items, top-50."""
    clock = Clock(device)
    user_emb, item_emb = model.embeddings()
    evaluator = Evaluator(test.shape[1], device=device)
    start = clock()
    evaluator.evaluate(user_emb, item_emb, truth=test, exclude=[train])  # builds the cached task
    first = clock() - start
    task = evaluator.prepare(test, [train])
    cached = median_seconds(lambda: evaluator.evaluate(user_emb, item_emb, task=task), repeats, clock)

    users = torch.as_tensor(task.users, device=device)
    mask = train[task.users].tocoo()
    rows = torch.as_tensor(mask.row, dtype=torch.long, device=device)
    cols = torch.as_tensor(mask.col, dtype=torch.long, device=device)
    k = min(max(evaluator.ks), test.shape[1])

    def bare():
        scores = user_emb[users] @ item_emb.T
        scores[rows, cols] = float("-inf")
        return torch.topk(scores, k, dim=1)

    bare_seconds = median_seconds(bare, repeats, clock)
    return {"n_users": len(task.users), "n_items": test.shape[1], "k": k,
            "evaluate_first_seconds": first, "evaluate_seconds": cached, "bare_topk_seconds": bare_seconds,
            "evaluate_over_bare": cached / bare_seconds}


def siger_breakdown(model: Siger, data: TrainData, device: torch.device, repeats: int) -> dict:
    """Milliseconds, forward + backward, of the parts of one SIGER batch: where the time above
    the floor goes. Each part is timed alone, on one random batch of 2,048 training pairs."""
    clock = Clock(device)
    idx = torch.randperm(data.users.numel(), device=device)[:BATCH_SIZE]
    users, pos = data.users[idx], data.items[idx]
    neg = NegativeSampler(data.users, data.items, data.n_users, data.n_items).sample(users)
    unique_users, unique_items = torch.unique(users), torch.unique(pos)
    inputs = {m: model.semantic_input(m).detach().requires_grad_() for m in model.modalities}
    d = model.config.embedding_dim
    a, b = (torch.randn(len(unique_items), d, device=device, requires_grad=True) for _ in range(2))
    parts = {
        "behaviour_propagation (Eq 1-2)": lambda: sum(e.sum() for e in model.behaviour()),
        "semantic_inputs (Eq 8-9)": lambda: sum(model.semantic_input(m).sum() for m in model.modalities),
        "item_graph_propagations (Eq 10)": lambda: sum(model.propagate(m, x).sum() for m, x in inputs.items()),
        "perturbed_propagations (Eq 12, 2 per modality)": lambda: sum(
            model.propagate(m, x, perturbed=True).sum() for m, x in inputs.items() for _ in range(2)),
        "one_info_nce_over_unique_items": lambda: info_nce(a, b, model.config.tau_p),
        "whole_loss": lambda: model.loss(users, pos, neg)["loss"],
    }

    def run(part):
        model.zero_grad(set_to_none=True)
        part().backward()

    out = {name: median_seconds(lambda: run(part), repeats, clock) * 1e3 for name, part in parts.items()}
    out.update({"unique_users": int(unique_users.numel()), "unique_items": int(unique_items.numel()),
                "info_nce_terms": _info_nce_terms(model)})
    return out


def _info_nce_terms(model: Siger) -> int:
    """InfoNCE terms in one SIGER loss: Eq 13 per modality, Eq 14 users + items per modality
    pair, Eq 16 users + items."""
    c, k = model.config, len(model.modalities)
    return (k if c.use_mp else 0) + ((k * (k - 1) + 2) if c.use_da else 0)
