"""Known mistakes (each must fail its check) and other correct methods (each must pass) for part 0.4."""

from __future__ import annotations

from dataclasses import asdict, fields, replace

import torch as t
import wandb

from arena.checking import right, wrong

from . import solutions as ref

# ------------------------------------------------------------------------ paths


@wrong("opt_fn_with_sgd", "stores xy.detach() without clone(): later in-place updates overwrite every row")
def opt_fn_with_sgd_aliased(fn, xy, lr=0.001, momentum=0.98, n_iters=100):
    optimizer = t.optim.SGD([xy], lr=lr, momentum=momentum)
    path = []
    for _ in range(n_iters):
        path.append(xy.detach())
        fn(xy[0], xy[1]).backward()
        optimizer.step()
        optimizer.zero_grad()
    return t.stack(path)


@wrong("opt_fn_with_sgd", "records the point after each step instead of before")
def opt_fn_with_sgd_after_step(fn, xy, lr=0.001, momentum=0.98, n_iters=100):
    optimizer = t.optim.SGD([xy], lr=lr, momentum=momentum)
    path = []
    for _ in range(n_iters):
        fn(xy[0], xy[1]).backward()
        optimizer.step()
        optimizer.zero_grad()
        path.append(xy.detach().clone())
    return t.stack(path)


@wrong("opt_fn_with_sgd", "never calls zero_grad, so gradients accumulate across steps")
def opt_fn_with_sgd_no_zero_grad(fn, xy, lr=0.001, momentum=0.98, n_iters=100):
    optimizer = t.optim.SGD([xy], lr=lr, momentum=momentum)
    path = []
    for _ in range(n_iters):
        path.append(xy.detach().clone())
        fn(xy[0], xy[1]).backward()
        optimizer.step()
    return t.stack(path)


@right("opt_fn_with_sgd", "collects clones in a list and stacks them at the end")
def opt_fn_with_sgd_list(fn, xy, lr=0.001, momentum=0.98, n_iters=100):
    optimizer = t.optim.SGD([xy], lr=lr, momentum=momentum)
    path = []
    for _ in range(n_iters):
        path.append(xy.detach().clone())
        optimizer.zero_grad()
        fn(*xy).backward()
        optimizer.step()
    return t.stack(path)


@wrong("opt_fn", "ignores optimizer_hyperparams (uses the optimizer's defaults)")
def opt_fn_ignores_hyperparams(fn, xy, optimizer_class, optimizer_hyperparams, n_iters=100):
    optimizer = optimizer_class([xy], lr=0.001)
    path = []
    for _ in range(n_iters):
        path.append(xy.detach().clone())
        fn(xy[0], xy[1]).backward()
        optimizer.step()
        optimizer.zero_grad()
    return t.stack(path)


# ------------------------------------------------------------------------ SGD


