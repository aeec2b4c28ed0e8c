"""Known-wrong and known-right implementations for part 0.2: the tests prove the checks tell them apart."""

from __future__ import annotations

import math

import einops
import numpy as np
import torch as t
import torch.nn.functional as F
from torch import nn

from arena.checking import right, wrong

from . import solutions as ref
from .solutions import force_pair

# ------------------------------------------------------------------ 1️⃣ einops and einsum


@wrong("einops_column", "'c (h b) w' interleaves the rows of all images instead of stacking them")
def einops_column_interleaved(images):
    return einops.rearrange(images, "b c h w -> c (h b) w")


@wrong("einops_grid", "'(col row)' fills the grid column by column")
def einops_grid_column_major(images):
    return einops.rearrange(images, "(col row) c h w -> c (row h) (col w)", row=2)


@wrong("einops_transpose", "rotates by 90 degrees instead of mirroring in the diagonal (a negative-stride view)")
def einops_transpose_rotated(images):
    return np.rot90(images[0], axes=(1, 2))


@wrong("einops_transpose", "rotates by 90 degrees instead of mirroring in the diagonal (copied)")
def einops_transpose_rotated_copy(images):
    return np.rot90(images[0], axes=(1, 2)).copy()


@right("einops_transpose", "a correct answer returned as a view with negative strides")
def einops_transpose_negative_strides(images):
    return np.ascontiguousarray(np.swapaxes(images[0], 1, 2)[..., ::-1])[..., ::-1]


@wrong("einops_transpose", "images[0].T reverses all three axes, so the channel axis ends up last")
def einops_transpose_numpy_T(images):
    return images[0].T


@right("einops_transpose", "numpy swapaxes on the last two axes")
def einops_transpose_swapaxes(images):
    return np.swapaxes(images[0], -1, -2)


@wrong("einops_grayscale", "sums the channels instead of averaging them")
def einops_grayscale_sum(images):
    return einops.reduce(images, "b c h w -> h (b w)", "sum")


@wrong("einops_shrink", "average-pools instead of max-pooling")
def einops_shrink_mean(images):
    return einops.reduce(images, "b c (h h2) (w w2) -> c h (b w)", "mean", h2=2, w2=2)


@wrong("einops_enlarge", "'(h2 h)' tiles the image instead of enlarging each pixel")
def einops_enlarge_tiles(images):
    return einops.repeat(images[0], "c h w -> c (h2 h) (w2 w)", h2=2, w2=2)


@wrong("einops_tile", "'(h down)' stretches each pixel instead of tiling the image")
def einops_tile_stretched(images):
    return einops.repeat(images[0], "c h w -> c (h down) (w across)", down=2, across=3)


@right("einops_row", "numpy concatenate along the width")
def einops_row_concatenate(images):
    return np.concatenate(list(images), axis=-1)


