"""The figures of part 0.1, computed from the reference solutions (each well under 5 s on a laptop CPU)."""

# ruff: noqa: E741  (O is the ray origin, as in the maths)

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


def rays_1d_hits() -> dict[int, list[int]]:
    """For each segment of SEGMENTS_1D, the indices of the rays of make_rays_1d(9, (-10, 10)) that hit it.

    The figure rays_1d draws exactly this; its lesson caption is tested against it."""
    rays = sol.make_rays_1d(9, (-10.0, 10.0))
    return {j: [i for i, ray in enumerate(rays) if sol.intersect_ray_1d(ray, seg)] for j, seg in enumerate(SEGMENTS_1D)}


def describe_hits(hits: dict[int, list[int]]) -> str:
    """'rays 0, 1 hit segment 0; segment 1 is missed by every ray; ...' for a rays_1d_hits() table."""
    parts = []
    for j, rays in hits.items():
        if rays:
            parts.append(f"ray{'s' if len(rays) > 1 else ''} {', '.join(map(str, rays))} hit{'' if len(rays) > 1 else 's'} "
                         f"segment {j}")
        else:
            parts.append(f"no ray hits segment {j}")
    return "; ".join(parts)


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
    fig.update_layout(title=f"make_rays_1d(9, (-10, 10)) and three segments: {describe_hits(rays_1d_hits())}",
                      height=460,
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


# ------------------------------------------------------------------------ interactive: sliders

SLIDER_RAY = t.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, 0.0]])
SLIDER_SEGMENT = t.tensor([[2.0, -1.0, 0.0], [2.0, 3.0, 0.0]])
SLIDER_TRIANGLE = t.tensor([[0.0, 0.0], [3.0, 0.5], [1.0, 2.5]])


def slider_solution() -> tuple[float, float]:
    """(u, v) where SLIDER_RAY meets SLIDER_SEGMENT, solved as in intersect_ray_1d."""
    O, D = SLIDER_RAY[0, :2], SLIDER_RAY[1, :2]
    L1, L2 = SLIDER_SEGMENT[0, :2], SLIDER_SEGMENT[1, :2]
    u, v = t.linalg.solve(t.stack([D, L1 - L2], dim=-1), L1 - O)
    return round(u.item(), 6), round(v.item(), 6)


def _slider(label: str, values: list[float], trace: int, point: Callable[[float], tuple[list, list, list, list]],
            y: float, active: int) -> dict:
    steps = []
    for value in values:
        xs, ys, colors, texts = point(value)
        steps.append(dict(method="restyle", label=f"{value:g}",
                          args=[{"x": [xs], "y": [ys], "marker.color": [colors], "text": [texts]}, [trace]]))
    return dict(active=active, steps=steps, currentvalue=dict(prefix=f"{label} = "), y=y, len=0.9, x=0.05,
                pad=dict(t=10, b=10))


def ray_segment_sliders() -> go.Figure:
    """Drag u along the ray and v along the segment: the two points meet at the solution (u, v).

    Points with u < 0 (behind the origin) or v outside [0, 1] (off the segment) turn grey."""
    O, D = SLIDER_RAY[0, :2], SLIDER_RAY[1, :2]
    L1, L2 = SLIDER_SEGMENT[0, :2], SLIDER_SEGMENT[1, :2]
    u_star, v_star = slider_solution()

    def ray_point(u: float) -> tuple[list, list, list, list]:
        p = O + u * D
        return [p[0].item()], [p[1].item()], ["#d62728" if u >= 0 else "#aaaaaa"], [f"O + {u:g} D"]

    def segment_point(v: float) -> tuple[list, list, list, list]:
        p = L1 + v * (L2 - L1)
        inside = 0 <= v <= 1
        return [p[0].item()], [p[1].item()], ["#2ca02c" if inside else "#aaaaaa"], [f"L1 + {v:g} (L2 - L1)"]

    us = [round(-1.0 + 0.25 * i, 2) for i in range(17)]  # -1 .. 3
    vs = [round(-0.5 + 0.125 * i, 3) for i in range(17)]  # -0.5 .. 1.5
    far = O + 3.5 * D
    fig = go.Figure([
        go.Scatter(x=[(O - 1.5 * D)[0].item(), O[0].item()], y=[(O - 1.5 * D)[1].item(), O[1].item()], mode="lines",
                   line=dict(color="#cccccc", dash="dot"), name="u < 0 (behind the origin)"),
        go.Scatter(x=[O[0].item(), far[0].item()], y=[O[1].item(), far[1].item()], mode="lines",
                   line=dict(color="#d62728"), name="ray O + u D, u ≥ 0"),
        go.Scatter(x=[L1[0].item(), L2[0].item()], y=[L1[1].item(), L2[1].item()], mode="lines",
                   line=dict(color="#2ca02c", width=5), name="segment, 0 ≤ v ≤ 1"),
        go.Scatter(mode="markers+text", marker=dict(size=14), textposition="top left", name="point on the ray",
                   **dict(zip(["x", "y", "marker_color", "text"], ray_point(us[0]), strict=True))),
        go.Scatter(mode="markers+text", marker=dict(size=14, symbol="diamond"), textposition="bottom right",
                   name="point on the segment",
                   **dict(zip(["x", "y", "marker_color", "text"], segment_point(vs[0]), strict=True))),
    ])
    fig.update_layout(
        title=f"Drag u and v until the points meet: u = {u_star:g}, v = {v_star:g}",
        sliders=[_slider("u (along the ray)", us, 3, ray_point, y=-0.08, active=0),
                 _slider("v (along the segment)", vs, 4, segment_point, y=-0.3, active=0)],
        xaxis=dict(title="x", range=[-1.8, 4.2]), yaxis=dict(title="y", scaleanchor="x", range=[-1.8, 3.4]),
        height=620, margin=dict(l=10, r=10, t=50, b=170), legend=dict(orientation="h", y=1.02, x=0, yanchor="bottom"))
    return fig


