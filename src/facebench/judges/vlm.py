"""A VLM judge: any OpenAI-compatible chat endpoint that accepts images (hosted APIs, vLLM, Ollama).

FFE-Bench (PixelSmile paper, sec. 3.2) scores every edit with a VLM (Gemini 3 Pro) returning a
12-dimensional intensity vector in ``[0, 1]``; this judge does the same with facebench's own
versioned prompt (:mod:`facebench.judges.prompt`) against the endpoint you name.

- Request: ``POST {base_url}/chat/completions`` with a system message (the prompt), a user message
  holding the text and the image as a ``data:image/png;base64`` URL, ``temperature`` 0.
- Transport trouble (timeouts, 429, 5xx) is retried with backoff by :class:`~.http.HttpClient`.
- A score comes only from an answer that validates completely against the expected schema
  (:func:`~.prompt.parse_scores`: exactly one JSON object, all 12 expressions, numbers in ``[0, 1]``,
  no key twice, not the prompt's format example echoed back). Any other answer is asked again up to
  ``parse_retries`` times; after that the image is not judged (:class:`JudgeError` with the
  reason). A score is never invented or filled in, and a rejected answer is never cached.
- Answers are cached under a hash of everything that can change them (:meth:`VLMJudge.settings`:
  endpoint URL, model, prompt version and text, temperature, max tokens, JSON mode, crop margin,
  image size cap; plus the image hash and face box) in ``cache``: any mutable mapping of str -> str
  (a dict, or :class:`facebench.base.store.SqliteMapping` to keep them on disk; a path string opens
  one). A cached answer is validated again when read; one that no longer validates is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path
from typing import Any, MutableMapping, Sequence

import numpy as np

from ..expressions import EXPRESSIONS
from ..base.imageio import image_hash
from .base import Judgement, JudgeError
from ..base.http import HttpClient, HttpError
from ..base.pixels import encode_png, fit_within
from .prompt import PROMPT_VERSION, SYSTEM_PROMPT, USER_PROMPT, ParseError, parse_scores


def _png_data_url(image: np.ndarray, max_side: int) -> str:
    png = encode_png(fit_within(image, max_side))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _crop(image: np.ndarray, box: Sequence[float], margin: float) -> np.ndarray:
    """The face box enlarged by ``margin`` (fraction of its size) on each side, clipped to the image."""
    x0, y0, x1, y1 = (float(v) for v in box)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    h, w = image.shape[:2]
    a, b = max(0, int(x0 - mx)), max(0, int(y0 - my))
    c, d = min(w, int(round(x1 + mx))), min(h, int(round(y1 + my)))
    if c <= a or d <= b:
        raise JudgeError(f"face box {tuple(box)} lies outside the {w}x{h} image")
    return image[b:d, a:c]


def _content_text(response: dict[str, Any]) -> str:
    """The assistant's text in an OpenAI chat-completions response (string or list of parts)."""
    try:
        content = response["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ParseError(f"response has no choices[0].message.content: {json.dumps(response)[:120]}") from None
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise ParseError(f"message content is {type(content).__name__}, not text")
    return content


class VLMJudge:
    """Scores the 12 expressions with a chat model behind an OpenAI-compatible endpoint.

    ``base_url`` e.g. ``http://localhost:8000/v1`` (vLLM), ``http://localhost:11434/v1`` (Ollama)
    or a hosted API; ``model`` the model name the endpoint expects; ``api_key`` or the environment
    variable ``api_key_env``. ``timeout``/``max_retries``/``backoff``/``rate_limit`` as in
    :class:`~.http.HttpClient`; ``parse_retries`` extra requests after a malformed answer;
    (``rate_limit`` holds per process: with N worker processes the endpoint sees up to N times it);
    ``crop_margin``: with a face box, the crop sent is the box enlarged by this fraction per side;
    ``max_side``: images are downscaled to at most this many pixels per side before sending;
    ``timeout`` is a total deadline per request; ``max_response_bytes`` caps an answer's size
    (a chat answer of 400 tokens is a few KB; the default 4 MiB leaves ample room).
    """

    name = "vlm"
    judged: tuple[str, ...] = EXPRESSIONS

    def __init__(self, *, base_url: str, model: str, api_key: str | None = None,
                 api_key_env: str | None = "OPENAI_API_KEY", timeout: float = 60.0,
                 max_retries: int = 3, parse_retries: int = 2, backoff: float = 1.0,
                 max_backoff: float = 30.0, rate_limit: float | None = None,
                 temperature: float = 0.0, max_tokens: int = 400, json_mode: bool = False,
                 crop_margin: float = 0.5, max_side: int = 768,
                 max_response_bytes: int = 4 * 1024 * 1024,
                 cache: MutableMapping[str, str] | str | Path | None = None) -> None:
        if not model:
            raise ValueError("the VLM judge needs a model name (model=...)")
        if parse_retries < 0:
            raise ValueError(f"parse_retries must be >= 0, got {parse_retries!r}")
        self.model = model
        self.client = HttpClient(base_url, api_key=api_key, api_key_env=api_key_env, timeout=timeout,
                                 max_retries=max_retries, backoff=backoff, max_backoff=max_backoff,
                                 rate_limit=rate_limit, max_response_bytes=max_response_bytes)
        self.parse_retries = parse_retries
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.json_mode = json_mode
        self.crop_margin = crop_margin
        self.max_side = max_side
        if isinstance(cache, (str, Path)):
            from ..base.store import SqliteMapping

            cache = SqliteMapping(cache, table="vlm_responses")
        self.cache: MutableMapping[str, str] = {} if cache is None else cache
        self.cache_hits = 0
        self._lock = threading.Lock()

    def judge_id(self) -> str:
        """``vlm:<model>:<prompt version>:<8 hex digits of the settings hash>``: changes whenever
        :meth:`settings` (endpoint, sampling, JSON mode, image size, crop) change."""
        digest = hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode()).hexdigest()[:8]
        return f"vlm:{self.model}:{PROMPT_VERSION}:{digest}"

    def settings(self) -> dict[str, Any]:
        """Everything besides the image and box that can change an answer (the API key cannot)."""
        prompt = hashlib.sha256((SYSTEM_PROMPT + "\0" + USER_PROMPT).encode()).hexdigest()
        return {"base_url": self.client.base_url.rstrip("/"), "model": self.model, "prompt": PROMPT_VERSION,
                "prompt_sha256": prompt, "temperature": float(self.temperature), "max_tokens": int(self.max_tokens),
                "json_mode": bool(self.json_mode), "crop_margin": float(self.crop_margin),
                "max_side": int(self.max_side), "headers": sorted(self.client.headers.items())}

    def cache_key(self, image: np.ndarray, box: Sequence[float] | None) -> str:
        """Key of a cached answer: sha256 of (:meth:`settings`, image hash, face box)."""
        parts = [self.settings(), image_hash(image), None if box is None else [float(v) for v in box]]
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def _cached(self, key: str) -> Judgement | None:
        """The cached judgement under ``key`` if there is one that still validates (else dropped)."""
        hit = self.cache.get(key)
        if hit is None:
            return None
        try:
            answer = json.loads(hit)["answer"]
            scores = parse_scores(answer)
        except (ValueError, KeyError, TypeError):  # ParseError is a ValueError
            self.cache.pop(key, None)
            return None
        with self._lock:
            self.cache_hits += 1
        return Judgement(scores, self.judge_id(), {"cached": True, "attempts": 0, "answer": answer})

    def _payload(self, image: np.ndarray) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": [
                    {"type": "text", "text": USER_PROMPT},
                    {"type": "image_url", "image_url": {"url": _png_data_url(image, self.max_side)}},
                ]},
            ],
        }
        if self.json_mode:
            payload["response_format"] = {"type": "json_object"}
        return payload

    def judge(self, image: np.ndarray, *, box: Sequence[float] | None = None) -> Judgement:
        """Score the face in ``image`` (the crop around ``box`` when given).

        Raises :class:`JudgeError` after the endpoint failed (timeouts/429/5xx beyond the retries)
        or answered ``1 + parse_retries`` times without a valid score object.
        """
        key = self.cache_key(image, box)
        hit = self._cached(key)
        if hit is not None:
            return hit
        sent = image if box is None else _crop(image, box, self.crop_margin)
        payload = self._payload(sent)
        problems: list[str] = []
        for attempt in range(1, self.parse_retries + 2):
            try:
                response = self.client.post_json("chat/completions", payload)
            except HttpError as exc:
                raise JudgeError(f"VLM judge {self.model}: {exc}") from None
            try:
                text = _content_text(response)
                scores = parse_scores(text)
            except ParseError as exc:
                problems.append(str(exc))
                continue
            self.cache[key] = json.dumps({"scores": scores, "answer": text})
            return Judgement(scores, self.judge_id(), {"cached": False, "attempts": attempt, "answer": text})
        raise JudgeError(f"VLM judge {self.model}: malformed answer {len(problems)} time(s); last: {problems[-1]}")
