"""Part 1.7: every claim the lesson makes about what the runs show, asserted twice — on the shipped runs
(assets/runs.json, which the page's figures draw) and on a fresh seeded run small enough for CI.

Each test quotes the lesson's sentence. The negative controls show the measures can fail (an untrained
model, or a run whose sparsity says otherwise)."""

from __future__ import annotations

import math
from functools import cache

import pytest
import torch as t

from course.chapter1_transformers.part7_superposition import figures
from course.chapter1_transformers.part7_superposition import solutions as ref
from course.chapter1_transformers.part7_superposition.assets import make_runs

t.set_num_threads(1)
SHIPPED = figures.runs()
SOURCES = ["shipped", "ci"]  # the shipped runs, and a fresh seeded run small enough for CI (a few CPU seconds)


# ------------------------------------------------------------------ measures


def represented(W: t.Tensor, threshold: float = 0.5) -> t.Tensor:
    """[..., n_features] bool: which features have a column of norm above threshold."""
    return W.norm(dim=-2) > threshold


def cosines(W: t.Tensor) -> t.Tensor:
    """[n_features, n_features] cosine similarity of the columns of one instance's W [n_hidden, n_features]."""
    W_hat = W / (W.norm(dim=0, keepdim=True) + 1e-12)
    return W_hat.T @ W_hat


def is_dense_pair(W: t.Tensor) -> bool:
    """Exactly features 0 and 1 represented (norm near 1), orthogonal; the others near zero."""
    norms = W.norm(dim=0)
    return bool((norms[:2] - 1).abs().max() < 0.1 and norms[2:].max() < 0.2 and cosines(W)[0, 1].abs() < 0.1)


def is_pentagon(W: t.Tensor) -> bool:
    """All five features represented with norm near 1, at angles 72° ± 8° apart."""
    norms = W.norm(dim=0)
    angles = t.sort(t.atan2(W[1], W[0])).values
    gaps = t.diff(t.cat([angles, angles[:1] + 2 * math.pi])) * 180 / math.pi
    return bool(len(norms) == 5 and norms.min() > 0.8 and (gaps - 72).abs().max() < 8)


def antipodal_pairs(W: t.Tensor) -> int:
    """How many disjoint pairs of represented features point in opposite directions (cosine < -0.95)."""
    keep = represented(W)
    cos = cosines(W)
    pairs = {tuple(sorted((i, j))) for i in range(len(keep)) for j in range(len(keep))
             if keep[i] and keep[j] and cos[i, j] < -0.95}
    return len(pairs)


def monosemantic_neurons(W: t.Tensor) -> int:
    """Neurons (rows of W [n_hidden, n_features]) whose largest weight carries over 90% of their squared weight."""
    squared = W.pow(2)
    return int((squared.max(dim=1).values > 0.9 * squared.sum(dim=1)).sum())


STICKY = t.tensor([1.0, 3 / 4, 2 / 3, 1 / 2, 2 / 5, 1 / 3])


def near_sticky(D: t.Tensor, tolerance: float = 0.03) -> t.Tensor:
    return (D[..., None] - STICKY).abs().min(-1).values < tolerance


def interference(W: t.Tensor) -> t.Tensor:
    return figures.interference(W)


# ------------------------------------------------------------------ CI-size runs (cached per session)


@cache
def ci_five_in_two() -> dict:
    return make_runs.five_in_two([1.0, 0.3, 0.05], steps=1_500, n_batch=128)


@cache
def ci_sweep() -> dict:
    """The shipped sweep re-made with the same seed and arguments (about 20 CPU seconds, the part's largest run)."""
    return make_runs.sweep(make_runs.SWEEP_P)


@cache
def ci_correlated(nc: int, na: int) -> dict:
    return make_runs.correlated(nc, na, n_instances=2, steps=800, n_batch=128)


@cache
def ci_three_correlated_pairs() -> dict:
    return make_runs.correlated(3, 0, steps=1_500, n_batch=128)


@cache
def ci_neurons() -> dict:
    """The shipped neuron run is CI-sized already: the test re-makes it with the same arguments."""
    return make_runs.neurons(make_runs.NEURON_P)


@cache
def ci_neurons_unsigned() -> dict:
    return make_runs.neurons([1.0], signed=False)


