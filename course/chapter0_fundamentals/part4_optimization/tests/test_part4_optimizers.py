"""Part 0.4: the reference optimizers follow torch.optim over many steps and random hyperparameters;
the sweep-config validator gives reasons; the figures build."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch as t

from course.chapter0_fundamentals.part4_optimization import checks, figures
from course.chapter0_fundamentals.part4_optimization import solutions as ref

OPTIMIZERS = [(ref.SGD, t.optim.SGD, "SGD"), (ref.RMSprop, t.optim.RMSprop, "RMSprop"),
              (ref.Adam, t.optim.Adam, "Adam"), (ref.AdamW, t.optim.AdamW, "Adam")]


@pytest.mark.parametrize(("ours", "theirs", "kind"), OPTIMIZERS, ids=[o[0].__name__ for o in OPTIMIZERS])
def test_random_hyperparameters_match_torch_over_many_steps(ours, theirs, kind) -> None:
    rng = np.random.default_rng(1234)
    for seed in range(15):
        checks._trajectory(ours, theirs, checks._random_hyper(rng, kind), seed, n_steps=40)


@pytest.mark.parametrize(("ours", "theirs"), [(ref.RMSprop, t.optim.RMSprop), (ref.Adam, t.optim.Adam),
                                              (ref.AdamW, t.optim.AdamW)])
def test_torch_defaults_match(ours, theirs) -> None:
    checks._trajectory(ours, theirs, {}, seed=7, n_steps=60)


def test_sgd_groups_match_torch_with_nesterov() -> None:
    params, x, y = checks._problem(5)
    a = [p.clone().requires_grad_() for p in params.values()]
    b = [p.clone().requires_grad_() for p in params.values()]
    ours = ref.SGDWithParamGroups([{"params": a[:2], "nesterov": True}, {"params": a[2:], "lr": 0.2}],
                                  lr=0.05, momentum=0.9, weight_decay=0.01)
    theirs = t.optim.SGD([{"params": b[:2], "nesterov": True}, {"params": b[2:], "lr": 0.2}],
                         lr=0.05, momentum=0.9, weight_decay=0.01)
    for _ in range(30):
        for ps, opt in ((a, ours), (b, theirs)):
            opt.zero_grad()
            checks._loss(ps, x, y).backward()
            opt.step()
    for p, q in zip(a, b, strict=True):
        t.testing.assert_close(p, q)


def test_paths_start_at_the_start_and_descend() -> None:
    xy = t.tensor([2.5, 2.5], requires_grad=True)
    path = ref.opt_fn(ref.pathological_curvature_loss, xy, ref.Adam, {"lr": 0.2})
    assert path.shape == (100, 2) and not path.requires_grad
    assert path[0].tolist() == [2.5, 2.5]
    losses = ref.pathological_curvature_loss(path[:, 0], path[:, 1])
    assert losses[-1] < 0.1 * losses[0]


GOOD = [
    ref.make_sweep_config(),
    {"method": "grid", "parameters": {"a": {"values": [1, 2]}, "b": {"value": 3},
                                      "c": {"distribution": "int_uniform", "min": 1, "max": 4}}},
    {"method": "bayes", "metric": {"name": "loss"}, "parameters": {"x": {"min": 0.0, "max": 1.0},
     "opt": {"parameters": {"lr": {"distribution": "normal", "mu": 0.0, "sigma": 1.0}}}}},
    {"method": "random", "parameters": {"x": {"values": [1, 2], "probabilities": [0.3, 0.7]}},
     "early_terminate": {"type": "hyperband", "min_iter": 3}, "program": "train.py", "name": "s"},
]

BAD = [
    ({"parameters": {"x": {"value": 1}}}, "'method' is missing"),
    ({"method": "gird", "parameters": {"x": {"value": 1}}}, "did you mean 'grid'"),
    ({"method": "bayes", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, "bayes search needs a 'metric'"),
    ({"method": "random", "metric": {"goal": "maximize"}, "parameters": {"x": {"value": 1}}}, "needs a 'name'"),
    ({"method": "random", "metric": {"name": "acc", "goal": "max"}, "parameters": {"x": {"value": 1}}},
     "'minimize' or 'maximize'"),
    ({"method": "random"}, "'parameters' must be a non-empty dict"),
    ({"method": "random", "parameters": {"x": {"distribution": "loguniform", "min": 1, "max": 2}}},
     "unknown distribution 'loguniform'"),
    ({"method": "random", "parameters": {"x": {"min": 2, "max": 1}}}, "must be less than"),
    ({"method": "random", "parameters": {"x": {"distribution": "log_uniform_values", "min": 0, "max": 1}}},
     "needs min > 0"),
    ({"method": "random", "parameters": {"x": {"values": []}}}, "non-empty list"),
    ({"method": "random", "parameters": {"x": {"values": [1, 2], "probabilities": [0.5, 0.6]}}}, "sum to 1"),
    ({"method": "random", "parameters": {"x": {"mean": 1}}}, "unknown key 'mean'"),
    ({"method": "grid", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, "grid search needs a finite set"),
    ({"method": "random", "parameter": {"x": {"value": 1}}}, "did you mean 'parameters'"),
    ({"method": "random", "parameters": {"x": {"distribution": "uniform", "min": 0.0}}}, "needs ['max']"),
]


@pytest.mark.parametrize("config", GOOD)
def test_validator_accepts_valid_configs(config) -> None:
    ref.validate_sweep_config(config)


@pytest.mark.parametrize(("config", "reason"), BAD, ids=[r for _, r in BAD])
def test_validator_gives_the_reason(config, reason) -> None:
    with pytest.raises(ref.SweepConfigError, match=None) as info:
        ref.validate_sweep_config(config)
    assert reason in str(info.value), str(info.value)


def test_figures_build() -> None:
    for name in ("curvature_surface", "sgd_path", "optimizer_race", "optimizer_loss_curves"):
        fig = getattr(figures, name)()
        assert isinstance(fig, go.Figure) and fig.data
