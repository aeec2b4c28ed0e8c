"""Reference solutions for part 0.2: einops, einsum, as_strided, convolutions and modules."""

from __future__ import annotations

import math
from importlib import resources

import einops
import numpy as np
import torch as t
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn
from tqdm.auto import tqdm

IntOrPair = int | tuple[int, int]
Pair = tuple[int, int]


def load_digit_images() -> Float[np.ndarray, "6 3 28 28"]:
    """Six coloured handwritten digits (0 to 5) as floats in [0, 1], shape (batch, channel, height, width)."""
    path = resources.files("course.chapter0_fundamentals.part2_cnns") / "assets" / "digits.npy"
    with path.open("rb") as f:
        return np.load(f).astype(np.float32) / 255.0


# ------------------------------------------------------------------ 1️⃣ einops: ten target images
# Each function takes a batch of images of shape (b, c, h, w) and returns one target image:
# (c, H, W) for a colour image, (H, W) for a grayscale one.


def einops_row(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c h b*w"]:
    """All images side by side in one row, image 0 on the left."""
    # SOLUTION
    return einops.rearrange(images, "b c h w -> c h (b w)")
    # END SOLUTION


def einops_column(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c b*h w"]:
    """All images stacked in one column, image 0 at the top."""
    # SOLUTION
    return einops.rearrange(images, "b c h w -> c (b h) w")
    # END SOLUTION


def einops_grid(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c 2*h b/2*w"]:
    """A grid with two rows: images 0, 1, 2, ... fill the top row left to right, then the bottom row.

    The batch size b is even; each row holds b // 2 images."""
    # SOLUTION
    return einops.rearrange(images, "(row col) c h w -> c (row h) (col w)", row=2)
    # END SOLUTION


def einops_transpose(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c w h"]:
    """Image 0 mirrored in its main diagonal: pixel (i, j) of the result is pixel (j, i) of the image."""
    # SOLUTION
    return einops.rearrange(images[0], "c h w -> c w h")
    # END SOLUTION


def einops_grayscale(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "h b*w"]:
    """All images in one row, in grayscale: each pixel is the mean of its red, green and blue values."""
    # SOLUTION
    return einops.reduce(images, "b c h w -> h (b w)", "mean")
    # END SOLUTION


def einops_channels(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "h c*w"]:
    """Image 0 split into its colour channels, shown side by side in grayscale: red, green, blue."""
    # SOLUTION
    return einops.rearrange(images[0], "c h w -> h (c w)")
    # END SOLUTION


def einops_shrink(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c h/2 b*w/2"]:
    """All images in one row, each shrunk to half its height and width by 2x2 max-pooling.

    Pixel (i, j) of a shrunk image is the largest value in the 2x2 block of pixels (2i..2i+1, 2j..2j+1),
    channel by channel. h and w are even."""
    # SOLUTION
    return einops.reduce(images, "b c (h h2) (w w2) -> c h (b w)", "max", h2=2, w2=2)
    # END SOLUTION


def einops_average(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c h w"]:
    """The pixel-wise mean of all images in the batch (a ghostly overlay of every digit)."""
    # SOLUTION
    return einops.reduce(images, "b c h w -> c h w", "mean")
    # END SOLUTION


def einops_enlarge(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c 2*h 2*w"]:
    """Image 0 resized to twice its height and width: each pixel becomes a 2x2 block of equal pixels."""
    # SOLUTION
    return einops.repeat(images[0], "c h w -> c (h h2) (w w2)", h2=2, w2=2)
    # END SOLUTION


def einops_tile(images: Float[np.ndarray, "b c h w"]) -> Float[np.ndarray, "c 2*h 3*w"]:
    """Image 0 tiled as a wallpaper: two copies down and three copies across."""
    # SOLUTION
    return einops.repeat(images[0], "c h w -> c (down h) (across w)", down=2, across=3)
    # END SOLUTION


# ------------------------------------------------------------------ 1️⃣ einsum


def einsum_trace(mat: Float[np.ndarray, "n n"]) -> float:
    """The trace of a square matrix: the sum of its diagonal entries."""
    # SOLUTION
    return einops.einsum(mat, "i i ->")
    # END SOLUTION


def einsum_mv(mat: Float[np.ndarray, "i j"], vec: Float[np.ndarray, "j"]) -> Float[np.ndarray, "i"]:
    """The matrix-vector product mat @ vec."""
    # SOLUTION
    return einops.einsum(mat, vec, "i j, j -> i")
    # END SOLUTION


def einsum_mm(mat1: Float[np.ndarray, "i j"], mat2: Float[np.ndarray, "j k"]) -> Float[np.ndarray, "i k"]:
    """The matrix product mat1 @ mat2."""
    # SOLUTION
    return einops.einsum(mat1, mat2, "i j, j k -> i k")
    # END SOLUTION


def einsum_inner(vec1: Float[np.ndarray, "i"], vec2: Float[np.ndarray, "i"]) -> float:
    """The inner (dot) product of two vectors of the same length."""
    # SOLUTION
    return einops.einsum(vec1, vec2, "i, i ->")
    # END SOLUTION


def einsum_outer(vec1: Float[np.ndarray, "i"], vec2: Float[np.ndarray, "j"]) -> Float[np.ndarray, "i j"]:
    """The outer product: entry (i, j) is vec1[i] * vec2[j]."""
    # SOLUTION
    return einops.einsum(vec1, vec2, "i, j -> i j")
    # END SOLUTION


# ------------------------------------------------------------------ 2️⃣ strides

STRIDE_BASE = t.arange(20).reshape(4, 5)  # storage 0, 1, ..., 19; shape (4, 5); stride (5, 1)

STRIDE_PUZZLES: list[tuple[str, list]] = [
    ("the first row", [0, 1, 2, 3, 4]),
    ("the first column", [0, 5, 10, 15]),
    ("every other entry of the first row", [0, 2, 4]),
    ("the main diagonal", [0, 6, 12, 18]),
    ("the top-left 2x2 block", [[0, 1], [5, 6]]),
    ("the transpose of the whole matrix", [[0, 5, 10, 15], [1, 6, 11, 16], [2, 7, 12, 17],
                                           [3, 8, 13, 18], [4, 9, 14, 19]]),
    ("rows 0 and 2, every other column", [[0, 2, 4], [10, 12, 14]]),
    ("the first row, three times", [[0, 1, 2, 3, 4]] * 3),
    ("each of the first three numbers, four times", [[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2]]),
    ("every window of 3 consecutive numbers among 0..6",
     [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]]),
    ("the matrix as two 2x5 halves", [[[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]],
                                      [[10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]]),
]


def stride_puzzles() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """One (size, stride) answer per entry of STRIDE_PUZZLES, in order.

    Answer i is right when STRIDE_BASE.as_strided(size, stride) equals the target of puzzle i.
    Strides count elements, not bytes."""
    # SOLUTION
    return [
        ((5,), (1,)),
        ((4,), (5,)),
        ((3,), (2,)),
        ((4,), (6,)),
        ((2, 2), (5, 1)),
        ((5, 4), (1, 5)),
        ((2, 3), (10, 2)),
        ((3, 5), (0, 1)),
        ((3, 4), (1, 0)),
        ((5, 3), (1, 1)),
        ((2, 2, 5), (10, 5, 1)),
    ]
    # END SOLUTION


def as_strided_trace(mat: Float[Tensor, "i j"]) -> Float[Tensor, ""]:
    """The trace of `mat` (sum of mat[k, k] for k < min(i, j)) as a 0-dim tensor, using as_strided.

    `mat` may be non-contiguous (a transpose or a slice of a bigger tensor): read its strides."""
    # SOLUTION
    row_stride, col_stride = mat.stride()
    diagonal = mat.as_strided((min(mat.shape),), (row_stride + col_stride,))
    return diagonal.sum()
    # END SOLUTION


def as_strided_mv(mat: Float[Tensor, "i j"], vec: Float[Tensor, "j"]) -> Float[Tensor, "i"]:
    """The matrix-vector product mat @ vec, using as_strided and an elementwise product.

    Either input may be non-contiguous."""
    # SOLUTION
    # View vec as an (i, j) matrix whose every row is vec: stride 0 down the rows.
    vec_rows = vec.as_strided(mat.shape, (0, vec.stride(0)))
    return (mat * vec_rows).sum(dim=1)
    # END SOLUTION


def as_strided_mm(matA: Float[Tensor, "i j"], matB: Float[Tensor, "j k"]) -> Float[Tensor, "i k"]:
    """The matrix product matA @ matB, using as_strided and an elementwise product.

    Either input may be non-contiguous."""
    # SOLUTION
    (i, j), k = matA.shape, matB.shape[1]
    a_rows, a_cols = matA.stride()
    b_rows, b_cols = matB.stride()
    a = matA.as_strided((i, j, k), (a_rows, a_cols, 0))  # a[x, y, z] = matA[x, y]
    b = matB.as_strided((i, j, k), (0, b_rows, b_cols))  # b[x, y, z] = matB[y, z]
    return (a * b).sum(dim=1)
    # END SOLUTION


# ------------------------------------------------------------------ 3️⃣ convolutions


def conv1d_minimal_simple(x: Float[Tensor, " w"], weights: Float[Tensor, " kw"]) -> Float[Tensor, " ow"]:
    """One channel, no batch: out[p] = sum over k of x[p + k] * weights[k], for p in 0 .. w - kw (ow = w - kw + 1).

    The same as torch.nn.functional.conv1d(x[None, None], weights[None, None])[0, 0]. No loops: as_strided + einsum."""
    # SOLUTION
    (w,), (kw,) = x.shape, weights.shape
    (s,) = x.stride()
    windows = x.as_strided((w - kw + 1, kw), (s, s))  # windows[p, k] = x[p + k]
    return einops.einsum(windows, weights, "ow kw, kw -> ow")
    # END SOLUTION


def conv1d_minimal(x: Float[Tensor, "b ic w"], weights: Float[Tensor, "oc ic kw"]) -> Float[Tensor, "b oc ow"]:
    """Like torch.nn.functional.conv1d(x, weights) with stride 1 and no padding: ow = w - kw + 1.

    out[b, o, p] = sum over c and k of x[b, c, p + k] * weights[o, c, k]. No loops: as_strided + einsum."""
    # SOLUTION
    b, ic, w = x.shape
    kw = weights.shape[-1]
    s_b, s_c, s_w = x.stride()
    windows = x.as_strided((b, ic, w - kw + 1, kw), (s_b, s_c, s_w, s_w))
    return einops.einsum(windows, weights, "b ic ow kw, oc ic kw -> b oc ow")
    # END SOLUTION


def conv2d_minimal(x: Float[Tensor, "b ic h w"], weights: Float[Tensor, "oc ic kh kw"]) -> Float[Tensor, "b oc oh ow"]:
    """Like torch.nn.functional.conv2d(x, weights) with stride 1 and no padding: oh = h - kh + 1, ow = w - kw + 1."""
    # SOLUTION
    b, ic, h, w = x.shape
    kh, kw = weights.shape[-2:]
    s_b, s_c, s_h, s_w = x.stride()
    windows = x.as_strided((b, ic, h - kh + 1, w - kw + 1, kh, kw), (s_b, s_c, s_h, s_w, s_h, s_w))
    return einops.einsum(windows, weights, "b ic oh ow kh kw, oc ic kh kw -> b oc oh ow")
    # END SOLUTION


def pad1d(x: Float[Tensor, "... w"], left: int, right: int, pad_value: float) -> Float[Tensor, "... left+w+right"]:
    """x with `left` copies of pad_value before and `right` copies after, along the last dimension."""
    # SOLUTION
    w = x.shape[-1]
    out = x.new_full((*x.shape[:-1], left + w + right), pad_value)
    out[..., left : left + w] = x
    return out
    # END SOLUTION


def pad2d(x: Float[Tensor, "... h w"], left: int, right: int, top: int, bottom: int,
          pad_value: float) -> Float[Tensor, "... top+h+bottom left+w+right"]:
    """x padded with pad_value: `left`/`right` columns before/after, `top`/`bottom` rows above/below."""
    # SOLUTION
    h, w = x.shape[-2:]
    out = x.new_full((*x.shape[:-2], top + h + bottom, left + w + right), pad_value)
    out[..., top : top + h, left : left + w] = x
    return out
    # END SOLUTION


def conv1d(x: Float[Tensor, "b ic w"], weights: Float[Tensor, "oc ic kw"], stride: int = 1,
           padding: int = 0) -> Float[Tensor, "b oc ow"]:
    """Like torch.nn.functional.conv1d(x, weights, stride=stride, padding=padding).

    Zero padding on both sides; ow = (w + 2 * padding - kw) // stride + 1."""
    # SOLUTION
    x = pad1d(x, padding, padding, 0.0)
    b, ic, w = x.shape
    kw = weights.shape[-1]
    ow = (w - kw) // stride + 1
    s_b, s_c, s_w = x.stride()
    windows = x.as_strided((b, ic, ow, kw), (s_b, s_c, s_w * stride, s_w))
    return einops.einsum(windows, weights, "b ic ow kw, oc ic kw -> b oc ow")
    # END SOLUTION


def force_pair(v: IntOrPair) -> Pair:
    """An int n becomes (n, n); a pair stays a pair (height first, then width)."""
    if isinstance(v, tuple):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair of ints, got {v!r}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def conv2d(x: Float[Tensor, "b ic h w"], weights: Float[Tensor, "oc ic kh kw"], stride: IntOrPair = 1,
           padding: IntOrPair = 0) -> Float[Tensor, "b oc oh ow"]:
    """Like torch.nn.functional.conv2d(x, weights, stride=stride, padding=padding).

    stride and padding are an int (same for height and width) or a pair (height, width).
    Zero padding on all four sides; oh = (h + 2 * padding_h - kh) // stride_h + 1, likewise ow."""
    # SOLUTION
    stride_h, stride_w = force_pair(stride)
    pad_h, pad_w = force_pair(padding)
    x = pad2d(x, pad_w, pad_w, pad_h, pad_h, 0.0)
    b, ic, h, w = x.shape
    oc, _, kh, kw = weights.shape
    oh, ow = (h - kh) // stride_h + 1, (w - kw) // stride_w + 1
    s_b, s_c, s_h, s_w = x.stride()
    # windows[b, c, i, j, y, x] = x[b, c, y * stride_h + i, x * stride_w + j]
    windows = x.as_strided((b, ic, kh, kw, oh, ow), (s_b, s_c, s_h, s_w, s_h * stride_h, s_w * stride_w))
    # Contract (ic, kh, kw) with one big matrix product: (oc, ic*kh*kw) @ (b, ic*kh*kw, oh*ow).
    # The reshape copies the windows once (the "im2col" matrix); the product is a single fast matmul.
    out = weights.reshape(oc, ic * kh * kw) @ windows.reshape(b, ic * kh * kw, oh * ow)
    return out.reshape(b, oc, oh, ow)
    # END SOLUTION


def maxpool2d(x: Float[Tensor, "b ic h w"], kernel_size: IntOrPair, stride: IntOrPair | None = None,
              padding: IntOrPair = 0) -> Float[Tensor, "b ic oh ow"]:
    """Like torch.nn.functional.max_pool2d(x, kernel_size, stride, padding).

    stride defaults to kernel_size. Padding counts as -inf, so it never wins the max.
    oh = (h + 2 * padding_h - kh) // stride_h + 1, likewise ow."""
    # SOLUTION
    kh, kw = force_pair(kernel_size)
    stride_h, stride_w = force_pair(stride if stride is not None else kernel_size)
    pad_h, pad_w = force_pair(padding)
    x = pad2d(x, pad_w, pad_w, pad_h, pad_h, float("-inf"))
    b, ic, h, w = x.shape
    oh, ow = (h - kh) // stride_h + 1, (w - kw) // stride_w + 1
    s_b, s_c, s_h, s_w = x.stride()
    windows = x.as_strided((b, ic, oh, ow, kh, kw), (s_b, s_c, s_h * stride_h, s_w * stride_w, s_h, s_w))
    return windows.amax(dim=(-2, -1))
    # END SOLUTION


# ------------------------------------------------------------------ 4️⃣ modules


class MaxPool2d(nn.Module):
    """Max pooling as a module: forward(x) is maxpool2d(x, kernel_size, stride, padding)."""

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Float[Tensor, "b c h w"]) -> Float[Tensor, "b c oh ow"]:
        # SOLUTION
        return maxpool2d(x, self.kernel_size, self.stride, self.padding)
        # END SOLUTION

    def extra_repr(self) -> str:
        """'kernel_size=..., stride=..., padding=...' with this module's values."""
        # SOLUTION
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        # END SOLUTION


class ReLU(nn.Module):
    """Elementwise max(x, 0), keeping x's shape and dtype."""

    def forward(self, x: Tensor) -> Tensor:
        # SOLUTION
        return t.maximum(x, t.zeros((), dtype=x.dtype))
        # END SOLUTION


class Flatten(nn.Module):
    """Merges dimensions start_dim..end_dim (inclusive; negative values count from the end) into one,
    like torch.flatten(x, start_dim, end_dim). Its extra_repr is 'start_dim=..., end_dim=...'."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        # SOLUTION
        start = self.start_dim % x.ndim
        end = self.end_dim % x.ndim
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1 :])
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Linear(nn.Module):
    """y = x @ weight.T + bias, over any number of leading (batch) dimensions.

    weight has shape (out_features, in_features) and bias (out_features,), both nn.Parameters drawn
    uniformly from [-1/sqrt(in_features), 1/sqrt(in_features)] like torch's. With bias=False,
    self.bias is None. extra_repr: 'in_features=..., out_features=..., bias=...'."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        # SOLUTION
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(t.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(t.empty(out_features).uniform_(-bound, bound)) if bias else None
        # END SOLUTION

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        # SOLUTION
        out = x @ self.weight.T
        return out if self.bias is None else out + self.bias
        # END SOLUTION

    def extra_repr(self) -> str:
        # SOLUTION
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        # END SOLUTION


class Conv2d(nn.Module):
    """A 2D convolution without bias: forward(x) is conv2d(x, self.weight, stride, padding).

    weight is an nn.Parameter of shape (out_channels, in_channels, kh, kw), drawn uniformly from
    [-1/sqrt(fan_in), 1/sqrt(fan_in)] with fan_in = in_channels * kh * kw, like torch's.
    extra_repr: 'in_channels=..., out_channels=..., kernel_size=..., stride=..., padding=...'."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        # SOLUTION
        kh, kw = force_pair(kernel_size)
        bound = 1 / math.sqrt(in_channels * kh * kw)
        self.weight = nn.Parameter(t.empty(out_channels, in_channels, kh, kw).uniform_(-bound, bound))
        # END SOLUTION

    def forward(self, x: Float[Tensor, "b ic h w"]) -> Float[Tensor, "b oc oh ow"]:
        # SOLUTION
        return conv2d(x, self.weight, self.stride, self.padding)
        # END SOLUTION

    def extra_repr(self) -> str:
        # SOLUTION
        keys = ["in_channels", "out_channels", "kernel_size", "stride", "padding"]
        return ", ".join(f"{key}={getattr(self, key)}" for key in keys)
        # END SOLUTION


class SimpleMLP(nn.Module):
    """Flatten -> Linear(784, 100) -> ReLU -> Linear(100, 10), built from your own modules.

    Input: MNIST images of shape (b, 1, 28, 28); output: 10 logits per image, shape (b, 10)."""

    def __init__(self) -> None:
        super().__init__()
        # SOLUTION
        self.flatten = Flatten()
        self.linear1 = Linear(28 * 28, 100)
        self.relu = ReLU()
        self.linear2 = Linear(100, 10)
        # END SOLUTION

    def forward(self, x: Float[Tensor, "b 1 28 28"]) -> Float[Tensor, "b 10"]:
        # SOLUTION
        return self.linear2(self.relu(self.linear1(self.flatten(x))))
        # END SOLUTION


def train_simple_mlp(epochs: int = 3, batch_size: int = 64, lr: float = 1e-3,
                     max_steps: int | None = None, seed: int = 0) -> tuple[SimpleMLP, list[float], float]:
    """Trains SimpleMLP on MNIST with Adam; returns (model, loss per step, test accuracy)."""
    from arena.resources import load_mnist

    t.manual_seed(seed)
    data = load_mnist()
    print(f"Data: {data.source}")
    loader = t.utils.data.DataLoader(data.train, batch_size=batch_size, shuffle=True)
    model = SimpleMLP()
    optimizer = t.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    steps = epochs * len(loader) if max_steps is None else min(max_steps, epochs * len(loader))
    progress = tqdm(total=steps, desc="training")
    for _ in range(epochs):
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            progress.update()
            progress.set_postfix(loss=f"{loss.item():.3f}")
            if len(losses) >= steps:
                break
        if len(losses) >= steps:
            break
    progress.close()
    with t.inference_mode():
        test_x, test_y = data.test.tensors
        accuracy = (model(test_x).argmax(dim=-1) == test_y).float().mean().item()
    return model, losses, accuracy
