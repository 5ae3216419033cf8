"""Textual latent interpolation and blending (PixelSmile paper eq. 4-5 and sec. 5.6), with alignment.

Interpolation: ``e(a) = e_neu + a (e_tgt - e_neu)``; blend: ``e = e_neu + sum_i a_i (e_i - e_neu)``.

**Alignment.** The neutral and target prompts are encoded separately (each with the input image),
so their sequences can differ in length when the expression words take different numbers of
tokens. No token offsets are hard-coded: the sequences are aligned by their token ids --

    [ common prefix | differing middle | common suffix ]

The common prefix (image tokens, "Edit the person to show a") and the common suffix
(" expression" and the chat template's closing tokens) line up position by position; each middle
(the expression word(s)) is left-aligned and padded with zero vectors to the longest middle, and
each sequence carries a mask that is 0 on its padding. All sequences of one image share this
layout, so the formula above is applied position by position on equal-shaped tensors.

**Masks.** A position of a combination is attended when any prompt with a non-zero coefficient in
it (``1 - sum a_i`` for neutral, ``a_i`` for target i) has a real token there. So ``e(0)`` has
exactly the neutral prompt's positions and ``e(1)`` exactly the target's; in between (and for
``a > 1``) the union is attended, padding holes holding ``a`` times the other prompt's vector.

**Compaction.** Before the transformer sees a row, its attended positions are moved to the front in
order (:func:`compact`) and the rest is masked padding at the end. The transformer's text rotary
positions are the sequence indices, so a hole in the middle would shift the suffix by one; after
compaction ``e(0)`` is *exactly* the neutral conditioning and ``e(1)`` exactly the target
conditioning the stock pipeline would build (same values, same positions; trailing masked padding
changes nothing), also when the two prompts have different lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

#: A coefficient at most this large counts as zero for the mask rule (``1 - 0.1 - 0.2 - 0.7`` is not
#: exactly 0 in floating point).
ZERO = 1e-6


@dataclass(frozen=True)
class PromptEncoding:
    """One prompt encoded with its image: ``embeds`` (L, D) after the template drop, ``token_ids`` (L,)."""

    embeds: torch.Tensor
    token_ids: torch.Tensor

    def __post_init__(self) -> None:
        if self.embeds.ndim != 2 or self.token_ids.ndim != 1 or len(self.embeds) != len(self.token_ids):
            raise ValueError(
                f"prompt encoding needs embeds (L, D) and token_ids (L,), got {tuple(self.embeds.shape)} "
                f"and {tuple(self.token_ids.shape)}"
            )


@dataclass(frozen=True)
class AlignedPrompts:
    """Prompts in one shared layout: ``embeds`` (N, L, D) zero on padding, ``mask`` (N, L) bool."""

    embeds: torch.Tensor
    mask: torch.Tensor
    prefix: int
    suffix: int


def _common_prefix(seqs: Sequence[list[int]]) -> int:
    n = min(len(s) for s in seqs)
    for i in range(n):
        if any(s[i] != seqs[0][i] for s in seqs[1:]):
            return i
    return n


def align(encodings: Sequence[PromptEncoding]) -> AlignedPrompts:
    """Put prompts in one layout: common prefix | left-aligned middles padded to the longest | common suffix."""
    if not encodings:
        raise ValueError("align needs at least one prompt encoding")
    ids = [e.token_ids.tolist() for e in encodings]
    p = _common_prefix(ids)
    s = _common_prefix([list(reversed(x[p:])) for x in ids])
    mids = [len(x) - p - s for x in ids]
    width = max(mids)
    length, dim = p + width + s, encodings[0].embeds.shape[1]
    ref = encodings[0].embeds
    embeds = ref.new_zeros((len(encodings), length, dim))
    mask = torch.zeros((len(encodings), length), dtype=torch.bool, device=ref.device)
    for i, (enc, m) in enumerate(zip(encodings, mids)):
        if enc.embeds.shape[1] != dim:
            raise ValueError(f"prompt {i} has embedding width {enc.embeds.shape[1]}, expected {dim}")
        e = enc.embeds.to(ref)
        embeds[i, : p + m] = e[: p + m]
        embeds[i, p + width:] = e[p + m:]
        mask[i, : p + m] = True
        mask[i, p + width:] = True
    return AlignedPrompts(embeds, mask, p, s)


def combine(aligned: AlignedPrompts, alphas: torch.Tensor | Sequence[Sequence[float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows ``e_r = e_0 + sum_i alphas[r, i-1] (e_i - e_0)`` over aligned prompts (0 = neutral).

    ``alphas`` is (R, N-1): one weight per non-neutral prompt per row. Returns ``(embeds (R, L, D),
    mask (R, L))`` in the aligned layout; the mask rule is in the module docstring.
    """
    a = torch.as_tensor(alphas, dtype=torch.float64)
    if a.ndim != 2 or a.shape[1] != aligned.embeds.shape[0] - 1:
        raise ValueError(
            f"alphas must be (rows, {aligned.embeds.shape[0] - 1}) for {aligned.embeds.shape[0]} prompts, "
            f"got {tuple(a.shape)}"
        )
    e0 = aligned.embeds[0]
    # Term by term with Python-float weights, in the encodings' own dtype: for one target this is
    # the official ``e_neu + a * (e_tgt - e_neu)`` operation for operation (bit-identical results).
    rows = []
    for weights in a.tolist():
        row = e0
        for i, w in enumerate(weights):
            if w != 0.0 or len(weights) == 1:
                row = row + w * (aligned.embeds[i + 1] - e0)
        rows.append(row)
    embeds = torch.stack(rows) if rows else e0.new_zeros((0, *e0.shape))
    a = a.to(aligned.embeds.device)
    coeffs = torch.cat([1.0 - a.sum(dim=1, keepdim=True), a], dim=1)  # (R, N), float64
    mask = ((coeffs.abs() > ZERO).unsqueeze(-1) & aligned.mask.unsqueeze(0)).any(dim=1)
    return embeds, mask


