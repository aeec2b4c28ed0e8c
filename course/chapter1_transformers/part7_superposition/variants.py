"""Known-wrong and known-right implementations for part 1.7: the tests prove the checks tell them apart."""

from __future__ import annotations

import einops
import torch as t
import torch.nn.functional as F

from arena.checking import right, wrong

from . import solutions as ref

# ------------------------------------------------------------------ Model.forward


def _hidden(model: ref.Model, features: t.Tensor) -> t.Tensor:
    return einops.einsum(features, model.W, "... i f, i h f -> ... i h")


@wrong("Model", "forgets the ReLU at the output")
class ModelNoReLU(ref.Model):
    def forward(self, features):
        return einops.einsum(_hidden(self, features), self.W, "... i h, i h f -> ... i f") + self.b_final


@wrong("Model", "forgets the bias b_final")
class ModelNoBias(ref.Model):
    def forward(self, features):
        return F.relu(einops.einsum(_hidden(self, features), self.W, "... i h, i h f -> ... i f"))


@wrong("Model", "multiplies by W instead of Wᵀ on the way back")
class ModelWNotTransposed(ref.Model):
    def forward(self, features):
        hidden = _hidden(self, features)
        return F.relu(einops.einsum(hidden, self.W, "... i h, i f h -> ... i f") + self.b_final)


@wrong("Model", "puts a ReLU on the hidden layer too (that is the NeuronModel)")
class ModelHiddenReLU(ref.NeuronModel):
    pass


@right("Model", "batched matrix products with W.mT")
class ModelMatmul(ref.Model):
    def forward(self, features):
        hidden = (self.W @ features.unsqueeze(-1)).squeeze(-1)  # [..., i, h]
        return F.relu((self.W.mT @ hidden.unsqueeze(-1)).squeeze(-1) + self.b_final)


# ------------------------------------------------------------------ Model.generate_batch


@wrong("Model", "a feature is present with probability 1 − p (the comparison is the wrong way round)")
class ModelPresenceInverted(ref.Model):
    def generate_batch(self, n_batch):
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        return t.where(t.rand(shape) > self.feature_probability, t.rand(shape), 0.0)


@wrong("Model", "uses instance 0's probability for every instance")
class ModelPresenceFirstInstance(ref.Model):
    def generate_batch(self, n_batch):
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        return t.where(t.rand(shape) < self.feature_probability[0], t.rand(shape), 0.0)


@wrong("Model", "one presence draw per batch element and instance, shared by all features")
class ModelPresenceShared(ref.Model):
    def generate_batch(self, n_batch):
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        draw = t.rand(n_batch, self.cfg.n_instances, 1)
        return t.where(draw < self.feature_probability, t.rand(shape), 0.0)


@wrong("Model", "values from a standard normal, not uniform in [0, 1]")
class ModelValuesNormal(ref.Model):
    def generate_batch(self, n_batch):
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        return t.where(t.rand(shape) < self.feature_probability, t.randn(shape), 0.0)


@wrong("Model", "values uniform in [-1, 1], not [0, 1]")
class ModelValuesSigned(ref.Model):
    def generate_batch(self, n_batch):
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        return t.where(t.rand(shape) < self.feature_probability, 2 * t.rand(shape) - 1, 0.0)


@wrong("Model", "present features always have value 1")
class ModelValuesOne(ref.Model):
    def generate_batch(self, n_batch):
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        return (t.rand(shape) < self.feature_probability).float()


@right("Model", "a Bernoulli mask times uniform values")
class ModelBernoulli(ref.Model):
    def generate_batch(self, n_batch):
        shape = (n_batch, self.cfg.n_instances, self.cfg.n_features)
        return t.bernoulli(self.feature_probability.expand(shape)) * t.rand(shape)


# ------------------------------------------------------------------ calculate_loss


@wrong("calculate_loss", "ignores the importance")
def calculate_loss_no_importance(out, batch, model):
    return ((batch - out) ** 2).mean(dim=(0, 2)).sum()


@wrong("calculate_loss", "averages over the instances instead of summing")
def calculate_loss_mean_instances(out, batch, model):
    return (model.importance * (batch - out) ** 2).mean()


@wrong("calculate_loss", "sums over the features instead of averaging")
def calculate_loss_sum_features(out, batch, model):
    return (model.importance * (batch - out) ** 2).sum(-1).mean(0).sum()


@wrong("calculate_loss", "weights by the square root of the importance (importance applied to the error, not its square)")
def calculate_loss_sqrt_importance(out, batch, model):
    return ((model.importance * (batch - out)) ** 2).mean(dim=(0, 2)).sum()


@right("calculate_loss", "sum everything and divide by batch · features")
def calculate_loss_sum_divide(out, batch, model):
    return (model.importance * (out - batch).pow(2)).sum() / (out.shape[0] * out.shape[2])