@cache
def ci_geometry() -> dict:
    return make_runs.geometry([0.42, 0.1, 0.02], n_features=40, n_hidden=10, steps=2_500, n_batch=128)


@cache
def ci_geometry_steps() -> dict:
    """40 features in 10 dimensions at the sparsities around the 1/2 plateau, as in the shipped run (whose 100
    features in 20 dimensions take too long to re-make in CI)."""
    return make_runs.geometry([0.65, 0.42, 0.27, 0.18, 0.1, 0.02], n_features=40, n_hidden=10, steps=2_500,
                              n_batch=128)


@cache
def ci_sae() -> dict:
    """The shipped SAE run is CI-sized already (about 10 CPU seconds): the test re-makes it with the same arguments."""
    return make_runs.sae(make_runs.SAE_L1)


def _instance(run: dict, p: float) -> int:
    return min(range(len(run["p"])), key=lambda i: abs(run["p"][i] - p))


# ------------------------------------------------------------------ 1️⃣ five features in two dimensions


@pytest.mark.parametrize("source", SOURCES)
def test_dense_features_two_orthogonal(source):
    """"Dense features (p = 1): the model keeps the two most important features, on orthogonal directions
    with norm 1, and drops the other three (their columns are near zero).\""""
    run = SHIPPED["five_in_two"] if source == "shipped" else ci_five_in_two()
    W = t.tensor(run["W"])
    assert is_dense_pair(W[_instance(run, 1.0)])
    assert not is_dense_pair(ref.Model(ref.Config(n_instances=1)).W.detach()[0])  # negative control: untrained


@pytest.mark.parametrize("source", SOURCES)
def test_sparse_features_pentagon(source):
    """"at p = 0.05 all five features are represented, with norms near 1, arranged as a regular pentagon
    (72° apart). The bias b turns negative\""""
    run = SHIPPED["five_in_two"] if source == "shipped" else ci_five_in_two()
    i = _instance(run, 0.05)
    W = t.tensor(run["W"])
    assert is_pentagon(W[i])
    assert max(run["b"][i]) < 0
    assert not is_pentagon(W[_instance(run, 1.0)])  # negative control: the dense instance


@pytest.mark.parametrize("source", SOURCES)
def test_intermediate_antipodal_pairs(source):
    """"at p = 0.3, four features as two antipodal pairs: W_j ≈ −W_i\""""
    run = SHIPPED["five_in_two"] if source == "shipped" else ci_five_in_two()
    W = t.tensor(run["W"])[_instance(run, 0.3)]
    assert int(represented(W).sum()) == 4
    assert antipodal_pairs(W) == 2
    assert antipodal_pairs(t.tensor(run["W"])[_instance(run, 1.0)]) == 0  # negative control


# ------------------------------------------------------------------ 2️⃣ the 100-in-20 sweep


@pytest.mark.parametrize("source", SOURCES)
def test_sweep_dense_keeps_most_important_without_interference(source):
    """"With dense features, exactly 20 features — the 20 most important — have norm near 1, and none of
    them overlaps with another: no superposition at all." (The CI run is the shipped one, re-made.)"""
    run = SHIPPED["sweep"] if source == "shipped" else ci_sweep()
    W = t.tensor(run["W"])
    n_hidden = W.shape[1]
    dense = represented(W[_instance(run, 1.0)])
    assert dense.tolist() == [True] * n_hidden + [False] * (W.shape[2] - n_hidden)
    assert (W[0].norm(dim=0)[:n_hidden] - 1).abs().max() < 0.1
    assert interference(W)[0][dense].max() < 0.05


@pytest.mark.parametrize("source", SOURCES)
def test_sweep_sparse_packs_more_features_with_interference(source):
    """"As features get sparser, more of them are represented (…), and the represented ones increasingly
    share space (the colour). The least important features are the last to get in.\""""
    run = SHIPPED["sweep"] if source == "shipped" else ci_sweep()
    W = t.tensor(run["W"])
    counts = represented(W).sum(-1).tolist()
    assert counts == sorted(counts) and counts[-1] > W.shape[1]  # p decreases along the instances
    keep = represented(W[-1])
    assert interference(W)[-1][keep].mean() > 0.1
    assert keep[: counts[-1]].all()  # the represented features are the most important ones


