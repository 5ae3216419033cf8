"""A real HTTP server on localhost that speaks a small part of the OpenAI API, for tests.

- ``POST /v1/chat/completions``: answers with expression scores computed from the image sent
  (so different images get different, reproducible scores), or misbehaves as scripted;
- ``POST /v1/images/edits``: returns the uploaded image with a bright square painted on it (as
  ``b64_json`` or as a ``url`` served by ``GET /files/<name>``), or misbehaves as scripted.

Behaviour is chosen per request: ``server.script`` is a list of modes consumed one per request
(then ``server.default`` applies). Modes: ``good``, ``fenced`` (answer inside code fences with
prose), ``paper_labels`` (Happiness/Drowsiness... keys), ``malformed``, ``missing`` (11 keys),
``out_of_range``, ``slow`` (sleeps ``server.slow_s`` then good), ``429`` (Retry-After 0), ``500``,
``401``, ``wrong_size`` (edits: a smaller image), ``url`` (edits: answer by URL), ``by_image``
(chat: malformed for images whose hash starts with a digit in ``server.bad_digits``, else good).
Hostile modes: ``echo`` (the prompt's zero-filled format example, then the real object),
``echo_only`` (the format example alone), ``dup_keys`` (a good object with ``happy`` given twice),
``drip`` (a good answer sent one byte every ``server.drip_s``), ``drip_head`` (the same from the
status line on, so even the headers never finish), ``truncated`` (a body shorter than
its Content-Length, then the connection closes), ``nan_retry_after`` (503 with ``Retry-After: nan``),
``huge`` (``server.huge_bytes`` of body with an honest Content-Length), ``huge_stream`` (the same
with no Content-Length, streamed until the client hangs up).
Every request is recorded in ``server.requests`` as ``(path, parsed body)``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

from facebench.expressions import EXPRESSIONS

PAPER_LABELS = {"happy": "Happiness", "sad": "Sadness", "angry": "Anger", "fear": "Fear", "surprised": "Surprise",
                "disgust": "Disgust", "shy": "Embarrassment", "confident": "Confidence", "confused": "Confusion",
                "sleepy": "Drowsiness", "contempt": "Contempt", "anxious": "Nervousness"}

#: The zero-filled format example of the prompt, as a model might repeat it.
FORMAT_EXAMPLE = "{" + ", ".join(f'"{k}": 0.00' for k in EXPRESSIONS) + "}"


def scores_for(png: bytes) -> dict[str, float]:
    """Deterministic scores of an image: happy = mean red / 255, surprised = mean blue / 255,
    the others spread by the image hash (two decimals, in [0, 1])."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)
    h = hashlib.sha256(png).digest()
    out = {e: round(h[i] / 255.0, 2) for i, e in enumerate(EXPRESSIONS)}
    out["happy"] = round(float(img[..., 0].mean() / 255.0), 2)
    out["surprised"] = round(float(img[..., 2].mean() / 255.0), 2)
    return out


