"""Checks for part 0.4: optimizers against torch.optim step by step, W&B logging read back offline."""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch as t
from torch import Tensor
from torch.overrides import TorchFunctionMode
from torch.utils.data import TensorDataset

from arena.checking import CheckFailure, expect_close, expect_equal, expect_shape, expect_type, time_limit

from . import solutions as ref

# ------------------------------------------------------------------------ paths on the loss surface


def _start(x: float, y: float) -> Tensor:
    return t.tensor([x, y], requires_grad=True)


def _check_path(got: Any, want: Tensor, what: str) -> None:
    expect_type(got, Tensor, what)
    expect_shape(got, tuple(want.shape), what)
    if got.requires_grad:
        raise CheckFailure(f"{what} returned a path that requires grad (it is part of an autograd graph). "
                           "Store detached copies of xy: xy.detach().clone().")
    if len(want) > 2 and t.allclose(got[0], got[-1]) and not t.allclose(want[0], want[-1]):
        raise CheckFailure(f"{what}: every row of the path is the same point {got[0].tolist()}. xy.detach() "
                           "shares memory with xy, so the in-place updates changed the rows stored earlier: "
                           "store xy.detach().clone() (or write into a preallocated tensor).")
    if not t.allclose(got[0].double(), want[0].double()):
        raise CheckFailure(f"{what}: row 0 should be the starting point {want[0].tolist()}, got "
                           f"{got[0].tolist()}. Record the point before each step.")
    expect_close(got, want, what, rtol=1e-4, atol=1e-5)


def check_opt_fn_with_sgd(opt_fn_with_sgd: Callable) -> str:
    fn = ref.pathological_curvature_loss
    cases = [((2.5, 2.5), {}), ((-1.0, 1.5), dict(lr=0.02, momentum=0.5, n_iters=30)),
             ((0.3, -2.0), dict(lr=0.1, momentum=0.0, n_iters=7)), ((2.5, 2.5), dict(n_iters=1))]
    for start, kwargs in cases:
        what = f"opt_fn_with_sgd(pathological_curvature_loss, xy={list(start)}{''.join(f', {k}={v}' for k, v in kwargs.items())})"
        got = opt_fn_with_sgd(fn, _start(*start), **kwargs)
        _check_path(got, ref.opt_fn_with_sgd(fn, _start(*start), **kwargs), what)
    return "default settings, no momentum, other learning rates, n_iters=1"


def check_opt_fn(opt_fn: Callable) -> str:
    fn = ref.pathological_curvature_loss
    cases = [(t.optim.SGD, {"lr": 0.02, "momentum": 0.9}, 40), (t.optim.Adam, {"lr": 0.1}, 25),
             (t.optim.RMSprop, {"lr": 0.02, "alpha": 0.9}, 10), (ref.AdamW, {"lr": 0.05, "weight_decay": 0.1}, 15)]
    for cls, hyper, n in cases:
        where = "torch.optim" if cls.__module__.startswith("torch.optim") else "the reference"
        what = f"opt_fn(pathological_curvature_loss, xy=[2.5, 2.5], {where} {cls.__name__}, {hyper}, n_iters={n})"
        got = opt_fn(fn, _start(2.5, 2.5), cls, dict(hyper), n)
        _check_path(got, ref.opt_fn(fn, _start(2.5, 2.5), cls, dict(hyper), n), what)
    got = opt_fn(fn, _start(1.0, 1.0), t.optim.SGD, {"lr": 0.01})
    _check_path(got, ref.opt_fn(fn, _start(1.0, 1.0), t.optim.SGD, {"lr": 0.01}),
                "opt_fn(..., torch.optim.SGD, {'lr': 0.01}) with the default n_iters")
    return "torch.optim SGD / Adam / RMSprop and the reference AdamW, default n_iters"


# ------------------------------------------------------------------------ optimizers vs torch.optim


class _GraphWatch(TorchFunctionMode):
    """Notes the first torch operation whose result is recorded by autograd (has a grad_fn)."""

    def __init__(self) -> None:
        super().__init__()
        self.first: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.first is None and isinstance(out, Tensor) and out.grad_fn is not None:
            self.first = getattr(func, "__name__", repr(func))
        return out


def _problem(seed: int) -> tuple[dict[str, Tensor], Tensor, Tensor]:
    gen = t.Generator().manual_seed(seed)
    shapes = {"weight": (4, 3), "bias": (4,), "scale": (2, 2)}
    params = {name: t.randn(shape, generator=gen, dtype=t.float64) for name, shape in shapes.items()}
    x = t.randn(6, 3, generator=gen, dtype=t.float64)
    y = t.randn(6, 4, generator=gen, dtype=t.float64)
    return params, x, y


def _loss(ps: list[Tensor], x: Tensor, y: Tensor) -> Tensor:
    weight, bias, scale = ps[:3]
    out = t.tanh(x @ weight.T + bias) * (1 + 0.1 * scale.sum())
    return ((out - y) ** 2).mean() + 0.05 * (scale**4).sum() + 0.3 * scale.prod()


def _fmt(hyper: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in hyper.items())