def test_sweep_counts_quoted_in_lesson():
    """"more of them are represented (20, 23, 33, 40, 44, 54 of 100 features with norm above 0.5 …)": the re-made
    run gives the counts the lesson quotes, and it is the shipped run that the figures draw."""
    counts = represented(t.tensor(ci_sweep()["W"])).sum(-1).tolist()
    assert counts == [20, 23, 33, 40, 44, 54]
    text = (figures.Path(figures.__file__).with_name("lesson.md")).read_text()
    assert f"({', '.join(str(c) for c in counts)} of 100" in text
    assert ci_sweep()["p"] == SHIPPED["sweep"]["p"]
    assert (t.tensor(ci_sweep()["W"]) - t.tensor(SHIPPED["sweep"]["W"])).abs().max() < 0.01


def test_sweep_run_is_the_lessons_configuration():
    """The lesson's code trains the shipped configuration (6 instances, 3,000 steps of 256, lr 1e-2)."""
    text = (figures.Path(figures.__file__).with_name("lesson.md")).read_text()
    assert "p = 20 ** -t.linspace(0, 1, cfg.n_instances)" in text
    assert "n_batch=256, steps=100 if smoke() else 3_000, lr=1e-2" in text
    assert make_runs.SWEEP_P == [round(float(x), 4) for x in 20 ** -t.linspace(0, 1, 6)]


# ------------------------------------------------------------------ 3️⃣ correlated features


def _pair_cosines(run: dict) -> t.Tensor:
    """[n_instances, n_pairs]: the cosine between the two features of each pair."""
    W = t.tensor(run["W"])
    return t.stack([t.stack([cosines(w)[a, a + 1] for a in range(0, w.shape[1], 2)]) for w in W])


@pytest.mark.parametrize("source", SOURCES)
def test_correlated_pairs_orthogonal(source):
    """"Correlated pairs end up orthogonal. In every instance, the two features of a pair are at 90° … The model
    instead lets features from different pairs share (here, sit antipodal to each other).\""""
    run = SHIPPED["correlated_pairs"] if source == "shipped" else ci_correlated(2, 0)
    assert _pair_cosines(run).abs().max() < 0.1
    assert represented(t.tensor(run["W"])).all()
    assert [antipodal_pairs(W) for W in t.tensor(run["W"])] == [2] * len(run["W"])  # across pairs


def _losses(run: dict) -> t.Tensor:
    """Each instance's loss on one fixed batch of its own data, from the stored weights."""
    W = t.tensor(run["W"])
    cfg = ref.Config(n_instances=W.shape[0], n_features=W.shape[2], n_hidden=2,
                     n_correlated_pairs=run["n_correlated_pairs"], n_anticorrelated_pairs=run["n_anticorrelated_pairs"])
    model = ref.CorrelatedModel(cfg, feature_probability=run["p"])
    with t.no_grad():
        model.W.copy_(W)
        model.b_final.copy_(t.tensor(run["b"]))
        t.manual_seed(0)
        batch = model.generate_batch(50_000)
        error = (batch - model(batch)) ** 2
    return error.mean(dim=(0, 2))


@pytest.mark.parametrize("source", SOURCES)
def test_anticorrelated_pairs_antipodal(source):
    """"Anticorrelated pairs end up antipodal (W_j ≈ −W_i) … in two of our three runs; the third puts features
    of different pairs head to tail instead, and its loss is higher\""""
    run = SHIPPED["anticorrelated_pairs"] if source == "shipped" else ci_correlated(0, 2)
    within = (_pair_cosines(run) < -0.95).all(-1)
    assert within.any()
    assert [antipodal_pairs(W) for W in t.tensor(run["W"])] == [2] * len(run["W"])  # within or across pairs
    losses = _losses(run)
    if not within.all():
        assert losses[~within].min() > losses[within].max()
    if source == "shipped":
        assert within.tolist() == [True, False, True]
    # negative control: the correlated run's pairs are not antipodal
    assert _pair_cosines(SHIPPED["correlated_pairs"]).min() > -0.95


