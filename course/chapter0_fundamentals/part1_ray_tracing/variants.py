"""Known-wrong and known-right implementations for part 0.1; the test suite proves the checks tell them apart."""

# ruff: noqa: E741  (O is the ray origin, as in the maths)

from __future__ import annotations

import einops
import torch as t
from beartype import beartype
from jaxtyping import Float, jaxtyped
from torch import Tensor

from arena.checking import right, wrong

EPS = 1e-8


# ------------------------------------------------------------------------ make_rays_1d


@wrong("make_rays_1d", "linspace over num_pixels - 1 points")
def make_rays_1d_one_short(num_pixels, y_limits):
    rays = t.zeros((num_pixels - 1, 2, 3))
    rays[:, 1, 0] = 1
    rays[:, 1, 1] = t.linspace(y_limits[0], y_limits[1], num_pixels - 1)
    return rays


@wrong("make_rays_1d", "arange that excludes the upper limit")
def make_rays_1d_half_open(num_pixels, y_limits):
    lo, hi = y_limits
    rays = t.zeros((num_pixels, 2, 3))
    rays[:, 1, 0] = 1
    rays[:, 1, 1] = lo + t.arange(num_pixels) * (hi - lo) / num_pixels
    return rays


@wrong("make_rays_1d", "puts the screen point in the origin slot")
def make_rays_1d_swapped(num_pixels, y_limits):
    rays = t.zeros((num_pixels, 2, 3))
    rays[:, 0, 0] = 1
    rays[:, 0, 1] = t.linspace(y_limits[0], y_limits[1], num_pixels)
    return rays


@right("make_rays_1d", "arange with an inclusive step, built with stack")
def make_rays_1d_arange(num_pixels, y_limits):
    lo, hi = y_limits
    ys = lo + t.arange(num_pixels, dtype=t.float32) * ((hi - lo) / (num_pixels - 1))
    directions = t.stack([t.ones(num_pixels), ys, t.zeros(num_pixels)], dim=1)
    return t.stack([t.zeros_like(directions), directions], dim=1)


# ------------------------------------------------------------------------ intersect_ray_1d


# ------------------------------------------------------------------------ ray_points


@wrong("ray_points", "us[:, None] * rays[:, 1]: broadcasts to (n, 3) when nrays == npoints, caught by jaxtyping")
@jaxtyped(typechecker=beartype)
def ray_points_misbroadcast(rays: Float[Tensor, "nrays 2 3"], us: Float[Tensor, " npoints"]
                            ) -> Float[Tensor, "nrays npoints 3"]:
    return rays[:, 0] + us[:, None] * rays[:, 1]


@wrong("ray_points", "right values, but the decorator was removed: shapes are no longer checked at runtime")
def ray_points_unchecked(rays: Float[Tensor, "nrays 2 3"], us: Float[Tensor, " npoints"]
                         ) -> Float[Tensor, "nrays npoints 3"]:
    return rays[:, None, 0] + us[None, :, None] * rays[:, None, 1]


@right("ray_points", "einops.einsum for u * D, still decorated")
@jaxtyped(typechecker=beartype)
def ray_points_einsum(rays: Float[Tensor, "nrays 2 3"], us: Float[Tensor, " npoints"]
                      ) -> Float[Tensor, "nrays npoints 3"]:
    return rays[:, None, 0] + einops.einsum(us, rays[:, 1], "p, r c -> r p c")


def _solve_1d(ray, segment):
    O, D = ray[0, :2], ray[1, :2]
    L1, L2 = segment[0, :2], segment[1, :2]
    return t.stack([D, L1 - L2], dim=1), L1 - O