def _run_learner(fn: Callable[[], Any], what: str) -> Any:
    try:
        return fn()
    except RuntimeError as err:
        if "leaf Variable" in str(err) or "in-place operation" in str(err):
            raise CheckFailure(f"{what} raised: {err}. The update must not be recorded by autograd: do it "
                               "inside `with torch.no_grad():`.") from err
        raise


def _check_zero_grad(cls: type, hyper: dict[str, Any]) -> None:
    params, _, _ = _problem(0)
    ps = [p.clone().requires_grad_() for p in params.values()]
    opt = cls(iter(ps), **hyper)
    for p in ps:
        p.grad = t.randn_like(p)
    opt.zero_grad()
    for i, p in enumerate(ps):
        if p.grad is not None and bool((p.grad != 0).any()):
            raise CheckFailure(f"{cls.__name__}.zero_grad() left nonzero gradients on parameter {i}: after it "
                               "every p.grad must be None (or all zeros). Assign p.grad = None; rebinding a "
                               "local variable such as `g = p.grad; g = None` changes nothing.")


def _trajectory(cls: type, torch_cls: type, hyper: dict[str, Any], seed: int, n_steps: int) -> None:
    name = f"{cls.__name__}({_fmt(hyper)})"
    params, x, y = _problem(seed)
    ours = [p.clone().requires_grad_() for p in params.values()]
    theirs = [p.clone().requires_grad_() for p in params.values()]
    opt = _run_learner(lambda: cls((p for p in ours), **hyper), f"{name}.__init__")
    torch_opt = torch_cls(theirs, **hyper)
    for step in range(1, n_steps + 1):
        _run_learner(opt.zero_grad, f"{name}.zero_grad()")
        _loss(ours, x, y).backward()
        watch = _GraphWatch()
        with watch:
            _run_learner(opt.step, f"{name}.step()")
        if watch.first is not None:
            raise CheckFailure(f"{name}.step() built an autograd graph (`{watch.first}` produced a tensor with a "
                               "grad_fn). Optimizer updates must not be tracked: do the arithmetic inside "
                               "`with torch.no_grad():` (otherwise every step's graph is kept alive).")
        before = [q.detach().clone() for q in theirs]
        torch_opt.zero_grad()
        _loss(theirs, x, y).backward()
        torch_opt.step()
        matched: list[str] = []
        for (pname, _), p, q, q_before in zip(params.items(), ours, theirs, before, strict=True):
            if p.grad_fn is not None or not p.is_leaf or not p.requires_grad:
                raise CheckFailure(f"after step {step} of {name}, parameter '{pname}' is no longer a leaf "
                                   "tensor that requires grad: update it in place (p -= ..., p.add_(...)) under "
                                   "torch.no_grad(), never with p = p - ...")
            what = f"parameter '{pname}' after step {step} of {name} (vs torch.optim.{torch_cls.__name__})"
            if not bool(t.isfinite(p).all()):
                raise CheckFailure(f"{what} contains NaN or inf (torch's is finite): something was divided by zero"
                                   + (". Is the step count t still 0 when you compute 1 - beta**t? It must be 1 on "
                                      "the first step()." if "betas" in inspect.signature(torch_cls).parameters
                                      else "."))
            if step == 1 and t.equal(p.detach(), q_before) and not t.equal(q.detach(), q_before):
                raise CheckFailure(f"{what}: step() did not change it at all (torch's moved it). Update the tensor "
                                   "in place (p -= ..., p.add_(...), p.mul_(...)); `p = p - ...` only rebinds the "
                                   "loop variable and leaves the parameter as it was.")
            try:
                expect_close(p, q, what, rtol=1e-4, atol=1e-6)
            except CheckFailure as err:
                if step == 1 and matched:
                    raise CheckFailure(f"{err} Parameter(s) {', '.join(matched)} matched torch at this step, so "
                                       "something in your step() changes from one parameter to the next (for "
                                       "example a step counter increased once per parameter instead of once per "
                                       "call to step()).") from None
                raise
            matched.append(f"'{pname}'")


def _check_unused_parameter(cls: type, hyper: dict[str, Any]) -> None:
    params, x, y = _problem(1)
    ps = [p.clone().requires_grad_() for p in params.values()]
    unused = t.randn(3, dtype=t.float64, requires_grad=True)
    before = unused.detach().clone()
    opt = cls([*ps, unused], **hyper)
    for _ in range(2):
        opt.zero_grad()
        _loss(ps, x, y).backward()
        try:
            _run_learner(opt.step, f"{cls.__name__}.step()")
        except (TypeError, AttributeError) as err:
            raise CheckFailure(f"{cls.__name__}({_fmt(hyper)}).step() failed on a parameter whose .grad is None "
                               f"(it is not used in the loss): {type(err).__name__}: {err}. Skip such parameters, "
                               "as torch.optim does.") from err
    if not t.equal(unused.detach(), before):
        if unused.grad is not None:
            raise CheckFailure(f"{cls.__name__}.zero_grad() gave a parameter that had no gradient (it is not used in "
                               f"the loss) a gradient of zeros, so {cls.__name__}({_fmt(hyper)}).step() then changed "
                               "it (weight decay, or momentum/averages). torch's zero_grad leaves a None gradient "
                               "None: set p.grad = None, or zero only gradients that exist "
                               "(if p.grad is not None: p.grad.zero_()).")
        raise CheckFailure(f"{cls.__name__}({_fmt(hyper)}).step() changed a parameter whose .grad is None; "
                           "torch.optim leaves those untouched (no weight decay either).")