@wrong("SGD", "adds weight decay after the momentum buffer instead of before it")
class SGDDecayAfterMomentum(ref.SGD):
    def step(self):
        with t.no_grad():
            for p, buf in zip(self.params, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad
                if self.momentum:
                    g = buf.mul_(self.momentum).add_(g)
                p -= self.lr * (g + self.weight_decay * p)


@wrong("SGD", "zero_grad rebinds a local name, leaving the gradients in place")
class SGDZeroGradNoop(ref.SGD):
    def zero_grad(self):
        for p in self.params:
            g = p.grad
            g = None  # noqa: F841 - the mistake: this only changes the local name


@wrong("SGD", "the update is done with autograd on (p.data assignment, graph grows through the buffer)")
class SGDAutogradOn(ref.SGD):
    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p
            if self.momentum:
                self.bufs[i] = self.momentum * self.bufs[i] + g
                g = self.bufs[i]
            p.data = p.data - self.lr * g.data


@wrong("SGD", "stores the params generator, which is used up after the first step")
class SGDKeepsGenerator(ref.SGD):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__([], lr, momentum, weight_decay)
        self.params = params
        self._bufs = {}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with t.no_grad():
            for p in self.params:
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                if self.momentum:
                    buf = self._bufs.setdefault(id(p), t.zeros_like(p))
                    g = buf.mul_(self.momentum).add_(g)
                p -= self.lr * g


@wrong("SGD", "crashes on parameters whose .grad is None")
class SGDNoneGrad(ref.SGD):
    def step(self):
        with t.no_grad():
            for p, buf in zip(self.params, self.bufs, strict=True):
                g = p.grad + self.weight_decay * p
                if self.momentum:
                    g = buf.mul_(self.momentum).add_(g)
                p -= self.lr * g


@wrong("SGD", "step() rebinds the loop variable (p = p - lr * g), so no parameter ever changes")
class SGDRebindsParameter(ref.SGD):
    def step(self):
        with t.no_grad():
            for p, buf in zip(self.params, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                if self.momentum:
                    g = buf.mul_(self.momentum).add_(g)
                p = p - self.lr * g  # noqa: PLW2901 - the mistake: rebinds the name, the parameter is untouched


@wrong("SGD", "zero_grad gives parameters without a gradient a zero gradient, so step() then decays them")
class SGDZeroGradCreatesZeros(ref.SGD):
    def zero_grad(self):
        for p in self.params:
            p.grad = t.zeros_like(p)


@wrong("SGD", "momentum with dampening: b = mu * b + (1 - mu) * g (torch's default dampening is 0)")
class SGDDampened(ref.SGD):
    def step(self):
        with t.no_grad():
            for p, buf in zip(self.params, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                if self.momentum:
                    g = buf.mul_(self.momentum).add_(g, alpha=1 - self.momentum)
                p -= self.lr * g


@right("SGD", "zero_grad zeroes gradients in place; buffers created lazily on the first step, decorator no_grad")
class SGDLazy:
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr, self.mu, self.wd = list(params), lr, momentum, weight_decay
        self.state: dict[int, t.Tensor] = {}

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    @t.no_grad()
    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            d_p = p.grad.add(p, alpha=self.wd) if self.wd else p.grad
            if self.mu:
                if i not in self.state:
                    self.state[i] = d_p.clone()
                else:
                    self.state[i].mul_(self.mu).add_(d_p)
                d_p = self.state[i]
            p.add_(d_p, alpha=-self.lr)


# ------------------------------------------------------------------------ RMSprop


@wrong("RMSprop", "adds eps inside the square root: sqrt(v + eps)")
class RMSpropEpsInsideSqrt(ref.RMSprop):
    def step(self):
        with t.no_grad():
            for p, v, buf in zip(self.params, self.sq_avgs, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                v.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
                update = g / (v + self.eps).sqrt()
                if self.momentum:
                    update = buf.mul_(self.momentum).add_(update)
                p -= self.lr * update


@wrong("RMSprop", "averages |g| (square root taken before averaging) instead of the root of the mean square")
class RMSpropSqrtBeforeAverage(ref.RMSprop):
    def step(self):
        with t.no_grad():
            for p, v, buf in zip(self.params, self.sq_avgs, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                v.mul_(self.alpha).add_(g.abs(), alpha=1 - self.alpha)
                update = g / (v + self.eps)
                if self.momentum:
                    update = buf.mul_(self.momentum).add_(update)
                p -= self.lr * update


@wrong("RMSprop", "applies momentum to the raw gradient and divides afterwards")
class RMSpropMomentumOnGradient(ref.RMSprop):
    def step(self):
        with t.no_grad():
            for p, v, buf in zip(self.params, self.sq_avgs, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                v.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
                if self.momentum:
                    g = buf.mul_(self.momentum).add_(g)
                p -= self.lr * g / (v.sqrt() + self.eps)


@wrong("RMSprop", "momentum buffer averaged with (1 - momentum), b = mu * b + (1 - mu) * u")
class RMSpropDampenedMomentum(ref.RMSprop):
    def step(self):
        with t.no_grad():
            for p, v, buf in zip(self.params, self.sq_avgs, self.bufs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                v.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
                update = g / (v.sqrt() + self.eps)
                if self.momentum:
                    update = buf.mul_(self.momentum).add_(update, alpha=1 - self.momentum)
                p -= self.lr * update


@right("RMSprop", "torch.optim.RMSprop itself")
class RMSpropTorch(t.optim.RMSprop):
    pass


# ------------------------------------------------------------------------ Adam


class _AdamStep(ref.Adam):
    """Adam with the bias corrections computed by `corrections(step)` (for the mistakes below)."""

    decoupled = False

    def corrections(self) -> tuple[float, float]:
        return 1 - self.beta1**self.t, 1 - self.beta2**self.t

    def step(self):
        self.t += 1
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                c1, c2 = self.corrections()
                p -= self.lr * (m / c1) / ((v / c2).sqrt() + self.eps)


@wrong("Adam", "no bias correction")
class AdamNoBiasCorrection(_AdamStep):
    def corrections(self):
        return 1.0, 1.0


@wrong("Adam", "bias correction uses the step count off by one (t + 1)")
class AdamStepOffByOne(_AdamStep):
    def corrections(self):
        return 1 - self.beta1 ** (self.t + 1), 1 - self.beta2 ** (self.t + 1)


@wrong("Adam", "bias correction computed before the step count is increased (t = 0 on the first step: NaN)")
class AdamStepCountFromZero(ref.Adam):
    def step(self):
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
                m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                p -= self.lr * (m / (1 - self.beta1**self.t)) / ((v / (1 - self.beta2**self.t)).sqrt() + self.eps)
        self.t += 1


@wrong("Adam", "the step count is incremented once per parameter instead of once per step")
class AdamStepPerParameter(ref.Adam):
    def step(self):
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                self.t += 1
                g = p.grad + self.weight_decay * p
                m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                p -= self.lr * (m / (1 - self.beta1**self.t)) / ((v / (1 - self.beta2**self.t)).sqrt() + self.eps)


@wrong("Adam", "weight decay applied decoupled (AdamW-style) instead of as an L2 term in the gradient")
class AdamDecoupled(ref.AdamW):
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0):
        super().__init__(params, lr, betas, eps, weight_decay)


@wrong("Adam", "zero_grad multiplies the gradient by zero without storing the result")
class AdamZeroGradNoop(ref.Adam):
    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad * 0  # noqa: B018 - the mistake: the result is thrown away


@right("Adam", "torch's own arrangement: step size lr / c1 and denominator sqrt(v) / sqrt(c2) + eps, per-param steps")
class AdamTorchStyle:
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0):
        self.params, self.lr, self.betas, self.eps, self.wd = list(params), lr, betas, eps, weight_decay
        self.state: dict[int, dict] = {}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        b1, b2 = self.betas
        with t.no_grad():
            for p in self.params:
                if p.grad is None:
                    continue
                s = self.state.setdefault(id(p), {"step": 0, "m": t.zeros_like(p), "v": t.zeros_like(p)})
                s["step"] += 1
                g = p.grad.add(p, alpha=self.wd) if self.wd else p.grad
                s["m"].lerp_(g, 1 - b1)
                s["v"].mul_(b2).addcmul_(g, g.conj(), value=1 - b2)
                c1, c2 = 1 - b1 ** s["step"], 1 - b2 ** s["step"]
                denom = (s["v"].sqrt() / c2**0.5).add_(self.eps)
                p.addcdiv_(s["m"], denom, value=-self.lr / c1)


# ------------------------------------------------------------------------ AdamW


@wrong("AdamW", "decay applied like Adam's L2 term (added to the gradient) instead of decoupled")
class AdamWAsL2(ref.Adam):
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)


@wrong("AdamW", "decay multiplies by (1 - weight_decay), forgetting the learning rate")
class AdamWDecayWithoutLr(ref.AdamW):
    def step(self):
        self.t += 1
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                p.mul_(1 - self.weight_decay)
                m.mul_(self.beta1).add_(p.grad, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
                p -= self.lr * (m / (1 - self.beta1**self.t)) / ((v / (1 - self.beta2**self.t)).sqrt() + self.eps)


@wrong("AdamW", "decays parameters that have no gradient")
class AdamWDecaysEverything(ref.AdamW):
    def step(self):
        with t.no_grad():
            for p in self.params:
                if p.grad is None:
                    p.mul_(1 - self.lr * self.weight_decay)
        super().step()


@wrong("AdamW", "decoupled decay applied after the Adam update instead of before it")
class AdamWDecayAfterUpdate(ref.AdamW):
    def step(self):
        self.t += 1
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                m.mul_(self.beta1).add_(p.grad, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
                p -= self.lr * (m / (1 - self.beta1**self.t)) / ((v / (1 - self.beta2**self.t)).sqrt() + self.eps)
                p.mul_(1 - self.lr * self.weight_decay)


@right("AdamW", "decay folded into the update: p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * p)")
class AdamWFoldedDecay(ref.AdamW):
    def step(self):
        self.t += 1
        with t.no_grad():
            for p, m, v in zip(self.params, self.ms, self.vs, strict=True):
                if p.grad is None:
                    continue
                m.mul_(self.beta1).add_(p.grad, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
                m_hat, v_hat = m / (1 - self.beta1**self.t), v / (1 - self.beta2**self.t)
                p -= self.lr * (m_hat / (v_hat.sqrt() + self.eps) + self.weight_decay * p)


@right("AdamW", "decay written as p -= lr * wd * p; step count kept per parameter")
class AdamWPerParam:
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01):
        self.params, self.lr, (self.b1, self.b2), self.eps, self.wd = list(params), lr, betas, eps, weight_decay
        self.m = [t.zeros_like(p) for p in self.params]
        self.v = [t.zeros_like(p) for p in self.params]
        self.steps = [0] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with t.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                self.steps[i] += 1
                p -= self.lr * self.wd * p
                self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * p.grad
                self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * p.grad**2
                m_hat = self.m[i] / (1 - self.b1 ** self.steps[i])
                v_hat = self.v[i] / (1 - self.b2 ** self.steps[i])
                p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)


# ------------------------------------------------------------------------ parameter groups


@wrong("SGDWithParamGroups", "ignores the groups' own hyperparameters (uses the defaults everywhere)")
class SGDGroupsIgnoreOverrides(ref.SGDWithParamGroups):
    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        defaults = {"momentum": 0.0, "weight_decay": 0.0, "nesterov": False, **kwargs}
        self._effective = [{**g, **defaults} for g in self.param_groups]

    def step(self):
        saved = self.param_groups
        self.param_groups = self._effective
        try:
            super().step()
        finally:
            self.param_groups = saved


@right("SGDWithParamGroups", "torch.optim.SGD itself")
class SGDGroupsTorch(t.optim.SGD):
    pass


# ------------------------------------------------------------------------ W&B


@wrong("WandbResNetTrainer", "ignores wandb.config, so a sweep's choices never reach the training")
class TrainerIgnoresConfig(ref.WandbResNetTrainer):
    def __init__(self, args, train_set, test_set, model=None):
        wandb.init(project=args.wandb_project, name=args.wandb_name, config=asdict(args), mode=ref.wandb_mode())
        ref.ResNetTrainer.__init__(self, args, train_set, test_set, model)


@wrong("WandbResNetTrainer", "never finishes the run")
class TrainerNeverFinishes(ref.WandbResNetTrainer):
    def train(self):
        history = {"loss": [], "accuracy": []}
        for _ in range(self.args.epochs):
            for imgs, labels in self.train_loader:
                history["loss"].append(float(self.training_step(imgs, labels)))
                wandb.log({"loss": history["loss"][-1]})
            history["accuracy"].append(self.evaluate())
            wandb.log({"accuracy": history["accuracy"][-1]})
            self.log_examples()
        return history


@wrong("WandbResNetTrainer", "logs the mean loss once per epoch instead of every step")
class TrainerLogsEpochLoss(ref.WandbResNetTrainer):
    def train(self):
        history = {"loss": [], "accuracy": []}
        try:
            for _ in range(self.args.epochs):
                losses = [float(self.training_step(x, y)) for x, y in self.train_loader]
                history["loss"].extend(losses)
                history["accuracy"].append(self.evaluate())
                wandb.log({"loss": sum(losses) / len(losses), "accuracy": history["accuracy"][-1]})
                self.log_examples()
        finally:
            wandb.finish()
        return history


@right("WandbResNetTrainer", "uses the run object (run.config, run.log, run.finish) and logs images as a list")
class TrainerRunObject(ref.WandbResNetTrainer):
    def __init__(self, args, train_set, test_set, model=None):
        self.run = wandb.init(project=args.wandb_project, name=args.wandb_name, config=asdict(args),
                              mode=ref.wandb_mode())
        overrides = {f.name: self.run.config[f.name] for f in fields(args) if f.name in self.run.config}
        ref.ResNetTrainer.__init__(self, replace(args, **overrides), train_set, test_set, model)

    def log_examples(self):
        imgs, labels = zip(*(self.test_set[i] for i in range(self.args.n_examples)), strict=True)
        with t.inference_mode():
            preds = self.model(t.stack(imgs)).argmax(-1)
        self.run.log({"examples": [wandb.Image(img.clamp(-3, 3) / 6 + 0.5, caption=f"pred {p}, label {int(lab)}")
                                   for img, p, lab in zip(imgs, preds.tolist(), labels, strict=True)]})

    def train(self):
        history = {"loss": [], "accuracy": []}
        with self.run:  # a run is a context manager: leaving the block (even by an exception) finishes it
            for _ in range(self.args.epochs):
                for step, (imgs, labels) in enumerate(self.train_loader):
                    if step == self.args.max_steps_per_epoch:
                        break
                    history["loss"].append(self.training_step(imgs, labels).item())
                    self.run.log({"loss": history["loss"][-1]})
                history["accuracy"].append(self.evaluate())
                self.run.log({"accuracy": history["accuracy"][-1]})
                self.log_examples()
        return history


@wrong("WandbResNetTrainer", "ignores args.max_steps_per_epoch (every epoch runs over the whole loader)")
class TrainerIgnoresMaxSteps(ref.WandbResNetTrainer):
    def train(self):
        history = {"loss": [], "accuracy": []}
        try:
            for _ in range(self.args.epochs):
                for imgs, labels in self.train_loader:
                    history["loss"].append(float(self.training_step(imgs, labels)))
                    wandb.log({"loss": history["loss"][-1]})
                history["accuracy"].append(self.evaluate())
                wandb.log({"accuracy": history["accuracy"][-1]})
                self.log_examples()
        finally:
            wandb.finish()
        return history


@wrong("WandbResNetTrainer", "finishes the run only when training succeeds (no try/finally): a crash leaves it open")
class TrainerLeavesRunOpenOnCrash(ref.WandbResNetTrainer):
    def train(self):
        history = {"loss": [], "accuracy": []}
        for _ in range(self.args.epochs):
            for step, (imgs, labels) in enumerate(self.train_loader):
                if self.args.max_steps_per_epoch is not None and step >= self.args.max_steps_per_epoch:
                    break
                history["loss"].append(float(self.training_step(imgs, labels)))
                wandb.log({"loss": history["loss"][-1]})
            history["accuracy"].append(self.evaluate())
            wandb.log({"accuracy": history["accuracy"][-1]})
            self.log_examples()
        wandb.finish()
        return history


def _config(**changes):
    config = ref.make_sweep_config()
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = config
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    return config


@wrong("make_sweep_config", "misspelt method ('gird'): W&B rejects it")
def make_sweep_config_typo():
    return _config(method="gird")


@wrong("make_sweep_config", "metric without a goal: W&B would minimize accuracy")
def make_sweep_config_no_goal():
    return _config(metric__goal=None)


@wrong("make_sweep_config", "log_uniform with the values as bounds (it takes natural logs)")
def make_sweep_config_log_uniform():
    return _config(parameters__learning_rate={"distribution": "log_uniform", "min": 1e-4, "max": 1e-1})


@wrong("make_sweep_config", "unknown distribution name 'loguniform'")
def make_sweep_config_bad_distribution():
    return _config(parameters__learning_rate={"distribution": "loguniform", "min": 1e-4, "max": 1e-1})


@wrong("make_sweep_config", "learning rate sampled uniformly")
def make_sweep_config_uniform_lr():
    return _config(parameters__learning_rate={"min": 1e-4, "max": 1e-1})


@wrong("make_sweep_config", "min greater than max")
def make_sweep_config_min_max():
    return _config(parameters__epochs={"distribution": "int_uniform", "min": 3, "max": 1})


@right("make_sweep_config", "log_uniform with natural-log bounds; epochs as a list of values")
def make_sweep_config_exponents():
    import math

    return _config(parameters__learning_rate={"distribution": "log_uniform", "min": math.log(1e-4),
                                              "max": math.log(1e-1)},
                   parameters__epochs={"values": [1, 2, 3]})


@wrong("suggest_from_sweep_config", "samples log_uniform_values uniformly (forgets log=True)")
def suggest_no_log(trial, parameters):
    out = {}
    for name, spec in parameters.items():
        if spec.get("distribution") == "log_uniform_values":
            out[name] = trial.suggest_float(name, spec["min"], spec["max"])
        else:
            out.update(ref.suggest_from_sweep_config(trial, {name: spec}))
    return out


@wrong("suggest_from_sweep_config", "passes log_uniform's natural-log bounds straight to Optuna")
def suggest_log_uniform_raw(trial, parameters):
    out = {}
    for name, spec in parameters.items():
        if spec.get("distribution") == "log_uniform":
            out[name] = trial.suggest_float(name, spec["min"], spec["max"])
        else:
            out.update(ref.suggest_from_sweep_config(trial, {name: spec}))
    return out


@wrong("suggest_from_sweep_config", "treats a bare integer min/max as a float range")
def suggest_bare_min_max_float(trial, parameters):
    out = {}
    for name, spec in parameters.items():
        if "distribution" not in spec and "min" in spec:
            out[name] = trial.suggest_float(name, spec["min"], spec["max"])
        else:
            out.update(ref.suggest_from_sweep_config(trial, {name: spec}))
    return out


@right("Adam", "state buffers created as float32 t.zeros(p.shape) (the check's parameters are float64)")
class AdamFloat32State(ref.Adam):
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0):
        super().__init__(params, lr, betas, eps, weight_decay)
        self.ms = [t.zeros(p.shape) for p in self.params]
        self.vs = [t.zeros(p.shape) for p in self.params]


# ------------------------------------------------------------------------ model artifacts


@wrong("save_model_artifact", "saves the whole model object (pickled module), which weights_only loading refuses")
def save_model_artifact_pickled_module(model, name, metadata=None):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        t.save(model, path)
        artifact = wandb.Artifact(name, type="model", metadata=metadata or {})
        artifact.add_file(str(path))
        wandb.log_artifact(artifact)
    return artifact


@wrong("save_model_artifact", "builds the artifact but never logs it to the run")
def save_model_artifact_not_logged(model, name, metadata=None):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        t.save(model.state_dict(), path)
        artifact = wandb.Artifact(name, type="model", metadata=metadata or {})
        artifact.add_file(str(path))
    return artifact


@right("save_model_artifact", "the run object's log_artifact, a file kept in the working directory, safetensors-free torch.save")
def save_model_artifact_run_method(model, name, metadata=None):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "model.pt"
    t.save({k: v.detach().clone() for k, v in model.state_dict().items()}, path)
    artifact = wandb.Artifact(name=name, type="model", metadata=dict(metadata or {}))
    artifact.add_file(local_path=str(path), name="model.pt")
    wandb.run.log_artifact(artifact)
    return artifact


# ------------------------------------------------------------------------ the sweep's training function


@wrong("sweep_train", "ignores params: every Optuna trial trains with base_args")
def sweep_train_ignores_params(params=None, *, train_set, test_set, base_args=None, make_model=None):
    args = base_args or ref.WandbResNetTrainingArgs()
    model = make_model() if make_model is not None else None
    return ref.WandbResNetTrainer(args, train_set, test_set, model=model).train()["accuracy"][-1]


@wrong("sweep_train", "replace(base_args, **params) with params None, as a wandb agent calls it")
def sweep_train_params_required(params=None, *, train_set, test_set, base_args=None, make_model=None):
    args = replace(base_args or ref.WandbResNetTrainingArgs(), **params)
    model = make_model() if make_model is not None else None
    return ref.WandbResNetTrainer(args, train_set, test_set, model=model).train()["accuracy"][-1]


@wrong("sweep_train", "builds the arguments from params alone, losing base_args (group, steps, examples)")
def sweep_train_drops_base_args(params=None, *, train_set, test_set, base_args=None, make_model=None):
    args = ref.WandbResNetTrainingArgs(**(params or {}))
    model = make_model() if make_model is not None else None
    return ref.WandbResNetTrainer(args, train_set, test_set, model=model).train()["accuracy"][-1]


@wrong("sweep_train", "returns the training history instead of the final accuracy")
def sweep_train_returns_history(params=None, *, train_set, test_set, base_args=None, make_model=None):
    args = replace(base_args or ref.WandbResNetTrainingArgs(), **(params or {}))
    model = make_model() if make_model is not None else None
    return ref.WandbResNetTrainer(args, train_set, test_set, model=model).train()


@wrong("sweep_train", "returns the best accuracy of the run, max(history['accuracy']), not the last one logged")
def sweep_train_returns_best(params=None, *, train_set, test_set, base_args=None, make_model=None):
    args = replace(base_args or ref.WandbResNetTrainingArgs(), **(params or {}))
    model = make_model() if make_model is not None else None
    return max(ref.WandbResNetTrainer(args, train_set, test_set, model=model).train()["accuracy"])


@wrong("sweep_train", "returns the first epoch's accuracy, history['accuracy'][0], not the last one logged")
def sweep_train_returns_first(params=None, *, train_set, test_set, base_args=None, make_model=None):
    args = replace(base_args or ref.WandbResNetTrainingArgs(), **(params or {}))
    model = make_model() if make_model is not None else None
    return float(ref.WandbResNetTrainer(args, train_set, test_set, model=model).train()["accuracy"][0])


@right("sweep_train", "merges the dataclass as a dict and reads the accuracy from the returned history")
def sweep_train_dict_merge(params=None, *, train_set, test_set, base_args=None, make_model=None):
    merged = {**asdict(base_args or ref.WandbResNetTrainingArgs()), **(params or {})}
    trainer = ref.WandbResNetTrainer(ref.WandbResNetTrainingArgs(**merged), train_set, test_set,
                                     model=make_model() if make_model else None)
    history = trainer.train()
    return history["accuracy"][len(history["accuracy"]) - 1]
