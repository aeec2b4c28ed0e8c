"""Checks for part 0.3. Modules are compared by behaviour: the reference's weights are copied into the
learner's module by position and shape (the same rule copy_weights uses), then outputs are compared."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import torch as t
from PIL import Image
from torch import nn
from torch.utils.data import TensorDataset

from arena.checking import (
    CheckFailure,
    expect_close,
    expect_equal,
    expect_shape,
    expect_type,
    time_limit,
    uses_learner,
)

from . import solutions as ref

# ----------------------------------------------------------------------------- helpers


def _randomise(module: nn.Module, seed: int, matrices: bool = True) -> nn.Module:
    """Give every parameter and buffer of a (reference, torch-named) module distinctive random values
    (conv and linear weights only when `matrices`: a fresh module's init is already random)."""
    gen = t.Generator().manual_seed(seed)
    with t.no_grad():
        for name, value in module.state_dict(keep_vars=True).items():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "num_batches_tracked":
                value.fill_(int(t.randint(1, 1000, (), generator=gen)))
            elif leaf == "running_var":
                value.copy_(t.rand(value.shape, generator=gen) + 0.5)
            elif leaf == "running_mean" or leaf == "bias":
                value.copy_(t.randn(value.shape, generator=gen) * 0.2)
            elif value.dim() == 1:  # BatchNorm weight
                value.copy_(t.rand(value.shape, generator=gen) + 0.5)
            elif matrices:
                fan_in = value[0].numel()
                value.copy_(t.randn(value.shape, generator=gen) / math.sqrt(fan_in))
    return module


def _shapes(module: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(v.shape) for v in module.state_dict().values()]


def _load_by_order(source: nn.Module, target: nn.Module, what: str, advice: str = "") -> None:
    """Copy the reference `source`'s state into the learner's `target` by position; fail on a layout mismatch."""
    expect_type(target, nn.Module, what)
    src, dst = source.state_dict(), target.state_dict()
    want, got = _shapes(source), _shapes(target)
    if want != got:
        first = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got)))
        names = list(src)
        expected_there = f"{names[first]} {want[first]}" if first < len(want) else "nothing (the end)"
        got_there = f"{list(dst)[first]} {got[first]}" if first < len(got) else "nothing (the end)"
        count = (f"has {len(got)} tensors in its state_dict (parameters and buffers); a correct one has {len(want)}"
                 if len(got) != len(want) else
                 f"has the right number of tensors in its state_dict ({len(got)}, parameters and buffers), but not "
                 "the right shapes")
        raise CheckFailure(
            f"{what} {count}. They first differ at position {first}: expected {expected_there}, got {got_there}. "
            f"{advice}".strip())
    with t.no_grad():
        for mine, theirs in zip(dst.values(), src.values(), strict=True):
            mine.copy_(theirs)


def _expect_close_advised(got: t.Tensor, expected: t.Tensor, what: str, advice: str, **tolerances: float) -> None:
    """expect_close, with `advice` appended to the failure message (after "is wrong at index ...")."""
    try:
        expect_close(got, expected, what, **tolerances)
    except CheckFailure as err:
        raise CheckFailure(f"{err}. {advice}") from None


def _compare_module(learner: nn.Module, reference: nn.Module, x: t.Tensor, what: str, advice: str = "") -> None:
    """Outputs in train mode (twice, so running statistics matter) and then in eval mode must match."""
    for mode in ("train", "train", "eval"):
        learner.train(mode == "train")
        reference.train(mode == "train")
        expected = reference(x)
        got = learner(x)
        expect_type(got, t.Tensor, f"{what} in {mode} mode")
        expect_shape(got, tuple(expected.shape), f"output of {what} in {mode} mode for input of shape {tuple(x.shape)}")
        try:
            expect_close(got, expected, f"output of {what} in {mode} mode", rtol=1e-4, atol=1e-4)
        except CheckFailure as err:
            raise CheckFailure(f"{err}. {advice}".strip()) from None


# ----------------------------------------------------------------------------- 1️⃣ CNN


