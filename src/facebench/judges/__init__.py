"""Expression judges: what scores an edited face for FFE-Bench (PixelSmile paper, sec. 3.2).

- ``offline``: the shipped classifier ensemble, neutral + 6 basic expressions; says which it cannot
  judge (:func:`not_judged`) and never guesses them (:mod:`.offline`).
- ``vlm``: any OpenAI-compatible chat endpoint that accepts images, with facebench's versioned
  scoring prompt, robust parsing, retries and a response cache (:mod:`.vlm`, :mod:`.prompt`).

:data:`JUDGES` is the registry (``facebench.registry``); :func:`get_judge` builds one by name.
:mod:`.agreement` compares judges per expression when several ran.
"""

from __future__ import annotations

from typing import Any

from ..expressions import BASIC6, EXPRESSIONS
from ..registry import Registry
from .base import Judge, Judgement, JudgeError, not_judged
from .offline import OfflineJudge
from .vlm import VLMJudge

#: The one registry of judges; metadata: ``licence``, ``judged`` (expressions), ``description``.
JUDGES: Registry[Any] = Registry("judge")
JUDGES.add("offline", OfflineJudge, judged=BASIC6, licence="see facebench.face.models (shipped classifiers)",
           description="shipped expression-classifier ensemble: neutral + 6 basic expressions, offline")
JUDGES.add("vlm", VLMJudge, judged=EXPRESSIONS, licence="depends on the endpoint's model",
           description="OpenAI-compatible chat endpoint with images (hosted API, vLLM, Ollama); 12 expressions")


def get_judge(name: str = "offline", **options: Any) -> Judge:
    """Build the judge registered as ``name`` with keyword ``options``."""
    return JUDGES.get(name)(**options)


__all__ = ["JUDGES", "Judge", "JudgeError", "Judgement", "OfflineJudge", "VLMJudge", "get_judge", "not_judged"]