def compact(embeds: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move each row's attended positions to the front (order kept); padding (zeros, mask 0) at the end.

    Returns ``(embeds (R, L', D), mask (R, L'))`` with ``L'`` the largest number of attended positions.
    """
    counts = mask.sum(dim=1)
    length = int(counts.max().item()) if len(counts) else 0
    out = embeds.new_zeros((embeds.shape[0], length, embeds.shape[2]))
    out_mask = torch.zeros((embeds.shape[0], length), dtype=torch.bool, device=mask.device)
    for r in range(embeds.shape[0]):
        valid = embeds[r][mask[r]]
        out[r, : len(valid)] = valid
        out_mask[r, : len(valid)] = True
    return out, out_mask


def interpolate(neutral: PromptEncoding, target: PromptEncoding, alphas: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """``e(a) = e_neu + a (e_tgt - e_neu)`` for each ``a`` (paper eq. 5), aligned and compacted."""
    aligned = align([neutral, target])
    return compact(*combine(aligned, [[float(a)] for a in alphas]))


def blend(neutral: PromptEncoding, targets: Mapping[str, PromptEncoding],
          rows: Sequence[Mapping[str, float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """``e = e_neu + sum_i a_i (e_i - e_neu)`` (paper sec. 5.6) for each row of weights, compacted.

    ``targets`` maps expression -> encoding; each row maps expression -> alpha (missing = 0).
    """
    names = list(targets)
    for row in rows:
        extra = set(row) - set(names)
        if extra:
            raise ValueError(f"blend weights name {sorted(extra)} but only {names} were encoded")
    aligned = align([neutral, *(targets[k] for k in names)])
    weights = [[float(row.get(k, 0.0)) for k in names] for row in rows]
    return compact(*combine(aligned, weights))


def pad_rows(rows: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(embeds (R_i, L_i, D), mask (R_i, L_i))`` blocks into one batch, padding at the end."""
    length = max(e.shape[1] for e, _ in rows)
    es, ms = [], []
    for e, m in rows:
        pad = length - e.shape[1]
        es.append(torch.nn.functional.pad(e, (0, 0, 0, pad)))
        ms.append(torch.nn.functional.pad(m, (0, pad), value=False))
    return torch.cat(es), torch.cat(ms)
