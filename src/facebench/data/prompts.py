"""The versioned prompt library: the 12 expressions as facial attribute components (compose stage).

FFE (PixelSmile paper, sec. 3.1, "Expression Prompt Composition") decomposes every target expression
into facial attribute components -- mouth shape, eyebrow movement, eye openness, gaze and head, and
extras such as a blush or tears --, generates candidate combinations automatically and removes the
anatomically inconsistent or semantically conflicting ones. The editing prompt is "dual-part": the
global expression category plus the localised attributes.

Here every component carries *features* (``jaw=open``, ``lids=closed``, ...). A combination takes one
component per slot of an expression (:data:`SLOTS`); :data:`CONFLICT_RULES` name pairs of features
that cannot hold together on one face (each with its reason), and :func:`compose_library` drops
every combination that breaks one, recording which rule. :func:`vlm_check` can additionally ask a
chat model behind an OpenAI-compatible endpoint to reject combinations it finds inconsistent.

The component texts follow the action-unit prototypes cited in
:mod:`facebench.edit.expression_table` (EMFACS, Ekman, Friesen & Hager 2002; Rozin & Cohen 2003;
Tracy & Robins 2004; Keltner 1995; Sundelin et al. 2013; Harrigan & O'Connell 1996); the wording is
facebench's own. Change :data:`PROMPT_LIBRARY_VERSION` whenever a text, feature or rule changes:
prompt ids and generation caches depend on it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

from ..expressions import EXPRESSIONS, normalize_expression

#: Bump whenever a component text, a feature or a rule below changes.
PROMPT_LIBRARY_VERSION = "facebench-prompts-v1"

#: The attribute slots of a prompt, in the order their texts are joined.
SLOTS: tuple[str, ...] = ("mouth", "brows", "eyes", "gaze_head", "extras")

#: The sentence of a composed prompt: PixelSmile's global part, then the localised attributes.
PROMPT_TEMPLATE = "Edit the {subject} to show a {expression} expression: {attributes}."


@dataclass(frozen=True)
class Attribute:
    """One facial attribute component: its slot, its text and the features it sets."""

    slot: str
    text: str
    features: Mapping[str, str] = field(default_factory=dict)


def _a(slot: str, text: str, **features: str) -> Attribute:
    return Attribute(slot, text, MappingProxyType(dict(features)))


_NONE = _a("extras", "")  # "no extra": an empty component

#: expression -> slot -> candidate components.
LIBRARY: Mapping[str, Mapping[str, tuple[Attribute, ...]]] = MappingProxyType({
    "happy": {
        "mouth": (_a("mouth", "a broad smile showing the upper teeth", lips="parted", teeth="shown", corners="up"),
                  _a("mouth", "an open-mouthed laugh", jaw="open", lips="parted", teeth="shown", corners="up"),
                  _a("mouth", "a closed-lip smile", lips="pressed", teeth="hidden", corners="up")),
        "brows": (_a("brows", "relaxed eyebrows", brows="relaxed"),),
        "eyes": (_a("eyes", "eyes narrowed into crescents with crow's feet", lids="narrowed"),
                 _a("eyes", "bright, wide-open eyes", lids="wide")),
        "gaze_head": (_a("gaze_head", "looking straight ahead", gaze="direct"),
                      _a("gaze_head", "head tilted slightly back", gaze="direct", head="back")),
        "extras": (_NONE, _a("extras", "raised, rounded cheeks", cheeks="raised")),
    },
    "sad": {
        "mouth": (_a("mouth", "mouth corners pulled down", corners="down", lips="relaxed"),
                  _a("mouth", "a trembling pout with the lower lip pushed up", corners="down", lips="pressed")),
        "brows": (_a("brows", "inner ends of the eyebrows raised and drawn together", brows="inner_raised"),),
        "eyes": (_a("eyes", "drooping upper eyelids", lids="drooping"),
                 _a("eyes", "glistening eyes", lids="relaxed")),
        "gaze_head": (_a("gaze_head", "gaze lowered", gaze="down"),
                      _a("gaze_head", "head bowed", gaze="down", head="down")),
        "extras": (_NONE, _a("extras", "tears running down the cheeks", tears="yes")),
    },
    "angry": {
        "mouth": (_a("mouth", "lips pressed into a thin hard line", lips="pressed", teeth="hidden", corners="level"),
                  _a("mouth", "teeth bared in a snarl", jaw="open", lips="parted", teeth="shown")),
        "brows": (_a("brows", "eyebrows pulled down and together", brows="lowered"),),
        "eyes": (_a("eyes", "a hard glaring stare with raised upper lids", lids="wide"),
                 _a("eyes", "narrowed, tensed eyelids", lids="narrowed")),
        "gaze_head": (_a("gaze_head", "staring straight ahead", gaze="direct"),
                      _a("gaze_head", "chin lowered", gaze="direct", head="down")),
        "extras": (_NONE, _a("extras", "flared nostrils", nose="flared")),
    },
    "fear": {
        "mouth": (_a("mouth", "lips stretched sideways", lips="stretched", corners="level"),
                  _a("mouth", "mouth open with lips pulled back", jaw="open", lips="stretched", teeth="shown")),
        "brows": (_a("brows", "eyebrows raised and drawn together", brows="raised"),),
        "eyes": (_a("eyes", "eyes wide open with the whites showing above the irises", lids="wide"),),
        "gaze_head": (_a("gaze_head", "looking straight ahead", gaze="direct"),
                      _a("gaze_head", "head pulled back", gaze="direct", head="back")),
        "extras": (_NONE, _a("extras", "tense neck muscles", neck="tense")),
    },
    "surprised": {
        "mouth": (_a("mouth", "jaw dropped with the mouth hanging open", jaw="open", lips="relaxed"),
                  _a("mouth", "lips rounded into an O", jaw="open", lips="rounded")),
        "brows": (_a("brows", "eyebrows lifted high in smooth arcs", brows="raised"),),
        "eyes": (_a("eyes", "eyes wide open", lids="wide"),),
        "gaze_head": (_a("gaze_head", "looking straight ahead", gaze="direct"),),
        "extras": (_NONE, _a("extras", "horizontal forehead wrinkles", forehead="wrinkled"),
                   _a("extras", "lips pressed together", lips="pressed")),
    },
    "disgust": {
        "mouth": (_a("mouth", "upper lip raised", lips="raised", corners="down"),
                  _a("mouth", "mouth corners pulled down with the lower lip pushed out", corners="down", lips="relaxed")),
        "brows": (_a("brows", "eyebrows lowered", brows="lowered"),),
        "eyes": (_a("eyes", "eyes narrowed", lids="narrowed"),
                 _a("eyes", "eyes wide open", lids="wide")),
        "gaze_head": (_a("gaze_head", "head pulled away and turned aside", gaze="away", head="turned"),
                      _a("gaze_head", "looking straight ahead", gaze="direct")),
        "extras": (_a("extras", "nose wrinkled", nose="wrinkled"), _a("extras", "raised cheeks", cheeks="raised")),
    },
    "confused": {
        "mouth": (_a("mouth", "lips pursed to one side", lips="pursed", corners="one_side"),
                  _a("mouth", "mouth slightly open", jaw="open", lips="parted")),
        "brows": (_a("brows", "eyebrows knitted together", brows="lowered"),
                  _a("brows", "one eyebrow raised", brows="one_raised")),
        "eyes": (_a("eyes", "eyes slightly narrowed", lids="narrowed"),),
        "gaze_head": (_a("gaze_head", "head tilted to one side", gaze="direct", head="tilted"),
                      _a("gaze_head", "glancing up and aside", gaze="up")),
        "extras": (_NONE,),
    },
    "contempt": {
        "mouth": (_a("mouth", "one mouth corner tightened and lifted in a smirk", corners="one_side", lips="pressed"),
                  _a("mouth", "a one-sided sneer", corners="one_side", lips="raised")),
        "brows": (_a("brows", "relaxed eyebrows", brows="relaxed"), _a("brows", "one eyebrow raised", brows="one_raised")),
        "eyes": (_a("eyes", "eyelids half lowered", lids="drooping"),),
        "gaze_head": (_a("gaze_head", "looking down the nose with the chin raised", gaze="down", head="up"),
                      _a("gaze_head", "looking straight ahead", gaze="direct")),
        "extras": (_NONE, _a("extras", "a symmetrical broad smile", corners="up", teeth="shown", lips="parted")),
    },
    "confident": {
        "mouth": (_a("mouth", "a small controlled closed-lip smile", lips="pressed", corners="up", teeth="hidden"),
                  _a("mouth", "a relaxed smile", lips="parted", corners="up")),
        "brows": (_a("brows", "relaxed, level eyebrows", brows="relaxed"),),
        "eyes": (_a("eyes", "steady, relaxed eyes", lids="relaxed"),),
        "gaze_head": (_a("gaze_head", "a steady direct gaze with the chin slightly raised", gaze="direct", head="up"),
                      _a("gaze_head", "a steady direct gaze", gaze="direct")),
        "extras": (_NONE, _a("extras", "mouth corners pulled down", corners="down")),
    },
    "shy": {
        "mouth": (_a("mouth", "a small bashful smile", lips="pressed", corners="up", teeth="hidden"),
                  _a("mouth", "lips pressed together in a suppressed smile", lips="pressed", corners="up")),
        "brows": (_a("brows", "relaxed eyebrows", brows="relaxed"), _a("brows", "slightly raised inner eyebrows", brows="inner_raised")),
        "eyes": (_a("eyes", "eyelids lowered", lids="drooping"), _a("eyes", "eyes closed", lids="closed")),
        "gaze_head": (_a("gaze_head", "gaze turned down and away", gaze="down"),
                      _a("gaze_head", "head ducked", gaze="down", head="down")),
        "extras": (_a("extras", "blushing cheeks", cheeks="flushed"),),
    },
    "sleepy": {
        "mouth": (_a("mouth", "a wide yawn", jaw="open", lips="stretched"),
                  _a("mouth", "slack lips with drooping corners", corners="down", lips="relaxed")),
        "brows": (_a("brows", "relaxed eyebrows", brows="relaxed"),),
        "eyes": (_a("eyes", "heavy, half-closed eyelids", lids="drooping"), _a("eyes", "eyes closed", lids="closed")),
        "gaze_head": (_a("gaze_head", "head drooping forward", head="down", gaze="none"),
                      _a("gaze_head", "looking straight ahead", gaze="direct")),
        "extras": (_NONE, _a("extras", "dark circles under the eyes", undereye="dark"),
                   _a("extras", "eyes wide open", lids="wide")),
    },
    "anxious": {
        "mouth": (_a("mouth", "lips pressed tightly together", lips="pressed", teeth="hidden"),
                  _a("mouth", "biting the lower lip", lips="bitten", teeth="shown"),
                  _a("mouth", "lips stretched in a tense grimace", lips="stretched")),
        "brows": (_a("brows", "worried eyebrows raised and drawn together", brows="inner_raised"),),
        "eyes": (_a("eyes", "widened, tense eyes", lids="wide"),),
        "gaze_head": (_a("gaze_head", "eyes darting aside", gaze="away"), _a("gaze_head", "looking straight ahead", gaze="direct")),
        "extras": (_NONE, _a("extras", "beads of sweat on the forehead", sweat="yes")),
    },
})


@dataclass(frozen=True)
class ConflictRule:
    """Two features that cannot hold together on one face: ``a`` and ``b`` are ``(feature, values)``."""

    name: str
    a: tuple[str, tuple[str, ...]]
    b: tuple[str, tuple[str, ...]]
    reason: str

    def broken_by(self, attrs: Sequence[Attribute]) -> bool:
        """True when one component sets ``a`` and a *different* component sets ``b``."""
        fa, va = self.a
        fb, vb = self.b
        for i, x in enumerate(attrs):
            if x.features.get(fa) in va:
                if any(j != i and y.features.get(fb) in vb for j, y in enumerate(attrs)):
                    return True
        return False


#: Anatomical and semantic conflicts between components of one prompt.
CONFLICT_RULES: tuple[ConflictRule, ...] = (
    ConflictRule("open_jaw_pressed_lips", ("jaw", ("open",)), ("lips", ("pressed", "pursed")),
                 "the lips cannot be pressed or pursed while the jaw hangs open"),
    ConflictRule("teeth_through_pressed_lips", ("teeth", ("shown",)), ("lips", ("pressed", "rounded")),
                 "teeth cannot show through pressed or rounded lips"),
    ConflictRule("closed_eyes_gaze", ("lids", ("closed",)), ("gaze", ("direct", "down", "away", "up")),
                 "closed eyes cannot look in a direction"),
    ConflictRule("two_lid_states", ("lids", ("wide",)), ("lids", ("drooping", "closed", "narrowed")),
                 "the eyelids cannot be wide open and lowered at once"),
    ConflictRule("corners_up_and_down", ("corners", ("up",)), ("corners", ("down",)),
                 "the mouth corners cannot be pulled up and down at once"),
    ConflictRule("symmetric_and_one_sided", ("corners", ("up", "down")), ("corners", ("one_side",)),
                 "a one-sided smirk is not symmetrical"),
    ConflictRule("cheek_raise_wide_eyes", ("cheeks", ("raised",)), ("lids", ("wide",)),
                 "raised cheeks push the lower lids up and narrow the eyes (AU6 vs AU5)"),
    ConflictRule("two_lip_states", ("lips", ("pressed",)), ("lips", ("relaxed", "parted", "stretched", "raised", "rounded")),
                 "the lips cannot be pressed together and apart at once"),
)


@dataclass(frozen=True)
class Prompt:
    """One composed prompt: id, expression, the chosen component texts per slot, the sentence."""

    id: str
    expression: str
    attributes: Mapping[str, str]
    text: str
    version: str = PROMPT_LIBRARY_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (one line of ``prompts.jsonl``)."""
        return {"id": self.id, "expression": self.expression, "attributes": dict(self.attributes),
                "text": self.text, "version": self.version}