@pytest.mark.parametrize("source", SOURCES)
def test_three_correlated_pairs_one_collapses(source):
    """"in every instance one pair collapses onto a single direction (cosine 1, each feature with norm about
    0.71 = 1/√2) … That shared direction and the other four features make a rough pentagon (neighbours 60° to
    80° apart)\""""
    run = SHIPPED["three_correlated_pairs"] if source == "shipped" else ci_three_correlated_pairs()
    cos = _pair_cosines(run)
    for W, pair_cos in zip(t.tensor(run["W"]), cos, strict=True):
        collapsed = (pair_cos > 0.99).nonzero().flatten().tolist()
        assert len(collapsed) == 1
        a = 2 * collapsed[0]
        assert ((W[:, a : a + 2].norm(dim=0) - 2**-0.5).abs() < 0.05).all()
        directions = t.cat([W[:, :a], W[:, a : a + 1], W[:, a + 2 :]], dim=1)  # the pair counted once
        angles = t.sort(t.atan2(directions[1], directions[0])).values
        gaps = t.diff(t.cat([angles, angles[:1] + 2 * math.pi])) * 180 / math.pi
        assert ((gaps > 60) & (gaps < 80)).all()
    assert not (_pair_cosines(SHIPPED["correlated_pairs"]) > 0.99).any()  # negative control: two pairs fit


# ------------------------------------------------------------------ 5️⃣ feature geometry


@pytest.mark.parametrize("source", SOURCES)
def test_geometry_antipodal_plateau(source):
    """"at p ≈ 0.42 the model stores exactly twice as many features as it has dimensions, and every one of
    them has dimensionality 1/2: antipodal pairs\" (CI: 40 features in 10 dimensions)"""
    run = SHIPPED["geometry"] if source == "shipped" else ci_geometry()
    i = _instance(run, 0.42)
    D, norms = t.tensor(run["dimensionality"])[i], t.tensor(run["norms"])[i]
    keep = norms > 0.5
    n_hidden = 20 if source == "shipped" else 10
    assert int(keep.sum()) == 2 * n_hidden
    assert (D[keep] - 0.5).abs().max() < 0.02
    # negative control: the same measure on an untrained model
    W = ref.Model(ref.Config(n_instances=1, n_features=D.shape[0], n_hidden=n_hidden)).W.detach()
    assert not ((ref.compute_dimensionality(W) - 0.5).abs() < 0.02).all()


@pytest.mark.parametrize("source", SOURCES)
def test_geometry_sparse_all_features_share(source):
    """"At the sparse end every feature is stored, each with dimensionality close to m / n = 1/5\" (CI: 10/40)"""
    run = SHIPPED["geometry"] if source == "shipped" else ci_geometry()
    D, norms = t.tensor(run["dimensionality"])[-1], t.tensor(run["norms"])[-1]
    assert (norms > 0.5).all()
    n_hidden = 20 if source == "shipped" else 10
    assert (D - n_hidden / D.shape[0]).abs().max() < 0.03


@pytest.mark.parametrize("source", SOURCES)
def test_geometry_dimensions_per_feature_falls(source):
    """"The dimensions per feature sit at 1/2 too … In between, the dimensions per feature fall as features get
    sparser\": monotone (after the dense instance), 1/2 at p ≈ 0.42."""
    run = SHIPPED["geometry"] if source == "shipped" else ci_geometry()
    dpf = run["dimensions_per_feature"] if source == "ci" else run["dimensions_per_feature"][1:]
    assert dpf == sorted(dpf, reverse=True) and dpf[0] > dpf[-1] + 0.1
    assert abs(run["dimensions_per_feature"][_instance(run, 0.42)] - 0.5) < 0.02


def test_the_geometry_code_block_is_the_run_behind_the_figure():
    """The lesson's section-5 code block, run with a recording `optimize`, sets up the shipped geometry run:
    same sparsities, sizes, initial weights and training arguments (make_runs.geometry's defaults)."""
    from arena.catalog import get_part
    from arena.lesson import Code, load_lesson

    blocks = [b for b in load_lesson(get_part("1.7")).blocks
              if isinstance(b, Code) and "dimensions_per_feature(model.W.detach())" in b.source]
    assert len(blocks) == 1
    calls = []
    namespace = {**vars(ref), "smoke": lambda: False,
                 "optimize": lambda model, **kwargs: calls.append((model, kwargs)) or []}
    exec(blocks[0].source, namespace)  # noqa: S102 - the course's own lesson text
    (model, kwargs), = calls
    assert kwargs == dict(n_batch=256, steps=3_000, lr=1e-2, lr_scale=ref.cosine_decay_lr, seed=0)
    assert (model.cfg.n_features, model.cfg.n_hidden) == (100, 20)
    shipped_p = t.tensor(make_runs.GEOMETRY_P)[:, None]
    assert t.equal(model.feature_probability, shipped_p.expand_as(model.feature_probability))
    t.manual_seed(0)  # make_runs.geometry's initial weights
    shipped_init = ref.Model(model.cfg, feature_probability=shipped_p)
    assert t.equal(model.W, shipped_init.W)


