"""PixelSmile's training losses (paper sec. 4.1-4.4 and appendix A), as plain tensor functions.

Notation: G = generated (predicted clean) image features, P = positive (ground truth of the same
expression), N = hard negative (ground truth of the confusing expression). Features are
L2-normalised here before any distance, as the appendix says; ``s = cos``, ``d = 1 - cos``.

- InfoNCE (eq. 12): ``-log(exp(s_GP/tau) / (exp(s_GP/tau) + exp(s_GN/tau)))``, tau = 0.07.
- Hinge (eq. 10): ``max(0, d_GP - d_GN + m)``, m = 0.2.
- Log-ratio (eq. 11): ``log((d_GP + eps) / (d_GN + eps))``, eps = 1e-6.
- Symmetric contrastive (eq. 7): ``L_SC = (T(G_a, P_a, P_b) + T(G_b, P_b, P_a)) / 2``.
- Flow matching (eq. 6): ``|| v_theta(x_t, t, e(alpha)) - (noise - x) ||^2`` (mean over elements).
- Identity (eq. 8): ``L_ID = 1/2 sum_{i in a,b} (1 - cos(phi(G_i), phi(P_i)))``.
- Total (eq. 9): ``(L_FM^a + L_FM^b) / 2 + lambda_sc L_SC + lambda_id L_ID`` (1.0 and 0.1).

Each function averages over the batch; per-sample weights (identity loss at noisy timesteps) are a
weighted mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Paper defaults (appendix A.2 and B).
TAU, MARGIN, EPS = 0.07, 0.2, 1e-6
LAMBDA_SC, LAMBDA_ID = 1.0, 0.1
TRIPLET_KINDS = ("infonce", "hinge", "ratio")


def _cos(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (F.normalize(x.float(), dim=-1) * F.normalize(y.float(), dim=-1)).sum(-1)


def _wmean(x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return x.mean()
    w = weight.to(x)
    return (x * w).sum() / w.sum().clamp_min(1e-12)


def infonce_triplet(g: torch.Tensor, p: torch.Tensor, n: torch.Tensor, tau: float = TAU) -> torch.Tensor:
    """InfoNCE-style triplet (eq. 12): cross-entropy of logits ``[s_GP, s_GN] / tau`` with label 0."""
    logits = torch.stack([_cos(g, p), _cos(g, n)], dim=-1) / tau
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


def hinge_triplet(g: torch.Tensor, p: torch.Tensor, n: torch.Tensor, margin: float = MARGIN) -> torch.Tensor:
    """Hinge triplet (eq. 10): ``max(0, d_GP - d_GN + m)`` with cosine distances."""
    return F.relu((1 - _cos(g, p)) - (1 - _cos(g, n)) + margin).mean()


def ratio_triplet(g: torch.Tensor, p: torch.Tensor, n: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Log-ratio triplet (eq. 11): ``log((d_GP + eps) / (d_GN + eps))`` with cosine distances."""
    return torch.log(((1 - _cos(g, p)) + eps) / ((1 - _cos(g, n)) + eps)).mean()


def triplet(kind: str, g: torch.Tensor, p: torch.Tensor, n: torch.Tensor, *, tau: float = TAU,
            margin: float = MARGIN, eps: float = EPS) -> torch.Tensor:
    """The triplet constraint ``T(G, P, N)`` of the given kind (infonce, hinge or ratio)."""
    if kind == "infonce":
        return infonce_triplet(g, p, n, tau)
    if kind == "hinge":
        return hinge_triplet(g, p, n, margin)
    if kind == "ratio":
        return ratio_triplet(g, p, n, eps)
    raise ValueError(f"unknown contrastive loss {kind!r}; expected one of: {', '.join(TRIPLET_KINDS)}")


def symmetric_contrastive(g_a: torch.Tensor, g_b: torch.Tensor, p_a: torch.Tensor, p_b: torch.Tensor,
                          kind: str = "infonce", **kw: float) -> torch.Tensor:
    """``L_SC = (T(G_a, P_a, P_b) + T(G_b, P_b, P_a)) / 2`` (eq. 7): each branch's target is the other's negative."""
    return 0.5 * (triplet(kind, g_a, p_a, p_b, **kw) + triplet(kind, g_b, p_b, p_a, **kw))


def flow_matching(v_pred: torch.Tensor, v_target: torch.Tensor) -> torch.Tensor:
    """Velocity loss (eq. 6): mean squared error between predicted and target velocity."""
    return F.mse_loss(v_pred.float(), v_target.float())


def identity_loss(g_a: torch.Tensor, p_a: torch.Tensor, g_b: torch.Tensor, p_b: torch.Tensor,
                  weight: torch.Tensor | None = None) -> torch.Tensor:
    """``L_ID = 1/2 sum_i (1 - cos(phi(G_i), phi(P_i)))`` (eq. 8) on identity embeddings, batch-averaged
    (``weight``: optional per-sample weights, a weighted mean)."""
    return 0.5 * (_wmean(1 - _cos(g_a, p_a), weight) + _wmean(1 - _cos(g_b, p_b), weight))


def total_loss(fm_a: torch.Tensor, fm_b: torch.Tensor, sc: torch.Tensor, ident: torch.Tensor | None, *,
               lambda_sc: float = LAMBDA_SC, lambda_id: float = LAMBDA_ID) -> torch.Tensor:
    """``(L_FM^a + L_FM^b) / 2 + lambda_sc L_SC + lambda_id L_ID`` (eq. 9); ``ident=None`` drops L_ID."""
    out = 0.5 * (fm_a + fm_b) + lambda_sc * sc
    return out if ident is None else out + lambda_id * ident