def _image_from_chat(body: dict) -> bytes:
    for m in body.get("messages", []):
        if isinstance(m.get("content"), list):
            for part in m["content"]:
                if part.get("type") == "image_url":
                    url = part["image_url"]["url"]
                    return base64.b64decode(url.split(",", 1)[1])
    raise ValueError("no image in the request")


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[str] = []
        self.default = "good"
        self.slow_s = 2.0
        self.bad_digits = "0123"
        self.drip_s = 0.2
        self.huge_bytes = 64 * 1024 * 1024
        self.requests: list[tuple[str, dict]] = []
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_mode(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def count(self, path_part: str) -> int:
        return sum(1 for p, _ in self.requests if path_part in p)

    def reset(self, default: str = "good", script: list[str] | None = None) -> None:
        with self.lock:
            self.requests.clear()
            self.script = list(script or [])
            self.default = default

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: dict | bytes, headers: dict | None = None, ctype: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    def do_GET(self) -> None:  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        if name in self.server.files:
            self._send(200, self.server.files[name], ctype="image/png")
        else:
            self._send(404, {"error": {"message": "no such file"}})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
            body = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                body[name] = part.get_payload(decode=True) if part.get_filename() else part.get_content().strip()
        else:
            body = json.loads(raw or b"{}")
        with self.server.lock:
            self.server.requests.append((self.path, body))
        mode = self.server.next_mode()
        if mode == "slow":
            time.sleep(self.server.slow_s)
            mode = "good"
        if mode == "429":
            return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
        if mode == "500":
            return self._send(500, {"error": {"message": "boom"}})
        if mode == "401":
            return self._send(401, {"error": {"message": "bad key"}})
        if mode == "nan_retry_after":
            return self._send(503, {"error": {"message": "busy"}}, {"Retry-After": "nan"})
        if mode in ("huge", "huge_stream"):
            return self._huge(mode == "huge")
        if self.path.endswith("/chat/completions"):
            return self._chat(body, mode)
        if self.path.endswith("/images/edits"):
            return self._edit(body, mode)
        self._send(404, {"error": {"message": f"unknown path {self.path}"}})

    def _huge(self, declared: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if declared:
            self.send_header("Content-Length", str(self.server.huge_bytes))
        self.end_headers()
        block = b" " * (1 << 20)
        try:
            for _ in range(self.server.huge_bytes // len(block)):
                self.wfile.write(block)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _dribble(self, data: bytes, declared: int) -> None:
        """Send ``data`` one byte every ``drip_s`` (drip) or at once then hang up (truncated),
        announcing ``declared`` bytes."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        try:
            if declared > len(data):
                self.wfile.write(data)
                self.close_connection = True
                return
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                time.sleep(self.server.drip_s)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _chat(self, body: dict, mode: str) -> None:
        png = _image_from_chat(body)
        scores = scores_for(png)
        if mode == "drip_head":
            data = json.dumps({"choices": [{"message": {"content": json.dumps(scores)}}]}).encode()
            raw = (f"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                   .encode() + data)
            try:
                for i in range(len(raw)):
                    self.wfile.write(raw[i:i + 1])
                    time.sleep(self.server.drip_s)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return None
        if mode in ("drip", "truncated"):
            data = json.dumps({"choices": [{"message": {"content": json.dumps(scores)}}]}).encode()
            return self._dribble(data if mode == "drip" else data[: len(data) // 2], len(data))
        if mode == "by_image":
            mode = "malformed" if hashlib.sha256(png).hexdigest()[0] in self.server.bad_digits else "good"
        if mode == "good":
            text = json.dumps(scores)
        elif mode == "fenced":
            text = "Here you go:\n```json\n" + json.dumps(scores, indent=1) + "\n```\nHope this helps."
        elif mode == "paper_labels":
            text = json.dumps({PAPER_LABELS[k]: v for k, v in scores.items()})
        elif mode == "malformed":
            text = "The person looks rather happy, maybe 0.8."
        elif mode == "missing":
            text = json.dumps({k: v for k, v in scores.items() if k != "sleepy"})
        elif mode == "out_of_range":
            text = json.dumps({**scores, "happy": 85})
        elif mode == "echo":
            text = f"Format: {FORMAT_EXAMPLE}\nAnswer: {json.dumps(scores)}"
        elif mode == "echo_only":
            text = FORMAT_EXAMPLE
        elif mode == "dup_keys":
            text = json.dumps(scores)[:-1] + ', "happy": 0.99}'
        else:
            raise ValueError(mode)
        self._send(200, {"id": "x", "object": "chat.completion",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})

    def _edit(self, body: dict, mode: str) -> None:
        img = np.array(Image.open(io.BytesIO(body["image"])).convert("RGB"))
        h, w = img.shape[:2]
        img[h // 3: h // 2, w // 3: w // 2] = 250
        if mode == "wrong_size":
            img = img[: h // 2, : w // 2]
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        if mode == "url":
            name = f"{len(self.server.files)}.png"
            self.server.files[name] = buf.getvalue()
            return self._send(200, {"data": [{"url": self.server.base_url.rsplit('/v1', 1)[0] + f"/files/{name}"}]})
        if mode == "malformed":
            return self._send(200, {"data": []})
        self._send(200, {"created": 0, "data": [{"b64_json": base64.b64encode(buf.getvalue()).decode()}]})
