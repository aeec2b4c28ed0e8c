"""Part 1.3: every sentence the lesson states about course-gpt holds on the shipped model.

The sentences live in `findings.py` (rendered in the lesson's course-gpt boxes) and are built from
`assets/course_gpt_ioi.json`. Here the analysis is re-run on the shipped model: the recorded file must
match the recomputation, and every claim's check must pass on the recomputation. A negative control
(an untrained model of the same architecture) must fail the claims, so the checks can fail."""

from __future__ import annotations

import pytest
import torch as t

from arena import zoo
from course.chapter1_transformers.part3_ioi import findings

t.set_num_threads(1)


def _shipped() -> bool:
    try:
        zoo.verify("course-gpt")
    except Exception:  # noqa: BLE001 - any missing or stale file means "not shipped yet"
        return False
    return True


pytestmark = pytest.mark.skipif(not _shipped(), reason="course-gpt is not shipped yet (arena train course-gpt)")


@pytest.fixture(scope="module")
def model():
    from course.chapter1_transformers.part3_ioi import solutions as ref

    return ref.load_ioi_model("course-gpt")


@pytest.fixture(scope="module")
def recomputed(model) -> dict:
    from course.chapter1_transformers.part3_ioi.assets.analyse import analyse

    return analyse(model)


@pytest.fixture(scope="module")
def recorded() -> dict:
    assert findings.RESULTS.exists(), ("course-gpt is shipped but assets/course_gpt_ioi.json is missing: run "
                                       "python -m course.chapter1_transformers.part3_ioi.assets.analyse")
    return findings.load_results()


def _leaves(x, prefix=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{prefix}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, x


def test_recorded_results_match_a_recomputation(recorded, recomputed):
    """The JSON the lesson's numbers come from is what analyse.py gives on the shipped weights."""
    got, expected = dict(_leaves(recomputed)), dict(_leaves(recorded))
    assert got.keys() == expected.keys(), "the analysis changed shape: re-run assets/analyse.py"
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, abs=2e-3), f"{key}: recomputed {got[key]}, recorded {value}"
        else:
            assert got[key] == value, f"{key}: recomputed {got[key]!r}, recorded {value!r}"


def _claim_ids() -> list[str]:
    if not findings.RESULTS.exists():
        return []
    return [f"{section}-{i}" for i, (section, _) in enumerate(findings.all_claims(findings.load_results()))]


@pytest.mark.parametrize("claim_id", _claim_ids())
def test_claim_holds_on_the_shipped_model(claim_id, recorded, recomputed):
    """Each lesson sentence about course-gpt (see the test id and the failure message) is true."""
    index = int(claim_id.rsplit("-", 1)[1])
    section, claim = findings.all_claims(recorded)[index]
    try:
        claim.check(recomputed)
    except AssertionError as err:
        raise AssertionError(f"The lesson says: {claim.text!r} -- but {err}") from None


def test_course_gpt_does_ioi_on_heldout_prompts(recomputed):
    """The issue's bar: IO above S in at least 90 % of held-out prompts, mean logit difference at least 2."""
    assert recomputed["accuracy"] >= 0.9, recomputed["accuracy"]
    assert recomputed["clean_logit_diff"] >= 2, recomputed["clean_logit_diff"]


def test_claims_fail_on_an_untrained_model(recorded):
    """Negative control: a random model with course-gpt's architecture fails the task and attribution claims."""
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import GPT2Config, GPT2LMHeadModel

    from course.chapter1_transformers.part3_ioi.assets.analyse import analyse
    from course.chapter1_transformers.part3_ioi.toy import course_tokenizer

    arch = zoo.read_card("course-gpt")["architecture"]
    tok = course_tokenizer()
    t.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(n_layer=arch["n_layer"], n_embd=arch["d_model"], n_head=arch["n_head"],
                                    n_inner=arch["d_mlp"], n_positions=arch["n_ctx"], vocab_size=arch["d_vocab"],
                                    bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    random_model = TransformerBridge.boot_transformers("gpt2", hf_model=hf, tokenizer=tok, device="cpu").eval()
    light = analyse(random_model, full=False)
    assert not (light["accuracy"] >= 0.9 and light["clean_logit_diff"] >= 2)
    failed = 0
    claims = findings.task_claims(recorded) + findings.dla_claims(recorded)
    for claim in claims:
        try:
            claim.check(light)
        except AssertionError:
            failed += 1
    assert failed >= len(claims) - 2, f"only {failed} of {len(claims)} claims fail on an untrained model"
