"""Known mistakes (each must fail its check) and other correct methods (each must pass) for part 0.3."""

from __future__ import annotations

import torch as t
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

from arena.checking import right, wrong
from arena.resources import load_pretrained_resnet34

from .solutions import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AveragePool,
    BatchNorm2d,
    ResNet34,
    Sequential,
    copy_weights,
)

# ----------------------------------------------------------------------------- ConvNet / training


@wrong("ConvNet", "5x5 kernels instead of 3x3")
class ConvNetBigKernels(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: t.Tensor) -> t.Tensor:
        return self.net(x)


@wrong("ConvNet", "ReLU after the last linear layer (logits can never be negative)")
class ConvNetReluLogits(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10), nn.ReLU())

    def forward(self, x: t.Tensor) -> t.Tensor:
        return self.net(x)


def _train(model, train_set, val_set, args, per_batch_accuracy: bool = False, eval_batch: int = 256,
           train_once: bool = False):
    optimizer = t.optim.Adam(model.parameters(), lr=args.learning_rate)
    history = {"loss": [], "accuracy": []}
    if train_once:
        model.train()
    for _ in range(args.epochs):
        if not train_once:
            model.train()
        for step, (x, y) in enumerate(DataLoader(train_set, batch_size=args.batch_size, shuffle=True)):
            if args.max_steps_per_epoch is not None and step >= args.max_steps_per_epoch:
                break
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history["loss"].append(loss.item())
        model.eval()
        with t.no_grad():
            batches = [(model(x).argmax(-1) == y).float() for x, y in DataLoader(val_set, batch_size=eval_batch)]
        if per_batch_accuracy:
            history["accuracy"].append(t.stack([b.mean() for b in batches]).mean().item())
        else:
            history["accuracy"].append(t.cat(batches).mean().item())
    return history


@wrong("train_convnet", "accuracy as the mean of per-batch accuracies (wrong when the last batch is smaller)")
def train_convnet_mean_of_batches(model, train_set, val_set, args):
    return _train(model, train_set, val_set, args, per_batch_accuracy=True, eval_batch=32)


@wrong("train_convnet", "ignores max_steps_per_epoch")
def train_convnet_full_epochs(model, train_set, val_set, args):
    return _train(model, train_set, val_set, type(args)(args.batch_size, args.epochs, args.learning_rate, None))


@wrong("train_convnet", "calls model.train() once before the loop: epochs 2+ train in eval mode after validation")
def train_convnet_train_mode_once(model, train_set, val_set, args):
    return _train(model, train_set, val_set, args, train_once=True)


@right("train_convnet", "validation in one big batch, accuracy via a float mean")
def train_convnet_one_batch_eval(model, train_set, val_set, args):
    return _train(model, train_set, val_set, args, eval_batch=len(val_set))


# ----------------------------------------------------------------------------- Sequential


