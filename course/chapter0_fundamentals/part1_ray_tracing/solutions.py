"""Reference solutions for part 0.1, Ray tracing.

Conventions used throughout:
- A ray is a (2, 3) tensor [origin, direction]; the points on it are origin + s * direction, s >= 0.
- A segment is a (2, 3) tensor [L1, L2]; its points are L1 + v * (L2 - L1), 0 <= v <= 1.
- A triangle is a (3, 3) tensor [A, B, C]; its points are A + u (B - A) + v (C - A), u, v >= 0, u + v <= 1.
- The camera looks along +x; the screen is the plane x = 1, with y horizontal and z vertical.
"""

# ruff: noqa: E741  (O is the ray origin, as in the maths)

from __future__ import annotations

import math
from collections.abc import Callable
from importlib import resources

import einops
import numpy as np
import plotly.graph_objects as go
import torch as t
from beartype import beartype
from jaxtyping import Bool, Float, Int, jaxtyped
from torch import Tensor

PART_PACKAGE = "course.chapter0_fundamentals.part1_ray_tracing"
SINGULAR_EPS = 1e-8  # |det| below this (or NaN, from LU on an all-zero column): no unique solution, a miss


# ------------------------------------------------------------------------ 1️⃣ 1D image rendering


def make_rays_1d(num_pixels: int, y_limits: tuple[float, float]) -> Float[Tensor, "num_pixels 2 3"]:
    """Rays from the origin through `num_pixels` points of the screen x = 1 (in the plane z = 0).

    Ray i is [[0, 0, 0], [1, y_i, 0]]: its origin is the origin and its direction points at (1, y_i, 0).
    The y_i are evenly spaced over the *closed* interval [y_limits[0], y_limits[1]], so the first ray
    points at y_limits[0] and the last at y_limits[1].

    Returns a float tensor of shape (num_pixels, 2, 3).
    """
    # SOLUTION
    rays = t.zeros((num_pixels, 2, 3))
    rays[:, 1, 0] = 1.0
    rays[:, 1, 1] = t.linspace(y_limits[0], y_limits[1], num_pixels)
    return rays
    # END SOLUTION


def render_lines_with_plotly(
    lines: Float[Tensor, "n 2 3"],
    highlight: Float[Tensor, "m 2 3"] | None = None,
    title: str = "",
) -> go.Figure:
    """A 3D plotly figure of line segments [start, end] (thin), plus `highlight` segments (thick, red).

    Rays whose origin is 0 can be passed as they are: each is drawn from the origin to the point D,
    which lies on the screen x = 1. Scale them to draw them longer, e.g. `rays * 2`."""
    fig = go.Figure()

    def add(segments: Tensor, color: str, width: float, name: str) -> None:
        segments = segments.detach().cpu().float().clone()
        if segments.ndim == 3 and segments.shape[1] == 2:
            xyz = t.cat([segments, t.full((len(segments), 1, 3), float("nan"))], dim=1).reshape(-1, 3)
            fig.add_trace(go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="lines",
                                       line=dict(color=color, width=width), name=name))

    add(lines, "#1f77b4", 2, "lines")
    if highlight is not None:
        add(highlight, "#d62728", 6, "highlighted")
    fig.update_layout(title=title, height=500, margin=dict(l=0, r=0, t=40, b=0),
                      scene=dict(xaxis_title="x", yaxis_title="y", zaxis_title="z", aspectmode="data"))
    return fig


@jaxtyped(typechecker=beartype)
def ray_points(rays: Float[Tensor, "nrays 2 3"], us: Float[Tensor, " npoints"]) -> Float[Tensor, "nrays npoints 3"]:
    """The points O + u D of every ray [O, D] at every parameter u: out[i, k] = rays[i, 0] + us[k] * rays[i, 1].

    The decorator makes jaxtyping check, at every call, that the arguments and the result have the
    annotated shapes, with each named dimension (nrays, npoints) the same size everywhere. Keep it.
    """
    # SOLUTION
    O, D = rays[:, None, 0], rays[:, None, 1]  # (nrays, 1, 3)
    return O + us[None, :, None] * D  # (1, npoints, 1) * (nrays, 1, 3) -> (nrays, npoints, 3)
    # END SOLUTION