def check_ConvNet(ConvNet) -> str:
    t.manual_seed(0)
    model = ConvNet()
    reference = ref.ConvNet()
    _load_by_order(reference, model, "ConvNet()", "Build the layers in the order the docstring lists, with biases.")
    for batch in (5, 1):
        x = t.randn(batch, 1, 28, 28)
        reference.eval()
        model.eval()
        got = model(x)
        expect_type(got, t.Tensor, "ConvNet()(x)")
        expect_shape(got, (batch, 10), f"ConvNet()(x) for x of shape {tuple(x.shape)}")
        expect_close(got, reference(x), f"ConvNet()(x) for x of shape {tuple(x.shape)}", atol=1e-4)
    n_params = sum(p.numel() for p in model.parameters())
    return f"layers and outputs match the reference ({n_params:,} parameters)"


def _toy_classification(n: int, seed: int) -> TensorDataset:
    gen = t.Generator().manual_seed(seed)
    x = t.randn(n, 1, 2, 2, generator=gen)
    y = (x.flatten(1) @ t.tensor([1.0, -2.0, 0.5, 1.5]) > 0).long()
    return TensorDataset(x, y)


def _toy_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))


def _accuracy(model: nn.Module, dataset: TensorDataset) -> float:
    model.eval()
    with t.no_grad():
        x, y = dataset.tensors
        return (model(x.to(ref.device)).argmax(-1).cpu() == y).float().mean().item()


def check_train_convnet(train_convnet) -> str:
    t.manual_seed(0)
    train_set, val_set = _toy_classification(200, 1), _toy_classification(70, 2)
    model = _toy_model()
    before = [p.detach().clone() for p in model.parameters()]
    # For every forward pass that a loss is later backpropagated through, remember whether the model was
    # in training mode at the time (a model left in eval mode after validation trains without dropout/BatchNorm
    # batch statistics: it silently trains the wrong network).
    backprop_modes: list[bool] = []

    def record_mode(module: nn.Module, inputs: object, output: t.Tensor) -> None:
        if isinstance(output, t.Tensor) and output.requires_grad:
            was_training = module.training
            output.register_hook(lambda grad: backprop_modes.append(was_training))

    model.register_forward_hook(record_mode)
    args = ref.ConvNetTrainingArgs(batch_size=32, epochs=3, learning_rate=0.03)
    what = "train_convnet(model, train_set of 200, val_set of 70, batch_size=32, epochs=3)"
    history = train_convnet(model, train_set, val_set, args)
    expect_type(history, dict, what)
    for key in ("loss", "accuracy"):
        if key not in history:
            raise CheckFailure(f"{what} should return a dict with keys 'loss' and 'accuracy'; got keys {list(history)}")
        expect_type(history[key], list, f"{what}[{key!r}]")
        for value in history[key]:
            if isinstance(value, t.Tensor) or not isinstance(value, int | float | np.floating):
                raise CheckFailure(f"{what}[{key!r}] should hold Python floats (use .item()); found {value!r}")
    n_steps = 3 * math.ceil(200 / 32)
    expect_equal(len(history["loss"]), n_steps, f"number of losses in {what} (one per step: 3 epochs x 7 batches)")
    expect_equal(len(history["accuracy"]), 3, f"number of accuracies in {what} (one per epoch)")
    if all(t.equal(a, b.detach().cpu()) for a, b in zip(before, model.parameters(), strict=True)):
        raise CheckFailure(f"{what} did not change the model's parameters (is optimizer.step() called?)")
    n_eval_steps = backprop_modes.count(False)
    if n_eval_steps:
        raise CheckFailure(
            f"{what}: {n_eval_steps} of the {len(backprop_modes)} training steps ran with the model in eval mode. "
            "Validation calls model.eval(); call model.train() at the start of *every* epoch, not once before the "
            "loop (the test model has dropout, which eval mode switches off).")
    final = _accuracy(model, val_set)
    if abs(history["accuracy"][-1] - final) > 1e-6:
        raise CheckFailure(
            f"{what}: the last accuracy you report is {history['accuracy'][-1]:.4f}, but the trained model's accuracy "
            f"on the 70 validation examples (eval mode) is {final:.4f}. Count correct predictions over all "
            "examples and divide by len(val_set); a mean of per-batch accuracies is wrong when the last batch is smaller.")
    if final < 0.85:
        raise CheckFailure(f"{what} reached only {final:.1%} validation accuracy on an easy, linearly separable task "
                           "(the reference gets > 90%). Check zero_grad / backward / step and the learning rate.")
    first, last = np.mean(history["loss"][:4]), np.mean(history["loss"][-4:])
    if not last < first:
        raise CheckFailure(f"{what}: the loss did not go down (first steps {first:.3f}, last steps {last:.3f})")
    short = train_convnet(_toy_model(), train_set, val_set,
                          ref.ConvNetTrainingArgs(batch_size=32, epochs=2, learning_rate=0.03, max_steps_per_epoch=3))
    expect_equal(len(short["loss"]), 6, "number of losses with epochs=2, max_steps_per_epoch=3")
    return f"trains (validation accuracy {final:.0%} on a toy task), reports one loss per step and one accuracy per epoch"


