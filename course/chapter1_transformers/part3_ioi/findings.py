"""What the project found about course-gpt's IOI mechanism, as sentences with the test that asserts each.

The numbers come from `assets/course_gpt_ioi.json`, written by `assets/analyse.py` with the lesson's own
functions. Each `Claim` is a sentence of the lesson (rendered in its course-gpt boxes) plus a `check` that
`tests/test_part1_3_claims.py` runs against a fresh recomputation on the shipped model. The sentences are
chosen by rule from the measurements (e.g. a head is called a name mover only when it raises IO's logit
more than it lowers S's), so a retrained model gets a true write-up, not a stale one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "assets" / "course_gpt_ioi.json"
CLEAR_HEAD_SCORE = 0.3  # an attention score below this is not called a head type
TOL = 0.05  # absolute tolerance on recomputed numbers (the analysis is deterministic; this allows BLAS noise)


@dataclass(frozen=True)
class Claim:
    text: str
    check: Callable[[dict], None]  # raises AssertionError when the claim is false for these results


def load_results(path: Path = RESULTS) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _heads(grid: list[list[float]]) -> list[tuple[str, float]]:
    return [(f"{layer}.{head}", v) for layer, row in enumerate(grid) for head, v in enumerate(row)]


def _at(grid: list[list[float]], label: str) -> float:
    layer, head = map(int, label.split("."))
    return grid[layer][head]


def _close(name: str, got: float, expected: float, tol: float = TOL) -> None:
    assert abs(got - expected) <= tol, f"{name}: recomputed {got:.4f}, the lesson says {expected:.4f}"


def _top_abs(grid: list[list[float]], k: int) -> list[str]:
    return [label for label, _ in sorted(_heads(grid), key=lambda x: -abs(x[1]))[:k]]


def _top(grid: list[list[float]], k: int, largest: bool = True) -> list[str]:
    return [label for label, _ in sorted(_heads(grid), key=lambda x: -x[1] if largest else x[1])[:k]]


def _same_set(name: str, got: list[str], expected: list[str]) -> None:
    assert set(got) == set(expected), f"{name}: recomputed {sorted(got)}, the lesson says {sorted(expected)}"


# ------------------------------------------------------------------ roles of heads


def head_role(r: dict, label: str) -> str:
    """What a head does to the answer directly, from its effect on the IO and S logits."""
    dla, io, s = _at(r["head_dla"], label), _at(r["head_io_logit"], label), _at(r["head_s_logit"], label)
    if dla >= 0:
        return "moves the IO name" if io >= -s else "suppresses the subject"
    return "writes against IO" if -io >= s else "boosts the subject"


ATTENDED = ("IO", "S1", "S2", "S2+1")  # the positions whose attention from the end the analysis records


def attention_target(r: dict, label: str) -> str:
    return max(ATTENDED, key=lambda k: _at(r["attn_end_to"][k], label))


# ------------------------------------------------------------------ the claims, one list per lesson box


def task_claims(r: dict) -> list[Claim]:
    acc, ld = r["accuracy"], r["clean_logit_diff"]
    meets = acc >= 0.9 and ld >= 2

    def check_numbers(x: dict) -> None:
        _close("accuracy", x["accuracy"], acc, 0.03)
        _close("clean logit difference", x["clean_logit_diff"], ld)
        _close("corrupted logit difference", x["corrupted_logit_diff"], r["corrupted_logit_diff"])
        _close("ABC logit difference", x["abc_logit_diff"], r["abc_logit_diff"])

    def check_bar(x: dict) -> None:
        assert (x["accuracy"] >= 0.9 and x["clean_logit_diff"] >= 2) == meets, "the 90 % / 2.0 bar changed sides"

    def check_top1(x: dict) -> None:
        _close("top-1 is IO", x["top1_is_io"], r["top1_is_io"], 0.03)

    return [
        Claim(f"On the {r['n_prompts']} held-out prompts, course-gpt puts IO above S in {acc:.0%} of them, with a mean "
              f"logit difference of {ld:.2f}; the corrupted prompts give {r['corrupted_logit_diff']:.2f} and the ABC "
              f"prompts {r['abc_logit_diff']:.2f}.", check_numbers),
        Claim("That meets the course's bar for doing the task (IO above S in at least 90 % of held-out prompts, mean "
              "logit difference at least 2)." if meets else
              "That is below the course's bar for doing the task (90 % and a mean logit difference of 2): read the "
              "mechanism below as that of a model still learning it.", check_bar),
        Claim(f"IO is the single most likely next token in {r['top1_is_io']:.0%} of the prompts: the logit difference "
              "compares the two names only, whatever else the model might say.", check_top1),
    ]


def dla_claims(r: dict) -> list[Claim]:
    claims = []
    comps = r["per_component_dla"]
    attn_sum = sum(v for k, v in comps.items() if k.endswith("attn_out"))
    mlp_sum = sum(v for k, v in comps.items() if k.endswith("mlp_out"))
    biggest = max(comps, key=lambda k: abs(comps[k]))

    def check_components(x: dict) -> None:
        got = x["per_component_dla"]
        assert max(got, key=lambda k: abs(got[k])) == biggest, "the largest component changed"
        _close("attention layers' total", sum(v for k, v in got.items() if k.endswith("attn_out")), attn_sum)
        _close("MLPs' total", sum(v for k, v in got.items() if k.endswith("mlp_out")), mlp_sum)
        bias = x.get("unembed_bias_logit_diff", 0.0)
        _close("sum of the components (plus the unembedding bias)", sum(got.values()) + bias, x["clean_logit_diff"], 2e-3)

    claims.append(Claim(
        f"The components add up to the measured logit difference (with the unembedding bias, "
        f"{r.get('unembed_bias_logit_diff', 0.0):+.2f}, which no component owns). The attention layers contribute {attn_sum:+.2f} "
        f"directly and the MLPs {mlp_sum:+.2f}; the largest single component is `{biggest}` ({comps[biggest]:+.2f}).",
        check_components))

    lens = list(r["logit_lens"].items())
    final = lens[-1][1]
    first_half = next(label for label, v in lens if v >= 0.5 * final)

    def check_lens(x: dict) -> None:
        got = list(x["logit_lens"].items())
        assert next(label for label, v in got if v >= 0.5 * got[-1][1]) == first_half, "the logit lens moved"

    claims.append(Claim(f"The logit lens first reaches half the final logit difference at `{first_half}`.", check_lens))

    top = _top_abs(r["head_dla"], 3)
    for label in top:
        dla, role, target = _at(r["head_dla"], label), head_role(r, label), attention_target(r, label)
        io, s = _at(r["head_io_logit"], label), _at(r["head_s_logit"], label)
        attn = ", ".join(f"{k} {_at(r['attn_end_to'][k], label):.2f}" for k in ATTENDED)

        def check_head(x: dict, label=label, dla=dla, role=role, target=target) -> None:
            assert label in _top_abs(x["head_dla"], 3), f"head {label} is no longer among the top 3 by |DLA|"
            _close(f"DLA of {label}", _at(x["head_dla"], label), dla)
            assert head_role(x, label) == role, f"head {label} no longer {role}"
            assert attention_target(x, label) == target, f"head {label} no longer attends most to {target}"

        claims.append(Claim(
            f"Head {label} (DLA {dla:+.2f}) {role}: it changes IO's logit by {io:+.2f} and S's by {s:+.2f}. From the "
            f"end it attends most to {target} of these positions ({attn}).",
            check_head))

    roles = [head_role(r, label) for label in top]
    movers, suppressors = roles.count("moves the IO name"), roles.count("suppresses the subject")

    def check_roles(x: dict) -> None:
        got = [head_role(x, label) for label in _top_abs(x["head_dla"], 3)]
        assert got.count("moves the IO name") == movers and got.count("suppresses the subject") == suppressors

    if movers >= 2:
        verdict = "like GPT-2, where the heads that write the answer are name movers that copy IO."
    elif suppressors >= 2:
        verdict = ("unlike GPT-2: most of the answer is written by pushing the repeated name *down*, not by "
                   "copying IO up. course-gpt solves IOI mostly by subject suppression.")
    else:
        verdict = "a mixture: course-gpt both copies IO and suppresses S, with no single dominant mechanism."
    def n_heads(n: int, verb: str) -> str:
        return f"{'none' if n == 0 else n} {verb}{'s' if n == 1 else ''}"

    claims.append(Claim(f"Of these three heads, {n_heads(movers, 'move')} the IO name and "
                        f"{n_heads(suppressors, 'suppress')} the subject: {verdict}", check_roles))
    return claims


def patching_claims(r: dict) -> list[Claim]:
    claims = []
    resid = r["resid_pre_patching"]
    s2, end = r["positions"]["S2"], r["positions"]["end"]
    end_layer = next((layer for layer, row in enumerate(resid) if row[end] >= 0.5), None)

    def check_resid(x: dict) -> None:
        got = x["resid_pre_patching"]
        assert next((layer for layer, row in enumerate(got) if row[end] >= 0.5), None) == end_layer
        for layer, row in enumerate(resid):
            _close(f"resid_pre layer {layer} at the end", got[layer][end], row[end])

    end_values = ", ".join(f"{row[end]:.2f}" for row in resid)
    text = (f"Patching the residual stream at the end position restores {end_values} of the clean run entering "
            f"layers 0 to {len(resid) - 1}: ")
    text += (f"the answer has reached the end position by layer {end_layer}." if end_layer is not None
             else "it never reaches half: the decisive information stays elsewhere until the last layer.")
    others = max(abs(v) for p, v in enumerate(resid[0]) if p != s2)

    def check_layer0(x: dict) -> None:
        row = x["resid_pre_patching"][0]
        _close("layer 0 at S2", row[s2], 1.0, 1e-3)
        assert max(abs(v) for p, v in enumerate(row) if p != s2) < 1e-3

    claims.append(Claim(f"At layer 0 only S2 (position {s2}) matters: patching it gives {resid[0][s2]:.2f}, every other "
                        f"position at most {others:.2f}, since S2 is the only token in which the prompts differ.",
                        check_layer0))
    claims.append(Claim(text, check_resid))

    top = _top(r["head_out_patching"], 3)
    values = ", ".join(f"{label} ({_at(r['head_out_patching'], label):.2f})" for label in top)

    def check_heads(x: dict) -> None:
        _same_set("top heads by output patching", _top(x["head_out_patching"], 3), top)
        for label in top:
            _close(f"output patching of {label}", _at(x["head_out_patching"], label), _at(r["head_out_patching"], label))

    claims.append(Claim(f"Patching one head's output restores most for heads {values}.", check_heads))

    every = r["top_head_every_patching"]
    label = every["head"]
    names = {"query": "q", "key": "k", "value": "v", "pattern": "pattern"}
    parts = {name: every[key] for name, key in names.items()}
    inputs = max(parts, key=parts.get)

    def check_inputs(x: dict, label=label, inputs=inputs) -> None:
        got = x["top_head_every_patching"]
        assert got["head"] == label, f"the top head is now {got['head']}"
        assert max(names, key=lambda k: got[names[k]]) == inputs, "a different input matters most"
        for name, key in names.items():
            _close(f"{name} patching of {label}", got[key], every[key])

    meaning = {"value": "it needs the right *content* (which name it reads) more than the right place",
               "query": "what decides it is *where* it looks, set by what earlier heads wrote at the end",
               "key": "what decides it is what the attended-to positions advertise (their keys)",
               "pattern": "what decides it is *where* it looks"}[inputs]
    claims.append(Claim(
        f"For head {label}, patching its values restores {parts['value']:.2f}, its queries {parts['query']:.2f}, its keys "
        f"{parts['key']:.2f} and its pattern {parts['pattern']:.2f}: {meaning}.", check_inputs))
    return claims


def path_claims(r: dict) -> list[Claim]:
    claims = []
    direct = _top(r["path_to_final"], 3, largest=False)
    values = ", ".join(f"{label} ({_at(r['path_to_final'], label):+.2f})" for label in direct)

    def check_direct(x: dict) -> None:
        _same_set("top heads by path patching to the logits", _top(x["path_to_final"], 3, largest=False), direct)

    claims.append(Claim(f"The direct paths to the logits that carry the answer most are those of heads {values} "
                        "(metric − 1).", check_direct))
    act_top = _top(r["head_out_patching"], 3)
    indirect = [label for label in act_top if abs(_at(r["path_to_final"], label)) < 0.1]

    def check_indirect(x: dict) -> None:
        got = [label for label in _top(x["head_out_patching"], 3) if abs(_at(x["path_to_final"], label)) < 0.1]
        assert got == indirect, f"recomputed {got}, the lesson says {indirect}"

    if indirect:
        text = (f"Heads {', '.join(indirect)} matter in activation patching but hardly at all directly (|metric − 1| "
                "< 0.1): their effect reaches the logits through later heads.")
    else:
        text = "Every head among the top three of activation patching also has a direct path to the logits."
    claims.append(Claim(text, check_indirect))

    if "path_into_receiver" in r:
        rec = r["path_into_receiver"]
        receiver = rec["receiver"]
        best = {k: min(_heads(v), key=lambda x: x[1]) for k, v in rec.items() if k in ("q", "v")}

        def check_receiver(x: dict) -> None:
            got = x["path_into_receiver"]
            assert got["receiver"] == receiver
            for k, (label, value) in best.items():
                glabel, gvalue = min(_heads(got[k]), key=lambda y: y[1])
                assert glabel == label, f"into the {k} of {receiver}: recomputed {glabel}, the lesson says {label}"
                _close(f"path into {receiver}'s {k} from {label}", gvalue, value)

        desc = "; ".join(f"into its {name}, head {best[k][0]} ({best[k][1]:+.2f})"
                         for k, name in (("q", "queries"), ("v", "values")))
        claims.append(Claim(f"Path patching into head {receiver} (the strongest direct head outside layer 0): the "
                            f"sender that matters most {desc}.", check_receiver))
    return claims


def replication_claims(r: dict) -> list[Claim]:
    claims = []
    strongest = {kind: max(_heads(r[f"{kind}_scores"]), key=lambda x: x[1]) for kind in ("prev", "duplicate", "induction")}

    def check_types(x: dict) -> None:
        for kind, (label, value) in strongest.items():
            glabel, gvalue = max(_heads(x[f"{kind}_scores"]), key=lambda y: y[1])
            assert glabel == label, f"strongest {kind} head: recomputed {glabel}, the lesson says {label}"
            _close(f"{kind} score of {label}", gvalue, value)

    names = {"prev": "previous-token", "duplicate": "duplicate-token", "induction": "induction"}

    def describe(kind: str, label: str, value: float) -> str:
        if value >= CLEAR_HEAD_SCORE:
            return f"the strongest {names[kind]} head is {label} ({value:.2f})"
        return f"no head is a clear {names[kind]} head (the highest score is {value:.2f}, head {label})"

    sentence = "; ".join(describe(kind, *best) for kind, best in strongest.items())
    claims.append(Claim(f"On repeated random tokens, {sentence}.", check_types))

    copy_best = max(_heads(r["copying_scores"]), key=lambda x: x[1])
    neg_best = max(_heads(r["negative_copying_scores"]), key=lambda x: x[1])

    def check_copy(x: dict) -> None:
        _close(f"copying score of {copy_best[0]}", _at(x["copying_scores"], copy_best[0]), copy_best[1])
        _close("highest copying score", max(v for _, v in _heads(x["copying_scores"])), copy_best[1])
        _close("highest negative copying score", max(v for _, v in _heads(x["negative_copying_scores"])), neg_best[1])

    claims.append(Claim(f"The highest copying score is {copy_best[1]:.0%} (head {copy_best[0]}); the highest negative "
                        f"copying score {neg_best[1]:.0%} (head {neg_best[0]}).", check_copy))

    circuit = r["circuit"]
    n = sum(len(v) for v in circuit.values())
    desc = "; ".join(f"{name}: {', '.join(heads)} (kept at {r['circuit_positions'][name]})" for name, heads in circuit.items())

    def check_circuit(x: dict) -> None:
        assert x["circuit"] == circuit, f"the rule now picks {x['circuit']}"
        _close("F(C)", x["circuit_logit_diff"], r["circuit_logit_diff"])
        _close("faithfulness", x["faithfulness"], r["faithfulness"], 0.03)
        _close("F with every head ablated", x["nothing_logit_diff"], r["nothing_logit_diff"])

    claims.append(Claim(
        f"The rule-chosen circuit has {n} heads ({desc}). With everything else mean-ablated over the ABC prompts, "
        f"its logit difference is {r['circuit_logit_diff']:.2f} against {r['clean_logit_diff']:.2f} for the whole "
        f"model: faithfulness {r['faithfulness']:.0%}. With every head ablated it is {r['nothing_logit_diff']:.2f}.",
        check_circuit))

    mini = r["minimality"]
    low, high = min(mini, key=mini.get), max(mini, key=mini.get)

    def check_minimality(x: dict) -> None:
        got = x["minimality"]
        assert min(got, key=got.get) == low and max(got, key=got.get) == high
        _close(f"minimality of {low}", got[low], mini[low])
        _close(f"minimality of {high}", got[high], mini[high])

    claims.append(Claim(f"Removing one head from it (K empty) changes F by {mini[low]:.0%} of F(C) for the least "
                        f"needed head ({low}) up to {mini[high]:.0%} for the most needed ({high}).", check_minimality))
    return claims


SECTIONS: dict[str, Callable[[dict], list[Claim]]] = {
    "task": task_claims, "dla": dla_claims, "patching": patching_claims, "path": path_claims,
    "replication": replication_claims,
}


def all_claims(r: dict) -> list[tuple[str, Claim]]:
    return [(section, claim) for section, make in SECTIONS.items() for claim in make(r)]


def course_gpt_circuit(path: Path = RESULTS) -> tuple[dict[str, list[tuple[int, int]]], dict[str, str]]:
    """The recorded circuit as (circuit, seq_pos_to_keep) for `add_mean_ablation_hook`."""
    r = load_results(path)
    circuit = {name: [tuple(map(int, h.split("."))) for h in heads] for name, heads in r["circuit"].items()}
    return circuit, dict(r["circuit_positions"])