@dataclass(frozen=True)
class Rejected:
    """A generated combination removed by a rule (or by the VLM check)."""

    expression: str
    attributes: Mapping[str, str]
    rule: str
    reason: str


@dataclass
class PromptLibrary:
    """The composed library: valid prompts per expression and every rejected combination."""

    prompts: dict[str, list[Prompt]]
    rejected: list[Rejected]
    version: str = PROMPT_LIBRARY_VERSION
    subject: str = "person"

    def for_item(self, expression: str, key: str, seed: int = 0) -> Prompt:
        """A prompt of ``expression`` chosen deterministically from ``key`` (e.g. a source id) and ``seed``."""
        options = self.prompts.get(expression)
        if not options:
            raise ValueError(f"the prompt library has no valid prompt for {expression!r}")
        h = int(hashlib.sha256(f"{seed}|{key}|{expression}".encode()).hexdigest(), 16)
        return options[h % len(options)]

    def counts(self) -> dict[str, dict[str, int]]:
        """``{expression: {"valid": n, "rejected": m}}``."""
        rej: dict[str, int] = {}
        for r in self.rejected:
            rej[r.expression] = rej.get(r.expression, 0) + 1
        return {e: {"valid": len(p), "rejected": rej.get(e, 0)} for e, p in self.prompts.items()}