def intersect_ray_1d(ray: Float[Tensor, "2 3"], segment: Float[Tensor, "2 3"]) -> bool:
    """Does `ray` = [O, D] hit `segment` = [L1, L2]? Only the x and y coordinates are used (z is ignored).

    The ray is infinite but forward-only: its points are O + u D with u >= 0. The segment's points are
    L1 + v (L2 - L1) with v in the closed interval [0, 1]. Solve

        O + u D = L1 + v (L2 - L1)

    for (u, v). If the ray and segment are parallel (the 2x2 system is singular), return False.

    Returns a Python bool (a 0-dim bool tensor is accepted too).
    """
    # SOLUTION
    O, D = ray[0, :2], ray[1, :2]
    L1, L2 = segment[0, :2], segment[1, :2]
    # Columns D and L1 - L2: u * D + v * (L1 - L2) = L1 - O
    mat = t.stack([D, L1 - L2], dim=-1)
    if t.linalg.det(mat).nan_to_num(0.0).abs() < SINGULAR_EPS:
        return False
    u, v = t.linalg.solve(mat, L1 - O)
    return bool((u >= 0) & (v >= 0) & (v <= 1))
    # END SOLUTION


# ------------------------------------------------------------------------ 2️⃣ batched intersection


def intersect_rays_1d(
    rays: Float[Tensor, "nrays 2 3"], segments: Float[Tensor, "nsegments 2 3"]
) -> Bool[Tensor, "nrays"]:
    """For each ray, does it hit *any* of the segments? Batched: no Python loops over rays or segments.

    Same rules as `intersect_ray_1d`: only x and y are used; a hit needs u >= 0 along the ray and
    v in [0, 1] along the segment; parallel ray/segment pairs (singular systems) are not hits and must
    not raise.

    Returns a bool tensor of shape (nrays,).
    """
    # SOLUTION
    nrays, nsegments = rays.shape[0], segments.shape[0]
    O = rays[:, None, 0, :2]  # (nrays, 1, 2)
    D = rays[:, None, 1, :2]
    L1 = segments[None, :, 0, :2]  # (1, nsegments, 2)
    L2 = segments[None, :, 1, :2]
    # One 2x2 system per (ray, segment) pair: mat @ [u, v] = L1 - O
    mat = t.stack([D.expand(nrays, nsegments, 2), (L1 - L2).expand(nrays, nsegments, 2)], dim=-1)
    vec = L1 - O  # (nrays, nsegments, 2)
    singular = t.linalg.det(mat).nan_to_num(0.0).abs() < SINGULAR_EPS
    mat = t.where(singular[..., None, None], t.eye(2, dtype=mat.dtype), mat)  # solvable stand-in
    u, v = t.linalg.solve(mat, vec).unbind(-1)
    hits = (u >= 0) & (v >= 0) & (v <= 1) & ~singular
    return hits.any(dim=1)
    # END SOLUTION


def nearest_segment_buggy(
    rays: Float[Tensor, "nrays 2 3"], segments: Float[Tensor, "nsegments 2 3"]
) -> Int[Tensor, " nrays"]:
    """For each ray, the index of the nearest segment it hits (smallest u), or -1 if it hits none.

    Same rules as intersect_rays_1d. This version has a bug that shows only on some inputs."""
    nrays, nsegments = rays.shape[0], segments.shape[0]
    O, D = rays[:, None, 0, :2], rays[:, None, 1, :2]  # (nrays, 1, 2)
    L1, L2 = segments[None, :, 0, :2], segments[None, :, 1, :2]  # (1, nsegments, 2)
    mat = t.stack([D.expand(nrays, nsegments, 2), (L1 - L2).expand(nrays, nsegments, 2)], dim=-1)
    det = t.linalg.det(mat)  # (nrays, nsegments)
    singular = det < SINGULAR_EPS
    mat = t.where(singular[..., None, None], t.eye(2, dtype=mat.dtype), mat)
    u, v = t.linalg.solve(mat, L1 - O).unbind(-1)  # each (nrays, nsegments)
    hit = (u >= 0) & (v >= 0) & (v <= 1) & ~singular
    nearest = u.masked_fill(~hit, float("inf")).argmin(dim=1)  # (nrays,)
    return t.where(hit.any(dim=1), nearest, -1)


