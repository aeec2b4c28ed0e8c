"""Builds assets/pawn.stl, the chess pawn that part 0.1 renders.

The pawn is a surface of revolution: a 2D profile (radius as a function of height) swept around the
z-axis. Run it from anywhere; it overwrites pawn.stl next to this script and the result is
byte-for-byte reproducible (the STL header carries no timestamp):

    python course/chapter0_fundamentals/part1_ray_tracing/assets/make_mesh.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from stl import mesh

OUT = Path(__file__).with_name("pawn.stl")
N_AROUND = 20  # segments around the axis
HEIGHT = 1.8  # the pawn spans z in [-HEIGHT / 2, HEIGHT / 2]


def pawn_profile() -> np.ndarray:
    """(radius, height) points from the centre of the base, up the outside, to the top of the head."""
    base = [(0.0, 0.00), (0.45, 0.00), (0.45, 0.07), (0.40, 0.12), (0.33, 0.16), (0.27, 0.22)]
    stem = [(0.21, 0.32), (0.16, 0.50), (0.14, 0.66)]
    collar = [(0.25, 0.70), (0.25, 0.76), (0.13, 0.80)]
    centre, radius = 0.97, 0.20  # the head is a sphere
    head = [(radius * math.cos(a), centre + radius * math.sin(a))
            for a in np.radians([-58, -30, 0, 30, 60])] + [(0.0, centre + radius)]
    return np.array(base + stem + collar + head)


def revolve(profile: np.ndarray, n_around: int) -> np.ndarray:
    """Sweep a (radius, height) profile around the z-axis: triangles of shape (ntriangles, 3, 3).

    Each band between two consecutive profile points becomes a ring of quads, split into two
    triangles; where the profile touches the axis (radius 0) a ring of single triangles closes it.
    Vertices are ordered counter-clockwise seen from outside, so the normals point outwards."""
    angles = np.linspace(0, 2 * math.pi, n_around, endpoint=False)
    cos, sin = np.cos(angles), np.sin(angles)
    rings = np.stack([np.stack([r * cos, r * sin, np.full(n_around, z)], axis=-1) for r, z in profile])
    triangles = []
    for k in range(len(profile) - 1):
        low, high = rings[k], rings[k + 1]
        for j in range(n_around):
            j2 = (j + 1) % n_around
            if profile[k, 0] > 0:
                triangles.append([low[j], low[j2], high[j2] if profile[k + 1, 0] > 0 else high[j]])
            if profile[k + 1, 0] > 0:
                triangles.append([low[j] if profile[k, 0] > 0 else low[j2], high[j2], high[j]])
    return np.array(triangles, dtype=np.float64)


def make_pawn() -> np.ndarray:
    profile = pawn_profile()
    profile = profile * (HEIGHT / profile[:, 1].max())
    tris = revolve(profile, N_AROUND)
    tris[..., 2] -= HEIGHT / 2
    return tris.astype(np.float32)


def save(triangles: np.ndarray, path: Path) -> None:
    solid = mesh.Mesh(np.zeros(len(triangles), dtype=mesh.Mesh.dtype))
    solid.vectors[:] = triangles
    solid.get_header = lambda name: "pawn.stl - a chess pawn for arena part 0.1 (assets/make_mesh.py)".ljust(80)
    solid.save(str(path), mode=mesh.stl.Mode.BINARY)


if __name__ == "__main__":
    pawn = make_pawn()
    save(pawn, OUT)
    print(f"wrote {OUT} ({len(pawn)} triangles)")
