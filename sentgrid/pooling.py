"""Token states -> sentence vectors.

The encoder reduces each sentence's token states, per layer, to a few *primitives* right after the
forward pass (see `token_primitives`); the cache stores those. A pooling choice then picks one
primitive and averages it over the cell's layers (`pool`). So every layer and every pooling of a
cell is served by one forward pass, and the cache stays small (no token-level states).

Multi-layer max pooling is the mean of the per-layer max vectors (pool, then average layers); for
cls, avg and template this equals pooling the layer-averaged token states exactly.
"""
import numpy as np
import torch

from .errors import choice_error

POOLING_CHOICES = ("cls", "avg", "max", "template")
SPECIAL_TOKEN_CHOICES = ("include", "exclude")
PRIMITIVES = ("cls", "mean_all", "mean_content", "max_all", "max_content")
MASK_PRIMITIVE = "mask"


def token_primitives(hidden: torch.Tensor, attention: torch.Tensor, special: torch.Tensor,
                     mask_positions: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Reduce stacked hidden states [layers, batch, tokens, dim] to primitives [layers, batch, dim].

    `attention` and `special` are [batch, tokens] 0/1 masks; `special` marks [CLS]/[SEP]-like tokens.
    `mask_positions` ([batch]) is where each sentence's [MASK] sits, when the template has one.
    """
    hidden = hidden.float()
    real = attention.bool()
    content = real & ~special.bool()
    # A sentence with no content tokens (empty text) falls back to all its real tokens.
    content = torch.where(content.any(dim=1, keepdim=True), content, real)

    def masked_mean(keep):
        weights = keep.to(hidden.dtype)[None, :, :, None]
        return (hidden * weights).sum(dim=2) / weights.sum(dim=2).clamp(min=1e-9)

    def masked_max(keep):
        return hidden.masked_fill(~keep[None, :, :, None], float("-inf")).amax(dim=2)

    out = {
        "cls": hidden[:, :, 0],
        "mean_all": masked_mean(real),
        "mean_content": masked_mean(content),
        "max_all": masked_max(real),
        "max_content": masked_max(content),
    }
    if mask_positions is not None:
        batch = torch.arange(hidden.shape[1], device=hidden.device)
        out[MASK_PRIMITIVE] = hidden[:, batch, mask_positions]
    return out


def primitive_for(cfg) -> str:
    """The cached primitive a `pooling` config reads."""
    if cfg.special_tokens not in SPECIAL_TOKEN_CHOICES:
        raise choice_error("pooling.special_tokens", cfg.special_tokens, SPECIAL_TOKEN_CHOICES)
    suffix = "all" if cfg.special_tokens == "include" else "content"
    by_name = {"cls": "cls", "avg": f"mean_{suffix}", "max": f"max_{suffix}", "template": MASK_PRIMITIVE}
    if cfg.name not in by_name:
        raise choice_error("pooling", cfg.name, POOLING_CHOICES)
    return by_name[cfg.name]


def pool(per_layer: np.ndarray) -> np.ndarray:
    """Sentence vectors [n, dim] from one primitive read at the cell's layers [layers, n, dim]."""
    return per_layer.mean(axis=0, dtype=np.float64).astype(np.float32)


# -- token-level pooling: weighted means, static models, mixes ------------------------------------
TOKEN_POOLINGS = ("cls", "avg", "max", "template")


def pool_tokens(states: np.ndarray, batch, name: str, weights: np.ndarray | None = None,
                special_tokens: str = "include") -> tuple[np.ndarray, dict]:
    """Sentence vectors [n, dim] from token states [layers, T, dim] of `batch`, averaged over layers.

    `weights` ([T], >= 0) weight each token of an `avg` (idf, SIF) and drop tokens with weight 0
    (bias removal) from `avg` and `max`. Tokens without a vector (`batch.known` False) always count 0.
    A sentence left with no token falls back to all its known tokens, then to a zero vector; both
    are counted in the returned notes.
    """
    from scipy import sparse

    n, total = len(batch), len(batch.ids)
    if name in ("cls", "template"):
        rows = batch.offsets[:-1] if name == "cls" else batch.mask_index
        return states[:, rows].mean(axis=0, dtype=np.float64).astype(np.float32), {}
    known = np.ones(total, bool) if batch.known is None else batch.known
    keep = known & ~batch.special if special_tokens == "exclude" else known.copy()
    w = keep.astype(np.float64) if weights is None else np.where(keep, weights, 0.0)
    sentence = batch.sentence_of_token()
    mass = np.bincount(sentence, weights=w, minlength=n)
    empty = mass <= 0
    if empty.any():  # everything removed: fall back to the sentence's known tokens
        fallback = empty[sentence] & known
        w = np.where(fallback, 1.0, w)
        mass = np.bincount(sentence, weights=w, minlength=n)
    notes = {"sentences_fallback": int(empty.sum()), "sentences_zero": int((mass <= 0).sum())}
    if name == "avg":
        scaled = w / np.maximum(mass, 1e-12)[sentence]
        matrix = sparse.csr_matrix((scaled, (sentence, np.arange(total))), shape=(n, total))
        out = np.mean([matrix @ states[layer].astype(np.float64) for layer in range(len(states))], axis=0)
        return out.astype(np.float32), notes
    if name == "max":
        starts = np.minimum(batch.offsets[:-1], max(total - 1, 0))
        out = np.zeros((n, states.shape[-1]), np.float64)
        for layer in range(len(states)):
            masked = np.where((w > 0)[:, None], states[layer], -np.inf)
            pooled = np.maximum.reduceat(masked, starts, axis=0) if total else np.zeros((n, states.shape[-1]))
            out += np.where((mass > 0)[:, None], pooled, 0.0)
        return (out / len(states)).astype(np.float32), notes
    raise choice_error("pooling", name, TOKEN_POOLINGS)