def first_conflict(attrs: Sequence[Attribute]) -> ConflictRule | None:
    """The first rule of :data:`CONFLICT_RULES` that the components break (None: consistent)."""
    for rule in CONFLICT_RULES:
        if rule.broken_by(attrs):
            return rule
    return None


def _prompt(expression: str, attrs: Sequence[Attribute], subject: str) -> Prompt:
    texts = {a.slot: a.text for a in attrs}
    joined = ", ".join(a.text for a in attrs if a.text)
    text = PROMPT_TEMPLATE.format(subject=subject, expression=expression, attributes=joined)
    digest = hashlib.sha256(json.dumps([PROMPT_LIBRARY_VERSION, expression, texts, subject],
                                       sort_keys=True).encode()).hexdigest()[:10]
    return Prompt(f"{expression}-{digest}", expression, MappingProxyType(texts), text)


def combinations(expression: str) -> list[tuple[Attribute, ...]]:
    """Every combination of one component per slot for ``expression`` (before the rules)."""
    slots = LIBRARY[normalize_expression(expression)]
    return [tuple(c) for c in itertools.product(*(slots[s] for s in SLOTS if s in slots))]


def compose_library(expressions: Iterable[str] = EXPRESSIONS, *, subject: str = "person",
                    max_per_expression: int | None = None, seed: int = 0) -> PromptLibrary:
    """Generate the combinations of every expression, drop those that break a rule, and keep at
    most ``max_per_expression`` valid prompts per expression (a seeded random choice)."""
    if subject not in ("person", "character"):
        raise ValueError(f"subject {subject!r} is not 'person' or 'character'")
    prompts: dict[str, list[Prompt]] = {}
    rejected: list[Rejected] = []
    for e in dict.fromkeys(normalize_expression(x) for x in expressions):
        valid = []
        for combo in combinations(e):
            rule = first_conflict(combo)
            if rule is None:
                valid.append(_prompt(e, combo, subject))
            else:
                rejected.append(Rejected(e, MappingProxyType({a.slot: a.text for a in combo}), rule.name, rule.reason))
        if max_per_expression is not None and len(valid) > max_per_expression:
            rng = random.Random(f"{seed}|{e}")
            valid = sorted(rng.sample(valid, max_per_expression), key=lambda p: p.id)
        prompts[e] = valid
    return PromptLibrary(prompts, rejected, subject=subject)


