"""The figures of part 0.1, computed from the reference solutions (each well under 5 s on a laptop CPU)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

import plotly.graph_objects as go
import torch as t

from . import solutions as sol

SEGMENTS_1D = t.tensor([
    [[1.0, -12.0, 0.0], [1.0, -6.0, 0.0]],
    [[0.5, 0.7, 0.0], [1.0, 1.0, 0.0]],
    [[2.0, 12.0, 0.0], [2.0, 21.0, 0.0]],
])
TRIANGLE = t.tensor([[2.0, 0.2, -0.5], [3.0, -0.4, 0.1], [2.5, 0.3, 0.6]])
LIGHT = t.tensor([1.0, -1.0, -1.0])


@contextmanager
def _one_thread() -> Iterator[None]:
    """Many small batched solves run faster on one thread than with a thread pool competing for cores."""
    before = t.get_num_threads()
    t.set_num_threads(1)
    try:
        yield
    finally:
        t.set_num_threads(before)


def _single_threaded(fn: Callable[[], go.Figure]) -> Callable[[], go.Figure]:
    @wraps(fn)
    def run() -> go.Figure:
        with _one_thread():
            return fn()

    return run


def rays_1d() -> go.Figure:
    """Nine rays from make_rays_1d and three segments, in the xy-plane; rays that hit a segment in red."""
    rays = sol.make_rays_1d(9, (-10.0, 10.0))
    hits = sol.intersect_rays_1d(rays, SEGMENTS_1D)
    fig = go.Figure()
    for i, (ray, hit) in enumerate(zip(rays, hits, strict=True)):
        end = ray[0] + 2.2 * ray[1]
        fig.add_trace(go.Scatter(
            x=[0, end[0].item()], y=[0, end[1].item()], mode="lines",
            line=dict(color="#d62728" if hit else "#9ecae1", width=3 if hit else 1.5),
            name=f"ray {i}" + (" (hits)" if hit else ""), showlegend=False,
            hovertemplate=f"ray {i}: direction (1, {ray[1, 1].item():.2f}, 0)<extra></extra>"))
    fig.add_trace(go.Scatter(x=[1] * 9, y=rays[:, 1, 1].tolist(), mode="markers", marker=dict(color="black", size=6),
                             name="screen points (1, y_i)"))
    for j, seg in enumerate(SEGMENTS_1D):
        fig.add_trace(go.Scatter(x=seg[:, 0].tolist(), y=seg[:, 1].tolist(), mode="lines+markers",
                                 line=dict(color="#2ca02c", width=6), name=f"segment {j}"))
    fig.add_vline(x=1, line=dict(color="gray", dash="dot"), annotation_text="screen x = 1")
    fig.update_layout(title="make_rays_1d(9, (-10, 10)) and three segments (hits in red)", height=460,
                      xaxis_title="x", yaxis_title="y", margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", y=-0.15))
    return fig


def screen_2d() -> go.Figure:
    """The rays of make_rays_2d(8, 6, 0.3, 0.5) in 3D, each drawn from the origin to the screen x = 1."""
    rays = sol.make_rays_2d(8, 6, 0.3, 0.5)
    fig = sol.render_lines_with_plotly(rays, rays[:6], title="make_rays_2d(8, 6, 0.3, 0.5): the first 6 rays "
                                       "(one value of y, every z) in red")
    points = rays[:, 1]
    fig.add_trace(go.Scatter3d(x=points[:, 0], y=points[:, 1], z=points[:, 2], mode="markers",
                               marker=dict(size=3, color=list(range(len(points))), colorscale="Viridis"),
                               name="screen points (colour = ray index)",
                               hovertext=[f"ray {i}" for i in range(len(points))]))
    return fig


@_single_threaded
def triangle_render() -> go.Figure:
    """raytrace_triangle on a 120 x 120 grid: the triangle as the camera sees it."""
    n = 120
    rays = sol.make_rays_2d(n, n, 0.5, 0.5)
    hits = sol.raytrace_triangle(rays, TRIANGLE).float()
    image = hits.reshape(n, n).T.flip(0, 1)  # z up, y to the left, as in render_image
    return sol.image_figure(image, "raytrace_triangle on a 120 x 120 grid of rays", colorscale="Blues")


def pawn_mesh() -> go.Figure:
    """The pawn's triangles as an interactive plotly surface (no ray tracing: plotly draws it)."""
    tris = sol.load_mesh()
    vertices = tris.reshape(-1, 3)
    idx = t.arange(len(vertices)).reshape(-1, 3)
    fig = go.Figure(go.Mesh3d(x=vertices[:, 0], y=vertices[:, 1], z=vertices[:, 2], i=idx[:, 0], j=idx[:, 1],
                              k=idx[:, 2], color="#c9b18f", flatshading=True,
                              lighting=dict(ambient=0.4, diffuse=0.8), name="pawn"))
    fig.update_layout(title=f"assets/pawn.stl: {len(tris)} triangles", height=480,
                      margin=dict(l=0, r=0, t=40, b=0), scene=dict(aspectmode="data"))
    return fig


@_single_threaded
def pawn_depth() -> go.Figure:
    """render_image (raytrace_mesh distances) of the pawn at 128 x 128."""
    image = sol.render_image(sol.load_mesh(), 128)
    return sol.image_figure(image, "raytrace_mesh: distance to the nearest triangle (128 x 128)",
                            colorscale="gray")


@_single_threaded
def pawn_lambert() -> go.Figure:
    """Lambert-shaded render of the pawn at 128 x 128 (bonus)."""
    image = sol.render_image(sol.load_mesh(), 128, background=0.0,
                             tracer=lambda rays, tris: sol.raytrace_mesh_lambert(rays, tris, LIGHT))
    return sol.image_figure(image, "Lambert shading, light along (1, -1, -1)", colorscale="gray", zmax=1.0)


@_single_threaded
def pawn_rotation() -> go.Figure:
    """Twelve 64 x 64 Lambert-shaded frames of the pawn tumbling about the y-axis (bonus)."""
    frames = sol.render_rotation(sol.load_mesh(), num_frames=12, num_pixels=64, light_dir=LIGHT)
    return sol.animate_frames(frames, "The pawn tumbling about the y-axis (press play)")