def _geometry_steps(source: str) -> dict:
    return SHIPPED["geometry"] if source == "shipped" else ci_geometry_steps()


@pytest.mark.parametrize("source", SOURCES)
def test_geometry_split_below_one_half(source):
    """"At p ≈ 0.27 the features split between 1/2 and a second, tight cluster a little below it" (CI: 40
    features in 10 dimensions)"""
    run = _geometry_steps(source)
    D, norms = t.tensor(run["dimensionality"]), t.tensor(run["norms"])
    i = _instance(run, 0.27)
    d = D[i][norms[i] > 0.5]
    at_half = (d - 0.5).abs() < 0.02
    below = d[~at_half]
    assert at_half.sum() >= 2 and len(below) >= 2  # two groups, each of several features
    assert below.max() < 0.48 and below.max() - below.min() < 0.05  # one tight cluster below 1/2
    if source == "shipped":
        assert ((below > 0.44) & (below < 0.48)).all()  # the values the figure's hover shows
    j = _instance(run, 0.42)  # negative control: one step denser, no second cluster
    assert ((D[j][norms[j] > 0.5] - 0.5).abs() < 0.02).all()


@pytest.mark.parametrize("source", SOURCES)
def test_geometry_dimensions_per_feature_in_steps(source):
    """"In between, the dimensions per feature fall as features get sparser, but in steps: from p ≈ 0.42 to
    p ≈ 0.27 they hardly move, while each neighbouring step of the sweep takes more than three times as much\""""
    run = _geometry_steps(source)
    ps = [0.65, 0.42, 0.27, 0.18]
    dpf = [run["dimensions_per_feature"][_instance(run, p)] for p in ps]
    before, plateau, after = dpf[0] - dpf[1], dpf[1] - dpf[2], dpf[2] - dpf[3]
    assert 0 < plateau < 0.05
    assert before > 3 * plateau and after > 3 * plateau
    # negative control: a smooth curve (linear in log p through the same end points) has no such flat step
    logp = t.log(t.tensor([run["p"][_instance(run, p)] for p in ps]))
    smooth = dpf[0] + (dpf[3] - dpf[0]) * (logp - logp[0]) / (logp[3] - logp[0])
    assert not (smooth[0] - smooth[1] > 3 * (smooth[1] - smooth[2]) < smooth[2] - smooth[3])


# ------------------------------------------------------------------ 4️⃣ a privileged basis


def negative_fraction(W: t.Tensor, p: float, signed: bool, n: int = 20_000) -> float:
    """The fraction of hidden pre-activations W x that are negative, on inputs with at least one feature, with
    values uniform in [−1, 1] (signed) or [0, 1]."""
    gen = t.Generator().manual_seed(0)
    x = t.rand(n, W.shape[1], generator=gen) * (t.rand(n, W.shape[1], generator=gen) < p)
    x = 2 * x - (x > 0).float() if signed else x  # a present value u in [0, 1] becomes 2u − 1
    h = (x @ W.T)[(x != 0).any(-1)]
    return float((h < 0).float().mean())


def _neurons(source: str) -> dict:
    return SHIPPED["neurons"] if source == "shipped" else ci_neurons()


def test_neuron_run_is_the_lessons_configuration():
    """The lesson's code trains the shipped configuration (4 instances, 1,000 steps of 128, signed values)."""
    run = SHIPPED["neurons"]
    assert run["p"] == [1.0, 0.3, 0.1, 0.03] and run["signed"]
    text = (figures.Path(figures.__file__).with_name("lesson.md")).read_text()
    assert "p = t.tensor([1.0, 0.3, 0.1, 0.03])\nmodel = NeuronModel(" in text
    assert "n_batch=128, steps=200 if smoke() else 1_000" in text