@right("einops_shrink", "numpy reshape and max")
def einops_shrink_numpy(images):
    b, c, h, w = images.shape
    pooled = images.reshape(b, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
    return pooled.transpose(1, 2, 0, 3).reshape(c, h // 2, b * (w // 2))


@wrong("einsum_trace", "'i j ->' sums every entry, not just the diagonal")
def einsum_trace_all(mat):
    return einops.einsum(mat, "i j ->")


@wrong("einsum_outer", "'i, j -> j i' returns the transpose of the outer product")
def einsum_outer_transposed(vec1, vec2):
    return einops.einsum(vec1, vec2, "i, j -> j i")


@right("einsum_mm", "np.einsum with the compact subscript string")
def einsum_mm_numpy(mat1, mat2):
    return np.einsum("ij,jk->ik", mat1, mat2)


@right("einsum_trace", "np.einsum returning a 0-dim array")
def einsum_trace_numpy(mat):
    return np.asarray(np.einsum("ii", mat))


# ------------------------------------------------------------------ 2️⃣ strides


@wrong("stride_puzzles", "strides counted in bytes (8 per int64) instead of elements")
def stride_puzzles_bytes():
    return [(size, tuple(8 * s for s in stride)) for size, stride in ref.stride_puzzles()]


@wrong("stride_puzzles", "the transpose with the original strides")
def stride_puzzles_transpose_unchanged():
    answers = ref.stride_puzzles()
    answers[5] = ((5, 4), (4, 1))
    return answers


@wrong("as_strided_trace", "assumes a contiguous matrix: diagonal stride = number of columns + 1")
def as_strided_trace_contiguous(mat):
    return mat.as_strided((min(mat.shape),), (mat.shape[1] + 1,)).sum()


@wrong("as_strided_trace", "strides in bytes (numpy's .strides) instead of elements")
def as_strided_trace_bytes(mat):
    row_bytes, col_bytes = mat.numpy().strides
    return mat.as_strided((min(mat.shape),), (row_bytes + col_bytes,)).sum()


@right("as_strided_trace", "makes the matrix contiguous first, then uses stride columns + 1")
def as_strided_trace_contiguous_copy(mat):
    mat = mat.contiguous()
    return mat.as_strided((min(mat.shape),), (mat.shape[1] + 1,)).sum()


@wrong("as_strided_mv", "assumes the vector's stride is 1")
def as_strided_mv_unit_stride(mat, vec):
    return (mat * vec.as_strided(mat.shape, (0, 1))).sum(dim=1)


@wrong("as_strided_mm", "strides computed from the shapes (only right for contiguous inputs)")
def as_strided_mm_shape_strides(matA, matB):
    (i, j), k = matA.shape, matB.shape[1]
    a = matA.as_strided((i, j, k), (j, 1, 0))
    b = matB.as_strided((i, j, k), (0, k, 1))
    return (a * b).sum(dim=1)


@right("as_strided_mm", "expands matB's columns and reuses the matrix-vector idea, summing over the middle axis last")
def as_strided_mm_other_order(matA, matB):
    (i, j), k = matA.shape, matB.shape[1]
    a = matA.as_strided((k, i, j), (0, *matA.stride()))
    b = matB.as_strided((k, i, j), (matB.stride(1), 0, matB.stride(0)))
    return (a * b).sum(dim=-1).T


# ------------------------------------------------------------------ 3️⃣ convolutions


@wrong("conv1d_minimal_simple", "off-by-one output width: w - kw instead of w - kw + 1")
def conv1d_minimal_simple_off_by_one(x, weights):
    (w,), (kw,) = x.shape, weights.shape
    (s,) = x.stride()
    return einops.einsum(x.as_strided((w - kw, kw), (s, s)), weights, "ow kw, kw -> ow")


@wrong("conv1d_minimal_simple", "assumes stride 1 instead of reading x.stride()")
def conv1d_minimal_simple_stride_one(x, weights):
    (w,), (kw,) = x.shape, weights.shape
    return einops.einsum(x.as_strided((w - kw + 1, kw), (1, 1)), weights, "ow kw, kw -> ow")


@wrong("conv1d_minimal_simple", "strides in bytes (numpy's .strides) instead of elements")
def conv1d_minimal_simple_byte_strides(x, weights):
    (w,), (kw,) = x.shape, weights.shape
    s = x.stride()[0] * x.element_size()
    return einops.einsum(x.as_strided((w - kw + 1, kw), (s, s)), weights, "ow kw, kw -> ow")


@right("conv1d_minimal_simple", "Tensor.unfold to make the windows, then a matrix-vector product")
def conv1d_minimal_simple_unfold(x, weights):
    return x.unfold(0, weights.shape[0], 1) @ weights


@wrong("conv1d_minimal", "forgets the batch dimension: batch stride 0, so every example reads example 0")
def conv1d_minimal_no_batch(x, weights):
    b, ic, w = x.shape
    kw = weights.shape[-1]
    _, s_c, s_w = x.stride()
    windows = x.as_strided((b, ic, w - kw + 1, kw), (0, s_c, s_w, s_w))
    return einops.einsum(windows, weights, "b ic ow kw, oc ic kw -> b oc ow")


@wrong("conv1d_minimal", "off-by-one output width: w - kw instead of w - kw + 1")
def conv1d_minimal_off_by_one(x, weights):
    b, ic, w = x.shape
    kw = weights.shape[-1]
    s_b, s_c, s_w = x.stride()
    windows = x.as_strided((b, ic, w - kw, kw), (s_b, s_c, s_w, s_w))
    return einops.einsum(windows, weights, "b ic ow kw, oc ic kw -> b oc ow")


@wrong("conv1d_minimal", "strides in bytes (numpy's .strides) instead of elements")
def conv1d_minimal_byte_strides(x, weights):
    b, ic, w = x.shape
    kw = weights.shape[-1]
    s_b, s_c, s_w = (s * x.element_size() for s in x.stride())  # what numpy's .strides would say
    windows = x.as_strided((b, ic, w - kw + 1, kw), (s_b, s_c, s_w, s_w))
    return einops.einsum(windows, weights, "b ic ow kw, oc ic kw -> b oc ow")


@right("conv1d_minimal", "Tensor.unfold to make the windows")
def conv1d_minimal_unfold(x, weights):
    windows = x.unfold(-1, weights.shape[-1], 1)  # (b, ic, ow, kw)
    return t.einsum("bcwk,ock->bow", windows, weights)


@wrong("conv2d_minimal", "forgets the channel dimension: channel stride 0, so every channel reads channel 0")
def conv2d_minimal_no_channel(x, weights):
    b, ic, h, w = x.shape
    kh, kw = weights.shape[-2:]
    s_b, _, s_h, s_w = x.stride()
    windows = x.as_strided((b, ic, h - kh + 1, w - kw + 1, kh, kw), (s_b, 0, s_h, s_w, s_h, s_w))
    return einops.einsum(windows, weights, "b ic oh ow kh kw, oc ic kh kw -> b oc oh ow")


@wrong("conv2d_minimal", "strides computed from the shape (only right for contiguous inputs)")
def conv2d_minimal_shape_strides(x, weights):
    b, ic, h, w = x.shape
    kh, kw = weights.shape[-2:]
    windows = x.as_strided((b, ic, h - kh + 1, w - kw + 1, kh, kw), (ic * h * w, h * w, w, 1, w, 1))
    return einops.einsum(windows, weights, "b ic oh ow kh kw, oc ic kh kw -> b oc oh ow")


@right("conv2d_minimal", "torch.nn.functional.unfold (im2col) and a matrix product")
def conv2d_minimal_unfold(x, weights):
    b, _, h, w = x.shape
    oc, ic, kh, kw = weights.shape
    columns = F.unfold(x, (kh, kw))  # (b, ic*kh*kw, oh*ow)
    return (weights.reshape(oc, -1) @ columns).reshape(b, oc, h - kh + 1, w - kw + 1)


@wrong("pad1d", "uses `left` on both sides")
def pad1d_left_twice(x, left, right, pad_value):
    out = x.new_full((*x.shape[:-1], left + x.shape[-1] + left), pad_value)
    out[..., left : left + x.shape[-1]] = x
    return out


@right("pad1d", "torch.cat with two constant blocks")
def pad1d_cat(x, left, right, pad_value):
    before = x.new_full((*x.shape[:-1], left), pad_value)
    after = x.new_full((*x.shape[:-1], right), pad_value)
    return t.cat([before, x, after], dim=-1)


@wrong("pad2d", "top/bottom padding applied to the width and left/right to the height")
def pad2d_swapped(x, left, right, top, bottom, pad_value):
    return ref.pad2d(x, top, bottom, left, right, pad_value)


@wrong("conv1d", "pads only the left side")
def conv1d_pad_left_only(x, weights, stride=1, padding=0):
    x = ref.pad1d(x, padding, 0, 0.0)
    return ref.conv1d(x, weights, stride=stride, padding=0)


@wrong("conv1d", "off-by-one output width: (w - kw) // stride, forgetting the + 1")
def conv1d_off_by_one(x, weights, stride=1, padding=0):
    x = ref.pad1d(x, padding, padding, 0.0)
    b, ic, w = x.shape
    kw = weights.shape[-1]
    s_b, s_c, s_w = x.stride()
    windows = x.as_strided((b, ic, (w - kw) // stride, kw), (s_b, s_c, s_w * stride, s_w))
    return einops.einsum(windows, weights, "b ic ow kw, oc ic kw -> b oc ow")


@right("conv1d", "Tensor.unfold with a step, after F.pad")
def conv1d_unfold(x, weights, stride=1, padding=0):
    windows = F.pad(x, (padding, padding)).unfold(-1, weights.shape[-1], stride)
    return t.einsum("bcwk,ock->bow", windows, weights)


def _conv2d_with(x, weights, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, size_rule=None):
    x = ref.pad2d(x, pad_left, pad_right, pad_top, pad_bottom, 0.0)
    b, ic, h, w = x.shape
    oc, _, kh, kw = weights.shape
    rule = size_rule or (lambda n, k, s: (n - k) // s + 1)
    oh, ow = rule(h, kh, stride_h), rule(w, kw, stride_w)
    s_b, s_c, s_h, s_w = x.stride()
    windows = x.as_strided((b, ic, oh, ow, kh, kw), (s_b, s_c, s_h * stride_h, s_w * stride_w, s_h, s_w))
    return einops.einsum(windows, weights, "b ic oh ow kh kw, oc ic kh kw -> b oc oh ow")


@wrong("conv2d", "off-by-one output size: (h - kh + 1) // stride")
def conv2d_off_by_one(x, weights, stride=1, padding=0):
    (sh, sw), (ph, pw) = force_pair(stride), force_pair(padding)
    return _conv2d_with(x, weights, sh, sw, ph, ph, pw, pw, size_rule=lambda n, k, s: (n - k + 1) // s)


@wrong("conv2d", "pads only the top and the left")
def conv2d_pad_one_side(x, weights, stride=1, padding=0):
    (sh, sw), (ph, pw) = force_pair(stride), force_pair(padding)
    return _conv2d_with(x, weights, sh, sw, ph, 0, pw, 0)


@wrong("conv2d", "reads a stride pair as (width, height)")
def conv2d_stride_pair_swapped(x, weights, stride=1, padding=0):
    (sw, sh), (ph, pw) = force_pair(stride), force_pair(padding)
    return _conv2d_with(x, weights, sh, sw, ph, ph, pw, pw)


@wrong("conv2d", "an int padding pads only the height (treats ints and pairs differently)")
def conv2d_int_padding_height_only(x, weights, stride=1, padding=0):
    (sh, sw) = force_pair(stride)
    ph, pw = (padding, 0) if isinstance(padding, int) else padding
    return _conv2d_with(x, weights, sh, sw, ph, ph, pw, pw)


@right("conv2d", "einsum directly on the (b, ic, oh, ow, kh, kw) windows view")
def conv2d_einsum_view(x, weights, stride=1, padding=0):
    (sh, sw), (ph, pw) = force_pair(stride), force_pair(padding)
    return _conv2d_with(x, weights, sh, sw, ph, ph, pw, pw)


@right("conv2d", "torch.nn.functional.unfold (im2col) and a matrix product")
def conv2d_unfold(x, weights, stride=1, padding=0):
    (sh, sw), (ph, pw) = force_pair(stride), force_pair(padding)
    b, _, h, w = x.shape
    oc, ic, kh, kw = weights.shape
    columns = F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return (weights.reshape(oc, -1) @ columns).reshape(b, oc, oh, ow)


def _maxpool_with(x, kernel_size, stride, padding, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = force_pair(kernel_size), force_pair(stride), force_pair(padding)
    x = ref.pad2d(x, pw, pw, ph, ph, pad_value)
    b, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s_b, s_c, s_h, s_w = x.stride()
    return x.as_strided((b, c, oh, ow, kh, kw), (s_b, s_c, s_h * sh, s_w * sw, s_h, s_w)).amax(dim=(-2, -1))


@wrong("maxpool2d", "pads with 0 instead of -inf")
def maxpool2d_zero_padding(x, kernel_size, stride=None, padding=0):
    return _maxpool_with(x, kernel_size, kernel_size if stride is None else stride, padding, 0.0)


@wrong("maxpool2d", "off-by-one output size: (h - kh) // stride, forgetting the + 1")
def maxpool2d_off_by_one(x, kernel_size, stride=None, padding=0):
    (kh, kw), (ph, pw) = force_pair(kernel_size), force_pair(padding)
    sh, sw = force_pair(kernel_size if stride is None else stride)
    x = ref.pad2d(x, pw, pw, ph, ph, float("-inf"))
    b, c, h, w = x.shape
    oh, ow = (h - kh) // sh, (w - kw) // sw
    s_b, s_c, s_h, s_w = x.stride()
    return x.as_strided((b, c, oh, ow, kh, kw), (s_b, s_c, s_h * sh, s_w * sw, s_h, s_w)).amax(dim=(-2, -1))


@wrong("maxpool2d", "stride defaults to 1 instead of kernel_size")
def maxpool2d_default_stride_one(x, kernel_size, stride=None, padding=0):
    return _maxpool_with(x, kernel_size, 1 if stride is None else stride, padding, float("-inf"))


@wrong("maxpool2d", "a kernel_size pair is read as a square kernel of its first value")
def maxpool2d_square_kernel(x, kernel_size, stride=None, padding=0):
    k = kernel_size[0] if isinstance(kernel_size, tuple) else kernel_size
    return _maxpool_with(x, k, kernel_size if stride is None else stride, padding, float("-inf"))


@right("maxpool2d", "Tensor.unfold twice after F.pad with -inf")
def maxpool2d_unfold(x, kernel_size, stride=None, padding=0):
    (kh, kw), (ph, pw) = force_pair(kernel_size), force_pair(padding)
    sh, sw = force_pair(kernel_size if stride is None else stride)
    x = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2).max(dim=-1).values


@right("maxpool2d", "separable: max over window columns, then over window rows (two as_strided views)")
def maxpool2d_separable(x, kernel_size, stride=None, padding=0):
    (kh, kw), (ph, pw) = force_pair(kernel_size), force_pair(padding)
    sh, sw = force_pair(kernel_size if stride is None else stride)
    x = ref.pad2d(x, pw, pw, ph, ph, float("-inf"))
    b, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s_b, s_c, s_h, s_w = x.stride()
    rows = x.as_strided((b, c, h, ow, kw), (s_b, s_c, s_h, s_w * sw, s_w)).amax(-1)
    s_b, s_c, s_h, s_w = rows.stride()
    return rows.as_strided((b, c, oh, ow, kh), (s_b, s_c, s_h * sh, s_w, s_h)).amax(-1)


# ------------------------------------------------------------------ 4️⃣ modules


class MaxPool2dStrideOne(ref.MaxPool2d):
    def forward(self, x):
        return ref.maxpool2d(x, self.kernel_size, self.stride or 1, self.padding)


wrong("MaxPool2d", "stride None becomes 1 instead of kernel_size")(MaxPool2dStrideOne)


class MaxPool2dReprSwapped(ref.MaxPool2d):
    def extra_repr(self):
        return f"kernel_size={self.stride}, stride={self.kernel_size}, padding={self.padding}"


wrong("MaxPool2d", "extra_repr prints the stride as kernel_size and the kernel size as stride")(MaxPool2dReprSwapped)


class MaxPool2dReprPairs(ref.MaxPool2d):
    def extra_repr(self):
        stride = self.kernel_size if self.stride is None else self.stride
        return (f"kernel_size={force_pair(self.kernel_size)}, stride={force_pair(stride)}, "
                f"padding={force_pair(self.padding)}")


right("MaxPool2d", "extra_repr prints every argument as a (height, width) pair")(MaxPool2dReprPairs)


class ReLUAlwaysFloat32(ref.ReLU):
    def forward(self, x):
        return x.clamp(min=0).float()


wrong("ReLU", "returns float32 whatever the input dtype")(ReLUAlwaysFloat32)


class ReLUMask(nn.Module):
    def forward(self, x):
        return x * (x > 0)


right("ReLU", "multiply by a boolean mask")(ReLUMask)


class FlattenAll(ref.Flatten):
    def forward(self, x):
        return x.reshape(x.shape[0], -1)


wrong("Flatten", "ignores start_dim and end_dim")(FlattenAll)


class FlattenTorch(ref.Flatten):
    def forward(self, x):
        return t.flatten(x, self.start_dim, self.end_dim)


right("Flatten", "torch.flatten")(FlattenTorch)


class LinearNoBias(ref.Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias=False)


wrong("Linear", "never creates the bias")(LinearNoBias)


class LinearBiasUnused(ref.Linear):
    def forward(self, x):
        return x @ self.weight.T


wrong("Linear", "creates the bias but forgets to add it")(LinearBiasUnused)


class LinearPlainTensors(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.weight = t.empty(out_features, in_features).uniform_(-bound, bound)
        self.bias = t.empty(out_features).uniform_(-bound, bound) if bias else None

    def forward(self, x):
        return x @ self.weight.T + (0 if self.bias is None else self.bias)


wrong("Linear", "plain tensors instead of nn.Parameter, so they are not registered")(LinearPlainTensors)


class LinearZeroBias(ref.Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        if self.bias is not None:
            with t.no_grad():
                self.bias.zero_()


wrong("Linear", "bias initialised to zeros instead of uniform in ±1/sqrt(in_features)")(LinearZeroBias)


class LinearReprAlwaysBias(ref.Linear):
    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias=True"


wrong("Linear", "extra_repr says bias=True even when there is no bias")(LinearReprAlwaysBias)


class LinearRandnInit(ref.Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        with t.no_grad():
            self.weight.normal_()


wrong("Linear", "standard normal weights instead of uniform in ±1/sqrt(in_features)")(LinearRandnInit)


class LinearInverseInit(ref.Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        with t.no_grad():
            self.weight.uniform_(-1 / in_features, 1 / in_features)


wrong("Linear", "bound 1/in_features instead of 1/sqrt(in_features)")(LinearInverseInit)


class LinearKaiming(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(t.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # what torch does: bound 1/sqrt(fan_in)
        self.bias = nn.Parameter(t.empty(out_features).uniform_(-in_features ** -0.5, in_features ** -0.5)) \
            if bias else None

    def forward(self, x):
        out = einops.einsum(x, self.weight, "... i, o i -> ... o")
        return out if self.bias is None else out + self.bias

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


right("Linear", "torch's kaiming_uniform_(a=sqrt(5)) init and an einsum forward")(LinearKaiming)


class Conv2dPlainTensor(ref.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        weight = self.weight.detach().clone()
        del self.weight
        self.weight = weight


wrong("Conv2d", "plain tensor weight instead of nn.Parameter")(Conv2dPlainTensor)


class Conv2dFanInChannels(ref.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        with t.no_grad():
            bound = 1 / math.sqrt(in_channels)
            self.weight.uniform_(-bound, bound)


wrong("Conv2d", "fan_in counts only in_channels, not in_channels * kh * kw")(Conv2dFanInChannels)


class Conv2dReprSwapped(ref.Conv2d):
    def extra_repr(self):
        return (f"in_channels={self.out_channels}, out_channels={self.in_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}")


wrong("Conv2d", "extra_repr swaps in_channels and out_channels")(Conv2dReprSwapped)


class Conv2dIgnoresStride(ref.Conv2d):
    def forward(self, x):
        return ref.conv2d(x, self.weight, 1, self.padding)


wrong("Conv2d", "forward ignores the stride")(Conv2dIgnoresStride)


class SimpleMLPNoReLU(ref.SimpleMLP):
    def forward(self, x):
        return self.linear2(self.linear1(self.flatten(x)))


wrong("SimpleMLP", "forgets the ReLU: two linear layers collapse into one")(SimpleMLPNoReLU)


class SimpleMLPSequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(ref.Flatten(), ref.Linear(784, 100), ref.ReLU(), ref.Linear(100, 10))

    def forward(self, x):
        return self.layers(x)


right("SimpleMLP", "nn.Sequential of the same modules")(SimpleMLPSequential)