def nearest_segment(
    rays: Float[Tensor, "nrays 2 3"], segments: Float[Tensor, "nsegments 2 3"]
) -> Int[Tensor, " nrays"]:
    """nearest_segment_buggy, fixed: for each ray, the index of the nearest segment it hits (the
    smallest u), or -1 if it hits none. Same rules as intersect_rays_1d. Returns an int64 tensor."""
    # SOLUTION
    nrays, nsegments = rays.shape[0], segments.shape[0]
    O, D = rays[:, None, 0, :2], rays[:, None, 1, :2]
    L1, L2 = segments[None, :, 0, :2], segments[None, :, 1, :2]
    mat = t.stack([D.expand(nrays, nsegments, 2), (L1 - L2).expand(nrays, nsegments, 2)], dim=-1)
    det = t.linalg.det(mat)
    singular = det.nan_to_num(0.0).abs() < SINGULAR_EPS  # the fix: |det|, not det (a negative det is fine)
    mat = t.where(singular[..., None, None], t.eye(2, dtype=mat.dtype), mat)
    u, v = t.linalg.solve(mat, L1 - O).unbind(-1)
    hit = (u >= 0) & (v >= 0) & (v <= 1) & ~singular
    nearest = u.masked_fill(~hit, float("inf")).argmin(dim=1)
    return t.where(hit.any(dim=1), nearest, -1)
    # END SOLUTION


def make_rays_2d(
    num_pixels_y: int, num_pixels_z: int, y_limit: float, z_limit: float
) -> Float[Tensor, "nrays 2 3"]:
    """A grid of rays from the origin through the screen x = 1: nrays = num_pixels_y * num_pixels_z.

    The ray directions are (1, y, z) with y evenly spaced over [-y_limit, y_limit] (num_pixels_y
    values, both ends included) and z evenly spaced over [-z_limit, z_limit] (num_pixels_z values).
    Order: y varies slowest, so ray i * num_pixels_z + j has the i-th y and the j-th z, and
    `rays.reshape(num_pixels_y, num_pixels_z, 2, 3)` is indexed [y, z].

    Returns a float tensor of shape (num_pixels_y * num_pixels_z, 2, 3) with every origin at 0.
    """
    # SOLUTION
    ys = t.linspace(-y_limit, y_limit, num_pixels_y)
    zs = t.linspace(-z_limit, z_limit, num_pixels_z)
    rays = t.zeros((num_pixels_y * num_pixels_z, 2, 3))
    rays[:, 1, 0] = 1.0
    rays[:, 1, 1] = einops.repeat(ys, "y -> (y z)", z=num_pixels_z)
    rays[:, 1, 2] = einops.repeat(zs, "z -> (y z)", y=num_pixels_y)
    return rays
    # END SOLUTION


# ------------------------------------------------------------------------ 3️⃣ triangles and meshes


def triangle_ray_intersects(
    A: Float[Tensor, "3"], B: Float[Tensor, "3"], C: Float[Tensor, "3"],
    O: Float[Tensor, "3"], D: Float[Tensor, "3"],
) -> bool:
    """Does the ray O + s D (s >= 0) hit the triangle ABC (edges and corners included)?

    Solve O + s D = A + u (B - A) + v (C - A) for (s, u, v) with `torch.linalg.solve`. It is a hit when
    s >= 0 (in front of the origin), u >= 0, v >= 0 and u + v <= 1 (inside the triangle).
    A singular system (the ray parallel to the triangle's plane, or a degenerate triangle) is a miss
    and must not raise.

    Returns a Python bool (a 0-dim bool tensor is accepted too).
    """
    # SOLUTION
    # s * (-D) + u * (B - A) + v * (C - A) = O - A
    mat = t.stack([-D, B - A, C - A], dim=-1)
    if t.linalg.det(mat).nan_to_num(0.0).abs() < SINGULAR_EPS:
        return False
    s, u, v = t.linalg.solve(mat, O - A)
    return bool((s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1))
    # END SOLUTION


