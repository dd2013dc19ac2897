"""Hyper-parameter search on validation with Optuna.

A model's whole grid is walked by Optuna's grid sampler; a budget smaller than the grid gets
the model's defaults first and then seeded TPE suggestions, counting distinct settings. Trials
whose validation curve falls clearly behind the best finished trial's at the same epoch are
pruned (`BehindBestPruner`). The study lives in SQLite, so an interrupted search continues
where it stopped: finished trials are kept, and a trial the interruption cut short is asked
again (its training resumes from its checkpoint in the run store).
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

logger = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)  # trials are reported by the caller

DONE = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True)
class Pruning:
    enabled: bool = True
    warmup_epochs: int = 20  # never prune before this epoch
    margin: float = 0.1  # prune when the best value so far is below (1 - margin) x the leader's


def _best_until(values: dict[int, float], step: int) -> float | None:
    seen = [v for s, v in values.items() if s <= step]
    return max(seen) if seen else None


class BehindBestPruner(optuna.pruners.BasePruner):
    """Prunes a trial whose best validation value up to epoch t is below (1 - margin) times the
    best value any finished trial had reached by epoch t (or by its last epoch, if shorter):
    clearly behind the leader's curve, not merely behind the median."""

    def __init__(self, pruning: Pruning):
        self.pruning = pruning

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if not self.pruning.enabled or step is None or step < self.pruning.warmup_epochs:
            return False
        mine = _best_until(trial.intermediate_values, step)
        leaders = [_best_until(t.intermediate_values, step)
                   for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        leaders = [v for v in leaders if v is not None]
        return bool(leaders) and mine < (1 - self.pruning.margin) * max(leaders)


def search_space(defaults: dict, grid: dict[str, list]) -> dict[str, list]:
    """Each searched key's values; a default outside its grid joins it, so that the defaults are
    always one of the settings searched."""
    space = {}
    for key in sorted(grid):
        values = grid[key]
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid entry {key!r} must be a non-empty list of values, got {values!r}")
        if key not in defaults:
            raise ValueError(f"grid entry {key!r} is not a hyper-parameter; they are {sorted(defaults)}")
        space[key] = values if defaults[key] in values else [defaults[key], *values]
    return space


def _encoded(value):
    """A grid value as Optuna stores a categorical choice: scalars as they are, anything else
    (MIG-GT's hop counts per modality) as its JSON text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value, sort_keys=True)


def search_size(defaults: dict, grid: dict[str, list]) -> int:
    """How many settings the whole search space holds."""
    return math.prod(len(values) for values in search_space(defaults, grid).values())


def _settings(trial: FrozenTrial, space: dict[str, list]) -> tuple:
    return tuple(trial.params.get(k) for k in space)


@dataclass
class SearchResult:
    study: optuna.Study
    trials: list[dict]  # one per distinct setting tried: trial, hyperparameters, state, record
    best: dict  # the finished trial with the highest validation value


def run_search(
    defaults: dict,
    grid: dict[str, list],
    evaluate: Callable[[dict, Callable[[int, float], None], int], tuple[float, dict]],
    storage: str,
    study_name: str,
    budget: int | None = None,
    seed: int = 0,
    pruning: Pruning = Pruning(),
) -> SearchResult:
    """Search `grid` around `defaults`, maximising what `evaluate(hyperparameters, report,
    trial_number)` returns as (validation value, record); `report(epoch, value)` raises
    optuna.TrialPruned when the trial should stop. `budget` = distinct settings to try (None:
    the whole grid)."""
    if budget is not None and (int(budget) != budget or budget < 1):
        raise ValueError(f"compare.budget must be a positive integer or null, got {budget!r}")
    space = search_space(defaults, grid)
    size = math.prod(len(choices) for choices in space.values())
    values = {k: {_encoded(v): v for v in choices} for k, choices in space.items()}
    space = {k: list(choices) for k, choices in values.items()}  # as Optuna sees it

    def hyperparameters(params: dict) -> dict:
        return {**defaults, **{k: values[k][v] for k, v in params.items()}}

    whole = budget is None or budget >= size
    sampler = optuna.samplers.GridSampler(space, seed=seed) if whole else optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize", sampler=sampler,
                                pruner=BehindBestPruner(pruning), load_if_exists=True)
    _ask_again_for_interrupted(study, space)
    if not study.trials:
        study.enqueue_trial({k: _encoded(defaults[k]) for k in space})  # the defaults first
    target = size if whole else int(budget)

    def objective(trial: optuna.Trial) -> float:
        params = {k: trial.suggest_categorical(k, choices) for k, choices in space.items()}
        hyper = hyperparameters(params)
        earlier = _distinct(trial.study, space).get(tuple(params[k] for k in space))
        if earlier is not None:  # a setting asked again (TPE; the grid's copy of the defaults)
            trial.set_user_attr("repeat_of", earlier.number)
            if earlier.state == TrialState.PRUNED:
                raise optuna.TrialPruned(f"a repeat of pruned trial {earlier.number}")
            return earlier.value

        def report(epoch: int, value: float) -> None:
            trial.report(value, epoch)
            if trial.should_prune():
                reason = f"epoch {epoch}: {value:.4f} is clearly behind the best trial"
                trial.set_user_attr("pruned", reason)
                raise optuna.TrialPruned(reason)

        value, record = evaluate(hyper, report, trial.number)
        trial.set_user_attr("record", record)
        return value

    def enough(study: optuna.Study, _) -> None:
        if len(_distinct(study, space)) >= target:
            study.stop()

    if len(_distinct(study, space)) < target:  # TPE may repeat a setting: ask up to 10x
        study.optimize(objective, n_trials=10 * target, callbacks=[enough])
    done = list(_distinct(study, space).values())
    trials = [{"trial": t.number, "hyperparameters": hyperparameters(t.params), "state": t.state.name,
               "epochs": t.last_step, **t.user_attrs.get("record", {})} for t in done]
    finished = [(t.value, record) for t, record in zip(done, trials) if t.state == TrialState.COMPLETE]
    if not finished:
        raise RuntimeError(f"study {study_name}: every trial was pruned or failed")
    best = max(finished, key=lambda pair: pair[0])[1]  # the first of equals: the earlier trial
    return SearchResult(study, trials, best)


def _distinct(study: optuna.Study, space: dict[str, list]) -> dict[tuple, FrozenTrial]:
    """The first finished (complete or pruned) trial of each setting, by trial number."""
    out: dict[tuple, FrozenTrial] = {}
    for t in study.get_trials(deepcopy=False, states=DONE):
        out.setdefault(_settings(t, space), t)
    return out


def _ask_again_for_interrupted(study: optuna.Study, space: dict[str, list]) -> None:
    """Trials left running by a killed process are marked failed and, like trials that failed
    on an interruption, enqueued again unless their setting finished since."""
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(t.number, state=TrialState.FAIL)
    done = set(_distinct(study, space))
    waiting = {_settings(t, space) for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))}
    for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        setting = _settings(t, space)
        if t.params and setting not in done and setting not in waiting:
            study.enqueue_trial(dict(t.params))
            waiting.add(setting)