# ----------------------------------------------------------------------------- 2️⃣ ResNet parts


def check_Sequential(Sequential) -> str:
    t.manual_seed(0)
    layers = [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]
    seq = Sequential(*layers)
    expect_type(seq, nn.Module, "Sequential(Linear(3, 4), ReLU(), Linear(4, 2))")
    params = list(seq.parameters())
    expected = [p for layer in layers for p in layer.parameters()]
    if len(params) != 4 or any(a is not b for a, b in zip(params, expected, strict=False)):
        raise CheckFailure(f"Sequential(Linear(3, 4), ReLU(), Linear(4, 2)).parameters() gives {len(params)} tensors "
                           "(expected the 4 parameters of the two Linear layers, in order). Register each module "
                           "(self.add_module(str(i), m)); a plain Python list hides them from .parameters().")
    x = t.randn(5, 3)
    expect_close(seq(x), layers[2](layers[1](layers[0](x))), "Sequential(Linear(3, 4), ReLU(), Linear(4, 2))(x)")
    double, add_one = nn.Linear(1, 1), nn.Linear(1, 1)
    with t.no_grad():
        double.weight.fill_(2.0), double.bias.fill_(0.0), add_one.weight.fill_(1.0), add_one.bias.fill_(1.0)
    expect_close(Sequential(double, add_one)(t.tensor([[1.0]])), t.tensor([[3.0]]),
                 "Sequential(x -> 2x, x -> x + 1) applied to 1 (modules must run in the order given)")
    return "registers modules in order and applies them in order"


def check_BatchNorm2d(BatchNorm2d) -> str:
    for num_features, kwargs in ((4, {}), (3, {"eps": 1e-2, "momentum": 0.25})):
        label = f"BatchNorm2d({num_features}{''.join(f', {k}={v}' for k, v in kwargs.items())})"
        bn, theirs = BatchNorm2d(num_features, **kwargs), nn.BatchNorm2d(num_features, **kwargs)
        expect_type(bn, nn.Module, label)
        keys = list(bn.state_dict())
        want_keys = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
        if keys != want_keys:
            raise CheckFailure(f"{label}.state_dict() has keys {keys}; expected {want_keys} (parameters `weight`, "
                               "`bias`, then buffers registered with register_buffer in that order)")
        for key in want_keys:
            expect_close(bn.state_dict()[key], theirs.state_dict()[key], f"{label}.{key} at initialisation")
        if bn.num_batches_tracked.dtype != t.long:
            raise CheckFailure(f"{label}.num_batches_tracked should have dtype torch.long, got {bn.num_batches_tracked.dtype}")
        gen = t.Generator().manual_seed(num_features)
        with t.no_grad():
            for mine, other in ((bn.weight, theirs.weight), (bn.bias, theirs.bias)):
                value = t.randn(num_features, generator=gen)
                mine.copy_(value), other.copy_(value)
        bn.train(), theirs.train()
        for step in range(3):
            # 2 x 2 x 2 = 8 values per channel: biased and unbiased variance differ by a factor 8/7
            x = t.randn(2, num_features, 2, 2, generator=gen) * (step + 1) + step
            x_mine, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
            got, want = bn(x_mine), theirs(x_theirs)
            expect_type(got, t.Tensor, f"{label} in train mode")
            _expect_close_advised(got, want, f"{label} output in train mode (batch {step + 1}, input of shape (2, "
                                  f"{num_features}, 2, 2))", "In train mode, normalise with this batch's mean and "
                                  "*biased* variance (divide by n = B*H*W), then scale by weight and shift by bias.",
                                  atol=1e-4)
            _expect_close_advised(bn.running_mean, theirs.running_mean,
                                  f"{label}.running_mean after {step + 1} training batch{'es' if step else ''}",
                                  "Expected running_mean = (1 - momentum) * running_mean + momentum * batch_mean "
                                  "(momentum is the weight of the new batch).", atol=1e-5)
            _expect_close_advised(bn.running_var, theirs.running_var,
                                  f"{label}.running_var after {step + 1} training batch{'es' if step else ''}",
                                  "Expected running_var = (1 - momentum) * running_var + momentum * batch_var, where "
                                  "batch_var is the *unbiased* variance (divide by n - 1).", atol=1e-5)
            for key in ("running_mean", "running_var"):
                buffer = getattr(bn, key)
                if buffer.requires_grad or buffer.grad_fn is not None:
                    raise CheckFailure(
                        f"{label}.{key} requires grad after a training batch whose input requires grad: it is "
                        "computed from the batch statistics *with* their autograd graph. Update the running "
                        "statistics under torch.no_grad() (or from detached statistics); otherwise each one keeps "
                        "the graph of every batch so far alive and memory grows with every training step.")
            expect_equal(int(bn.num_batches_tracked), step + 1, f"{label}.num_batches_tracked after {step + 1} batches")
            weights = t.randn(want.shape, generator=gen)
            (got * weights).sum().backward()
            (want * weights).sum().backward()
            if x_mine.grad is None or bn.weight.grad is None:
                raise CheckFailure(f"{label} in train mode: no gradient reaches the input or weight (is the output "
                                   "computed under no_grad or from detached tensors?)")
            expect_close(x_mine.grad, x_theirs.grad, f"gradient of {label}'s output with respect to its input", atol=1e-4)
        bn.eval(), theirs.eval()
        before = {k: v.clone() for k, v in bn.state_dict().items()}
        x = t.randn(3, num_features, 4, 5, generator=gen)
        got = bn(x)
        for key, value in bn.state_dict().items():
            if not t.equal(value, before[key]):
                raise CheckFailure(f"{label}.{key} changed during a forward pass in eval mode; running statistics "
                                   "must only be updated in training mode")
        _expect_close_advised(got, theirs(x), f"{label} output in eval mode", "In eval mode, normalise with "
                              "running_mean and running_var instead of the batch's statistics.", atol=1e-4)
    return "train and eval outputs, gradients, running statistics and num_batches_tracked match torch's"