@wrong("Sequential", "keeps the modules in a plain Python list, so their parameters are not registered")
class SequentialList(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        self.layers = list(modules)

    def forward(self, x: t.Tensor) -> t.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


@right("Sequential", "an nn.ModuleList inside")
class SequentialModuleList(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(modules)

    def forward(self, x: t.Tensor) -> t.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


# ----------------------------------------------------------------------------- BatchNorm2d


class _BatchNormBase(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(t.ones(num_features))
        self.bias = nn.Parameter(t.zeros(num_features))
        self.register_buffer("running_mean", t.zeros(num_features))
        self.register_buffer("running_var", t.ones(num_features))
        self.register_buffer("num_batches_tracked", t.tensor(0, dtype=t.long))

    # knobs the wrong variants turn
    normalise_unbiased = False
    running_unbiased = True
    update_in_eval = False
    reversed_momentum = False

    def forward(self, x: t.Tensor) -> t.Tensor:
        batch_mean = x.mean(dim=(0, 2, 3))
        batch_var = x.var(dim=(0, 2, 3), unbiased=self.normalise_unbiased)
        if self.training or self.update_in_eval:
            m = 1 - self.momentum if self.reversed_momentum else self.momentum
            with t.no_grad():
                self.running_mean.copy_((1 - m) * self.running_mean + m * batch_mean)
                self.running_var.copy_((1 - m) * self.running_var
                                       + m * x.var(dim=(0, 2, 3), unbiased=self.running_unbiased))
                self.num_batches_tracked += 1
        mean, var = (batch_mean, batch_var) if self.training else (self.running_mean, self.running_var)
        x_hat = (x - mean[:, None, None]) / t.sqrt(var[:, None, None] + self.eps)
        return x_hat * self.weight[:, None, None] + self.bias[:, None, None]


@wrong("BatchNorm2d", "normalises with the unbiased variance (divides by n - 1)")
class BatchNormUnbiasedNormalisation(_BatchNormBase):
    normalise_unbiased = True


@wrong("BatchNorm2d", "running_var tracks the biased variance (divides by n)")
class BatchNormBiasedRunningVar(_BatchNormBase):
    running_unbiased = False


@wrong("BatchNorm2d", "updates the running statistics in eval mode too")
class BatchNormUpdatesInEval(_BatchNormBase):
    update_in_eval = True


@wrong("BatchNorm2d", "momentum the wrong way round (new = momentum * old + (1 - momentum) * batch)")
class BatchNormReversedMomentum(_BatchNormBase):
    reversed_momentum = True


@wrong("BatchNorm2d", "never increments num_batches_tracked")
class BatchNormNoCount(_BatchNormBase):
    def forward(self, x: t.Tensor) -> t.Tensor:
        out = super().forward(x)
        if self.training:
            self.num_batches_tracked -= 1
        return out


@wrong("BatchNorm2d", "assigns the running statistics outside no_grad: they carry every batch's autograd graph")
class BatchNormRunningStatsWithGraph(_BatchNormBase):
    def forward(self, x: t.Tensor) -> t.Tensor:
        if not self.training:
            return super().forward(x)
        n = x.numel() / x.shape[1]
        mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)
        self.num_batches_tracked += 1
        x_hat = (x - mean[:, None, None]) / t.sqrt(var[:, None, None] + self.eps)
        return x_hat * self.weight[:, None, None] + self.bias[:, None, None]


@right("BatchNorm2d", "assigns (not in-place) detached running statistics; F.batch_norm-free, var with correction=0")
class BatchNormAssignDetached(_BatchNormBase):
    def forward(self, x: t.Tensor) -> t.Tensor:
        if not self.training:
            return super().forward(x)
        n = x.numel() / x.shape[1]
        mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), correction=0)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean.detach()
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var.detach() * n / (n - 1)
        self.num_batches_tracked += 1
        x_hat = (x - mean[:, None, None]) / t.sqrt(var[:, None, None] + self.eps)
        return x_hat * self.weight[:, None, None] + self.bias[:, None, None]


@right("BatchNorm2d", "var_mean with unbiased variance, rescaled by (n - 1) / n for normalisation")
class BatchNormVarMean(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(t.ones(num_features))
        self.bias = nn.Parameter(t.zeros(num_features))
        self.register_buffer("running_mean", t.zeros(num_features))
        self.register_buffer("running_var", t.ones(num_features))
        self.register_buffer("num_batches_tracked", t.tensor(0))

    def forward(self, x: t.Tensor) -> t.Tensor:
        if self.training:
            n = x.shape[0] * x.shape[2] * x.shape[3]
            var_unbiased, mean = t.var_mean(x, dim=(0, 2, 3), keepdim=True)
            var = var_unbiased * (n - 1) / n
            self.running_mean.lerp_(mean.flatten().detach(), self.momentum)
            self.running_var.lerp_(var_unbiased.flatten().detach(), self.momentum)
            self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean.view(1, -1, 1, 1), self.running_var.view(1, -1, 1, 1)
        return (x - mean) * t.rsqrt(var + self.eps) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


@wrong("AveragePool", "averages over the channel and height dimensions")
class AveragePoolWrongDims(nn.Module):
    def forward(self, x: t.Tensor) -> t.Tensor:
        return x.mean(dim=(1, 2))


# ----------------------------------------------------------------------------- ResidualBlock


def _conv(i: int, o: int, k: int, s: int) -> nn.Conv2d:
    return nn.Conv2d(i, o, k, stride=s, padding=k // 2, bias=False)


class _Block(nn.Module):
    projection = "when needed"  # or "never" / "always"
    stride_on_second = False

    def __init__(self, in_feats: int, out_feats: int, first_stride: int = 1) -> None:
        super().__init__()
        s1, s2 = (1, first_stride) if self.stride_on_second else (first_stride, 1)
        self.left = Sequential(_conv(in_feats, out_feats, 3, s1), BatchNorm2d(out_feats), nn.ReLU(),
                               _conv(out_feats, out_feats, 3, s2), BatchNorm2d(out_feats))
        needed = first_stride != 1 or in_feats != out_feats
        use = {"when needed": needed, "never": False, "always": True}[self.projection]
        if use:
            self.right = Sequential(_conv(in_feats, out_feats, 1, first_stride), BatchNorm2d(out_feats))
        elif needed:  # "no projection": subsample and zero-pad channels so that the shapes still add up
            self.right = _ShortcutWithoutProjection(out_feats - in_feats, first_stride)
        else:
            self.right = nn.Identity()

    def forward(self, x: t.Tensor) -> t.Tensor:
        return F.relu(self.left(x) + self.right(x))


class _ShortcutWithoutProjection(nn.Module):
    def __init__(self, extra_channels: int, stride: int) -> None:
        super().__init__()
        self.extra, self.stride = extra_channels, stride

    def forward(self, x: t.Tensor) -> t.Tensor:
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra))


