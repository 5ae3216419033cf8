"""The VLM judge against a real HTTP server on localhost (good, malformed, slow and 429 answers)."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
from PIL import Image

from facebench.expressions import EXPRESSIONS
from facebench.base.imageio import load_image
from facebench.judges import JUDGES, JudgeError, VLMJudge, get_judge
from facebench.judges.prompt import PROMPT_VERSION, SYSTEM_PROMPT
from facebench.samples import portrait_paths

from fake_openai_server import FakeOpenAI, scores_for


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as s:
        yield s


@pytest.fixture(scope="module")
def faces():
    p = portrait_paths()
    small = lambda k: np.asarray(Image.fromarray(load_image(p[k])).resize((128, 128)))  # noqa: E731
    return [small("astronaut"), small("feat_happy"), small("feat_surprise")]


def _judge(server, **kw) -> VLMJudge:
    opts = dict(base_url=server.base_url, model="fake-vl", api_key="sk-test", timeout=5, max_retries=2,
                backoff=0.01, parse_retries=1)
    opts.update(kw)
    return VLMJudge(**opts)


def _sent_png(body: dict) -> bytes:
    url = body["messages"][1]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    return base64.b64decode(url.split(",", 1)[1])


def test_registered_with_metadata():
    assert "vlm" in JUDGES and JUDGES.meta("vlm")["judged"] == EXPRESSIONS
    j = get_judge("vlm", base_url="http://127.0.0.1:9/v1", model="m")
    assert j.judge_id().startswith(f"vlm:m:{PROMPT_VERSION}:")
    assert j.judge_id() == get_judge("vlm", base_url="http://127.0.0.1:9/v1/", model="m").judge_id()
    for other in ({"base_url": "http://127.0.0.1:10/v1"}, {"temperature": 0.5}, {"max_side": 512}):
        assert get_judge("vlm", **{"base_url": "http://127.0.0.1:9/v1", "model": "m", **other}).judge_id() != j.judge_id()


def test_scores_the_image_it_is_sent(server, faces):
    server.reset("good")
    j = _judge(server)
    out = j.judge(faces[0])
    assert server.count("chat/completions") == 1
    path, body = server.requests[0]
    sent = _sent_png(body)
    assert np.array_equal(load_image(sent), faces[0])  # lossless, not resized (below max_side)
    assert out.scores == scores_for(sent)
    assert set(out.scores) == set(EXPRESSIONS)
    assert body["model"] == "fake-vl" and body["temperature"] == 0.0
    assert body["messages"][0]["content"] == SYSTEM_PROMPT


def test_answer_cache_skips_the_endpoint(server, faces, tmp_path):
    server.reset("good")
    j = _judge(server)
    a = j.judge(faces[1])
    b = j.judge(faces[1])
    assert a.scores == b.scores and b.info["cached"] and server.count("chat") == 1
    j.judge(faces[2])  # another image: a request
    assert server.count("chat") == 2
    other = _judge(server, model="other-vl")  # another model: its own answers
    other.judge(faces[1])
    assert server.count("chat") == 3
    # on disk: a fresh judge over the same file asks nothing
    disk = tmp_path / "vlm.sqlite"
    _judge(server, cache=disk).judge(faces[0])
    n = server.count("chat")
    again = _judge(server, cache=disk).judge(faces[0])
    assert server.count("chat") == n and again.info["cached"]


@pytest.mark.parametrize("mode", ["fenced", "paper_labels"])
def test_parses_packaging_around_the_object(server, faces, mode):
    server.reset(mode)
    out = _judge(server).judge(faces[0])
    assert out.scores == scores_for(_sent_png(server.requests[0][1]))


def test_malformed_answer_is_asked_again(server, faces):
    server.reset("good", script=["malformed"])
    out = _judge(server).judge(faces[0])
    assert server.count("chat") == 2 and out.info["attempts"] == 2
    assert out.scores == scores_for(_sent_png(server.requests[1][1]))


@pytest.mark.parametrize("mode", ["malformed", "missing", "out_of_range"])
def test_never_invents_a_score(server, faces, mode):
    server.reset(mode)
    j = _judge(server, parse_retries=2)
    with pytest.raises(JudgeError, match="malformed answer 3 time"):
        j.judge(faces[0])
    assert server.count("chat") == 3
    assert len(j.cache) == 0  # failures are not cached: the next call asks again
    server.reset("good")
    assert j.judge(faces[0]).scores and server.count("chat") == 1


def test_429_is_retried_after_retry_after(server, faces):
    server.reset("good", script=["429", "429"])
    out = _judge(server, max_retries=3).judge(faces[0])
    assert server.count("chat") == 3 and out.scores


def test_gives_up_after_retries_with_the_reason(server, faces):
    server.reset("500")
    with pytest.raises(JudgeError, match=r"HTTP 500.*gave up after 3 attempts"):
        _judge(server, max_retries=2).judge(faces[0])
    assert server.count("chat") == 3
    server.reset("401")
    with pytest.raises(JudgeError, match="HTTP 401"):
        _judge(server, max_retries=3).judge(faces[0])
    assert server.count("chat") == 1  # not worth retrying


def test_slow_endpoint_times_out_then_recovers(server, faces):
    server.slow_s = 1.5
    server.reset("slow")
    with pytest.raises(JudgeError, match="timed out after 0.3 s"):
        _judge(server, timeout=0.3, max_retries=1).judge(faces[0])
    assert server.count("chat") == 2
    server.reset("good", script=["slow"])
    out = _judge(server, timeout=0.3, max_retries=1).judge(faces[1])  # first try slow, retry fine
    assert out.scores and server.count("chat") == 2


def test_rate_limit_spaces_requests(server, faces):
    server.reset("good")
    j = _judge(server, rate_limit=20.0)
    imgs = [np.full((32, 32, 3), v, np.uint8) for v in (10, 60, 110, 160, 210)]
    t0 = time.perf_counter()
    for im in imgs:
        j.judge(im)
    assert time.perf_counter() - t0 >= 4 / 20.0 - 1e-3
    assert server.count("chat") == 5


def test_face_box_crops_and_keys_the_cache(server, faces):
    server.reset("good")
    j = _judge(server)
    j.judge(faces[0], box=(32, 32, 96, 96))
    sent = load_image(_sent_png(server.requests[0][1]))
    assert sent.shape == (128, 128, 3)  # box 64 px + 50% margin per side, clipped
    j.judge(faces[0], box=(40, 40, 80, 80))
    assert server.count("chat") == 2
    with pytest.raises(JudgeError, match="outside"):
        j.judge(faces[0], box=(500, 500, 600, 600))


def test_large_images_are_downscaled_before_sending(server):
    server.reset("good")
    big = load_image(portrait_paths()["astronaut"])
    _judge(server, max_side=256).judge(big)
    assert Image.open(io.BytesIO(_sent_png(server.requests[0][1]))).size == (256, 256)


def test_bad_settings_fail_early():
    with pytest.raises(ValueError, match="not an http"):
        VLMJudge(base_url="localhost:8000", model="m")
    with pytest.raises(ValueError, match="model"):
        VLMJudge(base_url="http://x/v1", model="")