def check_AveragePool(AveragePool) -> str:
    x = t.randn(2, 3, 4, 5, generator=t.Generator().manual_seed(0))
    got = AveragePool()(x)
    expect_type(got, t.Tensor, "AveragePool()(x)")
    expect_shape(got, (2, 3), "AveragePool()(x) for x of shape (2, 3, 4, 5)")
    expect_close(got, x.mean(dim=(2, 3)), "AveragePool()(x) for x of shape (2, 3, 4, 5)")
    return "global mean over height and width"


_BLOCK_ADVICE = ("(Projection on the right branch only when first_stride != 1 or in_feats != out_feats; stride on the "
                 "first 3x3 conv and on the projection; `left` defined before `right`. These modules use your "
                 "Sequential and BatchNorm2d: make sure those pass first.)")


def check_ResidualBlock(ResidualBlock) -> str:
    for seed, (in_feats, out_feats, stride) in enumerate(((8, 8, 1), (4, 8, 1), (8, 16, 2), (4, 8, 3))):
        t.manual_seed(seed)
        what = f"ResidualBlock({in_feats}, {out_feats}, first_stride={stride})"
        reference = _randomise(ref.ResidualBlock(in_feats, out_feats, stride), seed)
        block = ResidualBlock(in_feats, out_feats, stride)
        _load_by_order(reference, block, what, _BLOCK_ADVICE)
        _compare_module(block, reference, t.randn(2, in_feats, 7, 7), what, _BLOCK_ADVICE)
    return "identity and projection shortcuts, strides 1, 2 and 3, train and eval mode"


def check_BlockGroup(BlockGroup) -> str:
    for seed, (n, in_feats, out_feats, stride) in enumerate(((3, 4, 8, 2), (2, 8, 8, 1), (1, 4, 6, 1))):
        t.manual_seed(seed)
        what = f"BlockGroup({n}, {in_feats}, {out_feats}, first_stride={stride})"
        reference = _randomise(ref.BlockGroup(n, in_feats, out_feats, stride), seed)
        group = BlockGroup(n, in_feats, out_feats, stride)
        _load_by_order(reference, group, what, _BLOCK_ADVICE)
        _compare_module(group, reference, t.randn(2, in_feats, 9, 9), what, _BLOCK_ADVICE)
    return "groups of 1 to 3 blocks, with and without downsampling"


