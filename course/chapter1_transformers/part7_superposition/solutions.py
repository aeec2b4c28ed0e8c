"""Reference solutions for part 1.7, toy models of superposition (Elhage et al. 2022)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import einops
import torch as t
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn
from tqdm.auto import tqdm

if TYPE_CHECKING:
    import plotly.graph_objects as go

# ------------------------------------------------------------------ 1️⃣ the toy model


@dataclass
class Config:
    """The shape of a toy model. `n_instances` independent models are trained side by side."""

    n_instances: int
    n_features: int = 5
    n_hidden: int = 2
    n_correlated_pairs: int = 0
    n_anticorrelated_pairs: int = 0


def per_instance(value: float | Tensor | None, cfg: Config, default: float = 1.0) -> Tensor:
    """A float, a tensor broadcastable to [n_instances, n_features], or None, as a [n_instances, n_features] tensor."""
    value = default if value is None else value
    return t.as_tensor(value, dtype=t.float32).broadcast_to((cfg.n_instances, cfg.n_features)).clone()


class Model(nn.Module):
    """n_instances toy models at once: x' = ReLU(Wᵀ W x + b_final), with W of shape [n_hidden, n_features].

    `feature_probability` and `importance` are floats or tensors broadcastable to [n_instances, n_features]
    (e.g. one value per instance: `p[:, None]`). Both default to 1."""

    W: Float[Tensor, "n_instances n_hidden n_features"]
    b_final: Float[Tensor, "n_instances n_features"]

    def __init__(self, cfg: Config, feature_probability: float | Tensor | None = None,
                 importance: float | Tensor | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.feature_probability = per_instance(feature_probability, cfg)
        self.importance = per_instance(importance, cfg)
        self.W = nn.Parameter(nn.init.xavier_normal_(t.empty(cfg.n_instances, cfg.n_hidden, cfg.n_features)))
        self.b_final = nn.Parameter(t.zeros(cfg.n_instances, cfg.n_features))

    def forward(self, features: Float[Tensor, "... n_instances n_features"]
                ) -> Float[Tensor, "... n_instances n_features"]:
        """Compress the features to n_hidden dimensions with W, map back with Wᵀ, add b_final, apply ReLU."""
        # SOLUTION
        hidden = einops.einsum(features, self.W, "... inst feat, inst hid feat -> ... inst hid")
        out = einops.einsum(hidden, self.W, "... inst hid, inst hid feat -> ... inst feat")
        return F.relu(out + self.b_final)
        # END SOLUTION

    def generate_batch(self, n_batch: int) -> Float[Tensor, "n_batch n_instances n_features"]:
        """Random features: each one is present (non-zero) with probability feature_probability[instance,
        feature], independently of the others; a present feature has a value uniform in [0, 1]."""
        # SOLUTION
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        values = t.rand(shape, device=self.W.device)
        present = t.rand(shape, device=self.W.device) < self.feature_probability.to(self.W.device)
        return t.where(present, values, 0.0)
        # END SOLUTION


def calculate_loss(out: Float[Tensor, "batch n_instances n_features"],
                   batch: Float[Tensor, "batch n_instances n_features"], model: Model) -> Float[Tensor, ""]:
    """The importance-weighted squared error: mean over the batch and the features, summed over instances.

    loss = Σ_instances mean_{batch, features} importance · (batch − out)²; `model.importance` broadcasts
    to [n_instances, n_features]."""
    # SOLUTION
    error = model.importance.to(out.device) * (batch - out) ** 2
    return einops.reduce(error, "batch inst feat -> inst", "mean").sum()
    # END SOLUTION


def constant_lr(step: int, steps: int) -> float:
    return 1.0


def cosine_decay_lr(step: int, steps: int) -> float:
    return math.cos(0.5 * math.pi * step / (steps - 1))


def optimize(model: Model, n_batch: int = 1024, steps: int = 5_000, lr: float = 1e-3,
             lr_scale: Callable[[int, int], float] = constant_lr, seed: int | None = 0,
             progress: bool = True) -> list[float]:
    """Train all the instances of `model` at once with Adam; returns the loss per step (summed over instances).

    Summing the instances' losses gives each instance exactly the gradient it would get alone."""
    if seed is not None:
        t.manual_seed(seed)
    optimizer = t.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = tqdm(range(steps), disable=not progress, desc="training")
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr * lr_scale(step, steps)
        batch = model.generate_batch(n_batch)
        loss = calculate_loss(model(batch), batch, model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 200 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss.item() / model.cfg.n_instances:.4g} per instance")
    return losses


