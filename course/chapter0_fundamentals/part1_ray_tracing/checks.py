"""Checks for part 0.1: strict about behaviour (hits, misses, order, shapes, types), relaxed about method."""

# ruff: noqa: E741  (O is the ray origin, as in the maths)

from __future__ import annotations

import numpy as np
import torch as t

from arena.checking import CheckFailure, describe_tensor, expect_close, expect_shape, expect_type

from . import solutions as ref


def _t(values) -> t.Tensor:
    return t.tensor(values, dtype=t.float32)


def _as_bool(got: object, what: str) -> bool:
    """Accept a Python bool, a numpy bool or a bool tensor with one element; reject anything else."""
    if isinstance(got, bool | np.bool_):
        return bool(got)
    if isinstance(got, t.Tensor) and got.dtype == t.bool and got.numel() == 1:
        return bool(got)
    if isinstance(got, t.Tensor):
        raise CheckFailure(f"{what} should return a bool (or a bool tensor with one element), but returned "
                           f"a tensor of dtype {got.dtype} and shape {tuple(got.shape)}. Comparisons such as "
                           "`u >= 0` give bool tensors; combine them with & and return the result.")
    raise CheckFailure(f"{what} should return a bool, but returned {type(got).__name__}: {got!r}")


def _expect_bool_tensor(got: object, n: int, what: str) -> t.Tensor:
    expect_type(got, t.Tensor, what)
    if got.dtype != t.bool:
        raise CheckFailure(f"{what} should be a bool tensor (one True/False per ray), got dtype {got.dtype}")
    expect_shape(got, (n,), what)
    return got