def check_ResNet34(ResNet34) -> str:
    from torchvision.models import resnet34

    t.manual_seed(0)
    config = dict(n_blocks_per_group=[1, 2], out_features_per_group=[8, 16], first_strides_per_group=[1, 2], n_classes=5)
    what = "ResNet34(n_blocks_per_group=[1, 2], out_features_per_group=[8, 16], first_strides_per_group=[1, 2], n_classes=5)"
    reference = _randomise(ref.ResNet34(**config), 0)
    small = ResNet34(**config)
    advice = ("(The stem is conv 7x7 3->64 stride 2 padding 3, BatchNorm2d(64), ReLU, max-pool 3 stride 2 padding 1; "
              "group i maps the previous width (64 for the first) to out_features_per_group[i]; the final linear "
              "layer maps out_features_per_group[-1] -> n_classes. ResidualBlock and BlockGroup must pass first.)")
    _load_by_order(reference, small, what, advice)
    _compare_module(small, reference, t.randn(2, 3, 40, 40), what, advice)
    with t.device("meta"):
        full, theirs = ResNet34(), resnet34()
    if _shapes(full) != _shapes(theirs):
        _load_by_order(theirs, full, "ResNet34() with its default arguments (compared with torchvision's resnet34)")
    return "a small configuration matches the reference; the default one has torchvision resnet34's 218 tensors in order"


@functools.cache
def _pretrained_template() -> nn.Module:
    """One randomly initialised torchvision resnet34, built once per process (initialising its 21M
    parameters is most of the cost of the checks that need one). Never handed to the learner: copy it."""
    from torchvision.models import resnet34

    t.manual_seed(0)
    return resnet34()


def _fake_pretrained(seed: int) -> nn.Module:
    """A randomly initialised torchvision resnet34 with distinctive BatchNorm statistics (stands in for ImageNet
    weights): a fresh copy of the shared template whose BatchNorm statistics and biases depend on `seed`."""
    return _randomise(copy.deepcopy(_pretrained_template()), seed, matrices=False)


def _blank(cls: type[nn.Module], zero: bool = True, **config: object) -> nn.Module:
    """A reference module built without the cost of random initialisation, for models whose values are
    overwritten (`zero`: every parameter and buffer starts at 0) or never read (`zero=False`: uninitialised)."""
    with t.device("meta"):
        module = cls(**config)
    module = module.to_empty(device="cpu")
    if not zero:
        return module
    with t.no_grad():
        for value in module.state_dict().values():
            value.zero_()
    return module


def _expect_same_state(mine: nn.Module, theirs: nn.Module, what: str, skip_theirs: tuple[str, ...] = (),
                       skip_mine: tuple[int, ...] = ()) -> None:
    mine_items = [kv for i, kv in enumerate(mine.state_dict(keep_vars=True).items()) if i not in skip_mine]
    their_items = [kv for kv in theirs.state_dict().items() if kv[0] not in skip_theirs]
    if len(mine_items) != len(their_items):
        raise CheckFailure(f"{what}: the model has {len(mine_items)} tensors in its state_dict, torchvision's "
                           f"resnet34 has {len(their_items)}")
    for (my_name, my_value), (their_name, their_value) in zip(mine_items, their_items, strict=True):
        if tuple(my_value.shape) != tuple(their_value.shape) or not t.equal(my_value.detach().cpu(), their_value):
            raise CheckFailure(f"{what}: your `{my_name}` does not hold torchvision's `{their_name}` "
                               f"(every parameter *and buffer* must be copied, by position and shape)")


