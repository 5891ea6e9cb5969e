"""The forward pass's reduction: all hidden states of a batch -> per-layer pooling *primitives*.

Right after the forward pass the transformer encoder reduces each sentence's token states, per layer,
to these few vectors; the store keeps them, and every pooling mode that can be served from them
(see `modes.py`) reads one, for any layer, without another forward pass.
"""
CLS, MEAN_ALL, MEAN_CONTENT, MAX_ALL, MAX_CONTENT, MASK = "cls", "mean_all", "mean_content", "max_all", "max_content", "mask"
PRIMITIVES = (CLS, MEAN_ALL, MEAN_CONTENT, MAX_ALL, MAX_CONTENT)  # MASK only when the template has a [MASK]
MOST_PRIMITIVES = len(PRIMITIVES) + 1  # per sentence and layer, what a pass holds at most (sizes its memory and disk)


def names(has_mask: bool) -> list[str]:
    """The primitives a forward pass computes and a primitive entry stores."""
    return list(PRIMITIVES) + ([MASK] if has_mask else [])


def token_primitives(hidden, attention, special, mask_positions=None) -> dict:
    """Reduce hidden states (per layer [batch, tokens, dim]: a stacked [layers, batch, tokens, dim] tensor or
    the model's tuple of layers) to primitives [layers, batch, dim].

    `attention` and `special` are [batch, tokens] 0/1 masks; `special` marks [CLS]/[SEP]-like tokens.
    `mask_positions` ([batch]) is where each sentence's [MASK] sits, when the template has one.

    Layer by layer, means as one matrix product per layer: stacking the layers and masking the whole stack
    at once cost a cold encode 6 % of its time (large fresh tensors), this about half of it.
    """
    import torch

    real = attention.bool()
    content = real & ~special.bool()
    # A sentence with no content tokens (empty text) falls back to all its real tokens.
    content = torch.where(content.any(dim=1, keepdim=True), content, real)
    first = hidden[0]
    names_ = names(mask_positions is not None)
    out = dict(zip(names_, torch.empty((len(names_), len(hidden), first.shape[0], first.shape[-1]),
                                      dtype=torch.float32, device=first.device)))  # one buffer, a view per name
    means = {name: (keep.to(torch.float32)[:, None, :], keep.sum(dim=1, keepdim=True).clamp(min=1))
             for name, keep in ((MEAN_ALL, real), (MEAN_CONTENT, content))}
    maxima = {MAX_ALL: real, MAX_CONTENT: content}
    rows = torch.arange(first.shape[0], device=first.device)
    for layer, states in enumerate(hidden):
        states = states.float()
        out[CLS][layer] = states[:, 0]
        for name, (weights, count) in means.items():
            out[name][layer] = torch.bmm(weights, states)[:, 0] / count
        for name, keep in maxima.items():
            out[name][layer] = states.masked_fill(~keep[:, :, None], float("-inf")).amax(dim=1)
        if mask_positions is not None:
            out[MASK][layer] = states[rows, mask_positions]
    return out