VLM_CHECK_PROMPT = (
    "You check descriptions of facial expressions. Decide whether every part of the description can "
    "be true of one face at the same moment (anatomically possible) and fits the named expression. "
    'Answer with one JSON object only: {"consistent": true or false, "reason": "<short reason>"}.'
)


def vlm_check(library: PromptLibrary, *, base_url: str, model: str, api_key: str | None = None,
              api_key_env: str | None = "OPENAI_API_KEY", timeout: float = 60.0,
              cache: Any = None) -> PromptLibrary:
    """Ask a chat model behind an OpenAI-compatible endpoint to confirm each prompt (text only).

    Prompts the model calls inconsistent move to :attr:`PromptLibrary.rejected` with rule ``"vlm"``
    and its reason. An answer that is not ``{"consistent": bool, ...}`` or a failed request raises
    ``ValueError`` naming the prompt (nothing is assumed). ``cache`` (a str -> str mapping, e.g.
    :class:`facebench.base.store.SqliteMapping`) keeps answers so a rerun asks again only for new prompts.
    """
    from ..base.http import HttpClient, HttpError
    from ..judges.prompt import _json_object_text

    client = HttpClient(base_url, api_key=api_key, api_key_env=api_key_env, timeout=timeout)
    kept: dict[str, list[Prompt]] = {}
    rejected = list(library.rejected)
    for e, plist in library.prompts.items():
        kept[e] = []
        for p in plist:
            key = hashlib.sha256(json.dumps([model, VLM_CHECK_PROMPT, p.text]).encode()).hexdigest()
            answer = cache.get(key) if cache is not None else None
            if answer is None:
                payload = {"model": model, "temperature": 0, "messages": [
                    {"role": "system", "content": VLM_CHECK_PROMPT}, {"role": "user", "content": p.text}]}
                try:
                    resp = client.post_json("chat/completions", payload)
                    answer = resp["choices"][0]["message"]["content"]
                except HttpError as exc:
                    raise ValueError(f"prompt check {p.id}: {exc}") from None
                except (KeyError, IndexError, TypeError):
                    raise ValueError(f"prompt check {p.id}: the response has no message content") from None
            try:
                obj = json.loads(_json_object_text(str(answer)))
                ok = obj["consistent"]
                if not isinstance(ok, bool):
                    raise TypeError
            except Exception:  # noqa: BLE001 - any malformed answer gets the same message
                raise ValueError(f"prompt check {p.id}: answer is not {{\"consistent\": true|false}}: "
                                 f"{str(answer)[:120]!r}") from None
            if cache is not None:
                cache[key] = str(answer)
            if ok:
                kept[e].append(p)
            else:
                rejected.append(Rejected(e, p.attributes, "vlm", str(obj.get("reason", "inconsistent"))[:200]))
    return PromptLibrary(kept, rejected, library.version, library.subject)
