"""The lesson's figure captions describe what the figures, computed from the same data, actually show."""

from __future__ import annotations

import torch as t

from arena.catalog import all_parts
from arena.lesson import load_lesson
from course.chapter0_fundamentals.part1_ray_tracing import figures
from course.chapter0_fundamentals.part1_ray_tracing import solutions as sol

PART = next(p for p in all_parts() if p.id == "0.1")


def _caption(name: str) -> str:
    bodies = [d.body for d in load_lesson(PART).directives("figure") if d.name == name]
    assert len(bodies) == 1, f"figure {name} should appear once in the lesson"
    return " ".join(bodies[0].split())


def test_rays_1d_caption_names_the_segments_the_rays_hit() -> None:
    """"rays 0, 1 hit segment 0; no ray hits segment 1; rays 7, 8 hit segment 2. Segment 1 ... falls in the gap
    between rays 4 and 5\""""
    hits = figures.rays_1d_hits()
    assert figures.describe_hits(hits) in _caption("rays_1d")
    assert figures.describe_hits(hits) in figures.rays_1d().layout.title.text
    # "falls in the gap between rays 4 and 5": both ends of segment 1 are seen at slopes between theirs.
    rays = sol.make_rays_1d(9, (-10.0, 10.0))
    slopes = figures.SEGMENTS_1D[1, :, 1] / figures.SEGMENTS_1D[1, :, 0]
    assert (slopes > rays[4, 1, 1]).all() and (slopes < rays[5, 1, 1]).all()
    assert "between rays 4 and 5" in _caption("rays_1d")


def test_describe_hits_would_notice_a_wrong_caption() -> None:
    """Negative control: a hit table with segment 1 hit is described differently."""
    assert figures.describe_hits({0: [0, 1], 1: [4], 2: [7, 8]}) not in _caption("rays_1d")


def test_screen_2d_caption_first_six_rays_share_y() -> None:
    """"The first six rays (red) share the first y and run through every z, because y varies slowest.\""""
    assert "first six rays" in _caption("screen_2d")
    rays = sol.make_rays_2d(8, 6, 0.3, 0.5)
    first = rays[:6, 1]
    assert (first[:, 1] == first[0, 1]).all() and len(set(first[:, 2].tolist())) == 6
    assert rays[6, 1, 1] != rays[0, 1, 1]


def test_pawn_captions_count_what_is_drawn() -> None:
    """"the nearest of the pawn's 640 triangles" and "Twelve 64×64 frames\""""
    assert f"pawn's {len(sol.load_mesh())} triangles" in _caption("pawn_depth")
    assert "Twelve 64×64 frames" in _caption("pawn_rotation")
    fig = figures.pawn_rotation()
    assert len(fig.frames) == 12 and t.tensor(fig.frames[0].data[0].z).shape == (64, 64)


def test_triangle_render_caption_size() -> None:
    """"The same triangle at 120×120.\""""
    assert "120×120" in _caption("triangle_render")
    assert t.tensor(figures.triangle_render().data[0].z).shape == (120, 120)


def _step_point(fig, slider: int, label: str) -> tuple[float, float, str]:
    step = next(s for s in fig.layout.sliders[slider].steps if s.label == label)
    update = step.args[0]
    return update["x"][0][0], update["y"][0][0], update["marker.color"][0][0]


def test_ray_segment_sliders_meet_where_the_caption_says() -> None:
    """"The two points meet only at u = 2, v = 0.5, the solution of the 2 × 2 system.\""""
    fig = figures.ray_segment_sliders()
    assert len(fig.layout.sliders) == 2
    u, v = figures.slider_solution()
    caption = _caption("ray_segment_sliders")
    assert f"$u = {u:g}, v = {v:g}$" in caption
    O, D = figures.SLIDER_RAY[0, :2].tolist(), figures.SLIDER_RAY[1, :2].tolist()  # noqa: E741
    L1, L2 = figures.SLIDER_SEGMENT[0, :2].tolist(), figures.SLIDER_SEGMENT[1, :2].tolist()
    assert f"$O = ({O[0]:g}, {O[1]:g})$" in caption and f"$D = ({D[0]:g}, {D[1]:g})$" in caption
    assert f"$L_1 = ({L1[0]:g}, {L1[1]:g})$" in caption and f"$L_2 = ({L2[0]:g}, {L2[1]:g})$" in caption
    ray_point = _step_point(fig, 0, f"{u:g}")
    segment_point = _step_point(fig, 1, f"{v:g}")
    assert abs(ray_point[0] - segment_point[0]) < 1e-6 and abs(ray_point[1] - segment_point[1]) < 1e-6
    assert _step_point(fig, 0, "-1")[2] == "#aaaaaa" and _step_point(fig, 1, "1.5")[2] == "#aaaaaa"
    assert ray_point[2] != "#aaaaaa" and segment_point[2] != "#aaaaaa"
    other = _step_point(fig, 1, "0.75")  # negative control: another v is elsewhere
    assert abs(ray_point[1] - other[1]) > 0.5


def test_barycentric_sliders_colour_exactly_the_inside() -> None:
    """"A line is green exactly where it runs inside the triangle ... every point with u = 0 lies on the line
    through A and C\""""
    fig = figures.barycentric_sliders()
    assert len(fig.layout.sliders) == 2
    A, B, C = figures.SLIDER_TRIANGLE
    for slider in fig.layout.sliders:
        for step in slider.steps:
            update = step.args[0]
            for x, y, colour in zip(update["x"][0], update["y"][0], update["marker.color"][0], strict=True):
                # Barycentric coordinates of (x, y), solved independently of the figure code.
                u, v = t.linalg.solve(t.stack([B - A, C - A], dim=-1).double(),
                                      (t.tensor([x, y]) - A).double()).tolist()
                inside = u >= -1e-6 and v >= -1e-6 and u + v <= 1 + 1e-6  # float32 positions
                assert (colour == "#2ca02c") == inside, (step.label, u, v, colour)
    u0 = next(s for s in fig.layout.sliders[0].steps if s.label == "0").args[0]
    for x, y in zip(u0["x"][0], u0["y"][0], strict=True):  # u = 0: on the line through A and C
        cross = (C - A)[0] * (y - A[1]) - (C - A)[1] * (x - A[0])
        assert abs(float(cross)) < 1e-5
    assert "line through $A$ and $C$" in _caption("barycentric_sliders")
