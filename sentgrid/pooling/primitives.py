"""The forward pass's reduction: all hidden states of a batch -> per-layer pooling *primitives*.

Right after the forward pass the transformer encoder reduces each sentence's token states, per layer,
to these few vectors; the store keeps them, and every pooling mode that can be served from them
(see `modes.py`) reads one, for any layer, without another forward pass.
"""
CLS, MEAN_ALL, MEAN_CONTENT, MAX_ALL, MAX_CONTENT, MASK = "cls", "mean_all", "mean_content", "max_all", "max_content", "mask"
PRIMITIVES = (CLS, MEAN_ALL, MEAN_CONTENT, MAX_ALL, MAX_CONTENT)  # MASK only when the template has a [MASK]


def token_primitives(hidden, attention, special, mask_positions=None) -> dict:
    """Reduce stacked hidden states [layers, batch, tokens, dim] to primitives [layers, batch, dim].

    `attention` and `special` are [batch, tokens] 0/1 masks; `special` marks [CLS]/[SEP]-like tokens.
    `mask_positions` ([batch]) is where each sentence's [MASK] sits, when the template has one.
    """
    import torch

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

    out = {CLS: hidden[:, :, 0], MEAN_ALL: masked_mean(real), MEAN_CONTENT: masked_mean(content),
           MAX_ALL: masked_max(real), MAX_CONTENT: masked_max(content)}
    if mask_positions is not None:
        batch = torch.arange(hidden.shape[1], device=hidden.device)
        out[MASK] = hidden[:, batch, mask_positions]
    return out
