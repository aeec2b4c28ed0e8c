"""The computational-graph figures of lesson 0.5 are read from the recipes and agree with the hand-written chain."""

from __future__ import annotations

import numpy as np

from course.chapter0_fundamentals.part5_backprop import figures
from course.chapter0_fundamentals.part5_backprop import solutions as ref


def _named(layout: dict) -> tuple[dict, set]:
    nodes = {v[0]: v for v in layout["nodes"].values()}
    edges = {(layout["nodes"][p][0], layout["nodes"][c][0], op, back) for p, c, op, back in layout["edges"]}
    return nodes, edges


def test_worked_example_graph_is_the_recipes_and_its_gradients_match_forward_and_back() -> None:
    g, names = figures.worked_example()
    nodes, edges = _named(figures.graph_layout(g, names))
    assert edges == {("a", "d", "multiply", "multiply_back0"), ("b", "d", "multiply", "multiply_back1"),
                     ("c", "e", "log", "log_back"), ("d", "f", "multiply", "multiply_back0"),
                     ("e", "f", "multiply", "multiply_back1"), ("f", "g", "log", "log_back")}
    da, db, dc = ref.forward_and_back(np.array([2.0]), np.array([3.0]), np.array([4.0]))
    for name, want in [("a", da), ("b", db), ("c", dc), ("g", np.ones(1))]:
        np.testing.assert_allclose(nodes[name][4], want)
    assert [nodes[n][1] for n in "abcdefg"] == [0, 0, 0, 1, 1, 2, 3]  # depth = longest path from a leaf


def test_used_twice_graph_sums_two_contributions() -> None:
    """"Two red arrows end at a ... a's gradient is their sum, log(ab) + 1\""""
    c, names = figures.used_twice_example()
    nodes, edges = _named(figures.graph_layout(c, names))
    into_a = [e for e in edges if e[0] == "a"]
    assert len(into_a) == 2
    a, b = nodes["a"][3], nodes["b"][3]
    np.testing.assert_allclose(nodes["a"][4], np.log(a * b) + 1)
    np.testing.assert_allclose(nodes["b"][4], a / b)


def test_figures_draw_every_edge_both_ways() -> None:
    fig = figures.computational_graph()
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 2 * 6  # forward and backward for each of the 6 edges
    labels = {a.text for a in fig.layout.annotations if not a.showarrow}
    assert {"multiply_back0", "multiply_back1", "log_back"} <= labels
