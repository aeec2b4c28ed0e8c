"""Reference solutions for part 0.4, Optimization and hyperparameters.

1️⃣ optimizers from scratch (SGD, RMSprop, Adam, AdamW) matched step for step against torch.optim;
2️⃣ logging a trainer to Weights & Biases and running hyperparameter sweeps (online with wandb agents,
offline through Optuna); 3️⃣ bonus: parameter groups.
"""

import difflib
import math
import netrc
import os
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np  # noqa: F401 - used in the lesson
import optuna
import plotly.express as px  # noqa: F401 - used in the lesson
import plotly.graph_objects as go
import torch as t
import wandb
from jaxtyping import Float
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from course.chapter0_fundamentals.part3_resnets.solutions import (  # noqa: F401 - used in the lesson
    ResNetTrainer,
    ResNetTrainingArgs,
    get_cifar_datasets,
    get_resnet_for_feature_extraction,
)

# ------------------------------------------------------------------------ 1️⃣ optimizers from scratch


def pathological_curvature_loss(x: Tensor, y: Tensor) -> Tensor:
    """A ravine: steep walls across x, a floor that slopes gently down towards y -> -infinity.

    The walls 1 - exp(-x²) (plus a small |x| term so they never go flat) are far more curved than the
    floor sigmoid(y), the textbook situation where plain gradient descent zig-zags between the walls
    and crawls along the floor. Works elementwise, so x and y may be grids."""
    walls = 1 - t.exp(-(x**2)) + 0.02 * x.abs()
    floor = t.sigmoid(y)
    return walls + floor


def opt_fn_with_sgd(
    fn: Callable[[Tensor, Tensor], Tensor],
    xy: Float[Tensor, "2"],
    lr: float = 0.001,
    momentum: float = 0.98,
    n_iters: int = 100,
) -> Float[Tensor, "n_iters 2"]:
    """Minimise fn(x, y) with torch.optim.SGD(lr, momentum), starting from xy, for n_iters steps.

    xy is a tensor of shape (2,) with requires_grad=True: it is the parameter being optimised and is
    updated in place. Returns the path, a tensor of shape (n_iters, 2) that does not require grad:
    row i is the point *before* step i (so row 0 is the starting point)."""
    # SOLUTION
    optimizer = t.optim.SGD([xy], lr=lr, momentum=momentum)
    path = t.empty((n_iters, 2), dtype=xy.dtype)
    for i in range(n_iters):
        path[i] = xy.detach()
        fn(xy[0], xy[1]).backward()
        optimizer.step()
        optimizer.zero_grad()
    return path
    # END SOLUTION


