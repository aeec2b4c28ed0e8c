"""Figures for part 1.3, computed on course-gpt with the reference solutions.

The light ones (logit lens, head attribution, attention) run the model (one forward pass, a second or
two); the patching sweeps read `assets/course_gpt_ioi.json`, which `assets/analyse.py` writes with the
same reference functions and `tests/test_part1_3_claims.py` recomputes."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import plotly.graph_objects as go
import torch as t
from plotly.subplots import make_subplots

from arena.plotting import HTMLFigure, attention_patterns, imshow, line

from . import findings
from . import solutions as ref

N_PROMPTS = 40


@lru_cache(maxsize=1)
def _run() -> dict:
    t.set_num_threads(min(t.get_num_threads(), 2))
    model = ref.load_ioi_model("course-gpt")
    ds = ref.IOIDataset.make(model.tokenizer, N_PROMPTS)
    with t.no_grad():
        logits, cache = model.run_with_cache(ds.toks)
    dirs = ref.logit_diff_directions(model, ds.answer_tokens)
    return dict(model=model, ds=ds, cache=cache, dirs=dirs)


def _head_labels(n_layers: int, n_heads: int) -> tuple[list[str], list[str]]:
    return [f"H{h}" for h in range(n_heads)], [f"L{layer}" for layer in range(n_layers)]


def logit_lens() -> go.Figure:
    s = _run()
    accumulated, labels = s["cache"].accumulated_resid(layer=-1, incl_mid=True, pos_slice=-1, return_labels=True)
    values = ref.residual_stack_to_logit_diff(accumulated, s["cache"], s["dirs"])
    return line(values, x=labels, title="Logit lens: logit difference after each half-layer (course-gpt)",
                labels={"x": "residual stream after", "y": "logit difference"})


def head_dla() -> go.Figure:
    s = _run()
    model = s["model"]
    stack = s["cache"].stack_head_results(layer=-1, pos_slice=-1)
    values = ref.residual_stack_to_logit_diff(stack, s["cache"], s["dirs"]).reshape(model.cfg.n_layers, model.cfg.n_heads)
    x, y = _head_labels(model.cfg.n_layers, model.cfg.n_heads)
    return imshow(values, x=x, y=y, title="Direct logit attribution per head (course-gpt)",
                  labels={"x": "head", "y": "layer"})


def top_head_attention() -> HTMLFigure:
    s = _run()
    model, cache, ds = s["model"], s["cache"], s["ds"]
    stack = cache.stack_head_results(layer=-1, pos_slice=-1)
    dla = ref.residual_stack_to_logit_diff(stack, cache, s["dirs"])
    top = dla.abs().topk(4).indices.tolist()
    heads = [divmod(i, model.cfg.n_heads) for i in top]
    pattern = t.stack([cache["pattern", layer][0, head] for layer, head in heads])
    tokens = [model.tokenizer.decode([tok]) for tok in ds.toks[0].tolist()]
    return attention_patterns(tokens, pattern, [f"{layer}.{head}" for layer, head in heads], height=550)


def _results() -> dict:
    return findings.load_results()


def resid_pre_patching() -> go.Figure:
    r = _results()
    values = t.tensor(r["resid_pre_patching"])
    tokens = r["prompt_0_tokens"]
    x = [f"{i}: {tok}" for i, tok in enumerate(tokens)]
    return imshow(values, x=x, y=[f"L{layer}" for layer in range(len(values))],
                  title="Activation patching of resid_pre (clean into corrupted), course-gpt",
                  labels={"x": "position (tokens of prompt 0)", "y": "layer"})


def head_out_patching() -> go.Figure:
    values = t.tensor(_results()["head_out_patching"])
    x, y = _head_labels(*values.shape)
    return imshow(values, x=x, y=y, title="Activation patching of each head's output (all positions), course-gpt",
                  labels={"x": "head", "y": "layer"})


def path_to_final() -> go.Figure:
    values = t.tensor(_results()["path_to_final"])
    x, y = _head_labels(*values.shape)
    return imshow(values, x=x, y=y, title="Path patching head → final residual stream (metric − 1), course-gpt",
                  labels={"x": "head", "y": "layer"})


def head_type_scores() -> go.Figure:
    r = _results()
    kinds = [("duplicate", "duplicate-token"), ("prev", "previous-token"), ("induction", "induction")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[title for _, title in kinds])
    for col, (key, _) in enumerate(kinds, start=1):
        values = r[f"{key}_scores"]
        fig.add_trace(go.Heatmap(z=values, x=[f"H{h}" for h in range(len(values[0]))],
                                 y=[f"L{layer}" for layer in range(len(values))], zmin=0, zmax=1,
                                 colorscale="Blues", showscale=col == 3), row=1, col=col)
        fig.update_yaxes(autorange="reversed", row=1, col=col)
    fig.update_layout(title="Head scores on repeated random tokens (course-gpt)", height=350)
    return fig


# ------------------------------------------------------------------ the course-gpt findings boxes


def _markdown_inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", text)


def _box(section: str, title: str) -> HTMLFigure:
    claims = findings.SECTIONS[section](_results())
    items = "".join(f"<li>{_markdown_inline(c.text)}</li>" for c in claims)
    body = (f"<div style='border-left:4px solid #4a7;padding:0.4em 1em;background:#f4fbf6;font-family:sans-serif;"
            f"font-size:15px;line-height:1.45'><b>{html.escape(title)}</b><ul>{items}</ul>"
            "<small>Measured by <code>assets/analyse.py</code>; each sentence is asserted by "
            "<code>tests/test_part1_3_claims.py</code> on the shipped model.</small></div>")
    return HTMLFigure(body, height=110 + 62 * len(claims))


def course_gpt_task() -> HTMLFigure:
    return _box("task", "course-gpt: the task")


def course_gpt_dla() -> HTMLFigure:
    return _box("dla", "course-gpt: who writes the answer")


def course_gpt_patching() -> HTMLFigure:
    return _box("patching", "course-gpt: what activation patching shows")


def course_gpt_path() -> HTMLFigure:
    return _box("path", "course-gpt: what path patching shows")


def course_gpt_replication() -> HTMLFigure:
    return _box("replication", "course-gpt: head types and a minimal circuit")