def plot_features_in_2d(W: Float[Tensor, "n_instances 2 n_features"], titles: list[str] | None = None,
                        importance: Tensor | None = None) -> go.Figure:
    """Each instance's feature directions W[:, i] as arrows in the plane, coloured by importance."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    W = W.detach().cpu()
    n_instances, _, n_features = W.shape
    titles = titles or [f"instance {i}" for i in range(n_instances)]
    fig = make_subplots(rows=1, cols=n_instances, subplot_titles=titles, horizontal_spacing=0.02)
    weights = importance.detach().cpu() if importance is not None else t.ones(n_features)
    colours = [f"rgba(60, 90, 200, {0.25 + 0.75 * float(w / weights.max()):.2f})" for w in weights]
    for inst in range(n_instances):
        for f in range(n_features):
            x, y = W[inst, :, f].tolist()
            fig.add_trace(go.Scatter(x=[0, x], y=[0, y], mode="lines+markers", line=dict(color=colours[f], width=3),
                                     marker=dict(size=[0, 9]), name=f"feature {f}", showlegend=False,
                                     hovertemplate=f"feature {f}<br>W[:, {f}] = ({x:.2f}, {y:.2f})<extra></extra>"),
                          row=1, col=inst + 1)
        fig.update_xaxes(range=[-1.5, 1.5], visible=False, row=1, col=inst + 1)
        fig.update_yaxes(range=[-1.5, 1.5], visible=False, scaleanchor=f"x{inst + 1 if inst else ''}",
                         row=1, col=inst + 1)
    fig.update_layout(height=max(220, 1100 // n_instances + 60), margin=dict(l=10, r=10, t=40, b=10))
    return fig


# ------------------------------------------------------------------ 3️⃣ correlated and anticorrelated features


def generate_correlated_batch(model: Model, n_batch: int) -> Float[Tensor, "n_batch n_instances n_features"]:
    """A batch whose features come in pairs. With p = model.feature_probability[:, 0] (one probability per
    instance) and nc, na = model.cfg.n_correlated_pairs, model.cfg.n_anticorrelated_pairs:

    - features (0, 1), (2, 3), …, (2nc − 2, 2nc − 1): correlated pairs, both present or both absent,
      together with probability p;
    - the next 2na features, in pairs: anticorrelated, never both present; each pair has one feature
      present with probability 2p (either one, with equal chance), so each feature is present with p;
    - any remaining features: independent, each present with probability p.

    Present features have values uniform in [0, 1], drawn independently. Needs p ≤ 1/2 when na > 0."""
    # SOLUTION
    cfg = model.cfg
    nc, na = cfg.n_correlated_pairs, cfg.n_anticorrelated_pairs
    n_rest = cfg.n_features - 2 * (nc + na)
    p = model.feature_probability[:, 0].to(model.W.device)  # [inst]
    device = model.W.device

    def uniform(n: int) -> Tensor:
        return t.rand(n_batch, cfg.n_instances, n, device=device)

    both = uniform(nc) < p[:, None]
    correlated = einops.repeat(both, "b inst pair -> b inst (pair two)", two=2)
    pair_present = uniform(na) < 2 * p[:, None]
    first = uniform(na) < 0.5
    anticorrelated = einops.rearrange(t.stack([pair_present & first, pair_present & ~first], dim=-1),
                                      "b inst pair two -> b inst (pair two)")
    rest = uniform(n_rest) < p[:, None]
    present = t.cat([correlated, anticorrelated, rest], dim=-1)
    return t.where(present, uniform(cfg.n_features), 0.0)
    # END SOLUTION


class CorrelatedModel(Model):
    """The toy model, trained on batches from generate_correlated_batch."""

    def generate_batch(self, n_batch: int) -> Tensor:
        return generate_correlated_batch(self, n_batch)


# ------------------------------------------------------------------ 4️⃣ a privileged basis


def generate_signed_batch(model: Model, n_batch: int) -> Float[Tensor, "n_batch n_instances n_features"]:
    """Like Model.generate_batch, but a present feature's value is uniform in [−1, 1] instead of [0, 1]:
    each feature is present with probability feature_probability[instance, feature], independently."""
    shape = (n_batch, model.cfg.n_instances, model.cfg.n_features)
    values = 2 * t.rand(shape, device=model.W.device) - 1
    present = t.rand(shape, device=model.W.device) < model.feature_probability.to(model.W.device)
    return t.where(present, values, 0.0)


class NeuronModel(Model):
    """The toy model with a ReLU on the hidden layer: x' = ReLU(Wᵀ ReLU(W x) + b_final), trained on features
    with values in [−1, 1] (generate_signed_batch).

    The ReLU makes the hidden dimensions *neurons*: the basis of the hidden layer is now privileged."""

    def generate_batch(self, n_batch: int) -> Tensor:
        return generate_signed_batch(self, n_batch)

    def forward(self, features: Float[Tensor, "... n_instances n_features"]
                ) -> Float[Tensor, "... n_instances n_features"]:
        # SOLUTION
        hidden = F.relu(einops.einsum(features, self.W, "... inst feat, inst hid feat -> ... inst hid"))
        out = einops.einsum(hidden, self.W, "... inst hid, inst hid feat -> ... inst feat")
        return F.relu(out + self.b_final)
        # END SOLUTION


# ------------------------------------------------------------------ 5️⃣ feature geometry


def compute_dimensionality(W: Float[Tensor, "n_instances n_hidden n_features"]
                           ) -> Float[Tensor, "n_instances n_features"]:
    """The fraction of a dimension each feature gets: D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)², with W_i = W[:, :, i]
    the feature's direction and Ŵ_i = W_i / ‖W_i‖ (the sum includes j = i)."""
    # SOLUTION
    norms = W.norm(dim=1)  # [inst, feat]
    W_hat = W / (norms[:, None, :] + 1e-12)
    overlaps = einops.einsum(W_hat, W, "inst hid f_i, inst hid f_j -> inst f_i f_j")
    return norms**2 / overlaps.pow(2).sum(-1)
    # END SOLUTION


