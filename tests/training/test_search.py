"""The Optuna search: grid and budgeted TPE, defaults first, pruning, and resume after an interruption."""
from __future__ import annotations

import optuna
import pytest

from siger_kedro.training.search import BehindBestPruner, Pruning, run_search, search_size, search_space

DEFAULTS = {"layers": 3, "reg": 1e-4, "dim": 64}
GRID = {"layers": [2, 3, 4], "reg": [1e-4, 1e-3]}


def _storage(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'search.db'}"


def _score(hyper: dict) -> float:
    return hyper["layers"] / 10 + (0.05 if hyper["reg"] == 1e-3 else 0.0)


def _evaluate(calls: list):
    def evaluate(hyper, report, number):
        calls.append(dict(hyper))
        return _score(hyper), {"valid_recall@20": _score(hyper)}
    return evaluate


def test_search_space_adds_an_off_grid_default_and_rejects_bad_grids():
    assert search_space(DEFAULTS, GRID) == GRID
    assert search_space({**DEFAULTS, "layers": 5}, GRID)["layers"] == [5, 2, 3, 4]
    assert search_size({**DEFAULTS, "layers": 5}, GRID) == 8
    with pytest.raises(ValueError, match="grid entry 'reg' must be a non-empty list"):
        search_space(DEFAULTS, {"reg": []})
    with pytest.raises(ValueError, match="grid entry 'depth' is not a hyper-parameter"):
        search_space(DEFAULTS, {"depth": [1]})


def test_whole_grid_tries_every_setting_once_defaults_first_and_keeps_the_best(tmp_path):
    calls = []
    found = run_search(DEFAULTS, GRID, _evaluate(calls), _storage(tmp_path), "m")
    assert calls[0] == DEFAULTS
    settings = {(t["hyperparameters"]["layers"], t["hyperparameters"]["reg"]) for t in found.trials}
    assert settings == {(l, r) for l in GRID["layers"] for r in GRID["reg"]}
    assert found.best["hyperparameters"] == {**DEFAULTS, "layers": 4, "reg": 1e-3}
    assert found.best["valid_recall@20"] == pytest.approx(0.45)


def test_a_budget_tries_that_many_distinct_settings_defaults_first_seeded(tmp_path):
    runs = []
    for name in ("a", "b"):
        calls = []
        found = run_search(DEFAULTS, GRID, _evaluate(calls), _storage(tmp_path), name, budget=3, seed=7)
        assert calls[0] == DEFAULTS and len(found.trials) == 3
        runs.append([t["hyperparameters"] for t in found.trials])
    assert runs[0] == runs[1]  # the same seed samples the same settings
    calls = []
    assert len(run_search(DEFAULTS, GRID, _evaluate(calls), _storage(tmp_path), "c", budget=1).trials) == 1
    assert calls == [DEFAULTS]
    with pytest.raises(ValueError, match="compare.budget must be a positive integer"):
        run_search(DEFAULTS, GRID, _evaluate([]), _storage(tmp_path), "d", budget=0)


def test_a_trial_clearly_behind_the_best_curve_is_pruned_and_not_chosen(tmp_path):
    def evaluate(hyper, report, number):
        final = _score(hyper)
        for epoch in range(1, 11):  # a curve rising to the setting's score
            report(epoch, final * epoch / 10)
        return final, {"valid_recall@20": final}

    found = run_search(DEFAULTS, {"layers": [3, 1, 4]}, evaluate, _storage(tmp_path), "p",
                       pruning=Pruning(warmup_epochs=2, margin=0.1))
    states = {t["hyperparameters"]["layers"]: t["state"] for t in found.trials}
    # 3 runs first (defaults) and finishes; 1 is far behind it from epoch 2 on; 4 is ahead
    assert states == {3: "COMPLETE", 1: "PRUNED", 4: "COMPLETE"}
    assert found.best["hyperparameters"]["layers"] == 4
    assert [t["epochs"] for t in found.trials if t["state"] == "PRUNED"] == [2]  # stopped at the warm-up


def test_pruner_waits_for_warmup_and_compares_with_the_leader_at_the_same_epoch():
    study = optuna.create_study(direction="maximize")
    leader = study.ask()
    for step, value in ((1, 0.1), (2, 0.5), (3, 0.6)):
        leader.report(value, step)
    study.tell(leader, 0.6)
    pruner = BehindBestPruner(Pruning(warmup_epochs=2, margin=0.1))
    trial = study.ask()
    trial.report(0.05, 1)
    assert not pruner.prune(study, study.trials[-1])  # before the warm-up
    trial.report(0.44, 2)
    assert pruner.prune(study, study.trials[-1])  # 0.44 < 0.9 x 0.5
    trial.report(0.55, 3)
    assert not pruner.prune(study, study.trials[-1])  # 0.55 >= 0.9 x 0.6
    assert not BehindBestPruner(Pruning(enabled=False)).prune(study, study.trials[-1])


def test_an_interrupted_search_continues_with_the_trial_it_cut_short(tmp_path):
    calls = []

    def interrupted(hyper, report, number):
        calls.append(dict(hyper))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return _score(hyper), {}

    with pytest.raises(KeyboardInterrupt):
        run_search(DEFAULTS, GRID, interrupted, _storage(tmp_path), "r")
    again = []
    found = run_search(DEFAULTS, GRID, _evaluate(again), _storage(tmp_path), "r")
    assert again[0] == calls[2]  # the trial the interruption cut short comes first
    finished = calls[:2] + again  # and no setting is trained twice
    assert len(finished) == 6 and len({tuple(sorted(c.items())) for c in finished}) == 6
    assert len(found.trials) == 6 and found.best["hyperparameters"]["layers"] == 4


def test_grid_values_that_are_not_scalars_are_searched_as_they_are(tmp_path):
    defaults = {"hops": {"image": 1, "text": 2}, "dim": 8}
    grid = {"hops": [{"image": 1, "text": 2}, {"image": 3, "text": 2}]}

    def evaluate(hyper, report, number):
        return float(hyper["hops"]["image"]), {}

    found = run_search(defaults, grid, evaluate, _storage(tmp_path), "hops")
    assert found.best["hyperparameters"] == {"hops": {"image": 3, "text": 2}, "dim": 8}
    assert [t["hyperparameters"]["hops"] for t in found.trials][0] == {"image": 1, "text": 2}