@wrong("ResidualBlock", "no projection on the skip path when the shapes change")
class ResidualBlockNoProjection(_Block):
    projection = "never"


@wrong("ResidualBlock", "projection on the skip path even when the shapes do not change")
class ResidualBlockAlwaysProjection(_Block):
    projection = "always"


@wrong("ResidualBlock", "stride on the second 3x3 conv instead of the first")
class ResidualBlockStrideOnSecondConv(_Block):
    stride_on_second = True


@right("ResidualBlock", "torch's nn.Sequential and nn.BatchNorm2d, right branch defined in forward's order")
class ResidualBlockTorchModules(nn.Module):
    def __init__(self, in_feats: int, out_feats: int, first_stride: int = 1) -> None:
        super().__init__()
        self.left = nn.Sequential(_conv(in_feats, out_feats, 3, first_stride), nn.BatchNorm2d(out_feats), nn.ReLU(),
                                  _conv(out_feats, out_feats, 3, 1), nn.BatchNorm2d(out_feats))
        self.right = (nn.Sequential(_conv(in_feats, out_feats, 1, first_stride), nn.BatchNorm2d(out_feats))
                      if first_stride > 1 or in_feats != out_feats else None)

    def forward(self, x: t.Tensor) -> t.Tensor:
        shortcut = x if self.right is None else self.right(x)
        return (self.left(x) + shortcut).relu()


@wrong("BlockGroup", "every block gets first_stride (downsamples n_blocks times)")
class BlockGroupStrideEverywhere(nn.Module):
    def __init__(self, n_blocks: int, in_feats: int, out_feats: int, first_stride: int = 1) -> None:
        super().__init__()
        from .solutions import ResidualBlock

        self.blocks = Sequential(ResidualBlock(in_feats, out_feats, first_stride),
                                 *[ResidualBlock(out_feats, out_feats, first_stride) for _ in range(n_blocks - 1)])

    def forward(self, x: t.Tensor) -> t.Tensor:
        return self.blocks(x)


@wrong("ResNet34", "no max-pool in the stem")
class ResNet34NoMaxPool(ResNet34):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.in_layers = Sequential(*list(self.in_layers._modules.values())[:3])


@wrong("ResNet34", "final linear layer hard-coded to 512 inputs instead of out_features_per_group[-1]")
class ResNet34Linear512(ResNet34):
    def __init__(self, n_blocks_per_group=(3, 4, 6, 3), out_features_per_group=(64, 128, 256, 512),
                 first_strides_per_group=(1, 2, 2, 2), n_classes: int = 1000) -> None:
        super().__init__(list(n_blocks_per_group), list(out_features_per_group), list(first_strides_per_group), n_classes)
        self.out_layers = Sequential(AveragePool(), nn.Linear(512, n_classes))


