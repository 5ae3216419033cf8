"""Expression judges: what scores an edited face for FFE-Bench (PixelSmile paper, sec. 3.2).

- ``offline``: judge v2 (:mod:`.v2`): a trained head over the shipped classifiers' embeddings and
  mesh geometry, graded intensities relative to the source face, neutral + 6 basic expressions (+
  the extended ones whose gallery validation passed); says which it cannot judge
  (:func:`not_judged`) and never guesses them. Model card: ``judges/data/judge_v2.md``.
- ``ensemble-v1``: the previous offline judge, the fer + facex probability ensemble (:mod:`.offline`).
- ``vlm``: any OpenAI-compatible chat endpoint that accepts images, with facebench's versioned
  scoring prompt, robust parsing, retries and a response cache (:mod:`.vlm`, :mod:`.prompt`).

:data:`JUDGES` is the registry (``facebench.base.registry``); :func:`get_judge` builds one by name.
:mod:`.agreement` compares judges per expression when several ran.
"""

from __future__ import annotations

from typing import Any

from ..expressions import BASIC6, EXPRESSIONS
from ..base.registry import Registry
from .base import Judge, Judgement, JudgeError, not_judged
from .offline import OfflineJudge
from .v2 import OfflineJudgeV2
from .vlm import VLMJudge

#: The one registry of judges; metadata: ``licence``, ``judged`` (expressions), ``description``.
JUDGES: Registry[Any] = Registry("judge")
JUDGES.add("offline", OfflineJudgeV2, judged=OfflineJudgeV2.judged,
           licence="head: Apache-2.0 (facebench, fitted on faces-in-the-wild, Apache-2.0); "
                   "features: fer and facex models (MIT), MediaPipe mesh (Apache-2.0)",
           description="judge v2: trained head over classifier embeddings + mesh geometry; graded intensity "
                       "relative to the source; option path=HEAD.npz from `facebench judge train`")
JUDGES.add("ensemble-v1", OfflineJudge, judged=BASIC6, licence="see facebench.face.models (shipped classifiers)",
           description="the previous offline judge: fer + facex probability ensemble, neutral + 6 basic")
JUDGES.add("vlm", VLMJudge, judged=EXPRESSIONS, licence="depends on the endpoint's model",
           description="OpenAI-compatible chat endpoint with images (hosted API, vLLM, Ollama); 12 expressions")


def get_judge(name: str = "offline", **options: Any) -> Judge:
    """Build the judge registered as ``name`` with keyword ``options``."""
    return JUDGES.get(name)(**options)


__all__ = ["JUDGES", "Judge", "JudgeError", "Judgement", "OfflineJudge", "OfflineJudgeV2", "VLMJudge", "get_judge", "not_judged"]