# ------------------------------------------------------------------ generate_correlated_batch


def _pairs(model, n_batch, correlated, anticorrelated):
    cfg = model.cfg
    p = model.feature_probability[:, 0][:, None]
    nc, na = cfg.n_correlated_pairs, cfg.n_anticorrelated_pairs
    present = t.cat([correlated(n_batch, cfg.n_instances, nc, p), anticorrelated(n_batch, cfg.n_instances, na, p),
                     t.rand(n_batch, cfg.n_instances, cfg.n_features - 2 * (nc + na)) < p], dim=-1)
    return t.where(present, t.rand(present.shape), 0.0)


def _correlated_right(b, i, n, p):
    return einops.repeat(t.rand(b, i, n) < p, "b i n -> b i (n two)", two=2)


def _anticorrelated_right(b, i, n, p):
    active, first = t.rand(b, i, n) < 2 * p, t.rand(b, i, n) < 0.5
    return einops.rearrange(t.stack([active & first, active & ~first], -1), "b i n two -> b i (n two)")


@wrong("generate_correlated_batch", "correlated pairs drawn independently: not present together")
def generate_correlated_batch_independent_pairs(model, n_batch):
    return _pairs(model, n_batch, lambda b, i, n, p: t.rand(b, i, 2 * n) < p, _anticorrelated_right)


@wrong("generate_correlated_batch", "one presence draw shared by every correlated pair")
def generate_correlated_batch_one_draw(model, n_batch):
    return _pairs(model, n_batch, lambda b, i, n, p: (t.rand(b, i, 1) < p).expand(b, i, 2 * n),
                  _anticorrelated_right)


@wrong("generate_correlated_batch", "anticorrelated pairs drawn independently: both can be present")
def generate_correlated_batch_anti_independent(model, n_batch):
    return _pairs(model, n_batch, _correlated_right, lambda b, i, n, p: t.rand(b, i, 2 * n) < p)


@wrong("generate_correlated_batch", "an anticorrelated pair is active with probability p, not 2p")
def generate_correlated_batch_anti_half(model, n_batch):
    def anti(b, i, n, p):
        active, first = t.rand(b, i, n) < p, t.rand(b, i, n) < 0.5
        return einops.rearrange(t.stack([active & first, active & ~first], -1), "b i n two -> b i (n two)")

    return _pairs(model, n_batch, _correlated_right, anti)


@wrong("generate_correlated_batch", "both features of a correlated pair get the same value")
def generate_correlated_batch_same_value(model, n_batch):
    batch = ref.generate_correlated_batch(model, n_batch)
    for a in range(0, 2 * model.cfg.n_correlated_pairs, 2):
        batch[..., a + 1] = batch[..., a]
    return batch


@right("generate_correlated_batch", "anticorrelated pairs from one uniform draw split into [0, p) and [p, 2p)")
def generate_correlated_batch_split_draw(model, n_batch):
    def anti(b, i, n, p):
        u = t.rand(b, i, n)
        return einops.rearrange(t.stack([u < p, (u >= p) & (u < 2 * p)], -1), "b i n two -> b i (n two)")

    return _pairs(model, n_batch, _correlated_right, anti)


# ------------------------------------------------------------------ NeuronModel


@wrong("NeuronModel", "forgets the ReLU on the hidden layer")
class NeuronModelNoHiddenReLU(ref.Model):
    pass


@wrong("NeuronModel", "ReLU on the hidden layer but no bias at the output")
class NeuronModelNoBias(ref.Model):
    def forward(self, features):
        hidden = F.relu(_hidden(self, features))
        return F.relu(einops.einsum(hidden, self.W, "... i h, i h f -> ... i f"))


# ------------------------------------------------------------------ compute_dimensionality


@wrong("compute_dimensionality", "does not normalise W_i in the denominator")
def compute_dimensionality_unnormalised(W):
    overlaps = einops.einsum(W, W, "i h f, i h g -> i f g")
    return W.norm(dim=1) ** 2 / overlaps.pow(2).sum(-1)


@wrong("compute_dimensionality", "normalises both W_i and W_j (a sum of squared cosines)")
def compute_dimensionality_cosines(W):
    W_hat = W / W.norm(dim=1, keepdim=True)
    overlaps = einops.einsum(W_hat, W_hat, "i h f, i h g -> i f g")
    return W.norm(dim=1) ** 2 / overlaps.pow(2).sum(-1)


@right("compute_dimensionality", "from the Gram matrix: D_i = G_ii² / Σ_j G_ij²")
def compute_dimensionality_gram(W):
    gram = W.mT @ W
    return gram.diagonal(dim1=-2, dim2=-1) ** 2 / gram.pow(2).sum(-1)