@time_limit(40)
def check_copy_weights(copy_weights) -> str:
    pretrained = _fake_pretrained(1)
    mine = _blank(ref.ResNet34)  # zeros: every value must be overwritten by copy_weights
    result = copy_weights(mine, pretrained)
    expect_type(result, nn.Module, "copy_weights(my_resnet, pretrained_resnet)")
    _expect_same_state(result, pretrained, "after copy_weights(my_resnet, pretrained_resnet)")
    x = t.randn(2, 3, 32, 32, generator=t.Generator().manual_seed(3))
    result.eval(), pretrained.eval()
    with t.no_grad():
        expect_close(result(x), pretrained(x), "logits of your ResNet34 after copy_weights, compared with torchvision's",
                     atol=1e-3, rtol=1e-3)
    for config, mismatch in (({"n_blocks_per_group": [3, 4, 6, 2]}, "one block fewer in the last group: 206 tensors, not 218"),
                             ({"n_classes": 10}, "n_classes=10: the last linear layer has shape (10, 512), not (1000, 512)")):
        wrong_size = _blank(ref.ResNet34, zero=False, **config)
        try:
            copy_weights(wrong_size, pretrained)
        except ValueError:
            continue
        except Exception as err:  # noqa: BLE001 - any other exception is reported with its type
            raise CheckFailure(f"copy_weights(ResNet34({', '.join(f'{k}={v}' for k, v in config.items())}), "
                               f"torchvision's resnet34) ({mismatch}) raised {type(err).__name__}: {err}; it should raise "
                               "a ValueError that says where the two state dicts differ") from None
        raise CheckFailure(f"copy_weights(ResNet34({', '.join(f'{k}={v}' for k, v in config.items())}), torchvision's "
                           f"resnet34) ({mismatch}) returned without an error: it should raise a ValueError. zip() "
                           "silently stops at the shorter state dict; compare the lengths (or use zip(..., strict=True)) "
                           "and compare the shapes at each position.")
    return ("all 218 parameters and buffers copied; logits match torchvision's resnet34 (random weights as a stand-in); "
            "mismatched models raise ValueError")


def _smooth_image(height: int, width: int, mode: str, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [127 + 120 * np.sin(2 * np.pi * (rng.uniform(0.5, 1.5) * yy + rng.uniform(0.5, 1.5) * xx + rng.uniform()))
                for _ in range(4)]
    array = np.stack(channels, -1).astype(np.uint8)
    image = Image.fromarray(array, "RGBA")
    return image.convert(mode)


def check_prepare_data(prepare_data) -> str:
    images = [_smooth_image(300, 200, "RGB", 0), _smooth_image(50, 80, "L", 1), _smooth_image(224, 224, "RGBA", 2)]
    what = "prepare_data([RGB 200x300, grayscale 80x50, RGBA 224x224])"
    got = prepare_data(images)
    expect_type(got, t.Tensor, what)
    expect_shape(got, (3, 3, 224, 224), what)
    if got.dtype != t.float32:
        raise CheckFailure(f"{what} should be float32, got {got.dtype}")
    expected = ref.prepare_data(images)
    expect_close(got.mean(dim=(0, 2, 3)), expected.mean(dim=(0, 2, 3)),
                 f"per-channel mean of {what} (normalise with IMAGENET_MEAN and IMAGENET_STD after scaling to [0, 1])",
                 atol=0.03)
    expect_close(got, expected, what, atol=0.15, rtol=0)
    return "RGB conversion, 224x224 resize and ImageNet normalisation"


def check_predict(predict) -> str:
    t.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(6, 7))
    _randomise(model, 0)
    with t.no_grad():
        model[1].running_mean.add_(2.0)  # make train-mode and eval-mode outputs clearly different
    model.train()
    reference = copy.deepcopy(model)
    for batch in (5, 1):
        x = t.randn(batch, 3, 8, 8, generator=t.Generator().manual_seed(batch))
        want = ref.predict(reference, x)
        model.train()
        got = predict(model, x)
        what = f"predict(model, images of shape {tuple(x.shape)})"
        expect_type(got, t.Tensor, what)
        expect_shape(got, (batch,), what)
        if got.dtype.is_floating_point or got.dtype == t.bool:
            raise CheckFailure(f"{what} should return integer class indices (argmax), got dtype {got.dtype}")
        if not t.equal(model[1].running_mean, reference[1].running_mean):
            raise CheckFailure(f"{what} changed the model's BatchNorm running statistics: call model.eval() first")
        expect_close(got, want, f"{what} (the model has BatchNorm: predict in eval mode)")
    return "argmax classes in eval mode, batch sizes 5 and 1"


# ----------------------------------------------------------------------------- 3️⃣ feature extraction