# ----------------------------------------------------------------------------- copy_weights


@wrong("copy_weights", "matches parameters by name (load_state_dict(strict=False) copies nothing: the names differ)")
def copy_weights_by_name(my_resnet, pretrained_resnet):
    my_resnet.load_state_dict(pretrained_resnet.state_dict(), strict=False)
    return my_resnet


@wrong("copy_weights", "copies parameters only, leaving the BatchNorm buffers (running_var, ...) uncopied")
def copy_weights_parameters_only(my_resnet, pretrained_resnet):
    with t.no_grad():
        for mine, theirs in zip(my_resnet.parameters(), pretrained_resnet.parameters(), strict=False):
            mine.copy_(theirs)
    return my_resnet


@wrong("copy_weights", "skips num_batches_tracked (the logits still match, the state does not)")
def copy_weights_skip_counter(my_resnet, pretrained_resnet):
    pairs = zip(my_resnet.state_dict().items(), pretrained_resnet.state_dict().items(), strict=True)
    new = {k: v2 for (k, v1), (_, v2) in pairs if not k.endswith("num_batches_tracked")}
    my_resnet.load_state_dict(new, strict=False)
    return my_resnet


@wrong("copy_weights", "no ValueError for a model that does not match: zip() stops silently at the shorter state dict")
def copy_weights_silent_truncation(my_resnet, pretrained_resnet):
    with t.no_grad():
        for mine, theirs in zip(my_resnet.state_dict().values(), pretrained_resnet.state_dict().values()):  # noqa: B905
            if mine.shape == theirs.shape:
                mine.copy_(theirs)
    return my_resnet


@right("copy_weights", "in-place copy_ over the two state dicts' values")
def copy_weights_in_place(my_resnet, pretrained_resnet):
    with t.no_grad():
        for mine, theirs in zip(my_resnet.state_dict().values(), pretrained_resnet.state_dict().values(), strict=True):
            if mine.shape != theirs.shape:
                raise ValueError(f"shape {tuple(mine.shape)} (mine) vs {tuple(theirs.shape)} (pretrained)")
            mine.copy_(theirs)
    return my_resnet


# ----------------------------------------------------------------------------- prepare_data / predict


@right("prepare_data", "resize the tensor (antialiased) instead of the PIL image")
def prepare_data_tensor_resize(images):
    to_tensor = transforms.ToTensor()
    batch = [F.interpolate(to_tensor(im.convert("RGB"))[None], size=(224, 224), mode="bilinear", antialias=True)[0]
             for im in images]
    return transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)(t.stack(batch))


@wrong("prepare_data", "forgets the ImageNet normalisation")
def prepare_data_unnormalised(images):
    transform = transforms.Compose([transforms.Resize((224, 224)), transforms.ToTensor()])
    return t.stack([transform(im.convert("RGB")) for im in images])


@wrong("predict", "forgets model.eval(): BatchNorm uses (and updates) batch statistics")
def predict_train_mode(model, images):
    with t.no_grad():
        return model(images).argmax(-1)


@right("predict", "no_grad and max(...).indices")
def predict_max_indices(model, images):
    model.eval()
    with t.no_grad():
        return model(images).max(dim=1).indices


# ----------------------------------------------------------------------------- feature extraction


@wrong("get_resnet_for_feature_extraction", "replaces the head but leaves the body trainable (requires_grad=True)")
def feature_extractor_not_frozen(n_classes):
    model = copy_weights(ResNet34(), load_pretrained_resnet34())
    model.out_layers = Sequential(AveragePool(), nn.Linear(512, n_classes))
    return model


@wrong("get_resnet_for_feature_extraction", "freezes a randomly initialised body (never copies the pretrained weights)")
def feature_extractor_random_body(n_classes):
    load_pretrained_resnet34()
    model = ResNet34()
    model.requires_grad_(False)
    model.out_layers = Sequential(AveragePool(), nn.Linear(512, n_classes))
    return model


@wrong("get_resnet_for_feature_extraction", "freezes after adding the new head (nothing is left to train)")
def feature_extractor_frozen_head(n_classes):
    model = copy_weights(ResNet34(), load_pretrained_resnet34())
    model.out_layers = Sequential(AveragePool(), nn.Linear(512, n_classes))
    model.requires_grad_(False)
    return model


