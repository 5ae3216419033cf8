"""The VLM judge against a hostile endpoint on loopback: it never takes a score from an answer that
does not validate completely, never caches one, and every request ends by its deadline and within
its size cap. Each test is bounded by the judge's own timeouts (a few seconds at most)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from facebench.judges import JudgeError, VLMJudge
from facebench.base.http import HttpClient, HttpError, retry_after_seconds
from facebench.judges.prompt import SYSTEM_PROMPT, ParseError, parse_scores

from fake_openai_server import FORMAT_EXAMPLE, FakeOpenAI, scores_for


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as s:
        yield s


IMG = np.dstack([np.full((48, 48), v, np.uint8) for v in (200, 90, 40)])


def _judge(server, **kw) -> VLMJudge:
    opts = dict(base_url=server.base_url, model="fake-vl", api_key="sk-test", timeout=2, max_retries=1,
                backoff=0.01, parse_retries=1)
    opts.update(kw)
    return VLMJudge(**opts)


def test_the_prompt_really_holds_the_format_example():
    assert FORMAT_EXAMPLE in SYSTEM_PROMPT


@pytest.mark.parametrize("mode,match", [("echo", "more than one JSON object"),
                                        ("echo_only", "format example"),
                                        ("dup_keys", "given twice")])
def test_ambiguous_answers_are_not_judged_and_never_cached(server, mode, match):
    server.reset(mode)
    j = _judge(server)
    with pytest.raises(JudgeError, match=match):
        j.judge(IMG)
    assert server.count("chat") == 2 and len(j.cache) == 0
    # a later run against a good endpoint asks again and gets the real scores
    server.reset("good")
    out = j.judge(IMG)
    assert server.count("chat") == 1 and not out.info["cached"]
    assert max(out.scores.values()) > 0


def test_an_echo_then_a_good_answer_is_judged_on_the_retry(server):
    server.reset("good", script=["echo"])
    out = _judge(server).judge(IMG)
    assert out.info["attempts"] == 2 and out.scores["happy"] == round(200 / 255, 2)


def test_parser_rejects_duplicate_keys_and_the_echo_directly():
    good = '{"happy": 0.5, "sad": 0.1, "angry": 0, "fear": 0, "surprised": 0, "disgust": 0, "confused": 0,' \
           ' "contempt": 0, "confident": 0, "shy": 0, "sleepy": 0, "anxious": 0}'
    assert parse_scores(good)["happy"] == 0.5
    with pytest.raises(ParseError, match="given twice"):
        parse_scores(good[:-1] + ', "sad": 0.9}')
    with pytest.raises(ParseError, match="format example"):
        parse_scores("```json\n" + FORMAT_EXAMPLE.replace(", ", ",\n  ") + "\n```")
    with pytest.raises(ParseError, match="more than one"):
        parse_scores(good + " or maybe " + good)


@pytest.mark.parametrize("mode", ["drip", "drip_head"])
def test_a_dripping_endpoint_is_cut_at_the_total_deadline(server, mode):
    server.drip_s = 0.2  # a ~200-byte answer would take ~40 s
    server.reset(mode)
    j = _judge(server, timeout=1.0, max_retries=1)
    t0 = time.monotonic()
    with pytest.raises(JudgeError, match=r"timed out after 1 s.*gave up after 2 attempts"):
        j.judge(IMG)
    took = time.monotonic() - t0
    assert took < 2 * 1.0 + 1.0, took  # two attempts of 1 s each, plus backoff and slack
    assert len(j.cache) == 0


def test_a_body_cut_short_is_retried_not_a_crash(server):
    server.reset("good", script=["truncated"])
    out = _judge(server).judge(IMG)
    assert out.scores == scores_for(_last_png(server)) and server.count("chat") == 2
    server.reset("truncated")
    with pytest.raises(JudgeError, match="cut short"):
        _judge(server).judge(IMG)


def _last_png(server) -> bytes:
    import base64

    url = server.requests[-1][1]["messages"][1]["content"][1]["image_url"]["url"]
    return base64.b64decode(url.split(",", 1)[1])


def test_nan_retry_after_falls_back_to_backoff(server):
    slept: list[float] = []
    server.reset("good", script=["nan_retry_after", "nan_retry_after"])
    j = _judge(server, max_retries=2)
    j.client.sleep = slept.append
    assert j.judge(IMG).scores
    assert slept == [0.01, 0.02]  # exponential backoff, not nan
    for value, want in [("nan", None), ("inf", None), ("-3", None), ("", None), ("soon", None),
                        ("2.5", 2.5), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)]:
        assert retry_after_seconds(value) == want, value
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


@pytest.mark.parametrize("mode", ["huge", "huge_stream"])
def test_an_oversized_body_is_refused_without_reading_it_whole(server, mode):
    server.huge_bytes = 64 * 1024 * 1024
    server.reset(mode)
    j = _judge(server, timeout=5, max_retries=2, max_response_bytes=1 << 20)
    t0 = time.monotonic()
    with pytest.raises(JudgeError, match="exceeds the limit of 1048576 bytes"):
        j.judge(IMG)
    assert server.count("chat") == 1  # not retried: the same answer would come back
    assert time.monotonic() - t0 < 5


def test_http_client_caps_and_deadlines_apply_to_get_too(server):
    server.files["big.png"] = b"x" * 4096
    c = HttpClient(server.base_url, timeout=2, max_retries=0, max_response_bytes=1000)
    with pytest.raises(HttpError, match="exceeds the limit"):
        c.get_bytes(server.base_url.rsplit("/v1", 1)[0] + "/files/big.png")
    with pytest.raises(ValueError, match="max_response_bytes"):
        HttpClient(server.base_url, max_response_bytes=0)


@pytest.mark.parametrize("change", [
    {"base_url": "other"}, {"temperature": 0.7}, {"json_mode": True}, {"max_side": 32},
    {"crop_margin": 0.2}, {"max_tokens": 100}, {"model": "other-vl"},
])
def test_cache_key_isolates_endpoints_and_settings(server, tmp_path, change):
    with FakeOpenAI() as other:
        server.reset("good")
        other.reset("good")
        disk = tmp_path / "vlm.sqlite"
        box = (4, 4, 40, 40)
        _judge(server, cache=disk).judge(IMG, box=box)
        assert server.count("chat") == 1
        kw = dict(change)
        target = other if kw.pop("base_url", None) else server
        j = _judge(target, cache=disk, **kw)
        j.judge(IMG, box=box)
        assert target.count("chat") == (2 if target is server else 1), change  # asked, not reused
        same = _judge(server, cache=disk)
        assert same.judge(IMG, box=box).info["cached"]  # the unchanged settings still hit
        assert server.count("chat") == (2 if target is server else 1)


def test_api_key_is_not_part_of_the_cache_key(server):
    a = _judge(server, api_key="sk-a")
    b = _judge(server, api_key="sk-b")
    assert a.cache_key(IMG, None) == b.cache_key(IMG, None)
    assert "sk-a" not in str(a.settings())


def test_a_poisoned_cache_entry_is_dropped_and_asked_again(server):
    server.reset("good")
    j = _judge(server)
    key = j.cache_key(IMG, None)
    j.cache[key] = '{"scores": {}, "answer": ' + __import__("json").dumps(FORMAT_EXAMPLE) + "}"
    out = j.judge(IMG)
    assert not out.info["cached"] and server.count("chat") == 1 and max(out.scores.values()) > 0


def test_the_environments_http_proxy_is_used(server, monkeypatch):
    """The fake server doubles as a forward proxy: it answers the absolute-form request it gets."""
    server.reset("good")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("no_proxy", "")
    j = VLMJudge(base_url="http://vlm.invalid/v1", model="fake-vl", timeout=2, max_retries=0)
    assert j.judge(IMG).scores["happy"] == round(200 / 255, 2)
    assert server.requests[-1][0] == "http://vlm.invalid/v1/chat/completions"
