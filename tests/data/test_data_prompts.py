"""The prompt library: decomposition into attribute components, rule-based removal of conflicting
combinations, determinism, and the optional VLM check against a real HTTP server on localhost."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from facebench.data.prompts import (
    CONFLICT_RULES,
    LIBRARY,
    PROMPT_LIBRARY_VERSION,
    SLOTS,
    combinations,
    compose_library,
    first_conflict,
    vlm_check,
)
from facebench.expressions import EXPRESSIONS


def test_every_expression_is_decomposed_into_the_attribute_slots():
    assert set(LIBRARY) == set(EXPRESSIONS)
    for e, slots in LIBRARY.items():
        assert set(slots) == set(SLOTS), e
        assert all(a.slot == s for s, attrs in slots.items() for a in attrs)


def test_rules_remove_conflicting_combinations_and_keep_the_rest():
    lib = compose_library()
    for e in EXPRESSIONS:
        n = len(combinations(e))
        c = lib.counts()[e]
        assert c["valid"] + c["rejected"] == n and c["valid"] > 0
    for plist in lib.prompts.values():
        for p in plist:
            assert p.text.startswith(f"Edit the person to show a {p.expression} expression: ")
            assert p.version == PROMPT_LIBRARY_VERSION
    assert lib.rejected, "the library should contain combinations the rules reject"
    used = {r.rule for r in lib.rejected}
    assert {"closed_eyes_gaze", "open_jaw_pressed_lips", "cheek_raise_wide_eyes"} <= used
    sleepy = [r for r in lib.rejected if r.expression == "sleepy" and r.attributes["eyes"] == "eyes closed"
              and r.attributes["gaze_head"] == "looking straight ahead"]
    assert sleepy and sleepy[0].rule == "closed_eyes_gaze"
    # every valid combination passes every rule; every rejected one breaks the rule it names
    by_name = {r.name: r for r in CONFLICT_RULES}
    for e in EXPRESSIONS:
        for combo in combinations(e):
            texts = {a.slot: a.text for a in combo}
            rule = first_conflict(combo)
            rejected = [r for r in lib.rejected if r.expression == e and dict(r.attributes) == texts]
            assert (rule is None) == (not rejected)
            if rule:
                assert by_name[rejected[0].rule].broken_by(combo)


def test_library_is_deterministic_and_capped():
    a = compose_library(["fear", "happy"], max_per_expression=3, seed=5)
    b = compose_library(["happy", "fear"], max_per_expression=3, seed=5)
    assert {e: [p.id for p in v] for e, v in a.prompts.items()} == {e: [p.id for p in v] for e, v in b.prompts.items()}
    assert all(len(v) <= 3 for v in a.prompts.values())
    assert a.for_item("fear", "src-1") == b.for_item("fear", "src-1")
    char = compose_library(["fear"], subject="character")
    assert char.prompts["fear"][0].text.startswith("Edit the character")
    with pytest.raises(ValueError, match="subject"):
        compose_library(["fear"], subject="dog")


class _Checker(BaseHTTPRequestHandler):
    """Answers prompt checks: inconsistent when the prompt mentions a laugh; 'garbage' mode breaks JSON."""

    mode = "good"
    seen: list[str] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["messages"][-1]["content"]
        _Checker.seen.append(text)
        if _Checker.mode == "garbage":
            answer = "I think it is fine."
        else:
            bad = "laugh" in text
            answer = json.dumps({"consistent": not bad, "reason": "a laugh is not this expression" if bad else "ok"})
        out = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):  # quiet
        pass


@pytest.fixture()
def checker():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Checker)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _Checker.mode, _Checker.seen = "good", []
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_vlm_check_moves_rejected_prompts_and_caches_answers(checker):
    lib = compose_library(["happy", "fear"])
    cache: dict[str, str] = {}
    checked = vlm_check(lib, base_url=checker, model="m", api_key_env=None, cache=cache)
    assert len(_Checker.seen) == sum(len(v) for v in lib.prompts.values())
    assert all("laugh" not in p.text for p in checked.prompts["happy"])
    vlm = [r for r in checked.rejected if r.rule == "vlm"]
    assert vlm and all(r.reason == "a laugh is not this expression" for r in vlm)
    assert len(checked.prompts["fear"]) == len(lib.prompts["fear"])
    before = len(_Checker.seen)
    vlm_check(lib, base_url=checker, model="m", api_key_env=None, cache=cache)
    assert len(_Checker.seen) == before  # every answer came from the cache


def test_vlm_check_refuses_an_answer_it_cannot_read(checker):
    _Checker.mode = "garbage"
    with pytest.raises(ValueError, match=r"prompt check fear-[0-9a-f]+: answer is not"):
        vlm_check(compose_library(["fear"]), base_url=checker, model="m", api_key_env=None)