@right("get_resnet_for_feature_extraction", "freeze with a loop over parameters; n_classes-way head via ResNet34(n_classes=...)")
def feature_extractor_loop(n_classes):
    model = copy_weights(ResNet34(), load_pretrained_resnet34())
    for param in model.parameters():
        param.requires_grad = False
    head = ResNet34(n_blocks_per_group=[1], out_features_per_group=[512], first_strides_per_group=[1],
                    n_classes=n_classes).out_layers
    model.out_layers = head
    return model


# ----------------------------------------------------------------------------- the fine-tuning trainer
# Each variant is the reference trainer with one method rewritten the way learners get it wrong.

from .solutions import ResNetTrainer as _RefTrainer  # noqa: E402


@wrong("ResNetTrainer", "training_step forgets optimizer.zero_grad(): gradients pile up across steps")
class ResNetTrainerNoZeroGrad(_RefTrainer):
    def training_step(self, imgs: t.Tensor, labels: t.Tensor) -> t.Tensor:
        self.model.train()
        loss = F.cross_entropy(self.model(imgs), labels)
        loss.backward()
        self.optimizer.step()
        return loss.detach()


@wrong("ResNetTrainer", "training_step returns the loss tensor with its graph (no detach)")
class ResNetTrainerKeepsGraph(_RefTrainer):
    def training_step(self, imgs: t.Tensor, labels: t.Tensor) -> t.Tensor:
        self.model.train()
        loss = F.cross_entropy(self.model(imgs), labels)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss


@wrong("ResNetTrainer", "never switches back to train mode, so epochs after the first evaluation train in eval mode")
class ResNetTrainerStaysInEval(_RefTrainer):
    def training_step(self, imgs: t.Tensor, labels: t.Tensor) -> t.Tensor:
        loss = F.cross_entropy(self.model(imgs), labels)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.detach()


@wrong("ResNetTrainer", "evaluate forgets model.eval() (BatchNorm and dropout stay in training mode)")
class ResNetTrainerNoEval(_RefTrainer):
    @t.inference_mode()
    def evaluate(self) -> float:
        n_correct = sum((self.model(x).argmax(-1) == y).sum().item() for x, y in self.test_loader)
        return n_correct / len(self.test_set)


@wrong("ResNetTrainer", "evaluate tracks gradients (no inference_mode / no_grad)")
class ResNetTrainerEvalWithGrad(_RefTrainer):
    def evaluate(self) -> float:
        self.model.eval()
        n_correct = sum((self.model(x).argmax(-1) == y).sum().item() for x, y in self.test_loader)
        return n_correct / len(self.test_set)


@wrong("ResNetTrainer", "evaluate averages the per-batch accuracies (wrong when the last batch is smaller)")
class ResNetTrainerBatchMean(_RefTrainer):
    @t.inference_mode()
    def evaluate(self) -> float:
        self.model.eval()
        accs = [(self.model(x).argmax(-1) == y).float().mean().item() for x, y in self.test_loader]
        return sum(accs) / len(accs)


@wrong("ResNetTrainer", "the optimizer never steps (only zero_grad and backward)")
class ResNetTrainerNoStep(_RefTrainer):
    def training_step(self, imgs: t.Tensor, labels: t.Tensor) -> t.Tensor:
        self.model.train()
        loss = F.cross_entropy(self.model(imgs), labels)
        self.optimizer.zero_grad()
        loss.backward()
        return loss.detach()


@right("ResNetTrainer", "SGD with momentum instead of Adam, and torch.no_grad in evaluate")
class ResNetTrainerSGD(_RefTrainer):
    def __init__(self, args, train_set, test_set, model=None) -> None:  # noqa: ANN001
        super().__init__(args, train_set, test_set, model)
        self.optimizer = t.optim.SGD([p for p in self.model.parameters() if p.requires_grad], lr=args.learning_rate,
                                     momentum=0.9)

    def evaluate(self) -> float:
        self.model.eval()
        with t.no_grad():
            n_correct = sum((self.model(x).argmax(-1) == y).sum().item() for x, y in self.test_loader)
        return n_correct / len(self.test_set)