def _random_hyper(rng: np.random.Generator, kind: str) -> dict[str, Any]:
    def maybe(p: float, value: float) -> float:
        return value if rng.random() < p else 0.0

    lr = float(10 ** rng.uniform(-3, -1))
    if kind == "SGD":
        return {"lr": lr, "momentum": maybe(0.7, float(rng.uniform(0.3, 0.99))),
                "weight_decay": maybe(0.7, float(rng.uniform(0.01, 0.5)))}
    if kind == "RMSprop":
        return {"lr": lr / 3, "alpha": float(rng.uniform(0.5, 0.999)), "eps": float(10 ** rng.uniform(-8, -1)),
                "weight_decay": maybe(0.6, float(rng.uniform(0.01, 0.5))),
                "momentum": maybe(0.6, float(rng.uniform(0.3, 0.95)))}
    return {"lr": lr, "betas": (float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999))),
            "eps": float(10 ** rng.uniform(-8, -1)),
            "weight_decay": maybe(0.8, float(rng.uniform(0.01, 0.5)))}


def _check_optimizer(cls: Any, torch_cls: type, cases: list[dict[str, Any]], n_random: int = 4,
                     n_steps: int = 8) -> str:
    expect_type(cls, type, cls.__name__ if hasattr(cls, "__name__") else "your optimizer")
    rng = np.random.default_rng(len(cases))
    all_cases = cases + [_random_hyper(rng, torch_cls.__name__.removesuffix("W")) for _ in range(n_random)]
    _check_zero_grad(cls, cases[0])
    for seed, hyper in enumerate(all_cases):
        try:
            _trajectory(cls, torch_cls, hyper, seed, n_steps)
        except CheckFailure as err:
            if seed == 0:
                raise
            passed = "; ".join(f"({_fmt(h) or 'all defaults'})" for h in all_cases[:seed])
            raise CheckFailure(f"{err}\nThese settings, checked before it, did match torch: {passed}. Compare "
                               "them with the failing one to see which hyperparameter your update gets wrong.") from None
    _check_unused_parameter(cls, all_cases[-1] | ({"weight_decay": 0.1} if "weight_decay" in all_cases[-1] else {}))
    return (f"{len(all_cases)} hyperparameter settings (torch's defaults included) x {n_steps} steps "
            f"match torch.optim.{torch_cls.__name__}; zero_grad, no autograd graph, unused parameters")


def check_SGD(SGD: type) -> str:
    return _check_optimizer(SGD, t.optim.SGD, [
        {"lr": 0.05}, {"lr": 0.05, "momentum": 0.9}, {"lr": 0.05, "weight_decay": 0.2},
        {"lr": 0.03, "momentum": 0.8, "weight_decay": 0.3}])


def check_RMSprop(RMSprop: type) -> str:
    return _check_optimizer(RMSprop, t.optim.RMSprop, [
        {}, {"lr": 0.01, "momentum": 0.7}, {"eps": 0.1}, {"weight_decay": 0.3, "alpha": 0.9},
        {"lr": 0.003, "alpha": 0.8, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.5}])


def check_Adam(Adam: type) -> str:
    return _check_optimizer(Adam, t.optim.Adam, [
        {}, {"lr": 0.05, "betas": (0.8, 0.95)}, {"lr": 0.02, "weight_decay": 0.2}, {"lr": 0.05, "eps": 0.1}])


def check_AdamW(AdamW: type) -> str:
    return _check_optimizer(AdamW, t.optim.AdamW, [
        {}, {"lr": 0.05, "weight_decay": 0.3}, {"lr": 0.02, "betas": (0.7, 0.9), "eps": 1e-3, "weight_decay": 0.1},
        {"lr": 0.01, "weight_decay": 0.0}])