@pytest.mark.parametrize("source", SOURCES)
def test_neurons_dense_monosemantic(source):
    """"Dense features (p = 1): exactly the five most important features are stored, the other five have zero
    weights, and each stored feature has a neuron of its own: all five neurons are monosemantic … About half of
    the hidden pre-activations are negative\""""
    run = _neurons(source)
    W = t.tensor(run["W"])[_instance(run, 1.0)]
    assert represented(W).tolist() == [True] * 5 + [False] * 5
    assert W[:, 5:].abs().max() < 0.1
    assert monosemantic_neurons(W) == 5
    assert sorted(W.pow(2).argmax(dim=1).tolist()) == [0, 1, 2, 3, 4]  # one neuron per stored feature
    assert 0.4 < negative_fraction(W, 1.0, signed=True) < 0.6
    # negative control: an untrained model's neurons are not monosemantic
    assert monosemantic_neurons(ref.NeuronModel(ref.Config(n_instances=1, n_features=10, n_hidden=5)).W[0]) < 5


@pytest.mark.parametrize("source", SOURCES)
def test_neurons_monosemantic_then_polysemantic(source):
    """"At p = 0.3: still five features on five monosemantic neurons. At p = 0.1 the model stores six features in
    its five neurons, and no neuron is monosemantic any more … At p = 0.03 it stores seven, and again every neuron
    is polysemantic.\""""
    run = _neurons(source)
    W = t.tensor(run["W"])
    assert represented(W).sum(-1).tolist() == [5, 5, 6, 7]
    assert [monosemantic_neurons(w) for w in W] == [5, 5, 0, 0]


def test_neurons_ci_run_matches_shipped():
    """The re-made run is the shipped one (same seed and arguments), up to the JSON's rounding."""
    assert (t.tensor(ci_neurons()["W"]) - t.tensor(SHIPPED["neurons"]["W"])).abs().max() < 0.01


def test_neurons_unsigned_values_not_privileged():
    """"Compare the same model trained on dense features with values in [0, 1]: it also stores the five most
    important features, but only about 2% of its hidden pre-activations are negative … in our run no neuron is
    monosemantic.\""""
    W = t.tensor(ci_neurons_unsigned()["W"])[0]
    assert represented(W).tolist() == [True] * 5 + [False] * 5
    assert negative_fraction(W, 1.0, signed=False) < 0.05
    assert monosemantic_neurons(W) == 0
    # negative control: the signed run's pre-activations on the same kind of inputs
    assert negative_fraction(t.tensor(SHIPPED["neurons"]["W"])[0], 1.0, signed=True) > 0.4


# ------------------------------------------------------------------ 6️⃣ bonus: the sparse autoencoder


def _at(run: dict, l1: float) -> int:
    return run["l1"].index(l1)


@pytest.mark.parametrize("source", SOURCES)
def test_sae_needs_sparsity_to_find_features(source):
    """"With no L1 penalty, or a small one (up to 0.1), … finds at most 3 of the 20 true features … At L1 = 0.3 it
    finds 19 of them, and at L1 = 1.0 all 20, each with a decoder row at cosine above 0.99" (the CI run is the
    shipped one, re-made)"""
    run = SHIPPED["sae"] if source == "shipped" else ci_sae()
    assert run["represented"] == run["n_features"] == 20
    assert max(run["recovered"][: _at(run, 0.1) + 1]) <= 3  # negative control: no or little sparsity penalty
    assert run["recovered"][_at(run, 0.3)] == 19
    assert run["recovered"][_at(run, 1.0)] == 20
    assert min(run["best_cosine"][_at(run, 1.0)]) > 0.99


def test_sae_ci_run_matches_shipped():
    """The re-made SAE run is the shipped one (same seed and arguments), up to the JSON's rounding, and the
    lesson's code trains that configuration."""
    run, shipped = ci_sae(), SHIPPED["sae"]
    assert run["recovered"] == shipped["recovered"] and run["alive"] == shipped["alive"]
    assert (t.tensor(run["best_cosine"]) - t.tensor(shipped["best_cosine"])).abs().max() < 0.01
    text = (figures.Path(figures.__file__).with_name("lesson.md")).read_text()
    assert "l1 = t.tensor([0.0, 0.01, 0.03, 0.1, 0.3, 1.0])" in text
    assert make_runs.SAE_L1 == [0.0, 0.01, 0.03, 0.1, 0.3, 1.0]
    assert "n_latents=40, l1_coeffs=l1, n_batch=256, steps=100 if smoke() else 2_000" in text