def barycentric_point(u: float, v: float) -> tuple[float, float]:
    """A + u (B - A) + v (C - A) for SLIDER_TRIANGLE."""
    A, B, C = SLIDER_TRIANGLE
    p = A + u * (B - A) + v * (C - A)
    return p[0].item(), p[1].item()


def barycentric_sliders() -> go.Figure:
    """Two sliders fix u and v; each draws the line of points with that coordinate. P(u, v) is where the
    lines cross, and each line is green exactly where it runs inside the triangle (u, v >= 0, u + v <= 1)."""
    A, B, C = SLIDER_TRIANGLE
    grid = [round(-0.25 + 0.025 * i, 3) for i in range(61)]  # -0.25 .. 1.25, fine enough to draw a line
    values = [round(-0.25 + 0.125 * i, 3) for i in range(13)]

    def colour(u: float, v: float) -> str:
        return "#2ca02c" if u >= 0 and v >= 0 and u + v <= 1 + 1e-9 else "#bbbbbb"

    def u_line(u: float) -> tuple[list, list, list, list]:
        pts = [barycentric_point(u, v) for v in grid]
        return ([p[0] for p in pts], [p[1] for p in pts], [colour(u, v) for v in grid],
                [f"u = {u:g}, v = {v:g}, weights (1-u-v, u, v) = ({1 - u - v:.2f}, {u:g}, {v:g})" for v in grid])

    def v_line(v: float) -> tuple[list, list, list, list]:
        pts = [barycentric_point(u, v) for u in grid]
        return ([p[0] for p in pts], [p[1] for p in pts], [colour(u, v) for u in grid],
                [f"u = {u:g}, v = {v:g}, weights (1-u-v, u, v) = ({1 - u - v:.2f}, {u:g}, {v:g})" for u in grid])

    u0, v0 = values[4], values[4]  # 0.25, 0.25: inside
    corners = t.cat([SLIDER_TRIANGLE, SLIDER_TRIANGLE[:1]])
    fig = go.Figure([
        go.Scatter(x=corners[:, 0].tolist(), y=corners[:, 1].tolist(), mode="lines+markers+text",
                   text=["A", "B", "C", ""], textposition="top center", line=dict(color="black"), name="triangle ABC"),
        go.Scatter(mode="markers", marker=dict(size=5), hoverinfo="text", name="points with this u (v varies)",
                   **dict(zip(["x", "y", "marker_color", "text"], u_line(u0), strict=True))),
        go.Scatter(mode="markers", marker=dict(size=5, symbol="square"), hoverinfo="text",
                   name="points with this v (u varies)",
                   **dict(zip(["x", "y", "marker_color", "text"], v_line(v0), strict=True))),
    ])
    fig.update_layout(
        title="P = A + u (B − A) + v (C − A): inside exactly when u ≥ 0, v ≥ 0 and u + v ≤ 1 (green)",
        sliders=[_slider("u", values, 1, u_line, y=-0.08, active=4), _slider("v", values, 2, v_line, y=-0.3, active=4)],
        xaxis=dict(title="x"), yaxis=dict(title="y", scaleanchor="x"), height=620,
        margin=dict(l=10, r=10, t=50, b=170), legend=dict(orientation="h", y=1.02, x=0, yanchor="bottom"))
    return fig