@wrong("intersect_ray_1d", "ignores that the ray only goes forward (no u >= 0)")
def intersect_ray_1d_backwards(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    if t.linalg.det(mat).abs() < EPS:
        return False
    u, v = t.linalg.solve(mat, vec)
    return bool((v >= 0) & (v <= 1))


@wrong("intersect_ray_1d", "open interval: v in (0, 1) misses the segment's end points")
def intersect_ray_1d_open(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    if t.linalg.det(mat).abs() < EPS:
        return False
    u, v = t.linalg.solve(mat, vec)
    return bool((u >= 0) & (v > 0) & (v < 1))


@wrong("intersect_ray_1d", "u > 0: a ray starting on the segment misses it")
def intersect_ray_1d_strict_u(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    if t.linalg.det(mat).abs() < EPS:
        return False
    u, v = t.linalg.solve(mat, vec)
    return bool((u > 0) & (v >= 0) & (v <= 1))


@wrong("intersect_ray_1d", "a singular threshold of 1e-4: small but valid systems count as parallel")
def intersect_ray_1d_big_threshold(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    if t.linalg.det(mat).abs() < 1e-4:
        return False
    u, v = t.linalg.solve(mat, vec)
    return bool((u >= 0) & (v >= 0) & (v <= 1))


@wrong("intersect_ray_1d", "calls linalg.solve on a singular system (crashes when parallel)")
def intersect_ray_1d_crashes(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    u, v = t.linalg.solve(mat, vec)
    return bool((u >= 0) & (v >= 0) & (v <= 1))


@wrong("intersect_ray_1d", "swaps a singular matrix for the identity but keeps its 'solution' (parallel = hit)")
def intersect_ray_1d_unmasked(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    if t.linalg.det(mat).abs() < EPS:
        mat = t.eye(2)
    u, v = t.linalg.solve(mat, vec)
    return bool((u >= 0) & (v >= 0) & (v <= 1))


@wrong("intersect_ray_1d", "returns the solution tensor instead of a bool")
def intersect_ray_1d_returns_solution(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    if t.linalg.det(mat).abs() < EPS:
        return False
    sol = t.linalg.solve(mat, vec)
    return sol if ((sol[0] >= 0) & (sol[1] >= 0) & (sol[1] <= 1)) else False


@wrong("intersect_ray_1d", "returns 1 / 0 instead of True / False")
def intersect_ray_1d_int(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    if t.linalg.det(mat).abs() < EPS:
        return 0
    u, v = t.linalg.solve(mat, vec)
    return int((u >= 0) & (v >= 0) & (v <= 1))


@right("intersect_ray_1d", "Cramer's rule instead of linalg.solve")
def intersect_ray_1d_cramer(ray, segment):
    (ox, oy), (dx, dy) = ray[0, :2].tolist(), ray[1, :2].tolist()
    (x1, y1), (x2, y2) = segment[0, :2].tolist(), segment[1, :2].tolist()
    # u * (dx, dy) + v * (x1 - x2, y1 - y2) = (x1 - ox, y1 - oy)
    a, b, c, d = dx, x1 - x2, dy, y1 - y2
    det = a * d - b * c
    if abs(det) < EPS:
        return False
    rx, ry = x1 - ox, y1 - oy
    u = (rx * d - b * ry) / det
    v = (a * ry - c * rx) / det
    return u >= 0 and 0 <= v <= 1


@right("intersect_ray_1d", "returns a 0-dim bool tensor, catches the singular error instead of checking det")
def intersect_ray_1d_tensor(ray, segment):
    mat, vec = _solve_1d(ray, segment)
    try:
        u, v = t.linalg.solve(mat, vec)
    except RuntimeError:  # torch.linalg.LinAlgError is a RuntimeError
        return t.tensor(False)
    return (u >= 0) & (v >= 0) & (v <= 1)


# ------------------------------------------------------------------------ intersect_rays_1d


def _batched_1d(rays, segments):
    O = rays[:, None, 0, :2]
    D = rays[:, None, 1, :2]
    L1 = segments[None, :, 0, :2]
    L2 = segments[None, :, 1, :2]
    D, dL = t.broadcast_tensors(D, L1 - L2)
    return t.stack([D, dL], dim=-1), L1 - O


def _solve_masked(mat, vec):
    singular = t.linalg.det(mat).abs() < EPS
    mat = mat.clone()
    mat[singular] = t.eye(mat.shape[-1], dtype=mat.dtype)
    return t.linalg.solve(mat, vec).unbind(-1), singular


@wrong("intersect_rays_1d", "open interval: v in (0, 1) misses the segments' end points")
def intersect_rays_1d_open(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    return ((u >= 0) & (v > 0) & (v < 1) & ~singular).any(dim=1)


@wrong("intersect_rays_1d", "u > 0: rays starting on a segment miss it")
def intersect_rays_1d_strict_u(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    return ((u > 0) & (v >= 0) & (v <= 1) & ~singular).any(dim=1)


@wrong("intersect_rays_1d", "a singular threshold of 1e-4: small but valid systems count as parallel")
def intersect_rays_1d_big_threshold(rays, segments):
    mat, vec = _batched_1d(rays, segments)
    singular = t.linalg.det(mat).abs() < 1e-4
    mat = t.where(singular[..., None, None], t.eye(2), mat)
    u, v = t.linalg.solve(mat, vec).unbind(-1)
    return ((u >= 0) & (v >= 0) & (v <= 1) & ~singular).any(dim=1)


@wrong("intersect_rays_1d", "ignores that the rays only go forward (no u >= 0)")
def intersect_rays_1d_backwards(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    return ((v >= 0) & (v <= 1) & ~singular).any(dim=1)


@wrong("intersect_rays_1d", "replaces singular matrices but does not mask them out (parallel = hit)")
def intersect_rays_1d_unmasked(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    return ((u >= 0) & (v >= 0) & (v <= 1)).any(dim=1)


@wrong("intersect_rays_1d", "reduces over the rays (dim 0) instead of the segments")
def intersect_rays_1d_wrong_dim(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    return ((u >= 0) & (v >= 0) & (v <= 1) & ~singular).any(dim=0)


@wrong("intersect_rays_1d", "returns the (nrays, nsegments) table instead of reducing with any")
def intersect_rays_1d_no_reduce(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    return (u >= 0) & (v >= 0) & (v <= 1) & ~singular


@wrong("intersect_rays_1d", "returns a float tensor (sum of hits) instead of bools")
def intersect_rays_1d_float(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    return ((u >= 0) & (v >= 0) & (v <= 1) & ~singular).float().sum(dim=1)


@right("intersect_rays_1d", "batched Cramer's rule with einops.repeat")
def intersect_rays_1d_cramer(rays, segments):
    nr, ns = len(rays), len(segments)
    O = einops.repeat(rays[:, 0, :2], "r xy -> r s xy", s=ns)
    D = einops.repeat(rays[:, 1, :2], "r xy -> r s xy", s=ns)
    L1 = einops.repeat(segments[:, 0, :2], "s xy -> r s xy", r=nr)
    L2 = einops.repeat(segments[:, 1, :2], "s xy -> r s xy", r=nr)
    a, c = D.unbind(-1)
    b, d = (L1 - L2).unbind(-1)
    rx, ry = (L1 - O).unbind(-1)
    det = a * d - b * c
    ok = det.abs() >= EPS
    safe = t.where(ok, det, t.ones_like(det))
    u, v = (rx * d - b * ry) / safe, (a * ry - c * rx) / safe
    return (ok & (u >= 0) & (v >= 0) & (v <= 1)).any(dim=-1)


# ------------------------------------------------------------------------ nearest_segment


@wrong("nearest_segment", "the given bug left in: `det < eps` instead of `det.abs() < eps` (negative det = miss)")
def nearest_segment_unfixed(rays, segments):
    from .solutions import nearest_segment_buggy

    return nearest_segment_buggy(rays, segments)


@wrong("nearest_segment", "argmin over u without masking the misses: the nearest *line*, hit or not")
def nearest_segment_unmasked_argmin(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    hit = (u >= 0) & (v >= 0) & (v <= 1) & ~singular
    return t.where(hit.any(dim=1), u.argmin(dim=1), -1)


@wrong("nearest_segment", "forgets the -1 for rays that hit nothing (argmin of all-inf is 0)")
def nearest_segment_no_minus_one(rays, segments):
    (u, v), singular = _solve_masked(*_batched_1d(rays, segments))
    hit = (u >= 0) & (v >= 0) & (v <= 1) & ~singular
    return u.masked_fill(~hit, float("inf")).argmin(dim=1)


@right("nearest_segment", "fixed with Cramer's rule, u computed without linalg.solve")
def nearest_segment_cramer(rays, segments):
    mat, vec = _batched_1d(rays, segments)
    a, b, c, d = mat[..., 0, 0], mat[..., 0, 1], mat[..., 1, 0], mat[..., 1, 1]
    det = a * d - b * c
    singular = det.abs() < EPS
    safe = t.where(singular, t.ones_like(det), det)
    u = (vec[..., 0] * d - b * vec[..., 1]) / safe
    v = (a * vec[..., 1] - c * vec[..., 0]) / safe
    hit = (u >= 0) & (v >= 0) & (v <= 1) & ~singular
    return t.where(hit.any(dim=1), u.masked_fill(~hit, float("inf")).argmin(dim=1), -1)


# ------------------------------------------------------------------------ make_rays_2d


@wrong("make_rays_2d", "z varies slowest (rays ordered [z, y])")
def make_rays_2d_z_slowest(num_pixels_y, num_pixels_z, y_limit, z_limit):
    ys = t.linspace(-y_limit, y_limit, num_pixels_y)
    zs = t.linspace(-z_limit, z_limit, num_pixels_z)
    rays = t.zeros((num_pixels_y * num_pixels_z, 2, 3))
    rays[:, 1, 0] = 1
    rays[:, 1, 1] = einops.repeat(ys, "y -> (z y)", z=num_pixels_z)
    rays[:, 1, 2] = einops.repeat(zs, "z -> (z y)", y=num_pixels_y)
    return rays


@wrong("make_rays_2d", "arange that excludes the upper limits")
def make_rays_2d_half_open(num_pixels_y, num_pixels_z, y_limit, z_limit):
    ys = -y_limit + t.arange(num_pixels_y) * (2 * y_limit / num_pixels_y)
    zs = -z_limit + t.arange(num_pixels_z) * (2 * z_limit / num_pixels_z)
    rays = t.zeros((num_pixels_y * num_pixels_z, 2, 3))
    rays[:, 1, 0] = 1
    rays[:, 1, 1] = ys.repeat_interleave(num_pixels_z)
    rays[:, 1, 2] = zs.repeat(num_pixels_y)
    return rays


@wrong("make_rays_2d", "uses y_limit for z too")
def make_rays_2d_one_limit(num_pixels_y, num_pixels_z, y_limit, z_limit):
    ys = t.linspace(-y_limit, y_limit, num_pixels_y)
    zs = t.linspace(-y_limit, y_limit, num_pixels_z)
    rays = t.zeros((num_pixels_y * num_pixels_z, 2, 3))
    rays[:, 1, 0] = 1
    rays[:, 1, 1] = ys.repeat_interleave(num_pixels_z)
    rays[:, 1, 2] = zs.repeat(num_pixels_y)
    return rays


@right("make_rays_2d", "meshgrid with indexing='ij'")
def make_rays_2d_meshgrid(num_pixels_y, num_pixels_z, y_limit, z_limit):
    yy, zz = t.meshgrid(t.linspace(-y_limit, y_limit, num_pixels_y),
                        t.linspace(-z_limit, z_limit, num_pixels_z), indexing="ij")
    directions = t.stack([t.ones_like(yy), yy, zz], dim=-1).reshape(-1, 3)
    return t.stack([t.zeros_like(directions), directions], dim=1)


# ------------------------------------------------------------------------ triangle_ray_intersects


def _system(A, B, C, O, D):
    return t.stack([-D, B - A, C - A], dim=-1), O - A


@wrong("triangle_ray_intersects", "ignores that the ray only goes forward (no s >= 0)")
def triangle_ray_intersects_backwards(A, B, C, O, D):
    mat, vec = _system(A, B, C, O, D)
    if t.linalg.det(mat).abs() < EPS:
        return False
    s, u, v = t.linalg.solve(mat, vec)
    return bool((u >= 0) & (v >= 0) & (u + v <= 1))


@wrong("triangle_ray_intersects", "checks u, v in [0, 1] but forgets u + v <= 1 (tests a parallelogram)")
def triangle_ray_intersects_parallelogram(A, B, C, O, D):
    mat, vec = _system(A, B, C, O, D)
    if t.linalg.det(mat).abs() < EPS:
        return False
    s, u, v = t.linalg.solve(mat, vec)
    return bool((s >= 0) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1))


@wrong("triangle_ray_intersects", "strict inequalities: rays through an edge or a vertex miss")
def triangle_ray_intersects_open(A, B, C, O, D):
    mat, vec = _system(A, B, C, O, D)
    if t.linalg.det(mat).abs() < EPS:
        return False
    s, u, v = t.linalg.solve(mat, vec)
    return bool((s >= 0) & (u > 0) & (v > 0) & (u + v < 1))


@wrong("triangle_ray_intersects", "s > 0: a ray starting on the triangle misses it")
def triangle_ray_intersects_strict_s(A, B, C, O, D):
    mat, vec = _system(A, B, C, O, D)
    if t.linalg.det(mat).abs() < EPS:
        return False
    s, u, v = t.linalg.solve(mat, vec)
    return bool((s > 0) & (u >= 0) & (v >= 0) & (u + v <= 1))


@wrong("triangle_ray_intersects", "a singular threshold of 1e-4: a small triangle is never hit")
def triangle_ray_intersects_big_threshold(A, B, C, O, D):
    mat, vec = _system(A, B, C, O, D)
    if t.linalg.det(mat).abs() < 1e-4:
        return False
    s, u, v = t.linalg.solve(mat, vec)
    return bool((s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1))


@wrong("triangle_ray_intersects", "calls linalg.solve on a singular system (crashes when parallel)")
def triangle_ray_intersects_crashes(A, B, C, O, D):
    mat, vec = _system(A, B, C, O, D)
    s, u, v = t.linalg.solve(mat, vec)
    return bool((s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1))


@wrong("triangle_ray_intersects", "returns the float solution's u + v instead of a bool")
def triangle_ray_intersects_float(A, B, C, O, D):
    mat, vec = _system(A, B, C, O, D)
    if t.linalg.det(mat).abs() < EPS:
        return t.tensor(0.0)
    s, u, v = t.linalg.solve(mat, vec)
    return ((s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1)).float()


@right("triangle_ray_intersects", "Moller-Trumbore (cross products, no linalg.solve)")
def triangle_ray_intersects_mt(A, B, C, O, D):
    e1, e2 = B - A, C - A
    p = t.linalg.cross(D, e2)
    det = t.dot(e1, p)
    if det.abs() < EPS:
        return False
    to_origin = O - A
    u = t.dot(to_origin, p) / det
    q = t.linalg.cross(to_origin, e1)
    v = t.dot(D, q) / det
    s = t.dot(e2, q) / det
    return bool((s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1))


# ------------------------------------------------------------------------ raytrace_triangle


def _triangle_system(rays, triangle):
    A, B, C = triangle
    D = rays[:, 1]
    mat = t.stack(t.broadcast_tensors(-D, B - A, C - A), dim=-1)
    return mat, rays[:, 0] - A


@wrong("raytrace_triangle", "ignores that rays only go forward (no s >= 0)")
def raytrace_triangle_backwards(rays, triangle):
    (s, u, v), singular = _solve_masked(*_triangle_system(rays, triangle))
    return (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular


@wrong("raytrace_triangle", "replaces singular matrices but does not mask them out")
def raytrace_triangle_unmasked(rays, triangle):
    (s, u, v), singular = _solve_masked(*_triangle_system(rays, triangle))
    return (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1)


@wrong("raytrace_triangle", "forgets u + v <= 1")
def raytrace_triangle_parallelogram(rays, triangle):
    (s, u, v), singular = _solve_masked(*_triangle_system(rays, triangle))
    return (s >= 0) & (u >= 0) & (v >= 0) & (u <= 1) & (v <= 1) & ~singular


@wrong("raytrace_triangle", "strict inequalities: rays through an edge or a vertex miss")
def raytrace_triangle_open(rays, triangle):
    (s, u, v), singular = _solve_masked(*_triangle_system(rays, triangle))
    return (s >= 0) & (u > 0) & (v > 0) & (u + v < 1) & ~singular


@wrong("raytrace_triangle", "s > 0: rays starting on the triangle miss it")
def raytrace_triangle_strict_s(rays, triangle):
    (s, u, v), singular = _solve_masked(*_triangle_system(rays, triangle))
    return (s > 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular


@wrong("raytrace_triangle", "calls linalg.solve without handling singular systems")
def raytrace_triangle_crashes(rays, triangle):
    s, u, v = t.linalg.solve(*_triangle_system(rays, triangle)).unbind(-1)
    return (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1)


@wrong("raytrace_triangle", "returns an int tensor of 0/1")
def raytrace_triangle_int(rays, triangle):
    (s, u, v), singular = _solve_masked(*_triangle_system(rays, triangle))
    return ((s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular).long()


def _mt_batched(O, D, A, B, C):
    """Moller-Trumbore on broadcastable tensors: returns (s, hit)."""
    e1, e2 = B - A, C - A
    p = t.linalg.cross(*t.broadcast_tensors(D, e2), dim=-1)
    det = (e1 * p).sum(-1)
    ok = det.abs() >= EPS
    inv = 1.0 / t.where(ok, det, t.ones_like(det))
    to_origin = O - A
    u = (to_origin * p).sum(-1) * inv
    q = t.linalg.cross(*t.broadcast_tensors(to_origin, e1), dim=-1)
    v = (D * q).sum(-1) * inv
    s = (e2 * q).sum(-1) * inv
    return s, ok & (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1)


@right("raytrace_triangle", "batched Moller-Trumbore")
def raytrace_triangle_mt(rays, triangle):
    A, B, C = triangle
    return _mt_batched(rays[:, 0], rays[:, 1], A, B, C)[1]


# ------------------------------------------------------------------------ raytrace_mesh


def _mesh_solve(rays, triangles):
    O, D = rays[:, None, 0], rays[:, None, 1]
    A, B, C = triangles[None, :, 0], triangles[None, :, 1], triangles[None, :, 2]
    mat = t.stack(t.broadcast_tensors(-D, B - A, C - A), dim=-1)
    (s, u, v), singular = _solve_masked(mat, (O - A).expand(mat.shape[:-1]))
    return s, u, v, singular


@wrong("raytrace_mesh", "returns 0 instead of inf for rays that hit nothing")
def raytrace_mesh_zero_for_miss(rays, triangles):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    s = s.masked_fill(~hit, float("inf")).min(dim=1).values
    return t.where(t.isinf(s), t.zeros_like(s), s)


@wrong("raytrace_mesh", "takes the minimum s over all triangles, hit or not")
def raytrace_mesh_min_over_all(rays, triangles):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    return t.where(hit.any(dim=1), s.min(dim=1).values, t.full((len(rays),), float("inf")))


@wrong("raytrace_mesh", "ignores s >= 0 (triangles behind the camera count)")
def raytrace_mesh_backwards(rays, triangles):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    return s.masked_fill(~hit, float("inf")).min(dim=1).values


@wrong("raytrace_mesh", "s > 0: a ray starting on a triangle does not see it at distance 0")
def raytrace_mesh_strict_s(rays, triangles):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s > 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    return s.masked_fill(~hit, float("inf")).min(dim=1).values


@wrong("raytrace_mesh", "replaces singular matrices but does not mask them out")
def raytrace_mesh_unmasked(rays, triangles):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1)
    return s.masked_fill(~hit, float("inf")).min(dim=1).values


@wrong("raytrace_mesh", "takes the farthest hit (max) instead of the nearest")
def raytrace_mesh_farthest(rays, triangles):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    far = s.masked_fill(~hit, float("-inf")).max(dim=1).values
    return t.where(t.isinf(far), t.full_like(far, float("inf")), far)


@wrong("raytrace_mesh", "measures distance in world units (normalises the directions)")
def raytrace_mesh_world_units(rays, triangles):
    rays = rays.clone()
    rays[:, 1] = rays[:, 1] / rays[:, 1].norm(dim=-1, keepdim=True)
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    return s.masked_fill(~hit, float("inf")).min(dim=1).values


@wrong("raytrace_mesh", "reduces over the rays (dim 0) instead of the triangles")
def raytrace_mesh_wrong_dim(rays, triangles):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    return s.masked_fill(~hit, float("inf")).min(dim=0).values


@wrong("raytrace_mesh", "calls linalg.solve without handling singular systems")
def raytrace_mesh_crashes(rays, triangles):
    O, D = rays[:, None, 0], rays[:, None, 1]
    A, B, C = triangles[None, :, 0], triangles[None, :, 1], triangles[None, :, 2]
    mat = t.stack(t.broadcast_tensors(-D, B - A, C - A), dim=-1)
    s, u, v = t.linalg.solve(mat, (O - A).expand(mat.shape[:-1])).unbind(-1)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1)
    return s.masked_fill(~hit, float("inf")).min(dim=1).values


@right("raytrace_mesh", "batched Moller-Trumbore")
def raytrace_mesh_mt(rays, triangles):
    s, hit = _mt_batched(rays[:, None, 0], rays[:, None, 1], triangles[None, :, 0], triangles[None, :, 1],
                         triangles[None, :, 2])
    return t.where(hit, s, t.full_like(s, float("inf"))).amin(dim=1)


@right("raytrace_mesh", "linalg.solve in float64, rays processed in chunks of 16")
def raytrace_mesh_chunked64(rays, triangles):
    out = []
    for chunk in rays.double().split(16):
        s, u, v, singular = _mesh_solve(chunk, triangles.double())
        hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
        out.append(t.where(hit, s, t.inf).amin(dim=1))
    return t.cat(out).float()


# ------------------------------------------------------------------------ raytrace_mesh_lambert (bonus)


def _lambert(rays, triangles, light_dir, two_sided_abs=False, clamp=True):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    nearest_s, idx = s.masked_fill(~hit, float("inf")).min(dim=1)
    normals = t.linalg.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    n = (normals / normals.norm(dim=-1, keepdim=True))[idx]
    to_light = -light_dir / light_dir.norm()
    if two_sided_abs:
        b = (n * to_light).sum(-1).abs()
    else:
        n = t.where(((n * rays[:, 1]).sum(-1) > 0)[:, None], -n, n)
        b = (n * to_light).sum(-1)
    if clamp:
        b = b.clamp(min=0)
    return t.where(t.isfinite(nearest_s), b, t.zeros_like(b))


@wrong("raytrace_mesh_lambert", "|n . l| instead of facing the normal to the camera (lit from behind)")
def raytrace_mesh_lambert_abs(rays, triangles, light_dir):
    return _lambert(rays, triangles, light_dir, two_sided_abs=True)


@wrong("raytrace_mesh_lambert", "no clamp at 0 (negative brightness)")
def raytrace_mesh_lambert_unclamped(rays, triangles, light_dir):
    return _lambert(rays, triangles, light_dir, clamp=False)


@right("raytrace_mesh_lambert", "the same maths, written with einsum")
def raytrace_mesh_lambert_einsum(rays, triangles, light_dir):
    s, u, v, singular = _mesh_solve(rays, triangles)
    hit = (s >= 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & ~singular
    nearest_s, idx = t.where(hit, s, t.inf).min(dim=1)
    tri = triangles[idx]
    n = t.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = n / n.norm(dim=-1, keepdim=True)
    n = n * -t.sign(t.einsum("rc,rc->r", n, rays[:, 1])).masked_fill(
        t.einsum("rc,rc->r", n, rays[:, 1]) == 0, -1)[:, None]
    b = t.einsum("rc,c->r", n, -light_dir / light_dir.norm()).clamp(min=0)
    return b * t.isfinite(nearest_s)