def raytrace_triangle(
    rays: Float[Tensor, "nrays 2 3"], triangle: Float[Tensor, "3 3"]
) -> Bool[Tensor, "nrays"]:
    """For each ray [O, D], does it hit the triangle [A, B, C]? Batched over rays, no Python loops.

    Same rule as `triangle_ray_intersects`: s >= 0, u >= 0, v >= 0, u + v <= 1; rays with a singular
    system (parallel to the triangle's plane) are misses and must not raise.

    Returns a bool tensor of shape (nrays,).
    """
    # SOLUTION
    O, D = rays[:, 0], rays[:, 1]  # (nrays, 3)
    A, B, C = triangle  # (3,)
    nrays = rays.shape[0]
    mat = t.stack([-D, (B - A).expand(nrays, 3), (C - A).expand(nrays, 3)], dim=-1)  # (nrays, 3, 3)
    vec = O - A  # (nrays, 3)
    singular = t.linalg.det(mat).nan_to_num(0.0).abs() < SINGULAR_EPS
    mat = t.where(singular[:, None, None], t.eye(3, dtype=mat.dtype), mat)
    s, u, v = t.linalg.solve(mat, vec).unbind(-1)
    return (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    # END SOLUTION


def load_mesh() -> Float[Tensor, "ntriangles 3 3"]:
    """The chess pawn of assets/pawn.stl as a float32 tensor of triangles [A, B, C].

    The pawn stands along the z-axis, centred on the origin: z in [-0.9, 0.9], radius at most 0.7.
    (assets/make_mesh.py generated the file; numpy-stl reads it.)"""
    from stl import mesh

    with resources.as_file(resources.files(PART_PACKAGE) / "assets" / "pawn.stl") as path:
        pawn = mesh.Mesh.from_file(str(path))
    return t.from_numpy(np.array(pawn.vectors, dtype=np.float32))


def raytrace_mesh(
    rays: Float[Tensor, "nrays 2 3"], triangles: Float[Tensor, "ntriangles 3 3"]
) -> Float[Tensor, "nrays"]:
    """For each ray [O, D], the distance s to the *nearest* triangle it hits, or `inf` if it hits none.

    Distance is measured in units of the direction vector: the hit point is O + s D. A triangle counts
    as hit under the same rule as `raytrace_triangle` (s >= 0, u >= 0, v >= 0, u + v <= 1; singular
    systems are misses). Batched over rays and triangles at once, no Python loops.

    Returns a float tensor of shape (nrays,).
    """
    # SOLUTION
    O = rays[:, None, 0]  # (nrays, 1, 3)
    D = rays[:, None, 1]
    A, B, C = triangles[None, :, 0], triangles[None, :, 1], triangles[None, :, 2]  # (1, ntriangles, 3)
    # One 3x3 system per (ray, triangle) pair; columns -D, B - A, C - A.
    mat = t.stack(t.broadcast_tensors(-D, B - A, C - A), dim=-1)  # (nrays, ntriangles, 3, 3)
    vec = O - A  # (nrays, ntriangles, 3)
    singular = t.linalg.det(mat).nan_to_num(0.0).abs() < SINGULAR_EPS
    mat = t.where(singular[..., None, None], t.eye(3, dtype=mat.dtype), mat)
    s, u, v = t.linalg.solve(mat, vec).unbind(-1)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    s = s.masked_fill(~hit, float("inf"))
    return s.min(dim=1).values
    # END SOLUTION


def camera_rays(num_pixels: int, camera_distance: float = 3.0, view_limit: float = 0.4) -> Float[Tensor, "nrays 2 3"]:
    """Square grid of rays (make_rays_2d) from a camera at (-camera_distance, 0, 0), looking along +x."""
    rays = make_rays_2d(num_pixels, num_pixels, view_limit, view_limit)
    rays[:, 0, 0] = -camera_distance
    return rays


def render_image(
    triangles: Float[Tensor, "ntriangles 3 3"],
    num_pixels: int = 256,
    *,
    camera_distance: float = 3.0,
    view_limit: float = 0.4,
    tile: int = 16,
    tracer: Callable[[Tensor, Tensor], Tensor] | None = None,
    background: float = float("inf"),
) -> Float[Tensor, "num_pixels num_pixels"]:
    """Render `triangles` as seen by a camera at (-camera_distance, 0, 0) looking along +x.

    `tracer(rays, triangles)` gives one value per ray (default: `raytrace_mesh`, the distance to the
    nearest hit); `background` is what a pixel gets when no triangle can be hit, i.e. the tracer's
    value for a miss. Returns an image with z pointing up (row 0 is the top) and +y pointing left, as
    the camera sees it.

    For speed the screen is cut into `tile` x `tile` blocks of rays, and each block is traced only
    against the triangles whose shadow on the screen overlaps it (a triangle's projection on the
    screen x = 1 is the triangle of its projected corners, so its bounding box is cheap to get).
    """
    tracer = tracer if tracer is not None else raytrace_mesh
    rays = camera_rays(num_pixels, camera_distance, view_limit).reshape(num_pixels, num_pixels, 2, 3)
    values = t.full((num_pixels, num_pixels), background)  # indexed [y, z]

    depth = triangles[..., 0] + camera_distance  # (ntriangles, 3): how far in front of the camera
    screen = triangles[..., 1:] / depth.clamp(min=1e-6)[..., None]  # corners projected on x = 1: (y, z)
    low, high = screen.amin(dim=1), screen.amax(dim=1)  # (ntriangles, 2)
    straddles = (depth <= 1e-6).any(dim=1) & (depth > 1e-6).any(dim=1)  # partly behind: always trace
    behind = (depth <= 1e-6).all(dim=1)  # entirely behind the camera: never hit
    eps = 1e-4
    with t.inference_mode():
        for i in range(0, num_pixels, tile):
            for j in range(0, num_pixels, tile):
                block = rays[i:i + tile, j:j + tile]  # (ty, tz, 2, 3)
                directions = block[..., 1, 1:].reshape(-1, 2)  # (y, z) where each ray crosses x = 1
                overlap = ((low <= directions.amax(dim=0) + eps) & (high >= directions.amin(dim=0) - eps)).all(-1)
                keep = (overlap | straddles) & ~behind
                if keep.any():
                    hit = tracer(block.reshape(-1, 2, 3), triangles[keep]).float()
                    values[i:i + tile, j:j + tile] = hit.reshape(block.shape[:2])
    return values.T.flip(0, 1)  # indexed [z from the top, y from the left]


def image_figure(image: Tensor, title: str = "", colorscale: str = "gray_r", zmax: float | None = None) -> go.Figure:
    """Show a rendered image with plotly (misses, i.e. inf, are drawn as background)."""
    data = image.detach().cpu().float().clone()
    finite = t.isfinite(data)
    data[~finite] = float("nan")
    fig = go.Figure(go.Heatmap(z=data.numpy(), colorscale=colorscale, zmax=zmax, showscale=True,
                               hoverongaps=False))
    fig.update_layout(title=title, width=520, height=480, margin=dict(l=10, r=10, t=40, b=10),
                      plot_bgcolor="white")
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    return fig


# ------------------------------------------------------------------------ 4️⃣ bonus


def raytrace_mesh_lambert(
    rays: Float[Tensor, "nrays 2 3"],
    triangles: Float[Tensor, "ntriangles 3 3"],
    light_dir: Float[Tensor, "3"],
) -> Float[Tensor, "nrays"]:
    """Lambert brightness of the nearest triangle each ray hits (0 where it hits nothing).

    Let n be the unit normal of the nearest triangle hit, (B - A) x (C - A) normalised, flipped if needed
    so it faces the camera (n . D <= 0). With l = -light_dir / |light_dir| (the unit vector from the
    surface towards the light, which shines *along* light_dir), the brightness is max(0, n . l).
    Hits follow the rule of `raytrace_mesh`. Returns a float tensor of shape (nrays,) with values in [0, 1].
    """
    # SOLUTION
    O = rays[:, None, 0]
    D = rays[:, None, 1]
    A, B, C = triangles[None, :, 0], triangles[None, :, 1], triangles[None, :, 2]
    mat = t.stack(t.broadcast_tensors(-D, B - A, C - A), dim=-1)
    singular = t.linalg.det(mat).nan_to_num(0.0).abs() < SINGULAR_EPS
    mat = t.where(singular[..., None, None], t.eye(3, dtype=mat.dtype), mat)
    s, u, v = t.linalg.solve(mat, O - A).unbind(-1)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    nearest_s, nearest = s.masked_fill(~hit, float("inf")).min(dim=1)  # (nrays,)

    normals = t.linalg.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    n = t.nn.functional.normalize(normals, dim=-1)[nearest]  # (nrays, 3)
    n = t.where(((n * rays[:, 1]).sum(-1) > 0)[:, None], -n, n)  # face the camera
    to_light = -light_dir / light_dir.norm()
    brightness = (n * to_light).sum(-1).clamp(min=0)
    return t.where(t.isfinite(nearest_s), brightness, t.zeros_like(brightness))
    # END SOLUTION


def rotation_matrix_y(theta: float) -> Float[Tensor, "3 3"]:
    """Rotation by `theta` radians about the y-axis (the screen's horizontal axis)."""
    c, s = math.cos(theta), math.sin(theta)
    return t.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def render_rotation(
    triangles: Float[Tensor, "ntriangles 3 3"],
    num_frames: int = 12,
    num_pixels: int = 64,
    light_dir: Float[Tensor, "3"] | None = None,
) -> Float[Tensor, "num_frames num_pixels num_pixels"]:
    """Lambert-shaded renders of the mesh tumbling once about the y-axis, one frame per angle."""
    light = light_dir if light_dir is not None else t.tensor([1.0, -1.0, -1.0])
    frames = []
    for k in range(num_frames):
        rotated = triangles @ rotation_matrix_y(2 * math.pi * k / num_frames).T
        frames.append(render_image(rotated, num_pixels, background=0.0,
                                   tracer=lambda rays, tris: raytrace_mesh_lambert(rays, tris, light)))
    return t.stack(frames)


def animate_frames(frames: Float[Tensor, "num_frames h w"], title: str = "") -> go.Figure:
    """A plotly animation (play button and slider) of grayscale frames with values in [0, 1]."""
    data = frames.detach().cpu().float().numpy()

    def heatmap(frame: np.ndarray) -> go.Heatmap:
        return go.Heatmap(z=frame, colorscale="gray", zmin=0, zmax=1, showscale=False)

    names = [str(k) for k in range(len(data))]
    fig = go.Figure(data=[heatmap(data[0])],
                    frames=[go.Frame(data=[heatmap(f)], name=n) for f, n in zip(data, names, strict=True)])
    play = dict(label="▶ play", method="animate",
                args=[None, dict(frame=dict(duration=120, redraw=True), fromcurrent=True, mode="immediate")])
    fig.update_layout(
        title=title, width=420, height=460, margin=dict(l=10, r=10, t=40, b=10),
        updatemenus=[dict(type="buttons", buttons=[play], x=0.05, y=-0.02, xanchor="left", yanchor="top")],
        sliders=[dict(steps=[dict(label=n, method="animate",
                                  args=[[n], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
                             for n in names], x=0.25, len=0.7, y=0.0, currentvalue=dict(prefix="frame "))],
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    return fig