@uses_learner("load_pretrained_resnet34")
@time_limit(40)
def check_get_resnet_for_feature_extraction(get_resnet_for_feature_extraction) -> str:
    import arena.resources

    fake = _fake_pretrained(4)
    fake_state = {k: v.clone() for k, v in fake.state_dict().items()}
    globals_ = getattr(get_resnet_for_feature_extraction, "__globals__", {})
    had_name = "load_pretrained_resnet34" in globals_
    saved_global = globals_.get("load_pretrained_resnet34")
    saved_module = arena.resources.load_pretrained_resnet34

    def loader() -> nn.Module:
        return fake

    globals_["load_pretrained_resnet34"] = loader
    arena.resources.load_pretrained_resnet34 = loader
    try:
        t.manual_seed(5)
        model = get_resnet_for_feature_extraction(7)
    finally:
        arena.resources.load_pretrained_resnet34 = saved_module
        if had_name:
            globals_["load_pretrained_resnet34"] = saved_global
        else:
            globals_.pop("load_pretrained_resnet34", None)
    what = "get_resnet_for_feature_extraction(7)"
    expect_type(model, nn.Module, what)
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    shapes = sorted(tuple(p.shape) for _, p in trainable)
    if shapes != [(7,), (7, 512)]:
        listed = ", ".join(f"{name} {tuple(p.shape)}" for name, p in trainable[:4])
        found = (f"found {len(trainable)}: {listed}{' ...' if len(trainable) > 4 else ''}" if trainable
                 else "found none (was the new head frozen too?)")
        raise CheckFailure(f"{what}: the only parameters with requires_grad=True should be the new head's weight "
                           f"(7, 512) and bias (7,); {found}. "
                           "Freeze the body (requires_grad_(False)) before adding the new head.")
    head_ids = {id(p) for _, p in trainable}
    head_positions = tuple(i for i, v in enumerate(model.state_dict(keep_vars=True).values()) if id(v) in head_ids)
    fake.load_state_dict(fake_state)
    _expect_same_state(model, fake, f"{what} (body weights)", skip_theirs=("fc.weight", "fc.bias"),
                       skip_mine=head_positions)
    weight = next(p for _, p in trainable if p.dim() == 2)
    bias = next(p for _, p in trainable if p.dim() == 1)
    fake.fc = nn.Linear(512, 7)
    with t.no_grad():
        fake.fc.weight.copy_(weight), fake.fc.bias.copy_(bias)
    model.eval(), fake.eval()
    x = t.randn(2, 3, 32, 32, generator=t.Generator().manual_seed(6))
    with t.no_grad():
        expect_close(model(x), fake(x), f"logits of {what} (pretrained body + your new head)", atol=1e-3, rtol=1e-3)
    return "body copied from the pretrained model and frozen; a new trainable 512 -> 7 head"


# ------------------------------------------------------------------ the fine-tuning trainer


class _Recorder(nn.Module):
    """A frozen 'body' and a trainable linear head on (b, 3, 4, 4) images; records the mode and whether
    gradients were tracked at every forward call."""

    def __init__(self) -> None:
        super().__init__()
        g = t.Generator().manual_seed(0)
        self.body = nn.Linear(48, 16)
        self.body.requires_grad_(False)
        self.head = nn.Linear(16, 3)
        with t.no_grad():
            self.head.weight.copy_(t.randn(3, 16, generator=g) * 0.1)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x: t.Tensor) -> t.Tensor:
        self.calls.append((self.training, t.is_grad_enabled()))
        return self.head(t.relu(self.body(x.flatten(1))))


