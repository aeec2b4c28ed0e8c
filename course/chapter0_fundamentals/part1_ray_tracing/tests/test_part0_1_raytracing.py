"""Part 0.1 beyond the generic checks: the mesh asset, the renderer's speed and exactness, the figures,
and property-based agreement between the single-ray and batched reference functions."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import plotly.graph_objects as go
import pytest
import torch as t
from hypothesis import given, settings
from hypothesis import strategies as st

from course.chapter0_fundamentals.part1_ray_tracing import figures
from course.chapter0_fundamentals.part1_ray_tracing import solutions as sol

PART_DIR = Path(__file__).resolve().parents[1]


def _make_mesh_module():
    spec = importlib.util.spec_from_file_location("make_mesh_0_1", PART_DIR / "assets" / "make_mesh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stl_asset_is_what_the_script_makes(tmp_path: Path) -> None:
    make_mesh = _make_mesh_module()
    out = tmp_path / "pawn.stl"
    make_mesh.save(make_mesh.make_pawn(), out)
    assert out.read_bytes() == (PART_DIR / "assets" / "pawn.stl").read_bytes(), \
        "assets/pawn.stl is stale: rerun assets/make_mesh.py"


def test_mesh_loads_with_numpy_stl_and_is_a_sensible_size() -> None:
    mesh = sol.load_mesh()
    assert mesh.dtype == t.float32 and mesh.ndim == 3 and mesh.shape[1:] == (3, 3)
    assert 300 <= len(mesh) <= 2000
    corners = mesh.reshape(-1, 3)
    assert t.allclose(corners.amin(0), t.tensor([-0.6923, -0.6923, -0.9]), atol=1e-3)
    assert t.allclose(corners.amax(0), t.tensor([0.6923, 0.6923, 0.9]), atol=1e-3)
    areas = t.linalg.cross(mesh[:, 1] - mesh[:, 0], mesh[:, 2] - mesh[:, 0]).norm(dim=-1)
    assert (areas > 1e-4).all(), "the mesh has degenerate triangles"


def test_tiled_render_equals_one_big_raytrace() -> None:
    mesh = sol.load_mesh() @ sol.rotation_matrix_y(0.7).T
    n = 48
    tiled = sol.render_image(mesh, n, tile=16)
    direct = sol.raytrace_mesh(sol.camera_rays(n), mesh).reshape(n, n).T.flip(0, 1)
    assert t.equal(t.isinf(tiled), t.isinf(direct))
    assert t.allclose(tiled[t.isfinite(tiled)], direct[t.isfinite(direct)])


def test_256_render_takes_seconds_not_minutes() -> None:
    before = t.get_num_threads()
    t.set_num_threads(1)
    try:
        start = time.perf_counter()
        image = sol.render_image(sol.load_mesh(), 256)
        seconds = time.perf_counter() - start
    finally:
        t.set_num_threads(before)
    print(f"256x256 render of the pawn: {seconds:.2f} s")
    assert image.shape == (256, 256)
    assert 0.15 < t.isfinite(image).float().mean() < 0.5  # the pawn fills about a quarter of the frame
    assert seconds < 10


@pytest.mark.parametrize("name", ["rays_1d", "screen_2d", "triangle_render", "pawn_mesh", "pawn_depth",
                                  "pawn_lambert", "pawn_rotation"])
def test_figure_is_fast(name: str) -> None:
    start = time.perf_counter()
    fig = getattr(figures, name)()
    seconds = time.perf_counter() - start
    assert isinstance(fig, go.Figure)
    assert seconds < 5, f"figure {name} took {seconds:.1f} s"


def test_rotation_figure_is_an_animation() -> None:
    fig = figures.pawn_rotation()
    assert len(fig.frames) == 12
    assert fig.layout.updatemenus and fig.layout.sliders


coord = st.floats(-3, 3, allow_nan=False, width=32)
vec3 = st.tuples(coord, coord, coord)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(vec3, vec3, vec3), min_size=1, max_size=6), st.lists(st.tuples(vec3, vec3), min_size=1,
                                                                             max_size=6))
def test_batched_functions_agree_with_single_ray_ones(triangles, rays) -> None:
    tris = t.tensor(triangles, dtype=t.float32)
    rays_t = t.tensor(rays, dtype=t.float32)
    dist = sol.raytrace_mesh(rays_t, tris)
    for tri in tris:
        batched = sol.raytrace_triangle(rays_t, tri)
        single = t.tensor([sol.triangle_ray_intersects(*tri, O, D) for O, D in rays_t])  # noqa: E741
        assert t.equal(batched, single)
    hit_any = t.stack([sol.raytrace_triangle(rays_t, tri) for tri in tris]).any(0)
    assert t.equal(t.isfinite(dist), hit_any)
    assert (dist[t.isfinite(dist)] >= 0).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(vec3, vec3), min_size=1, max_size=8), st.lists(st.tuples(vec3, vec3), min_size=1,
                                                                         max_size=8))
def test_intersect_rays_1d_agrees_with_single_ray(rays, segments) -> None:
    rays_t, segs_t = t.tensor(rays, dtype=t.float32), t.tensor(segments, dtype=t.float32)
    batched = sol.intersect_rays_1d(rays_t, segs_t)
    single = t.tensor([any(sol.intersect_ray_1d(r, s) for s in segs_t) for r in rays_t])
    assert t.equal(batched, single)


def test_ray_at_centroid_hits_and_reverse_misses() -> None:
    g = t.Generator().manual_seed(0)
    for _ in range(50):
        A, B, C = t.randn(3, 3, generator=g)
        O = t.randn(3, generator=g) * 5  # noqa: E741
        D = (A + B + C) / 3 - O
        assert sol.triangle_ray_intersects(A, B, C, O, D)
        assert not sol.triangle_ray_intersects(A, B, C, O, -D)
        s = sol.raytrace_mesh(t.stack([O, D])[None], t.stack([A, B, C])[None])
        assert t.allclose(s, t.tensor([1.0]), atol=1e-4)