class SGD:
    def __init__(self, params: Iterable[t.nn.Parameter], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        """Stochastic gradient descent with momentum and weight decay, exactly like torch.optim.SGD
        (dampening=0, nesterov=False).

        params may be any iterable of tensors (a list, or a generator such as model.parameters()).
        Each step, for every parameter p whose p.grad is not None (skip the others):
            g = p.grad + weight_decay * p
            b = momentum * b + g      (b starts at zero; only when momentum != 0, otherwise b = g)
            p = p - lr * b
        zero_grad() removes the gradients: set every p.grad to None (as torch does), or zero the gradients
        that exist in place; a parameter whose p.grad is None must keep None (else step() would decay it)."""
        # SOLUTION
        self.params = list(params)  # a generator would be used up after one pass
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.bufs = [t.zeros_like(p) for p in self.params]
        # END SOLUTION

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (p.grad = None; or p.grad.zero_() where p.grad is not None)."""
        # SOLUTION
        for p in self.params:
            p.grad = None
        # END SOLUTION

    def step(self) -> None:
        """Update every parameter that has a gradient in place (without recording it for autograd)."""
        # SOLUTION
        with t.no_grad():
            for p, buf in zip(self.params, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                if self.momentum:
                    g = buf.mul_(self.momentum).add_(g)
                p -= self.lr * g
        # END SOLUTION


class RMSprop:
    def __init__(self, params: Iterable[t.nn.Parameter], lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-08, weight_decay: float = 0.0, momentum: float = 0.0):
        """RMSprop, exactly like torch.optim.RMSprop (centered=False).

        Each step, for every parameter p whose p.grad is not None:
            g = p.grad + weight_decay * p
            v = alpha * v + (1 - alpha) * g²          (v starts at zero)
            u = g / (sqrt(v) + eps)                    (eps is added *after* the square root)
            if momentum != 0: b = momentum * b + u;  p = p - lr * b      (b starts at zero)
            else:             p = p - lr * u"""
        # SOLUTION
        self.params = list(params)
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.weight_decay, self.momentum = weight_decay, momentum
        self.sq_avgs = [t.zeros_like(p) for p in self.params]
        self.bufs = [t.zeros_like(p) for p in self.params]
        # END SOLUTION

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (p.grad = None; or p.grad.zero_() where p.grad is not None)."""
        # SOLUTION
        for p in self.params:
            p.grad = None
        # END SOLUTION

    def step(self) -> None:
        """Update every parameter that has a gradient in place (without recording it for autograd)."""
        # SOLUTION
        with t.no_grad():
            for p, v, buf in zip(self.params, self.sq_avgs, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                v.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
                update = g / (v.sqrt() + self.eps)
                if self.momentum:
                    update = buf.mul_(self.momentum).add_(update)
                p -= self.lr * update
        # END SOLUTION


class Adam:
    def __init__(self, params: Iterable[t.nn.Parameter], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-08, weight_decay: float = 0.0):
        """Adam, exactly like torch.optim.Adam (amsgrad=False). Weight decay is an L2 term added to g.

        Each step, with step count t = 1, 2, 3, ... (the number of steps taken so far, this one
        included), for every parameter p whose p.grad is not None:
            g = p.grad + weight_decay * p
            m = beta1 * m + (1 - beta1) * g            (m, v start at zero)
            v = beta2 * v + (1 - beta2) * g²
            m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)
            p = p - lr * m_hat / (sqrt(v_hat) + eps)"""
        # SOLUTION
        self.params = list(params)
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.ms = [t.zeros_like(p) for p in self.params]
        self.vs = [t.zeros_like(p) for p in self.params]
        self.t = 0
        # END SOLUTION

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (p.grad = None; or p.grad.zero_() where p.grad is not None)."""
        # SOLUTION
        for p in self.params:
            p.grad = None
        # END SOLUTION

    def step(self) -> None:
        """Update every parameter that has a gradient in place (without recording it for autograd)."""
        # SOLUTION
        self.t += 1
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                m_hat = m / (1 - self.beta1**self.t)
                v_hat = v / (1 - self.beta2**self.t)
                p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)
        # END SOLUTION


class AdamW:
    def __init__(self, params: Iterable[t.nn.Parameter], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-08, weight_decay: float = 0.01):
        """AdamW, exactly like torch.optim.AdamW: Adam with *decoupled* weight decay.

        Each step, with step count t = 1, 2, 3, ..., for every parameter p whose p.grad is not None:
            p = p * (1 - lr * weight_decay)            (decay first, and not through the gradient)
            g = p.grad                                 (no weight-decay term here)
            m, v, m_hat, v_hat as in Adam
            p = p - lr * m_hat / (sqrt(v_hat) + eps)"""
        # SOLUTION
        self.params = list(params)
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.ms = [t.zeros_like(p) for p in self.params]
        self.vs = [t.zeros_like(p) for p in self.params]
        self.t = 0
        # END SOLUTION

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (p.grad = None; or p.grad.zero_() where p.grad is not None)."""
        # SOLUTION
        for p in self.params:
            p.grad = None
        # END SOLUTION

    def step(self) -> None:
        """Update every parameter that has a gradient in place (without recording it for autograd)."""
        # SOLUTION
        self.t += 1
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                p.mul_(1 - self.lr * self.weight_decay)
                g = p.grad
                m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                m_hat = m / (1 - self.beta1**self.t)
                v_hat = v / (1 - self.beta2**self.t)
                p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)
        # END SOLUTION


def opt_fn(
    fn: Callable[[Tensor, Tensor], Tensor],
    xy: Float[Tensor, "2"],
    optimizer_class: type,
    optimizer_hyperparams: dict[str, Any],
    n_iters: int = 100,
) -> Float[Tensor, "n_iters 2"]:
    """Like opt_fn_with_sgd, for any optimizer: optimizer_class([xy], **optimizer_hyperparams).

    Works with torch.optim classes and with yours. xy (shape (2,), requires_grad=True) is updated in
    place; returns the (n_iters, 2) path without grad, row i being the point before step i."""
    # SOLUTION
    optimizer = optimizer_class([xy], **optimizer_hyperparams)
    path = t.empty((n_iters, 2), dtype=xy.dtype)
    for i in range(n_iters):
        path[i] = xy.detach()
        fn(xy[0], xy[1]).backward()
        optimizer.step()
        optimizer.zero_grad()
    return path
    # END SOLUTION


def loss_surface(fn: Callable[[Tensor, Tensor], Tensor], x_range: tuple[float, float] = (-3.0, 3.0),
                 y_range: tuple[float, float] = (-3.0, 3.0), n: int = 120) -> go.Figure:
    """A contour plot of fn over a grid (used to draw optimizer paths on top)."""
    xs, ys = t.linspace(*x_range, n), t.linspace(*y_range, n)
    grid_x, grid_y = t.meshgrid(xs, ys, indexing="xy")
    z = fn(grid_x, grid_y)
    fig = go.Figure(go.Contour(x=xs.numpy(), y=ys.numpy(), z=z.numpy(), colorscale="Viridis",
                               ncontours=30, showscale=False, name="loss"))
    fig.update_layout(xaxis_title="x", yaxis_title="y", width=650, height=560,
                      legend=dict(bgcolor="rgba(255,255,255,0.8)"))
    return fig


PATH_COLORS = ["#e8000b", "#00bcd4", "#e040fb", "#ff8f00", "#ffffff", "#000000"]  # readable on Viridis and white


def plot_paths(fn: Callable[[Tensor, Tensor], Tensor], paths: dict[str, Tensor], **surface_kwargs) -> go.Figure:
    """The contour plot of fn with one line per optimizer path ({label: (n_iters, 2) tensor})."""
    fig = loss_surface(fn, **surface_kwargs)
    first = next(iter(paths.values())).detach().cpu()
    fig.add_trace(go.Scatter(x=[float(first[0, 0])], y=[float(first[0, 1])], mode="markers", name="start",
                             marker=dict(size=14, color="white", symbol="circle-open", line=dict(width=2))))
    for i, (label, path) in enumerate(paths.items()):
        path = path.detach().cpu()
        color = PATH_COLORS[i % len(PATH_COLORS)]
        fig.add_trace(go.Scatter(x=path[:, 0].numpy(), y=path[:, 1].numpy(), mode="lines+markers", name=label,
                                 line=dict(color=color, width=2), marker=dict(size=4, color=color)))
    return fig


# ------------------------------------------------------------------------ 2️⃣ Weights & Biases


def wandb_mode() -> str:
    """Which W&B mode to run in: WANDB_MODE if set, else "online" if this machine has W&B credentials
    and can reach the server, else "offline" (saying why, and how to upload the runs later)."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    reason = None
    if os.environ.get("ARENA_OFFLINE", "") not in ("", "0"):
        reason = "ARENA_OFFLINE is set"
    elif not _has_wandb_credentials():
        reason = "no W&B account is configured (run `wandb login` to add one)"
    else:
        try:
            socket.create_connection((_wandb_host(), 443), timeout=3).close()
        except OSError:
            reason = "the W&B server cannot be reached"
    if reason is None:
        return "online"
    print(f"W&B runs offline: {reason}. Runs are written under ./wandb (or $WANDB_DIR); "
          "upload them later with `wandb sync wandb/offline-run-*`.")
    return "offline"


def _wandb_host() -> str:
    from urllib.parse import urlparse

    return urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname or "api.wandb.ai"


def _has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators(_wandb_host()) is not None
    except (OSError, netrc.NetrcParseError):
        return False


@dataclass
class WandbResNetTrainingArgs(ResNetTrainingArgs):
    """ResNetTrainingArgs plus where the W&B run goes and how many example predictions to log."""

    wandb_project: str | None = "arena-0.4-resnet"
    wandb_name: str | None = None
    wandb_group: str | None = None
    n_examples: int = 8


class WandbResNetTrainer(ResNetTrainer):
    """Part 0.3's ResNetTrainer, logging to Weights & Biases.

    Making the trainer starts the run: wandb.init receives the hyperparameters as its config, and the
    values in wandb.config afterwards are the ones used (a sweep agent may have replaced some)."""

    def __init__(self, args: WandbResNetTrainingArgs, train_set: Dataset, test_set: Dataset,
                 model: t.nn.Module | None = None):
        """Start a W&B run, then set up the trainer with the hyperparameters from wandb.config.

        Call wandb.init with project=args.wandb_project, name=args.wandb_name, group=args.wandb_group,
        config=asdict(args) and mode=wandb_mode(). Then build the arguments actually used: a copy of
        args in which every field that appears in wandb.config takes the config's value (under a sweep,
        the agent's choices win), and rebind `args` to it: the line after your code passes it to
        ResNetTrainer.__init__, which stores it as self.args."""
        # SOLUTION
        run = wandb.init(project=args.wandb_project, name=args.wandb_name, group=args.wandb_group,
                         config=asdict(args), mode=wandb_mode())
        names = {f.name for f in fields(args)}
        args = replace(args, **{k: v for k, v in run.config.items() if k in names})
        # END SOLUTION
        super().__init__(args, train_set, test_set, model)

    def log_examples(self) -> None:
        """Log a wandb.Table under the key "examples" with columns ["image", "prediction", "label"]:
        one row per image of the first args.n_examples test examples (the image as a wandb.Image,
        the model's predicted class, the true class)."""
        # SOLUTION
        n = min(self.args.n_examples, len(self.test_set))
        imgs, labels = zip(*(self.test_set[i] for i in range(n)), strict=True)
        imgs, labels = t.stack(imgs), t.as_tensor(labels)
        self.model.eval()
        with t.inference_mode():
            preds = self.model(imgs.to(next(self.model.parameters()).device)).argmax(-1).cpu()
        shown = (imgs - imgs.amin((1, 2, 3), keepdim=True)) / (
            imgs.amax((1, 2, 3), keepdim=True) - imgs.amin((1, 2, 3), keepdim=True) + 1e-8)
        table = wandb.Table(columns=["image", "prediction", "label"])
        for img, pred, label in zip(shown, preds.tolist(), labels.tolist(), strict=True):
            table.add_data(wandb.Image(img), pred, label)
        wandb.log({"examples": table})
        # END SOLUTION

    def train(self) -> dict[str, list[float]]:
        """Train for args.epochs epochs with self.training_step over self.train_loader (built by
        ResNetTrainer from args.batch_size and args.subset), stopping each epoch after
        args.max_steps_per_epoch steps when that is set.

        Log {"loss": ...} to W&B after every training step, and after every epoch
        {"accuracy": self.evaluate()} followed by self.log_examples(). Finish the run at the end
        (also when training fails). Returns {"loss": [one float per step], "accuracy": [one per epoch]}."""
        # SOLUTION
        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        try:
            for epoch in range(self.args.epochs):
                progress = tqdm(self.train_loader, desc=f"epoch {epoch + 1}/{self.args.epochs}")
                for step, (imgs, labels) in enumerate(progress):
                    if self.args.max_steps_per_epoch is not None and step >= self.args.max_steps_per_epoch:
                        break
                    loss = float(self.training_step(imgs, labels))
                    history["loss"].append(loss)
                    wandb.log({"loss": loss})
                    progress.set_postfix(loss=f"{loss:.3f}")
                accuracy = self.evaluate()
                history["accuracy"].append(accuracy)
                wandb.log({"accuracy": accuracy})
                self.log_examples()
        finally:
            wandb.finish()
        return history
        # END SOLUTION


def read_offline_run(run_dir: str | Path) -> dict[str, Any]:
    """Read back what a W&B run logged, from its local run directory (wandb/offline-run-... or run-...).

    Returns {"config": {...}, "history": [one dict per wandb.log call], "summary": {...}, "artifacts":
    [{"name", "type", "aliases", "metadata", "files": {path in the artifact: local copy}}, ...]} by
    parsing the run's .wandb file (a log of protobuf records; no network, no account needed). Nested
    keys are joined with "/", e.g. a logged table appears as "examples/_type": "table-file", and a
    gradient histogram from wandb.watch as "gradients/<parameter name>/bins" and ".../values"."""
    import json

    from wandb.proto import wandb_internal_pb2 as pb

    if wandb.run is None:
        wandb.teardown()  # wait for W&B's background service to finish writing the run's files
    path = next(Path(run_dir).glob("*.wandb"))
    data = path.read_bytes()
    block, header = 32768, 7  # the LevelDB log format: 32 KiB blocks, 7-byte record headers
    pos, pending, records = header, b"", []
    while pos + header <= len(data):
        if block - pos % block < header:
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + header])
        chunk, pos = data[pos + header : pos + header + length], pos + header + length
        if kind == 0:
            continue
        pending += chunk
        if kind in (1, 4):  # FULL or LAST piece of a record
            records.append(pending)
            pending = b""

    def key(item) -> str:
        return item.key or "/".join(item.nested_key)

    out: dict[str, Any] = {"config": {}, "history": [], "summary": {}, "artifacts": []}
    for raw in records:
        record = pb.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["config"].update({key(i): json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            out["config"].update({key(i): json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            out["history"].append({key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            out["summary"].update({key(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "artifact":
            art = record.artifact
            out["artifacts"].append({"name": art.name, "type": art.type, "aliases": list(art.aliases),
                                     "metadata": json.loads(art.metadata or "{}"),
                                     "files": {f.path: f.local_path for f in art.manifest.contents}})
    out["config"] = {k: (v["value"] if isinstance(v, dict) and "value" in v else v)
                     for k, v in out["config"].items() if k != "_wandb"}
    return out


def save_model_artifact(model: t.nn.Module, name: str, metadata: dict[str, Any] | None = None) -> "wandb.Artifact":
    """Save model's weights as a W&B artifact of type "model" in the current run, and return the artifact.

    Write model.state_dict() (the weights only, not the pickled module) with torch.save to a file named
    "model.pt" in a temporary directory, put that file in wandb.Artifact(name, type="model",
    metadata=metadata), and log it to the run in progress with wandb.log_artifact (a run must have been
    started with wandb.init; leave it open). W&B copies the file when it is added, so the temporary
    directory may be deleted afterwards. Load it back with model.load_state_dict(torch.load(path,
    weights_only=True))."""
    # SOLUTION
    import tempfile

    with tempfile.TemporaryDirectory(prefix="arena-model-") as tmp:
        path = Path(tmp) / "model.pt"
        t.save(model.state_dict(), path)
        artifact = wandb.Artifact(name, type="model", metadata=metadata or {})
        artifact.add_file(str(path))
        wandb.log_artifact(artifact)
    return artifact
    # END SOLUTION


class SweepConfigError(ValueError):
    """A sweep config that W&B would reject; the message lists every reason."""


SWEEP_METHODS = ("grid", "random", "bayes")
SWEEP_KEYS = {"method", "metric", "parameters", "name", "description", "program", "command",
              "early_terminate", "project", "entity", "run_cap"}
PARAM_KEYS = {"value", "values", "probabilities", "distribution", "min", "max", "mu", "sigma", "q",
              "a", "b", "parameters"}
DISTRIBUTIONS = {
    "constant": {"value"}, "categorical": {"values"},
    "int_uniform": {"min", "max"}, "uniform": {"min", "max"}, "q_uniform": {"min", "max"},
    "log_uniform": {"min", "max"}, "log_uniform_values": {"min", "max"},
    "q_log_uniform": {"min", "max"}, "q_log_uniform_values": {"min", "max"},
    "inv_log_uniform": {"min", "max"}, "inv_log_uniform_values": {"min", "max"},
    "normal": set(), "q_normal": set(), "log_normal": set(), "q_log_normal": set(),
    "beta": set(), "q_beta": set(),
}
POSITIVE_RANGE = {"log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"}


def _suggest(word: str, known) -> str:
    close = difflib.get_close_matches(str(word), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _param_problems(name: str, spec: Any, method: str) -> list[str]:
    where = f"parameter {name!r}"
    if not isinstance(spec, dict):
        return [f"{where} must be a dict such as {{'values': [...]}}, got {spec!r}"]
    problems = [f"{where}: unknown key {k!r}{_suggest(k, PARAM_KEYS)}" for k in spec if k not in PARAM_KEYS]
    if "parameters" in spec:
        nested = spec["parameters"]
        if not isinstance(nested, dict) or not nested:
            return problems + [f"{where}: 'parameters' must be a non-empty dict of nested parameters"]
        for sub, sub_spec in nested.items():
            problems += _param_problems(f"{name}.{sub}", sub_spec, method)
        return problems
    dist = spec.get("distribution")
    if dist is None:
        if "value" in spec:
            dist = "constant"
        elif "values" in spec:
            dist = "categorical"
        elif "min" in spec and "max" in spec:
            both_int = all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("min", "max"))
            dist = "int_uniform" if both_int else "uniform"
        else:
            return problems + [f"{where} needs 'value', 'values', or 'min' and 'max' (with an optional "
                               f"'distribution'); it has {sorted(spec)}"]
    if dist not in DISTRIBUTIONS:
        return problems + [f"{where}: unknown distribution {dist!r}{_suggest(dist, DISTRIBUTIONS)}"]
    missing = DISTRIBUTIONS[dist] - spec.keys()
    if missing:
        return problems + [f"{where}: distribution {dist!r} needs {sorted(missing)}"]
    if dist == "categorical":
        values = spec["values"]
        if not isinstance(values, list) or not values:
            problems.append(f"{where}: 'values' must be a non-empty list, got {values!r}")
        elif "probabilities" in spec:
            probs = spec["probabilities"]
            if not isinstance(probs, list) or len(probs) != len(values):
                problems.append(f"{where}: 'probabilities' must be a list as long as 'values'")
            elif abs(sum(probs) - 1) > 1e-6:
                problems.append(f"{where}: 'probabilities' must sum to 1, they sum to {sum(probs)}")
    if {"min", "max"} <= spec.keys():
        low, high = spec["min"], spec["max"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
            problems.append(f"{where}: 'min' and 'max' must be numbers, got {low!r} and {high!r}")
        elif low >= high:
            problems.append(f"{where}: 'min' ({low}) must be less than 'max' ({high})")
        elif dist in POSITIVE_RANGE and low <= 0:
            problems.append(f"{where}: {dist} needs min > 0 (it samples the log of the values), got {low}")
        elif dist == "int_uniform" and not all(isinstance(v, int) for v in (low, high)):
            problems.append(f"{where}: int_uniform needs integer 'min' and 'max', got {low!r} and {high!r}")
    if method == "grid" and dist not in ("constant", "categorical", "int_uniform", "q_uniform"):
        problems.append(f"{where}: grid search needs a finite set of values ('values', 'value' or "
                        f"int_uniform), not the continuous distribution {dist!r}")
    return problems


def validate_sweep_config(config: dict[str, Any]) -> None:
    """Raise SweepConfigError listing every reason W&B would reject this sweep config; else return None.

    Checks the top-level keys, the method (grid/random/bayes), the metric (name, and goal minimize or
    maximize; bayes needs a metric) and every parameter (value / values / a known distribution with
    valid min and max; grid search only over finite sets)."""
    if not isinstance(config, dict):
        raise SweepConfigError(f"a sweep config is a dict, got {type(config).__name__}")
    problems = [f"unknown top-level key {k!r}{_suggest(k, SWEEP_KEYS)}" for k in config if k not in SWEEP_KEYS]
    method = config.get("method")
    if method is None:
        problems.append(f"'method' is missing: one of {', '.join(SWEEP_METHODS)}")
    elif method not in SWEEP_METHODS:
        problems.append(f"unknown method {method!r}{_suggest(method, SWEEP_METHODS)}: "
                        f"use one of {', '.join(SWEEP_METHODS)}")
    metric = config.get("metric")
    if metric is None:
        if method == "bayes":
            problems.append("bayes search needs a 'metric' with a 'name' and a 'goal' to optimise")
    elif not isinstance(metric, dict):
        problems.append(f"'metric' must be a dict like {{'name': 'accuracy', 'goal': 'maximize'}}, got {metric!r}")
    else:
        if not isinstance(metric.get("name"), str) or not metric.get("name"):
            problems.append("'metric' needs a 'name': the key your training code logs with wandb.log")
        if "goal" in metric and metric["goal"] not in ("minimize", "maximize"):
            problems.append(f"metric goal must be 'minimize' or 'maximize', got {metric['goal']!r}")
        for k in metric.keys() - {"name", "goal", "target", "impute", "imputeWhileRunning"}:
            problems.append(f"metric: unknown key {k!r}")
    parameters = config.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        problems.append("'parameters' must be a non-empty dict of {name: specification}")
    else:
        for name, spec in parameters.items():
            problems += _param_problems(name, spec, method or "")
    if problems:
        raise SweepConfigError("W&B would reject this sweep config:\n- " + "\n- ".join(problems))


def make_sweep_config() -> dict[str, Any]:
    """The sweep config for WandbResNetTrainer: a *random* search that *maximizes* the logged metric
    "accuracy", over
        learning_rate: log-uniformly distributed between 1e-4 and 1e-1,
        batch_size:    one of 32, 64, 128,
        epochs:        an integer from 1 to 3, uniformly.
    Returns a dict with the keys "method", "metric" and "parameters", as wandb.sweep expects."""
    # SOLUTION
    return {
        "method": "random",
        "metric": {"name": "accuracy", "goal": "maximize"},
        "parameters": {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
            "batch_size": {"values": [32, 64, 128]},
            "epochs": {"distribution": "int_uniform", "min": 1, "max": 3},
        },
    }
    # END SOLUTION


def suggest_from_sweep_config(trial: optuna.Trial, parameters: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Sample one set of hyperparameters from a W&B sweep config's "parameters" with an Optuna trial.

    Returns {name: value} for every parameter, drawing each through the trial so Optuna records it:
        {"value": v}                                   -> v itself (nothing to sample)
        {"values": [...]}                              -> trial.suggest_categorical
        {"distribution": "int_uniform", min, max}      -> trial.suggest_int (min and max included)
        {"distribution": "uniform", min, max}          -> trial.suggest_float
        {"distribution": "log_uniform_values", min, max} -> trial.suggest_float(..., log=True)
        {"distribution": "log_uniform", min, max}      -> log-uniform between exp(min) and exp(max)
                                                          (W&B's log_uniform takes natural-log bounds)
        {min, max} without a distribution              -> int_uniform if both are ints, else uniform
    Any other distribution raises ValueError naming it."""
    # SOLUTION
    chosen: dict[str, Any] = {}
    for name, spec in parameters.items():
        dist = spec.get("distribution")
        if dist is None and "value" in spec:
            dist = "constant"
        elif dist is None and "values" in spec:
            dist = "categorical"
        elif dist is None:
            dist = "int_uniform" if all(isinstance(spec[k], int) for k in ("min", "max")) else "uniform"
        if dist == "constant":
            chosen[name] = spec["value"]
        elif dist == "categorical":
            chosen[name] = trial.suggest_categorical(name, spec["values"])
        elif dist == "int_uniform":
            chosen[name] = trial.suggest_int(name, spec["min"], spec["max"])
        elif dist == "uniform":
            chosen[name] = trial.suggest_float(name, spec["min"], spec["max"])
        elif dist == "log_uniform_values":
            chosen[name] = trial.suggest_float(name, spec["min"], spec["max"], log=True)
        elif dist == "log_uniform":
            chosen[name] = trial.suggest_float(name, math.exp(spec["min"]), math.exp(spec["max"]), log=True)
        else:
            raise ValueError(f"parameter {name!r}: the local sweep runner does not support {dist!r}")
    return chosen
    # END SOLUTION


def sweep_train(params: dict[str, Any] | None = None, *, train_set: Dataset, test_set: Dataset,
                base_args: WandbResNetTrainingArgs | None = None,
                make_model: Callable[[], t.nn.Module] | None = None) -> float:
    """One sweep trial: train a WandbResNetTrainer with the trial's hyperparameters, return its final accuracy.

    It has two callers. wandb.agent calls it with no params: the agent hands its choices to wandb.init,
    and the trainer reads them back from wandb.config. The local Optuna runner passes its choices as
    params ({name: value}). So: start from base_args (WandbResNetTrainingArgs() if None) with the fields
    in params (if any) replaced; build a fresh model with make_model() for every trial when make_model
    is given (else pass model=None); train one WandbResNetTrainer (it starts, logs and finishes the W&B
    run); return the *last* accuracy it logged, the value a W&B sweep compares (a run's summary keeps
    the last value logged under a key), as a float."""
    # SOLUTION
    args = replace(base_args or WandbResNetTrainingArgs(), **(params or {}))
    model = make_model() if make_model is not None else None
    history = WandbResNetTrainer(args, train_set, test_set, model=model).train()
    return float(history["accuracy"][-1])
    # END SOLUTION


def run_offline_sweep(sweep_config: dict[str, Any], train_fn: Callable[[dict[str, Any]], float],
                      n_trials: int, storage: str, study_name: str = "arena-0.4-sweep",
                      seed: int = 0) -> optuna.Study:
    """Run a W&B-style sweep locally with Optuna: same config, same training function, no server.

    `storage` is an Optuna storage URL such as "sqlite:///sweep.db": trials are saved there, so a
    sweep can be resumed, and several processes (or machines sharing a database) can each call this
    function with the same study_name to search together, like several wandb agents."""
    validate_sweep_config(sweep_config)
    metric = sweep_config.get("metric", {})
    direction = "maximize" if metric.get("goal") == "maximize" else "minimize"
    method = sweep_config["method"]
    if method == "grid":
        space = {name: spec.get("values", [spec.get("value")]) if "min" not in spec
                 else list(range(spec["min"], spec["max"] + 1))
                 for name, spec in sweep_config["parameters"].items()}
        sampler: optuna.samplers.BaseSampler = optuna.samplers.GridSampler(space, seed=seed)
    elif method == "bayes":  # W&B uses a Gaussian process; Optuna's TPE is another Bayesian method
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(study_name=study_name, storage=storage, direction=direction,
                                sampler=sampler, load_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        params = suggest_from_sweep_config(trial, sweep_config["parameters"])
        return train_fn(params)

    study.optimize(objective, n_trials=n_trials)
    return study


def plot_sweep(study: optuna.Study, metric_name: str = "accuracy") -> go.Figure:
    """One panel per hyperparameter: each finished trial's metric against that hyperparameter's value."""
    from plotly.subplots import make_subplots

    trials = [tr for tr in study.trials if tr.value is not None]
    names = sorted({k for tr in trials for k in tr.params})
    fig = make_subplots(rows=1, cols=max(len(names), 1), shared_yaxes=True, subplot_titles=names)
    for col, name in enumerate(names, 1):
        xs = [tr.params[name] for tr in trials if name in tr.params]
        ys = [tr.value for tr in trials if name in tr.params]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker=dict(size=9), name=name,
                                 text=[f"trial {tr.number}" for tr in trials if name in tr.params],
                                 showlegend=False), row=1, col=col)
        dist = next((tr.distributions[name] for tr in trials if name in tr.distributions), None)
        if getattr(dist, "log", False):
            fig.update_xaxes(type="log", row=1, col=col)
    fig.update_yaxes(title_text=metric_name, row=1, col=1)
    fig.update_layout(height=350, width=320 * max(len(names), 1), title="Sweep: metric vs hyperparameters")
    return fig


# ------------------------------------------------------------------------ 3️⃣ bonus


class SGDWithParamGroups:
    def __init__(self, params: Iterable[t.nn.Parameter] | Iterable[dict[str, Any]], **kwargs: Any):
        """SGD accepting parameter groups, like torch.optim.SGD(params, lr=..., momentum=..., ...).

        params is either an iterable of tensors (one group) or of dicts {"params": tensors, ...} whose
        other keys override the defaults given as keyword arguments. Hyperparameters and their defaults
        (torch's): lr=0.001, momentum=0.0, weight_decay=0.0, nesterov=False. Store the groups as self.param_groups: a list of dicts each holding "params"
        (a list) and every hyperparameter. Update rule as SGD; with nesterov=True the step uses
        g + momentum * b instead of b. A parameter in two groups raises ValueError."""
        # SOLUTION
        defaults = {"lr": 0.001, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False, **kwargs}
        groups = list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.param_groups: list[dict[str, Any]] = []
        seen: set[int] = set()
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"]) if not isinstance(
                group["params"], Tensor) else [group["params"]]}
            if any(id(p) in seen for p in group["params"]):
                raise ValueError("a parameter appears in more than one group")
            seen |= {id(p) for p in group["params"]}
            self.param_groups.append(group)
        self.bufs = {id(p): t.zeros_like(p) for g in self.param_groups for p in g["params"]}
        # END SOLUTION

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (p.grad = None; or p.grad.zero_() where p.grad is not None)."""
        # SOLUTION
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
        # END SOLUTION

    def step(self) -> None:
        """Update every parameter with a gradient, using its own group's hyperparameters."""
        # SOLUTION
        with t.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad + group["weight_decay"] * p
                    if group["momentum"]:
                        buf = self.bufs[id(p)].mul_(group["momentum"]).add_(g)
                        g = g + group["momentum"] * buf if group["nesterov"] else buf
                    p -= group["lr"] * g
        # END SOLUTION