def _call_singular(fn, args: tuple, what: str, case: str) -> object:
    """Call the learner's function on a singular system; a crash there is a wrong answer, not a bug in the check."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001
        raise CheckFailure(
            f"{what} raised {type(err).__name__} on {case}. That linear system is singular (no unique "
            "solution); it should count as no intersection instead of raising. Check the determinant "
            f"first. ({str(err).splitlines()[0] if str(err) else ''})") from None


# ------------------------------------------------------------------------ make_rays_1d


def check_make_rays_1d(make_rays_1d) -> str:
    for num_pixels, limits in [(9, (-10.0, 10.0)), (2, (-1.0, 1.0)), (5, (-0.5, 1.5)), (13, (0.25, 3.0))]:
        what = f"make_rays_1d({num_pixels}, {limits})"
        got = make_rays_1d(num_pixels, limits)
        expect_type(got, t.Tensor, what)
        if not got.is_floating_point():
            raise CheckFailure(f"{what} should be a float tensor, got dtype {got.dtype}")
        expect_shape(got, (num_pixels, 2, 3), what)
        want = ref.make_rays_1d(num_pixels, limits)
        if not t.allclose(got[:, 0].float(), want[:, 0]):
            raise CheckFailure(f"{what}: every ray's origin (rays[:, 0]) should be (0, 0, 0); got e.g. "
                               f"{describe_tensor(got[0, 0])}")
        ys = got[:, 1, 1].float()
        if abs(ys[0] - limits[0]) > 1e-5 or abs(ys[-1] - limits[1]) > 1e-5:
            raise CheckFailure(f"{what}: the y of the directions should run from {limits[0]} to {limits[1]} "
                               f"with both ends included; got first {ys[0].item():.4g}, last "
                               f"{ys[-1].item():.4g}. Is your range closed at both ends?")
        expect_close(got.float(), want, what)
    return "closed interval, shapes and values for 2 to 13 pixels"


# ------------------------------------------------------------------------ ray_points


def check_ray_points(ray_points) -> str:
    from jaxtyping import TypeCheckError

    g = t.Generator().manual_seed(3)
    for nrays, npoints in [(4, 4), (3, 5), (1, 2)]:
        rays, us = t.randn(nrays, 2, 3, generator=g), t.linspace(-1.0, 2.0, npoints)
        what = f"ray_points(rays of shape ({nrays}, 2, 3), us of shape ({npoints},))"
        try:
            got = ray_points(rays, us)
        except TypeCheckError as err:
            lines = [line for line in str(err).splitlines() if line.strip() and not line.startswith("---")]
            raise CheckFailure(f"{what}: jaxtyping's runtime check rejected your function's own result, so it does "
                               f"not have the annotated shape (nrays, npoints, 3):\n  " + "\n  ".join(lines[:4])
                               + "\nWith nrays == npoints, a mis-broadcast product such as "
                               "`us[:, None] * rays[:, 1]` gives (n, 3) without any error from torch.") from None
        expect_type(got, t.Tensor, what)
        expect_shape(got, (nrays, npoints, 3), what)
        expect_close(got, ref.ray_points(rays, us), what)
    flat = t.randn(4, 3, generator=g)
    try:
        ray_points(flat, t.linspace(0.0, 1.0, 4))
    except TypeCheckError:
        pass
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - any other error means the shapes were not checked first
        raise CheckFailure(f"ray_points(rays of shape (4, 3), ...) raised {type(err).__name__} from inside the "
                           "function; with runtime shape checking on, jaxtyping should reject the argument before the "
                           "body runs. Keep the `@jaxtyped(typechecker=beartype)` decorator.") from None
    else:
        raise CheckFailure("ray_points(rays of shape (4, 3), us of shape (4,)) returned a result: rays should be "
                           "(nrays, 2, 3). Keep the `@jaxtyped(typechecker=beartype)` decorator so that jaxtyping "
                           "checks the shapes at every call.")
    return "values and shape (nrays, npoints, 3), nrays == npoints, and runtime shape checking on"


# ------------------------------------------------------------------------ intersect_ray_1d

RAY_1D_CASES = [
    # (description, ray, segment, expected)
    ("ray along +x, segment crossing the x-axis at x=2", [[0, 0, 0], [1, 0, 0]], [[2, -1, 0], [2, 1, 0]], True),
    ("segment above the ray's line (v would be outside [0, 1])", [[0, 0, 0], [1, 0, 0]], [[2, 1, 0], [2, 3, 0]], False),
    ("segment *behind* the ray's origin (u < 0)", [[0, 0, 0], [1, 0, 0]], [[-2, -1, 0], [-2, 1, 0]], False),
    ("segment behind the origin of a diagonal ray", [[1, 1, 0], [1, 1, 0]], [[0, -1, 0], [-1, 1, 0]], False),
    ("ray through the segment's start point L1 (v = 0)", [[0, 0, 0], [1, 1, 0]], [[2, 2, 0], [2, -1, 0]], True),
    ("ray through the segment's end point L2 (v = 1)", [[0, 0, 0], [1, 1, 0]], [[2, -1, 0], [2, 2, 0]], True),
    ("ray not starting at the origin, z ignored", [[1, 2, 5], [1, -1, 7]], [[3, 3, 1], [3, -3, -4]], True),
    ("ray missing just past the segment's end", [[0, 0, 0], [1, 1, 0]], [[2, -1, 0], [2, 1.5, 0]], False),
    ("ray starting on the segment (u = 0)", [[1, 1, 0], [1, 0, 0]], [[1, 0, 0], [1, 3, 0]], True),
    ("ray through an end point, not from the origin (u = 2, v = 1)", [[0, 1, 0], [3, -1, 0]],
     [[6, 5, 0], [6, -1, 0]], True),
    ("a short direction and a short segment: |det M| = 2e-6, small but above the 1e-8 threshold",
     [[0, 0, 0], [1e-3, 0, 0]], [[2, -1e-3, 0], [2, 1e-3, 0]], True),
]

PARALLEL_1D_CASES = [
    ("a segment parallel to the ray, off its line", [[0, 0, 0], [1, 0.5, 0]], [[0, 1, 0], [2, 2, 0]]),
    ("a segment lying on the ray's own line (collinear)", [[0, 0, 0], [1, 0, 0]], [[1, 0, 0], [3, 0, 0]]),
]


def check_intersect_ray_1d(intersect_ray_1d) -> str:
    for desc, ray, segment, want in RAY_1D_CASES:
        what = f"intersect_ray_1d for {desc} (ray={ray}, segment={segment})"
        got = _as_bool(intersect_ray_1d(_t(ray), _t(segment)), what)
        if got != want:
            raise CheckFailure(f"{what}: expected {want}, got {got}")
    for desc, ray, segment in PARALLEL_1D_CASES:
        what = f"intersect_ray_1d for {desc} (ray={ray}, segment={segment})"
        got = _as_bool(_call_singular(intersect_ray_1d, (_t(ray), _t(segment)), "intersect_ray_1d", desc), what)
        if got:
            raise CheckFailure(f"{what}: expected False (parallel or degenerate systems count as misses), got True")
    return (f"{len(RAY_1D_CASES)} hit/miss cases (behind the origin, segment ends, starting on the segment, a small "
            "determinant) and 2 parallel cases")


# ------------------------------------------------------------------------ intersect_rays_1d


def _random_rays_and_segments(seed: int, nrays: int, nsegments: int) -> tuple[t.Tensor, t.Tensor]:
    g = t.Generator().manual_seed(seed)
    rays = t.zeros(nrays, 2, 3)
    rays[:, 0, :2] = t.randn(nrays, 2, generator=g) * 0.5
    rays[:, 1, :2] = t.randn(nrays, 2, generator=g)
    segments = t.randn(nsegments, 2, 3, generator=g) * 2
    return rays, segments


def check_intersect_rays_1d(intersect_rays_1d) -> str:
    rays = ref.make_rays_1d(9, (-10.0, 10.0))
    segments = _t([[[1.0, -12.0, 0.0], [1, -6, 0]], [[0.5, 0.7, 0.0], [1, 1, 0]], [[2, 12.0, 0.0], [2, 21, 0]]])
    cases = [("9 rays from make_rays_1d(9, (-10, 10)) and 3 segments", rays, segments)]
    # Segments behind the origin: only the mirror images of the rays would hit them.
    cases.append(("rays against segments lying behind their origin", rays[:4], -segments))
    # Parallel pairs, mixed with a real hit so that "any" matters.
    par_rays = _t([[[0, 0, 0], [1, 0, 0]], [[0, 0, 0], [1, 0.5, 0]], [[0, 1, 0], [1, 0, 0]]])
    par_segments = _t([[[1, 0, 0], [3, 0, 0]], [[0, 1, 0], [2, 2, 0]], [[4, 1, 0], [4, 3, 0]]])
    cases.append(("rays parallel to some of the segments (collinear and offset)", par_rays, par_segments))
    # Each of these rays hits exactly one segment, and only at an edge case of the rule.
    edge_rays = _t([[[0, 0, 0], [1, 1, 0]],  # through segment 0's start point (v = 0)
                    [[0, 0, 0], [1, -0.5, 0]],  # through segment 1's end point (v = 1)
                    [[5, 7, 0], [1, 0, 0]],  # starting on segment 2 (u = 0)
                    [[0, 0, 0], [1e-3, 0, 0]]])  # a short direction: |det| = 2e-6 with segment 3
    edge_segments = _t([[[2, 2, 0], [2, 5, 0]], [[4, -6, 0], [4, -2, 0]], [[5, 6, 0], [5, 9, 0]],
                        [[2, -1e-3, 0], [2, 1e-3, 0]]])
    cases.append(("rays hitting only a segment's end point, starting on a segment, or with |det| = 2e-6 "
                  "(all 4 are hits)", edge_rays, edge_segments))
    for seed, (nr, ns) in enumerate([(50, 7), (13, 40), (1, 5), (6, 1)]):
        r, s = _random_rays_and_segments(seed, nr, ns)
        cases.append((f"{nr} random rays and {ns} random segments (seed {seed})", r, s))
    for desc, r, s in cases:
        what = f"intersect_rays_1d on {desc}"
        if "parallel" in desc:
            got = _call_singular(intersect_rays_1d, (r, s), "intersect_rays_1d", desc)
        else:
            got = intersect_rays_1d(r, s)
        got = _expect_bool_tensor(got, len(r), what)
        expect_close(got, ref.intersect_rays_1d(r, s), what)
    return (f"{len(cases)} batches, incl. parallel segments, segments behind rays, end points, rays starting on a "
            "segment, small determinants and nrays != nsegments")


# ------------------------------------------------------------------------ nearest_segment


def check_nearest_segment(nearest_segment) -> str:
    # Segment 0 crosses the x-axis at x = 2 and segment 1 at x = 4; with their end points listed in
    # both orders, half of the systems have a negative determinant.
    near, far = [[2, -1, 0], [2, 1, 0]], [[4, -3, 0], [4, 3, 0]]
    rays = _t([[[0, 0, 0], [1, 0, 0]], [[0, 0, 0], [1, 0.6, 0]], [[0, 0, 0], [1, -0.6, 0]], [[3, 0, 0], [1, 0, 0]],
               [[0, 0, 0], [-1, 0, 0]], [[0, 0, 0], [1, 2, 0]], [[0, 0, 0], [0, 1, 0]]])
    cases = []
    for name, segs in [("near then far, each listed bottom to top", [near, far]),
                       ("near then far, each listed top to bottom", [near[::-1], far[::-1]]),
                       ("far (top to bottom) then near (bottom to top)", [far[::-1], near]),
                       ("far (bottom to top) then near (top to bottom)", [far, near[::-1]])]:
        cases.append((f"7 rays and 2 vertical segments, {name}", rays, _t(segs)))
    for seed, (nr, ns) in enumerate([(40, 6), (5, 12)]):
        r, sg = _random_rays_and_segments(seed + 10, nr, ns)
        cases.append((f"{nr} random rays and {ns} random segments (seed {seed + 10})", r, sg))
    for desc, r, sg in cases:
        what = f"nearest_segment on {desc}"
        got = nearest_segment(r, sg)
        expect_type(got, t.Tensor, what)
        if got.dtype not in (t.int64, t.int32):
            raise CheckFailure(f"{what} should be an integer tensor of segment indices, got dtype {got.dtype}")
        expect_shape(got, (len(r),), what)
        want = ref.nearest_segment(r, sg)
        bad = (got.long() != want).nonzero()
        if len(bad):
            i = int(bad[0])
            note = ""
            if int(want[i]) >= 0 and int(got[i]) == -1:
                j = int(want[i])
                D = r[i, 1, :2]
                det = t.linalg.det(t.stack([D, sg[j, 0, :2] - sg[j, 1, :2]], dim=-1)).item()
                note = (f" That system's determinant is {det:.3g}: is your singular test treating it as "
                        "singular? Step through the function in a debugger and print the mask for this pair.")
            raise CheckFailure(f"{what}: ray {i} (origin {r[i, 0, :2].tolist()}, direction "
                               f"{[round(x, 3) for x in r[i, 1, :2].tolist()]}) should give {int(want[i])}, got "
                               f"{int(got[i])} ({len(bad)} of {len(r)} rays differ).{note}")
    return "segments listed in both orders, nearest of two, misses as -1, rays pointing away, random batches"


# ------------------------------------------------------------------------ make_rays_2d


def check_make_rays_2d(make_rays_2d) -> str:
    for args in [(3, 5, 0.3, 0.5), (10, 4, 1.0, 2.0), (2, 2, 0.5, 0.5), (1, 3, 0.2, 0.7)]:
        what = f"make_rays_2d{args}"
        got = make_rays_2d(*args)
        expect_type(got, t.Tensor, what)
        ny, nz = args[0], args[1]
        expect_shape(got, (ny * nz, 2, 3), what)
        want = ref.make_rays_2d(*args)
        if ny > 1 and nz > 1:
            if t.allclose(got.float(), want.reshape(ny, nz, 2, 3).transpose(0, 1).reshape(-1, 2, 3), atol=1e-5) \
                    and not t.allclose(got.float(), want, atol=1e-5):
                raise CheckFailure(f"{what}: the rays are in the wrong order. y should vary slowest: ray 1 should "
                                   f"have the same y as ray 0 and the next z. Got ray 1 direction "
                                   f"{describe_tensor(got[1, 1])}, expected {describe_tensor(want[1, 1])}.")
            if not t.allclose(got[:, 1, 1].float().max(), t.tensor(args[2])):
                raise CheckFailure(f"{what}: the largest y should be y_limit = {args[2]} (both ends of the range "
                                   f"included); got {got[:, 1, 1].max().item():.4g}")
        expect_close(got.float(), want, what)
    return "shapes, y-slowest ordering and closed ranges on 4 grids"


# ------------------------------------------------------------------------ triangle_ray_intersects

TRIANGLE = [[2, 0, 0], [2, 1, 0], [2, 0, 1]]  # in the plane x = 2
TRIANGLE_CASES = [
    ("a ray through the middle of the triangle", [0, 0, 0], [1, 0.2, 0.2], True),
    ("a ray through the triangle, not from the origin", [1, 0.5, -1], [1, -0.25, 1.25], True),
    ("a ray passing beside the long edge (u + v > 1)", [0, 0, 0], [1, 0.4, 0.4], False),
    ("a ray passing outside (u < 0)", [0, 0, 0], [1, -0.1, 0.2], False),
    ("a ray pointing away from the triangle, which lies behind it (s < 0)", [0, 0, 0], [-1, -0.2, -0.2], False),
    ("a ray starting beyond the triangle, pointing away", [3, 0.2, 0.2], [1, 0, 0], False),
    ("a ray through the edge AB (v = 0, closed edges)", [0, 0, 0], [1, 0.25, 0], True),
    ("a ray through the edge BC (u + v = 1)", [0, 0, 0], [1, 0.25, 0.25], True),
    ("a ray through the edge CA (u = 0)", [0, 0, 0], [1, 0, 0.25], True),
    ("a ray through the vertex A (u = v = 0)", [0, 0, 0], [1, 0, 0], True),
    ("a ray through the vertex B (u = 1, v = 0)", [0, 0, 0], [1, 0.5, 0], True),
    ("a ray starting on the triangle, pointing away from the camera side (s = 0)", [2, 0.25, 0.25], [1, 0, 0], True),
    ("a ray starting on the triangle's edge AB (s = 0)", [2, 0.5, 0], [1, 0.3, 0.1], True),
]
SMALL_TRIANGLE = [[0.02, 0, 0], [0.02, 0.01, 0], [0.02, 0, 0.01]]  # TRIANGLE / 100
SINGULAR_TRIANGLE_CASES = [
    ("a ray parallel to the triangle's plane", TRIANGLE, [0, 0.2, 0.2], [0, 1, 0]),
    ("a ray lying in the triangle's plane", TRIANGLE, [2, -1, 0.25], [0, 1, 0]),
    ("a ray parallel to the plane, starting beside it at x = 2.5", TRIANGLE, [2.5, 0.2, 0.2], [0, 0, 1]),
    ("a degenerate triangle (A = B)", [[2, 0, 0], [2, 0, 0], [2, 0, 1]], [0, 0, 0], [1, 0, 0.5]),
]


def check_triangle_ray_intersects(triangle_ray_intersects) -> str:
    A, B, C = _t(TRIANGLE)
    for desc, O, D, want in TRIANGLE_CASES:
        what = f"triangle_ray_intersects for {desc} (A, B, C = {TRIANGLE}, O={O}, D={D})"
        got = _as_bool(triangle_ray_intersects(A, B, C, _t(O), _t(D)), what)
        if got != want:
            raise CheckFailure(f"{what}: expected {want}, got {got}")
    what = (f"triangle_ray_intersects for a small triangle and a short direction, |det| = 1e-6 (small, but above "
            f"the 1e-8 threshold) (A, B, C = {SMALL_TRIANGLE}, O=[0, 0, 0], D=[0.01, 0.002, 0.002])")
    if not _as_bool(triangle_ray_intersects(*_t(SMALL_TRIANGLE), _t([0, 0, 0]), _t([0.01, 0.002, 0.002])), what):
        raise CheckFailure(f"{what}: expected True, got False. Is your singular test's threshold larger than 1e-8?")
    for desc, tri, O, D in SINGULAR_TRIANGLE_CASES:
        what = f"triangle_ray_intersects for {desc} (A, B, C = {tri}, O={O}, D={D})"
        args = (*_t(tri), _t(O), _t(D))
        got = _as_bool(_call_singular(triangle_ray_intersects, args, "triangle_ray_intersects", desc), what)
        if got:
            raise CheckFailure(f"{what}: expected False (singular systems count as misses), got True")
    return (f"{len(TRIANGLE_CASES) + 1} hit/miss cases (edges, vertices, rays starting on the triangle, a small "
            f"determinant) and {len(SINGULAR_TRIANGLE_CASES)} singular ones")


# ------------------------------------------------------------------------ raytrace_triangle


def check_raytrace_triangle(raytrace_triangle) -> str:
    grid = ref.make_rays_2d(15, 11, 0.5, 0.6)
    triangle = _t([[2, 0.2, -0.5], [3, -0.4, 0.1], [2.5, 0.3, 0.6]])
    behind = grid.clone()
    behind[:, 1] = -behind[:, 1]  # the same rays pointing backwards: the triangle is behind them all
    shifted = grid.clone()
    shifted[:, 0] = _t([-1.0, 0.1, -0.1])
    parallel = _t([[[0, 0, 0], [0, 1, 0]], [[2, -1, 0.25], [0, 1, 0]], [[0, 0.2, 0.2], [1, 0.1, 0.1]],
                   [[2.5, 0.2, 0.2], [0, 0, 1]]])
    flat_triangle = _t([[2, 0, 0], [2, 1, 0], [2, 0, 1]])
    edge_rays = _t([[[0, 0, 0], [1, 0.25, 0.25]], [[0, 0, 0], [1, 0, 0.25]], [[0, 0, 0], [1, 0, 0]],
                    [[0, 0, 0], [1, 0.5, 0]], [[2, 0.25, 0.25], [1, 0, 0]], [[2, 0.5, 0], [1, 0.3, 0.1]],
                    [[0, 0, 0], [1, 0.25, 0.26]]])
    cases = [
        ("rays through edges BC and CA, vertices A and B, two starting on the triangle (all hits), and one "
         "just past the edge BC (a miss)", edge_rays, flat_triangle),
        ("a 15x11 grid of rays from make_rays_2d and a tilted triangle", grid, triangle),
        ("the same rays reversed (the triangle is behind every ray)", behind, triangle),
        ("the grid from origin (-1, 0.1, -0.1)", shifted, triangle),
        ("rays parallel to the triangle's plane x = 2 (and one hitting it)", parallel, flat_triangle),
    ]
    for desc, rays, tri in cases:
        what = f"raytrace_triangle on {desc}"
        if "parallel" in desc:
            got = _call_singular(raytrace_triangle, (rays, tri), "raytrace_triangle", desc)
        else:
            got = raytrace_triangle(rays, tri)
        got = _expect_bool_tensor(got, len(rays), what)
        want = ref.raytrace_triangle(rays, tri)
        if desc.startswith("the same rays reversed") and got.any():
            i = int(got.nonzero()[0])
            raise CheckFailure(f"{what}: ray {i} points away from the triangle (s < 0) but was counted as a hit. "
                               "Only points in front of the origin (s >= 0) count.")
        expect_close(got, want, what)
    return "edges, vertices and rays starting on the triangle, a 165-ray grid, rays pointing away, a moved origin, parallel rays"


# ------------------------------------------------------------------------ raytrace_mesh


def _mesh_case() -> tuple[t.Tensor, t.Tensor]:
    g = t.Generator().manual_seed(7)
    centres = t.stack([t.rand(24, generator=g) * 3 - 1.0, t.randn(24, generator=g) * 0.4,
                       t.randn(24, generator=g) * 0.4], dim=1)
    triangles = centres[:, None, :] + t.randn(24, 3, 3, generator=g) * 0.5
    return ref.make_rays_2d(12, 9, 0.6, 0.5), triangles


def check_raytrace_mesh(raytrace_mesh) -> str:
    grid, triangles = _mesh_case()  # some triangles lie behind the origin (x < 0)
    stacked = _t([[[2, -1, -1], [2, 1, -1], [2, 0, 1]],  # nearer, covers the centre
                  [[4, -3, -3], [4, 3, -3], [4, 0, 3]],  # farther and larger
                  [[-1, -3, -3], [-1, 3, -3], [-1, 0, 3]]])  # behind the camera
    long_rays = grid.clone()
    long_rays[:, 1] *= 2.5  # distances are in units of the direction vector
    parallel = _t([[[0, 0, 0], [0, 1, 0]], [[0, 0, 0], [1, 0, 0]], [[3, 0, 0], [1, 0, 0]], [[0, 0, 0], [1, 2, 2]],
                   [[2.5, -0.8, -0.8], [0, 1, 0]]])
    cases = [
        ("a 12x9 grid of rays and 24 random triangles (some behind the origin)", grid, triangles),
        ("the grid and 3 stacked triangles at x = 2, 4 and -1 (behind)", grid, stacked),
        ("rays with direction vectors 2.5 times longer", long_rays, stacked),
        ("rays parallel to the triangles, one starting between them, one missing everything", parallel, stacked),
        ("rays starting on the triangle at x = 2 (distance 0) and through its vertices",
         _t([[[2, 0, 0], [1, 0, 0]], [[2, 0.5, -0.5], [1, 0.1, 0]], [[0, 0, 0], [2, -1, -1]], [[0, 0, 0], [2, 0, 1]]]),
         stacked),
    ]
    for desc, rays, tris in cases:
        what = f"raytrace_mesh on {desc}"
        if "parallel" in desc:
            got = _call_singular(raytrace_mesh, (rays, tris), "raytrace_mesh", desc)
        else:
            got = raytrace_mesh(rays, tris)
        expect_type(got, t.Tensor, what)
        if not got.is_floating_point():
            raise CheckFailure(f"{what} should be a float tensor of distances, got dtype {got.dtype}")
        expect_shape(got, (len(rays),), what)
        want = ref.raytrace_mesh(rays, tris)
        miss = t.isinf(want)
        if miss.any() and (got[miss] == 0).any():
            i = int(t.nonzero(miss & (got == 0))[0])
            raise CheckFailure(f"{what}: ray {i} hits nothing, so its distance should be inf; got 0. "
                               "Fill misses with float('inf') so that the nearest hit is the minimum.")
        expect_close(got.float(), want, what, rtol=1e-3, atol=1e-4)
    return "nearest hit, misses as inf, triangles behind the camera, direction scale, parallel rays, distance 0"


# ------------------------------------------------------------------------ raytrace_mesh_lambert (bonus)


def check_raytrace_mesh_lambert(raytrace_mesh_lambert) -> str:
    grid, triangles = _mesh_case()
    stacked = _t([[[2, -1, -1], [2, 1, -1], [2, 0, 1]], [[4, -3, -3], [4, 0, 3], [4, 3, -3]]])
    cases = [
        ("a 12x9 grid of rays and 24 random triangles, light along (1, -1, -1)", grid, triangles, [1, -1, -1]),
        ("2 stacked triangles (opposite windings), light along (1, 0.5, 0)", grid, stacked, [1, 0.5, 0]),
        ("2 stacked triangles, light from behind them along (-2, 0, 0)", grid, stacked, [-2, 0, 0]),
    ]
    for desc, rays, tris, light in cases:
        what = f"raytrace_mesh_lambert on {desc}"
        got = raytrace_mesh_lambert(rays, tris, _t(light))
        expect_type(got, t.Tensor, what)
        expect_shape(got, (len(rays),), what)
        expect_close(got.float(), ref.raytrace_mesh_lambert(rays, tris, _t(light)), what, rtol=1e-3, atol=1e-4)
    return "brightness of the nearest triangle, two-sided normals, clamped at 0, misses 0"