def dimensions_per_feature(W: Float[Tensor, "n_instances n_hidden n_features"]) -> Float[Tensor, "n_instances"]:
    """The paper's summary of a whole instance: hidden dimensions divided by ‖W‖_F² ("features learned")."""
    return W.shape[1] / W.pow(2).sum(dim=(1, 2))


# ------------------------------------------------------------------ 6️⃣ bonus: a sparse autoencoder


class SparseAutoencoder(nn.Module):
    """An SAE per instance: z = ReLU(W_enc (h − b_dec) + b_enc), ĥ = W_dec z + b_dec, with unit-norm decoder rows."""

    def __init__(self, n_instances: int, n_input: int, n_latents: int) -> None:
        super().__init__()
        self.W_enc = nn.Parameter(nn.init.kaiming_uniform_(t.empty(n_instances, n_input, n_latents)))
        self.W_dec = nn.Parameter(self.W_enc.detach().mT.clone())
        self.b_enc = nn.Parameter(t.zeros(n_instances, n_latents))
        self.b_dec = nn.Parameter(t.zeros(n_instances, n_input))

    def normalised_decoder(self) -> Tensor:
        return self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)

    def forward(self, h: Float[Tensor, "batch n_instances n_input"]) -> tuple[Tensor, Tensor]:
        z = F.relu(einops.einsum(h - self.b_dec, self.W_enc, "b inst d, inst d lat -> b inst lat") + self.b_enc)
        h_hat = einops.einsum(z, self.normalised_decoder(), "b inst lat, inst lat d -> b inst d") + self.b_dec
        return z, h_hat


def train_sae(model: Model, n_latents: int, l1_coeffs: Tensor, steps: int = 3_000, n_batch: int = 1024,
              lr: float = 1e-3, seed: int = 0, progress: bool = True) -> SparseAutoencoder:
    """Train one SAE per L1 coefficient on the hidden activations W x of instance 0 of a trained `model`.

    The SAE's instance k uses l1_coeffs[k]; loss = ‖h − ĥ‖² + l1 · ‖z‖₁, averaged over the batch."""
    t.manual_seed(seed)
    k = len(l1_coeffs)
    sae = SparseAutoencoder(k, model.cfg.n_hidden, n_latents)
    optimizer = t.optim.Adam(sae.parameters(), lr=lr)
    W0 = model.W.detach()[0]
    for _ in tqdm(range(steps), disable=not progress, desc="training SAEs"):
        x = model.generate_batch(n_batch)[:, 0]  # [b, feat] from instance 0
        h = einops.repeat(x @ W0.T, "b d -> b k d", k=k)
        z, h_hat = sae(h)
        loss = ((h_hat - h) ** 2).sum(-1).mean(0) + l1_coeffs * z.abs().sum(-1).mean(0)
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
    return sae


def features_recovered(sae: SparseAutoencoder, W: Float[Tensor, "n_hidden n_features"],
                       threshold: float = 0.95) -> Tensor:
    """For each SAE instance, how many true feature directions (columns of W, normalised) have a decoder row
    with cosine similarity above `threshold`."""
    W_hat = W / W.norm(dim=0, keepdim=True)
    cos = einops.einsum(sae.normalised_decoder().detach(), W_hat, "k lat d, d feat -> k lat feat")
    return (cos.max(dim=1).values > threshold).sum(-1)