def check_SGDWithParamGroups(SGDWithParamGroups: type) -> str:
    params, x, y = _problem(3)

    def fresh() -> list[Tensor]:
        return [p.clone().requires_grad_() for p in params.values()]

    layouts: list[tuple[str, Callable[[list[Tensor]], Any], dict[str, Any]]] = [
        ("a plain list of parameters", lambda ps: ps, {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
        ("two groups, the second overriding lr and momentum",
         lambda ps: [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01, "momentum": 0.5}],
         {"lr": 0.05, "momentum": 0.9}),
        ("three groups with their own weight_decay and nesterov",
         lambda ps: [{"params": [ps[0]], "weight_decay": 0.3}, {"params": [ps[1]], "nesterov": True},
                     {"params": [ps[2]], "lr": 0.02, "momentum": 0.0}],
         {"lr": 0.04, "momentum": 0.8}),
        ("groups that each give their own lr (no default lr)",
         lambda ps: [{"params": ps[:1], "lr": 0.03}, {"params": ps[1:], "lr": 0.06}], {"momentum": 0.7}),
        ("one group relying on torch's default lr", lambda ps: [{"params": ps}], {"momentum": 0.9}),
    ]
    for label, layout, kwargs in layouts:
        ours, theirs = fresh(), fresh()
        groups_in, kw = layout(ours), kwargs
        opt = _run_learner(lambda: SGDWithParamGroups(groups_in, **kw), "SGDWithParamGroups(...)")  # noqa: B023
        torch_opt = t.optim.SGD(layout(theirs), **kwargs)
        groups = getattr(opt, "param_groups", None)
        if not isinstance(groups, list) or len(groups) != len(torch_opt.param_groups):
            raise CheckFailure(f"SGDWithParamGroups with {label}: param_groups should be a list of "
                               f"{len(torch_opt.param_groups)} dicts, got {groups!r:.120}")
        for i, (g, tg) in enumerate(zip(groups, torch_opt.param_groups, strict=True)):
            for key in ("lr", "momentum", "weight_decay", "nesterov"):
                if key not in g or g[key] != tg[key]:
                    raise CheckFailure(f"SGDWithParamGroups with {label}: param_groups[{i}][{key!r}] should be "
                                       f"{tg[key]!r}, got {g.get(key, '(missing)')!r}")
        for step in range(1, 9):
            for ps, o in ((ours, opt), (theirs, torch_opt)):
                _run_learner(o.zero_grad, "zero_grad()")
                _loss(ps, x, y).backward()
                _run_learner(o.step, "step()")
            for i, (p, q) in enumerate(zip(ours, theirs, strict=True)):
                expect_close(p, q, f"parameter {i} after step {step} with {label} (vs torch.optim.SGD)",
                             rtol=1e-4, atol=1e-6)
    ps = fresh()
    for label, make in [("a parameter in two groups",
                         lambda: SGDWithParamGroups([{"params": ps[:2]}, {"params": ps[1:]}], lr=0.1))]:
        try:
            make()
        except ValueError:
            continue
        raise CheckFailure(f"SGDWithParamGroups with {label} should raise ValueError, as torch.optim.SGD does")
    return "plain list, groups overriding lr/momentum/weight_decay/nesterov, per-group lr only, default lr, duplicate parameter"


# ------------------------------------------------------------------------ W&B: offline runs read back


@contextlib.contextmanager
def offline_wandb(sweep_params: dict[str, Any] | None = None) -> Iterator[Path]:
    """A fresh W&B session in offline mode writing only inside a temporary directory (yielded).

    With sweep_params, wandb.init sees them the way it sees a sweep agent's choices (through the
    sweep-parameter file an agent hands to its runs), so wandb.config overrides the code's defaults."""
    import wandb

    with tempfile.TemporaryDirectory(prefix="arena-wandb-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        env = {"WANDB_MODE": "offline", "WANDB_DIR": str(root), "WANDB_SILENT": "true", "WANDB_CONSOLE": "off",
               "WANDB_DISABLE_CODE": "true", "WANDB_DISABLE_GIT": "true", "WANDB_CACHE_DIR": str(root / "cache"),
               "WANDB_CONFIG_DIR": str(root / "config"), "WANDB_DATA_DIR": str(root / "data"),
               "WANDB_ARTIFACT_DIR": str(root / "artifacts"), "WANDB_SWEEP_PARAM_PATH": None,
               "WANDB_SWEEP_ID": None, "WANDB_RUN_ID": None, "WANDB_RESUME": None,
               # not the list of installed packages: reading every package's metadata costs ~0.2 s per run
               "WANDB__SAVE_REQUIREMENTS": "false"}
        if sweep_params is not None:
            path = root / "sweep-params.yaml"
            path.write_text(json.dumps({k: {"value": v} for k, v in sweep_params.items()}))
            env["WANDB_SWEEP_PARAM_PATH"] = str(path)
        saved = {k: os.environ.get(k) for k in env}
        if wandb.run is not None:
            wandb.finish()
        wandb.teardown()  # settings are read once per session: start a new one with these
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            yield root
        finally:
            if wandb.run is not None:
                wandb.finish()
            wandb.teardown()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def offline_runs(root: Path) -> list[Path]:
    """The run directories written under an offline_wandb() directory, sorted by name (start second, then id).

    Shuts the W&B session down first: wandb.finish() may return before the background service has
    written everything to the run's .wandb file; wandb.teardown() waits for it."""
    import wandb

    if wandb.run is None:
        wandb.teardown()
    return sorted((root / "wandb").glob("offline-run-*"))


def tiny_datasets(n_train: int = 12, n_test: int = 6, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """Random 3x8x8 'images' with labels 0-9: enough to exercise a trainer in a second."""
    gen = t.Generator().manual_seed(seed)

    def make(n: int) -> TensorDataset:
        return TensorDataset(t.randn(n, 3, 8, 8, generator=gen), t.randint(0, 10, (n,), generator=gen))

    return make(n_train), make(n_test)


def tiny_model(seed: int = 0) -> t.nn.Module:
    t.manual_seed(seed)
    return t.nn.Sequential(t.nn.Flatten(), t.nn.Linear(3 * 8 * 8, 10))


class FallingAccuracyModel(t.nn.Module):
    """A stand-in model whose test accuracy on a 4-example test set is 1/4, 3/4, 2/4 after 1, 2, 3 training
    steps (and 0 otherwise): first, best and last all differ.

    Trained for real (a linear layer in training mode, so the optimizer has parameters and gradients), but
    in eval mode it looks each input up among the test images and answers the right label for the first
    CORRECT_AFTER_STEPS[steps] of them. With one step per epoch this gives the sweep_train check epochs
    with different accuracies, so returning the best or the first one instead of the last shows up."""

    CORRECT_AFTER_STEPS = {1: 1, 2: 3, 3: 2}

    def __init__(self, test_set: TensorDataset, seed: int = 0) -> None:
        super().__init__()
        t.manual_seed(seed)
        self.linear = t.nn.Linear(3 * 8 * 8, 10)
        imgs, labels = test_set.tensors
        self.register_buffer("test_imgs", imgs.flatten(1).clone())
        self.register_buffer("test_labels", labels.clone())
        self.steps = 0

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        if self.training:
            self.steps += 1
            return self.linear(x)
        n_correct = self.CORRECT_AFTER_STEPS.get(self.steps, 0)
        match = (x[:, None, :] == self.test_imgs[None, :, :]).all(-1)  # (batch, n_test)
        index = t.where(match.any(-1), match.float().argmax(-1), -1)
        known = index >= 0
        labels = t.where(known, self.test_labels[index.clamp(min=0)], 0)
        answer = t.where(known & (index < n_correct), labels, (labels + 1) % 10)
        return t.nn.functional.one_hot(answer, 10).float()


def _series(history: list[dict[str, Any]], key: str) -> list[float]:
    return [row[key] for row in history if key in row]


@time_limit(60)
def check_WandbResNetTrainer(WandbResNetTrainer: type) -> str:
    import wandb

    sweep = {"learning_rate": 0.0123, "batch_size": 4}
    with offline_wandb(sweep_params=sweep) as root:
        train_set, test_set = tiny_datasets()
        args = ref.WandbResNetTrainingArgs(batch_size=8, epochs=2, learning_rate=1e-3, wandb_project="arena-check",
                                           wandb_name="check", n_examples=3, max_steps_per_epoch=2)
        trainer = WandbResNetTrainer(args, train_set, test_set, model=tiny_model())
        used = getattr(trainer, "args", None)
        for key, value in sweep.items():
            if getattr(used, key, None) != value:
                raise CheckFailure(
                    f"A sweep set {key}={value} in wandb.config, but trainer.args.{key} is "
                    f"{getattr(used, key, '(missing)')!r}. After wandb.init, copy every field found in "
                    "wandb.config into the arguments you pass to ResNetTrainer.__init__.")
        result = trainer.train()
        if wandb.run is not None:
            raise CheckFailure("train() left the W&B run open: call wandb.finish() (or run.finish()) at the end.")
        expect_type(result, dict, "WandbResNetTrainer.train()")
        runs = offline_runs(root)
        if len(runs) != 1:
            raise CheckFailure(f"expected making and training one trainer to write one W&B run, found {len(runs)} "
                               "(call wandb.init once, in __init__).")
        logged = ref.read_offline_run(runs[0])

        class Crashing(WandbResNetTrainer):
            def training_step(self, imgs, labels):
                raise RuntimeError("a simulated crash in training_step")

        try:
            Crashing(args, train_set, test_set, model=tiny_model()).train()
        except Exception:  # noqa: BLE001 - whatever the learner's train() does with the crash
            pass
        if wandb.run is not None:
            raise CheckFailure("when training_step raised an exception, train() left the W&B run open (in a "
                               "script the next wandb.init then returns that same run, so the next trial logs "
                               "into it). Put the training loop in `try:` and call wandb.finish() in `finally:`.")
    per_epoch = math.ceil(len(train_set) / sweep["batch_size"])
    n_steps = 2 * min(per_epoch, args.max_steps_per_epoch)
    if logged["config"].get("learning_rate") != sweep["learning_rate"]:
        raise CheckFailure(f"the run's config should hold learning_rate={sweep['learning_rate']} (pass "
                           f"config=asdict(args) to wandb.init); it holds {logged['config']!r:.200}")
    losses, accuracies = _series(logged["history"], "loss"), _series(logged["history"], "accuracy")
    if len(losses) != n_steps:
        raise CheckFailure(f"with max_steps_per_epoch={args.max_steps_per_epoch}, 2 epochs of 12 examples in batches "
                           f"of {sweep['batch_size']} ({per_epoch} batches per epoch) are {n_steps} training steps, so "
                           f"'loss' should be logged {n_steps} times (once per step); it was logged {len(losses)} "
                           "times."
                           + (" Stop each epoch after args.max_steps_per_epoch steps when it is set."
                              if len(losses) == 2 * per_epoch else ""))
    if len(accuracies) != 2:
        raise CheckFailure(f"'accuracy' should be logged once per epoch (2 times); it was logged {len(accuracies)} times.")
    for key in ("loss", "accuracy"):
        if key not in result or len(result[key]) != len(_series(logged["history"], key)):
            raise CheckFailure(f"train() should return {{'loss': [...], 'accuracy': [...]}} with one entry per "
                               f"logged value; result[{key!r}] is {result.get(key)!r:.120}")
        expect_close(t.tensor(result[key], dtype=t.float64), t.tensor(_series(logged["history"], key), dtype=t.float64),
                     f"the logged '{key}' values vs train()'s returned {key}", rtol=1e-5)
    media = {k: v for row in logged["history"] for k, v in row.items() if k.endswith("/_type")}
    if not any("table" in str(v) or "image" in str(v) for v in media.values()):
        raise CheckFailure("no example predictions were logged: log_examples() should wandb.log a wandb.Table "
                           "(with wandb.Image cells) under 'examples' after every epoch.")
    return (f"offline run read back: config from the sweep, {n_steps} losses (max_steps_per_epoch), 2 accuracies, "
            "example table; the run is finished even when training crashes")


@time_limit(60)
def check_save_model_artifact(save_model_artifact: Callable) -> str:
    import wandb

    model = tiny_model(seed=3)
    with offline_wandb() as root:
        wandb.init(project="arena-check", name="artifact-check", mode="offline")
        returned = save_model_artifact(model, "tiny-model", {"accuracy": 0.25, "epochs": 2})
        if wandb.run is None:
            raise CheckFailure("save_model_artifact finished the run: it should log the artifact to the run in progress "
                               "and leave it open (whoever started the run finishes it).")
        wandb.finish()
        runs = offline_runs(root)
        if len(runs) != 1:
            raise CheckFailure(f"expected one W&B run (the one the check started), found {len(runs)}: do not call "
                               "wandb.init inside save_model_artifact.")
        logged = ref.read_offline_run(runs[0])["artifacts"]
        if not logged:
            raise CheckFailure("no artifact was logged to the run: after adding the file to the wandb.Artifact, call "
                               "wandb.log_artifact(artifact) (or run.log_artifact).")
        art = logged[-1]
        if not isinstance(returned, wandb.Artifact):
            raise CheckFailure(f"save_model_artifact should return the wandb.Artifact it logged, got {type(returned).__name__}")
        expect_equal(art["name"], "tiny-model", "the logged artifact's name")
        if art["type"] != "model":
            raise CheckFailure(f"the artifact's type should be 'model' (W&B's model registry and lineage views "
                               f"look for it), got {art['type']!r}")
        if art["metadata"] != {"accuracy": 0.25, "epochs": 2}:
            raise CheckFailure(f"the artifact's metadata should be the dict passed in, {{'accuracy': 0.25, 'epochs': 2}}; "
                               f"got {art['metadata']!r}")
        if list(art["files"]) != ["model.pt"]:
            raise CheckFailure(f"the artifact should hold one file, model.pt; it holds {sorted(art['files'])}")
        try:
            state = t.load(art["files"]["model.pt"], weights_only=True)
        except Exception as err:  # noqa: BLE001 - pickled modules fail here, whatever the exact error
            raise CheckFailure("model.pt could not be loaded with torch.load(path, weights_only=True) "
                               f"({type(err).__name__}). Save model.state_dict(), not the model object: a pickled "
                               "module can only be loaded by unpickling arbitrary code.") from None
        if not isinstance(state, dict):
            raise CheckFailure(f"model.pt should hold model.state_dict() (a dict of tensors), got {type(state).__name__}")
        fresh = tiny_model(seed=4)
        try:
            fresh.load_state_dict(state)
        except RuntimeError as err:
            raise CheckFailure(f"model.pt does not load into a model of the same architecture: {err}") from None
    x = t.randn(5, 3, 8, 8, generator=t.Generator().manual_seed(0))
    with t.no_grad():
        expect_close(fresh(x), model(x), "outputs of a model loaded from the artifact vs the saved model")
    return "one 'model' artifact with the metadata, holding a state_dict that reloads to the same outputs"


@time_limit(60)
def check_sweep_train(sweep_train: Callable) -> str:
    train_set, test_set = tiny_datasets(n_train=8, n_test=4)
    base = ref.WandbResNetTrainingArgs(batch_size=8, epochs=1, learning_rate=1e-3, n_examples=1, max_steps_per_epoch=1,
                                       wandb_project="arena-check", wandb_group="base-group")
    built: list[t.nn.Module] = []

    def make_model() -> t.nn.Module:  # one step per epoch; accuracies 1/4, 3/4, 2/4: first, best, last differ
        built.append(FallingAccuracyModel(test_set, seed=len(built)))
        return built[-1]

    def one_trial(params: dict[str, Any] | None, agent: dict[str, Any] | None, how: str) -> tuple[Any, dict]:
        n_built = len(built)
        with offline_wandb(sweep_params=agent) as root:
            try:
                value = sweep_train(*([] if params is None else [params]), train_set=train_set, test_set=test_set,
                                    base_args=base, make_model=make_model)
            except TypeError as err:
                if params is None and "NoneType" in str(err):
                    raise CheckFailure(f"{how}, sweep_train raised TypeError: {err}. A wandb agent calls it with no "
                                       "params (None): use `params or {}`.") from None
                raise
            runs = offline_runs(root)
            if len(runs) != 1:
                raise CheckFailure(f"{how}, sweep_train should make exactly one W&B run (the trainer starts it); "
                                   f"found {len(runs)}.")
            logged = ref.read_offline_run(runs[0])
        if len(built) != n_built + 1:
            raise CheckFailure(f"{how}, sweep_train called make_model {len(built) - n_built} times; call it once per "
                               "trial, so every trial trains a fresh model.")
        accuracies = _series(logged["history"], "accuracy")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise CheckFailure(f"{how}, sweep_train should return the final accuracy as a float, got "
                               f"{type(value).__name__}: {value!r:.80}")
        if len(accuracies) < 2 or len(set(accuracies)) < 2:
            raise CheckFailure(f"{how} (several epochs, with a model whose accuracy changes every epoch), the run logged "
                               f"the accuracies {accuracies}; expected one per epoch, differing. Does the trainer "
                               "train for args.epochs epochs and log {'accuracy': self.evaluate()} after each?")

        def close(a: float) -> bool:
            return math.isclose(value, a, rel_tol=1e-6, abs_tol=1e-9)

        if not close(accuracies[-1]):
            said = (f"the first epoch's accuracy ({accuracies[0]})" if close(accuracies[0]) else
                    f"the best accuracy ({max(accuracies)})" if close(max(accuracies)) else repr(value))
            raise CheckFailure(f"{how}, the run logged the accuracies {accuracies} (one per epoch) and sweep_train "
                               f"returned {said}, not the last one, {accuracies[-1]}. A W&B sweep compares the "
                               "last value a run logged (its summary): return history['accuracy'][-1].")
        return value, logged["config"]

    agent = {"learning_rate": 0.0234, "batch_size": 4, "epochs": 3}
    _, config = one_trial(None, agent, "Called by a wandb agent (no params; the agent chose " + _fmt(agent) + ")")
    for key, value in agent.items():
        if config.get(key) != value:
            raise CheckFailure(f"under a wandb agent that chose {key}={value}, the run's config has {key}="
                               f"{config.get(key)!r}: let the trainer read the agent's values from wandb.config "
                               "(do not call wandb.init yourself with other values).")
    params = {"learning_rate": 0.0345, "epochs": 2}
    _, config = one_trial(params, None, "Called by the Optuna runner with params " + _fmt(params))
    for key, value in params.items():
        if config.get(key) != value:
            raise CheckFailure(f"sweep_train({params}) trained with {key}={config.get(key)!r} (from the run's config), "
                               f"not the trial's {value}: replace the fields in params in base_args, "
                               "replace(base_args, **params).")
    for key in ("wandb_group", "n_examples", "max_steps_per_epoch"):
        if config.get(key) != getattr(base, key):
            raise CheckFailure(f"sweep_train({params}, base_args=...) lost base_args.{key}={getattr(base, key)!r} "
                               f"(the run's config has {config.get(key)!r}): start from base_args and replace only "
                               "the fields in params.")
    return "as a wandb agent's function (config from the agent) and with Optuna's params; fresh model, final accuracy"


def _support(spec: dict[str, Any]) -> tuple:
    """(kind, low, high) or ("set", values) for one parameter spec, in terms of the sampled values."""
    dist = spec.get("distribution")
    if dist is None and "value" in spec:
        return ("set", [spec["value"]])
    if dist is None and "values" in spec or dist == "categorical":
        return ("set", list(spec["values"]))
    if dist is None:
        dist = "int_uniform" if all(isinstance(spec[k], int) for k in ("min", "max")) else "uniform"
    if dist == "log_uniform_values":
        return ("log", spec["min"], spec["max"])
    if dist == "log_uniform":
        return ("log", math.exp(spec["min"]), math.exp(spec["max"]))
    if dist == "int_uniform":
        return ("int", spec["min"], spec["max"])
    return (dist, spec.get("min"), spec.get("max"))


def check_make_sweep_config(make_sweep_config: Callable) -> str:
    config = make_sweep_config()
    expect_type(config, dict, "make_sweep_config()")
    try:
        ref.validate_sweep_config(config)
    except ref.SweepConfigError as err:
        raise CheckFailure(str(err)) from err
    expect_equal(config["method"], "random", "make_sweep_config()['method']")
    metric = config.get("metric") or {}
    if metric.get("name") != "accuracy":
        raise CheckFailure(f"the metric must be the key the trainer logs, 'accuracy'; got {metric.get('name')!r}")
    if metric.get("goal") != "maximize":
        raise CheckFailure(f"metric goal should be 'maximize' (higher accuracy is better); got {metric.get('goal')!r}"
                           + (" - without a goal W&B minimizes" if "goal" not in metric else ""))
    params = config["parameters"]
    known = {f.name for f in fields(ref.WandbResNetTrainingArgs)}
    for name in params:
        if name not in known:
            raise CheckFailure(f"parameter {name!r} is not a field of WandbResNetTrainingArgs, so the trainer "
                               f"would ignore it; fields: {sorted(known)}")
    for name in ("learning_rate", "batch_size", "epochs"):
        if name not in params:
            raise CheckFailure(f"the sweep should search over {name!r}; parameters are {sorted(params)}")
    lr = _support(params["learning_rate"])
    if params["learning_rate"].get("distribution") == "log_uniform" and lr[1] > 0.5:
        raise CheckFailure("learning_rate uses 'log_uniform', whose min and max are natural logs: min=0.0001 "
                           f"means e^0.0001 ≈ 1.0, so it samples between {lr[1]:.4g} and {lr[2]:.4g}. "
                           "Use 'log_uniform_values' with min=1e-4, max=1e-1.")
    if lr[0] != "log":
        raise CheckFailure(f"learning_rate should be log-uniform (distribution 'log_uniform_values'), got {lr}: "
                           "uniform sampling over [1e-4, 0.1] puts 90% of trials above 0.01.")
    if not (math.isclose(lr[1], 1e-4, rel_tol=1e-3) and math.isclose(lr[2], 0.1, rel_tol=1e-3)):
        raise CheckFailure(f"learning_rate should range over [1e-4, 1e-1]; it ranges over [{lr[1]:.4g}, {lr[2]:.4g}]")
    batch = _support(params["batch_size"])
    if batch[0] != "set" or sorted(batch[1]) != [32, 64, 128]:
        raise CheckFailure(f"batch_size should be one of the values [32, 64, 128]; got {params['batch_size']}")
    epochs = _support(params["epochs"])
    if not (epochs == ("int", 1, 3) or (epochs[0] == "set" and sorted(epochs[1]) == [1, 2, 3])):
        raise CheckFailure(f"epochs should be an integer from 1 to 3 (int_uniform min 1, max 3); got {params['epochs']}")
    return "accepted by the validator; random search maximizing accuracy; log-uniform lr, batch sizes, epochs"


_SWEEP_PARAMETERS = {
    "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    "lr_exp": {"distribution": "log_uniform", "min": -9.0, "max": -2.0},
    "batch_size": {"values": [16, 32, 64]},
    "epochs": {"distribution": "int_uniform", "min": 1, "max": 4},
    "dropout": {"distribution": "uniform", "min": 0.0, "max": 0.5},
    "layers": {"min": 2, "max": 5},
    "momentum": {"min": 0.5, "max": 0.99},
    "seed": {"value": 7},
}


def check_suggest_from_sweep_config(suggest_from_sweep_config: Callable) -> str:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    want = {
        "lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
        "lr_exp": optuna.distributions.FloatDistribution(math.exp(-9.0), math.exp(-2.0), log=True),
        "batch_size": optuna.distributions.CategoricalDistribution([16, 32, 64]),
        "epochs": optuna.distributions.IntDistribution(1, 4),
        "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
        "layers": optuna.distributions.IntDistribution(2, 5),
        "momentum": optuna.distributions.FloatDistribution(0.5, 0.99),
    }
    for _ in range(3):
        trial = study.ask()
        got = suggest_from_sweep_config(trial, {k: dict(v) for k, v in _SWEEP_PARAMETERS.items()})
        expect_type(got, dict, "suggest_from_sweep_config(trial, parameters)")
        expect_equal(sorted(got), sorted(_SWEEP_PARAMETERS), "the keys of the returned dict")
        if got["seed"] != 7:
            raise CheckFailure(f"{{'value': 7}} is a fixed value: expected 7, got {got['seed']!r}")
        for name, dist in want.items():
            spec = _SWEEP_PARAMETERS[name]
            have = trial.distributions.get(name)
            if have is None:
                raise CheckFailure(f"parameter {name!r} ({spec}) was not drawn through the trial: use trial.suggest_*"
                                   f"(\"{name}\", ...) so Optuna records it")
            if type(have) is not type(dist) or (
                    not isinstance(dist, optuna.distributions.CategoricalDistribution) and (
                    getattr(have, "log", False) != getattr(dist, "log", False)
                    or not math.isclose(have.low, dist.low, rel_tol=1e-6)
                    or not math.isclose(have.high, dist.high, rel_tol=1e-6))) or (
                    isinstance(dist, optuna.distributions.CategoricalDistribution) and have.choices != dist.choices):
                raise CheckFailure(f"parameter {name!r} = {spec}: expected Optuna to sample from {dist}, but it "
                                   f"sampled from {have}")
            if got[name] != trial.params[name]:
                raise CheckFailure(f"parameter {name!r}: returned {got[name]!r} but the trial drew {trial.params[name]!r}")
        study.tell(trial, 0.0)
    try:
        suggest_from_sweep_config(study.ask(), {"x": {"distribution": "normal", "mu": 0.0, "sigma": 1.0}})
    except ValueError:
        pass
    else:
        raise CheckFailure("a distribution the runner does not support ('normal') should raise ValueError")
    return "value, values, int_uniform, uniform, log_uniform_values, log_uniform (exp bounds), bare min/max"
