"""The few plotting helpers lessons share: plotly figures, and self-contained HTML for attention views.

Figure functions in a part's figures.py return a plotly Figure or an `HTMLFigure`; the site draws
either, and both work offline (circuitsvis is rendered with its inlined JavaScript, never the CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go


@dataclass(frozen=True)
class HTMLFigure:
    """Self-contained HTML (no network needed) with the height the page should give it."""

    html: str
    height: int = 500

    def _repr_html_(self) -> str:  # notebooks show it inline
        return self.html


def attention_patterns(tokens: Sequence[str], pattern, head_names: Sequence[str] | None = None,
                       height: int = 600) -> HTMLFigure:
    """circuitsvis's interactive attention view for one prompt, rendered offline.

    `pattern` is [n_heads, query, key] (a tensor or array); `tokens` the string tokens of the prompt."""
    import circuitsvis as cv

    values = pattern.detach().cpu() if hasattr(pattern, "detach") else pattern
    view = cv.attention.attention_heads(attention=values, tokens=list(tokens),
                                        attention_head_names=list(head_names) if head_names else None)
    return HTMLFigure(view.local_src, height)


def attention_heatmaps(tokens: Sequence[str], pattern, head_names: Sequence[str] | None = None,
                       title: str = "Attention patterns") -> go.Figure:
    """The same information as plotly heatmaps, one per head, with a head selector (dropdown)."""
    values = pattern.detach().cpu().numpy() if hasattr(pattern, "detach") else pattern
    names = list(head_names) if head_names else [f"head {h}" for h in range(len(values))]
    labels = [f"{i}: {t!r}" for i, t in enumerate(tokens)]
    fig = go.Figure()
    for h, name in enumerate(names):
        fig.add_trace(go.Heatmap(z=values[h], x=labels, y=labels, colorscale="Blues", zmin=0, zmax=1,
                                 visible=h == 0, name=name, hovertemplate="query %{y}<br>key %{x}<br>%{z:.3f}"))
    buttons = [dict(label=name, method="update",
                    args=[{"visible": [i == h for i in range(len(names))]}, {"title": f"{title}: {name}"}])
               for h, name in enumerate(names)]
    fig.update_layout(title=f"{title}: {names[0]}", updatemenus=[dict(buttons=buttons, x=1.0, y=1.15)],
                      yaxis=dict(autorange="reversed", title="query (destination)"),
                      xaxis=dict(title="key (source)"), height=560)
    return fig


def line(y, x=None, title: str = "", labels: dict | None = None, names: Sequence[str] | None = None) -> go.Figure:
    """A line plot of one series ([n]) or several ([k, n]) with axis labels {"x": ..., "y": ...}."""
    import numpy as np

    values = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y, dtype=float)
    rows = values[None] if values.ndim == 1 else values
    xs = np.arange(rows.shape[1]) if x is None else np.asarray(x)
    fig = go.Figure([go.Scatter(x=xs, y=row, mode="lines", name=(names[i] if names else None))
                     for i, row in enumerate(rows)])
    labels = labels or {}
    fig.update_layout(title=title, xaxis_title=labels.get("x"), yaxis_title=labels.get("y"))
    return fig


def imshow(z, title: str = "", labels: dict | None = None, x: Sequence | None = None, y: Sequence | None = None,
           diverging: bool = True) -> go.Figure:
    """A heatmap; diverging colours centred on 0 by default (good for weights and attributions)."""
    import numpy as np

    values = np.asarray(z.detach().cpu() if hasattr(z, "detach") else z, dtype=float)
    limit = float(np.nanmax(np.abs(values))) if values.size else 1.0
    fig = go.Figure(go.Heatmap(z=values, x=x, y=y, colorscale="RdBu" if diverging else "Viridis",
                               zmid=0 if diverging else None, zmin=-limit if diverging else None,
                               zmax=limit if diverging else None))
    labels = labels or {}
    fig.update_layout(title=title, xaxis_title=labels.get("x"), yaxis_title=labels.get("y"),
                      yaxis=dict(autorange="reversed"))
    return fig
