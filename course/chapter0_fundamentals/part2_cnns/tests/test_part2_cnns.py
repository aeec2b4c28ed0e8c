"""Part 0.2: the reference convolutions agree with torch on property-based inputs; assets and benchmarks are sound."""

from __future__ import annotations

import numpy as np
import pytest
import torch as t
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course.chapter0_fundamentals.part2_cnns import bench
from course.chapter0_fundamentals.part2_cnns import solutions as ref

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
int_or_pair = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
padding_or_pair = st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)))


@SETTINGS
@given(b=st.integers(1, 3), ic=st.integers(1, 3), oc=st.integers(1, 3), kw=st.integers(1, 4),
       stride=st.integers(1, 4), padding=st.integers(0, 3), extra=st.integers(0, 6))
def test_conv1d_matches_torch(b, ic, oc, kw, stride, padding, extra):
    w = max(1, kw - 2 * padding) + extra
    x, weights = t.randn(b, ic, w), t.randn(oc, ic, kw)
    expected = F.conv1d(x, weights, stride=stride, padding=padding)
    t.testing.assert_close(ref.conv1d(x, weights, stride, padding), expected, atol=1e-4, rtol=1e-4)


@SETTINGS
@given(b=st.integers(1, 2), ic=st.integers(1, 3), oc=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
       stride=int_or_pair, padding=padding_or_pair, extra=st.tuples(st.integers(0, 5), st.integers(0, 5)),
       transposed=st.booleans())
def test_conv2d_matches_torch(b, ic, oc, kh, kw, stride, padding, extra, transposed):
    ph, pw = ref.force_pair(padding)
    h, w = max(1, kh - 2 * ph) + extra[0], max(1, kw - 2 * pw) + extra[1]
    x = t.randn(b, ic, w, h).mT if transposed else t.randn(b, ic, h, w)
    weights = t.randn(oc, ic, kh, kw)
    expected = F.conv2d(x, weights, stride=stride, padding=padding)
    t.testing.assert_close(ref.conv2d(x, weights, stride, padding), expected, atol=1e-4, rtol=1e-4)


@SETTINGS
@given(kernel=int_or_pair, stride=st.one_of(st.none(), int_or_pair), data=st.data(),
       extra=st.tuples(st.integers(0, 6), st.integers(0, 6)))
def test_maxpool2d_matches_torch(kernel, stride, data, extra):
    kh, kw = ref.force_pair(kernel)
    padding = data.draw(st.one_of(st.integers(0, min(kh, kw) // 2),
                                  st.tuples(st.integers(0, kh // 2), st.integers(0, kw // 2))))
    ph, pw = ref.force_pair(padding)
    x = t.randn(2, 2, max(1, kh - 2 * ph) + extra[0], max(1, kw - 2 * pw) + extra[1])
    t.testing.assert_close(ref.maxpool2d(x, kernel, stride, padding), F.max_pool2d(x, kernel, stride, padding))


def test_digit_asset_is_reproducible():
    from course.chapter0_fundamentals.part2_cnns.assets.make_digits import make_digits

    shipped = np.round(ref.load_digit_images() * 255).astype(np.uint8)
    np.testing.assert_array_equal(shipped, make_digits())


@pytest.mark.parametrize("benchmark", bench.BENCHMARKS, ids=[b.name for b in bench.BENCHMARKS])
def test_benchmark_sides_compute_the_same_thing(benchmark):
    t.testing.assert_close(benchmark.ours(), benchmark.library(), atol=1e-4, rtol=1e-4)