class _Oracle(nn.Module):
    """Predicts class int(x[0, 0, 0]) for each image: evaluate()'s accuracy is known exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Linear(1, 1)

    def forward(self, x: t.Tensor) -> t.Tensor:
        return nn.functional.one_hot(x[:, 0, 0, 0].long(), 3).float()


def _trainer_data(n: int, seed: int) -> TensorDataset:
    g = t.Generator().manual_seed(seed)
    x = t.randn(n, 3, 4, 4, generator=g)
    y = (x[:, 0].mean((1, 2)) > 0).long() + (x[:, 1].mean((1, 2)) > 0.3).long()  # learnable from the input
    return TensorDataset(x, y)


@time_limit(40)
def check_ResNetTrainer(ResNetTrainer: type) -> str:  # noqa: N802
    args = ref.ResNetTrainingArgs(batch_size=16, epochs=2, learning_rate=0.05, n_classes=3, max_steps_per_epoch=3)
    train_set, test_set = _trainer_data(64, 1), _trainer_data(20, 2)
    model = _Recorder()
    body_before = copy.deepcopy(model.body.state_dict())
    trainer = ResNetTrainer(args, train_set, test_set, model=model)
    what = "ResNetTrainer(args, train_set, test_set, model)"
    # training_step: train mode, gradients of this batch only, a step that lowers the loss, a detached loss.
    imgs, labels = train_set.tensors[0][:16], train_set.tensors[1][:16]
    model.calls.clear()
    first = trainer.training_step(imgs, labels)
    expect_type(first, t.Tensor, f"{what}.training_step(imgs, labels)")
    if first.requires_grad or first.grad_fn is not None:
        raise CheckFailure("training_step should return the loss detached from the graph (`loss.detach()`): a loss "
                           "that still holds its graph keeps every batch's activations alive when it is stored.")
    if not model.calls or not all(training and grad for training, grad in model.calls):
        raise CheckFailure(f"during training_step the model ran with (training, grad enabled) = {model.calls}: it "
                           "should be in training mode (call model.train()) with gradients on.")
    losses = [float(first)] + [float(trainer.training_step(imgs, labels)) for _ in range(5)]
    if not losses[-1] < losses[0] - 1e-3:
        raise CheckFailure(f"six training_steps on the same batch should lower its loss; got {losses[0]:.4f} -> "
                           f"{losses[-1]:.4f}. Does training_step call optimizer.step() after loss.backward()?")
    fresh = copy.deepcopy(model)
    fresh.zero_grad()
    nn.functional.cross_entropy(fresh(imgs), labels).backward()
    trainer.training_step(imgs, labels)
    # After the step the weights moved, so compare the gradient left in .grad with this batch's gradient at the
    # weights before the step (computed on the copy).
    if model.head.weight.grad is None or not t.allclose(model.head.weight.grad, fresh.head.weight.grad, atol=1e-5):
        raise CheckFailure("after training_step, the head's .grad is not the gradient of that batch's loss alone: "
                           "gradients accumulate in .grad, so call optimizer.zero_grad() before loss.backward().")
    for name, value in model.body.state_dict().items():
        if not t.equal(value, body_before[name]):
            raise CheckFailure(f"training_step changed the frozen body's {name}: only parameters with "
                               "requires_grad=True should be trained.")
    # evaluate: eval mode, no gradients, every example counted once (20 examples, batches of 16 and 4).
    oracle_x = t.zeros(20, 3, 4, 4)
    oracle_x[:, 0, 0, 0] = t.tensor([0, 1, 2, 0, 1] * 4, dtype=t.float32)
    oracle_y = t.tensor([0, 1, 2, 0, 1] * 3 + [2, 2, 2, 2, 2])  # correct: 15 of the first 16, 1 of the last 4
    judge = ResNetTrainer(args, train_set, TensorDataset(oracle_x, oracle_y), model=_Oracle())
    accuracy = judge.evaluate()
    if not isinstance(accuracy, float | int) or abs(accuracy - 16 / 20) > 1e-9:
        per_batch = (15 / 16 + 1 / 4) / 2
        note = (" That is the mean of the per-batch accuracies: divide the number of correct predictions by the "
                "number of examples instead (the last batch is smaller)." if isinstance(accuracy, float | int)
                and abs(accuracy - per_batch) < 1e-9 else "")
        raise CheckFailure(f"evaluate() on 20 test examples, 16 predicted right, returned {accuracy!r}; expected "
                           f"0.8.{note}")
    model.calls.clear()
    trainer.evaluate()
    if not model.calls or any(training or grad for training, grad in model.calls):
        raise CheckFailure(f"during evaluate the model ran with (training, grad enabled) = {model.calls[:3]}...: it "
                           "should be in eval mode (model.eval()) without gradient tracking.")
    # train: the history, and training mode again after each evaluation.
    model = _Recorder()
    trainer = ResNetTrainer(args, train_set, test_set, model=model)
    history = trainer.train()
    expect_type(history, dict, f"{what}.train()")
    steps = args.epochs * args.max_steps_per_epoch
    if len(history.get("loss", [])) != steps or not all(isinstance(v, float) for v in history["loss"]):
        raise CheckFailure(f"train() with 2 epochs of at most 3 steps should record 6 losses as Python floats in "
                           f"history['loss']; got {history.get('loss')!r}")
    if len(history.get("accuracy", [])) != args.epochs:
        raise CheckFailure(f"train() should record one accuracy per epoch (2); got {history.get('accuracy')!r}")
    training_calls = [c for c in model.calls if c[1]]
    if len(training_calls) != steps or not all(training for training, _ in training_calls):
        raise CheckFailure("in train(), every training step should run the model in training mode with gradients; "
                           f"the forward calls with gradients were (training, grad) = {training_calls}. After "
                           "evaluate() switched to eval mode, the next epoch must switch back (model.train()).")
    return ("optimizer on the trainable parameters, zero_grad, train/eval modes, no gradients in evaluation, "
            "exact accuracy, history")
