"""Figures for part 1.1, computed from course-gpt (or its stand-in) and from the recorded training run."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import torch

from arena.plotting import HTMLFigure, attention_patterns

from . import checks

RUN_FILE = Path(__file__).parent / "assets" / "training_run.json"
NEXT_TOKEN_PROMPT = " Mary and John went to the park. Mary gave a ball to"
QUIRK_STRINGS = [" Mary gave a ball to John.", "Mary gave a ball to John.", " MARY", " mary",
                 " Tom has 12345 apples.", " The transformer attends."]


def recorded_run() -> dict:
    return json.loads(RUN_FILE.read_text(encoding="utf-8"))


def _table(header: list[str], columns: list[list[str]], height: int = 320) -> go.Figure:
    fig = go.Figure(go.Table(header=dict(values=header, align="left"),
                             cells=dict(values=columns, align="left", font=dict(family="monospace"))))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def tokenizer_quirks() -> go.Figure:
    tok = checks.tokenizer()
    pieces = [" | ".join(repr(tok.decode([i]))[1:-1] for i in tok.encode(s)) for s in QUIRK_STRINGS]
    counts = [str(len(tok.encode(s))) for s in QUIRK_STRINGS]
    return _table(["text", "tokens", "pieces (our tokenizer)"], [[repr(s) for s in QUIRK_STRINGS], counts, pieces])


def _last_logits(prompt: str) -> torch.Tensor:
    model = checks.reference_demo()
    ids = checks.ref.encode_prompt(checks.tokenizer(), prompt)
    with torch.no_grad():
        return model(ids[None])[0, -1]


def next_token_predictions() -> go.Figure:
    probs = _last_logits(NEXT_TOKEN_PROMPT).softmax(-1)
    top = probs.topk(10)
    labels = [repr(checks.tokenizer().decode([int(i)])) for i in top.indices]
    fig = go.Figure(go.Bar(x=labels, y=top.values.tolist()))
    fig.update_layout(xaxis_title="next token", yaxis_title="probability", height=380,
                      title=f"After {NEXT_TOKEN_PROMPT.strip()!r}")
    return fig


def temperature_effect() -> go.Figure:
    logits = _last_logits(NEXT_TOKEN_PROMPT)
    order = logits.topk(12).indices
    labels = [repr(checks.tokenizer().decode([int(i)])) for i in order]
    fig = go.Figure()
    for temperature in (0.5, 1.0, 2.0):
        probs = (logits / temperature).softmax(-1)[order]
        fig.add_trace(go.Bar(x=labels, y=probs.tolist(), name=f"T = {temperature}"))
    fig.update_layout(barmode="group", xaxis_title="next token", yaxis_title="probability", height=380)
    return fig


def attention_patterns_course_gpt() -> HTMLFigure:
    model = checks.reference_model()
    text = " Lily found a red kite. She gave the kite to Tom, and Tom flew it."
    tokens = model.to_tokens(text)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    pattern = cache["blocks.0.attn.hook_pattern"][0]
    return attention_patterns(model.to_str_tokens(tokens), pattern,
                              [f"0.{h}" for h in range(pattern.shape[0])], height=520)


def small_run_loss_curve() -> go.Figure:
    run = recorded_run()
    rows = run["history"]
    fig = go.Figure(go.Scatter(x=[r["step"] for r in rows], y=[r["val_loss"] for r in rows], mode="lines+markers",
                               name="validation loss"))
    fig.add_trace(go.Scatter(x=[r["step"] for r in rows if r["train_loss"] is not None],
                             y=[r["train_loss"] for r in rows if r["train_loss"] is not None], mode="lines",
                             name="training loss (one batch)", line=dict(dash="dot")))
    for name, value in run["baselines"].items():
        fig.add_hline(y=value, line_dash="dash", annotation_text=f"{name} baseline ({value:.2f})",
                      annotation_position="top right")
    fig.update_layout(xaxis_title="training step", yaxis_title="loss (nats per token)", height=420)
    return fig


def small_run_samples() -> go.Figure:
    samples = recorded_run()["samples"]
    return _table(["step", "greedy continuation"], [[str(s["step"]) for s in samples],
                                                    [repr(s["text"]) for s in samples]], height=300)


def course_gpt_loss_curve() -> go.Figure:
    from arena import zoo

    try:
        history = zoo.read_card("course-gpt")["history"]
    except zoo.StaleModel:
        fig = go.Figure()
        fig.add_annotation(text="course-gpt is not shipped yet (arena train course-gpt makes it)", showarrow=False)
        return fig
    fig = go.Figure()
    tokens = [r["tokens"] / 1e6 for r in history]
    fig.add_trace(go.Scatter(x=tokens, y=[r["train_loss"] for r in history], name="training loss"))
    fig.add_trace(go.Scatter(x=tokens, y=[r["val_loss"] for r in history], name="validation loss"))
    fig.update_layout(xaxis_title="tokens seen (millions)", yaxis_title="loss (nats per token)", height=400)
    return fig
