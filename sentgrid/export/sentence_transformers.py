"""A transformer cell as a sentence-transformers folder of its own modules only, so
`SentenceTransformer(DIR)` loads it with no custom code: the transformer (every hidden state out),
`WeightedLayerPooling` picking the cell's layers, `Pooling` in the cell's mode (a prefix-only template
becomes the default prompt), then each fitted post-processing step as the affine map it is (`Dense`:
whitening, z-score, ABTT, centred then mapped) or `Normalize`. What these modules cannot say exactly is
refused in one sentence (a step that is not affine, token weighting, bias removal, special tokens left out,
a pooling mode sentence-transformers lacks, max over several layers)."""
from pathlib import Path

import numpy as np

from .. import postproc
from .refusal import refuse

LIBRARY, PACKAGE, EXTRA = "sentence-transformers", "sentence_transformers", "export"
LOAD = ["from sentence_transformers import SentenceTransformer", 'model = SentenceTransformer("<this folder>")']


def check(spec, encoder, layers: list[int]) -> str | None:
    """Raises, in one sentence, what a sentence-transformers model cannot do exactly; returns the template's
    prefix as a prompt (None without a template)."""
    if encoder.random_init:
        raise refuse(f"model={encoder.label} is a randomly initialised transformer with no weights folder to ship.")
    pooling = spec.pooling
    if pooling.mode.st_name is None:
        raise refuse(f"pooling={pooling.name} ({pooling.mode.description}) has no mode in sentence-transformers' "
                     f"Pooling.")
    if not pooling.plain:
        raise refuse("pooling.weighting / pooling.bias_removal weigh tokens by corpus statistics, which "
                     "sentence-transformers' Pooling does not take.")
    if pooling.special_tokens == "exclude" and not pooling.mode.one_token:
        raise refuse("pooling.special_tokens=exclude leaves [CLS]/[SEP] out, which sentence-transformers' Pooling "
                     "always includes.")
    if not pooling.mode.linear and len(layers) > 1:
        raise refuse(f"pooling={pooling.name} over several layers averages what each layer pools; "
                     f"sentence-transformers averages the layers first, which gives other vectors for this mode.")
    unmapped = postproc.unmapped(spec.postproc.steps)
    if unmapped:
        raise refuse(f"postproc step {unmapped[0]} ({unmapped[1]}) is not an affine map; sentence-transformers has "
                     f"no module for it.")
    template = spec.template
    if template.text is None and not template.punctuation:
        return None
    if template.punctuation or template.text is None or template.has_mask or not template.text.endswith("[X]"):
        raise refuse(f"template={template.name} wraps the sentence ({template.text!r}"
                     f"{', adding a final period' if template.punctuation else ''}); a sentence-transformers prompt is "
                     f"a prefix only.")
    return template.text.removesuffix("[X]")


def affine_modules(pipeline, width: int) -> list:
    """The fitted post-processing as sentence-transformers modules (affine maps as Dense, then Normalize)."""
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    def dense(weight, bias=None):
        return Dense(weight.shape[1], weight.shape[0], bias=bias is not None, activation_function=None,
                     init_weight=torch.tensor(weight, dtype=torch.float32),
                     init_bias=None if bias is None else torch.tensor(bias, dtype=torch.float32))

    out = []
    for _, step in ([] if pipeline is None else pipeline.steps):
        if postproc.is_unit_length(step):
            out.append(Normalize())
            continue
        # Each affine step as the fitted steps compute it: centre, then map. Folding the mean into one
        # bias (W x - W mu) would cancel catastrophically in float32 where W is large (a z-score of a
        # near-constant dimension, whitening's smallest directions).
        mean, matrix = step.affine()
        out += [dense(np.eye(width), -mean), dense(matrix.T)]
        width = matrix.shape[1]
    return out


def write(folder: Path, spec, encoder, layers: list[int], prompt: str | None, pipeline, workspace=None) -> None:
    st_model(encoder, layers, spec, prompt, pipeline).save(str(folder))


def st_model(encoder, layers: list[int], spec, prompt: str | None, pipeline):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer, WeightedLayerPooling

    width, last = encoder.hidden_size, encoder.num_layers
    tokenizer = {} if encoder.tokenizer_folder == encoder.folder else \
        {"tokenizer_name_or_path": str(encoder.tokenizer_folder)}
    modules = [Transformer(str(encoder.folder), max_seq_length=int(spec.model.max_length), **tokenizer,
                           config_kwargs={"output_hidden_states": True} if layers != [last] else None)]
    if layers != [last]:  # the mean of the chosen layers' token states (pooling is linear in them, max: one layer)
        start = min(layers)
        weights = torch.tensor([float(i in layers) for i in range(start, last + 1)])
        modules.append(WeightedLayerPooling(width, num_hidden_layers=last, layer_start=start,
                                            layer_weights=torch.nn.Parameter(weights, requires_grad=False)))
    modules.append(Pooling(width, pooling_mode=spec.pooling.mode.st_name))
    modules += affine_modules(pipeline, width)
    prompts = {"sentgrid": prompt} if prompt else None
    return SentenceTransformer(modules=modules, device="cpu", prompts=prompts,
                               default_prompt_name="sentgrid" if prompt else None)


def compare(folder: Path, sentences: list[str], pooled: np.ndarray, pipeline, spec, prompt) -> dict:
    """The loaded folder against the cell, in two parts: its transformer and pooling against the cell's
    pooled vectors, and its post-processing modules against the fitted steps on those same vectors.
    (End to end, a step that divides by a small spread, z-score of a near-constant dimension, would blow
    float noise up and hide whether the maps agree.) Differences relative to the largest |value|."""
    import torch
    from sentence_transformers import SentenceTransformer

    loaded = SentenceTransformer(str(folder), device="cpu")
    modules = list(loaded)
    split = next(i for i, m in enumerate(modules) if type(m).__name__ == "Pooling") + 1
    head = SentenceTransformer(modules=modules[:split], device="cpu", prompts=loaded.prompts,
                               default_prompt_name=loaded.default_prompt_name)
    got = head.encode(sentences, batch_size=int(spec.model.batch_size), convert_to_numpy=True)

    def tail(vectors: np.ndarray) -> np.ndarray:  # the folder's post-processing modules
        features = {"sentence_embedding": torch.tensor(vectors)}
        with torch.no_grad():
            for module in modules[split:]:
                features = module(features)
        return features["sentence_embedding"].numpy()

    expected = pooled if pipeline is None else pipeline.transform(pooled)
    model_diff, postproc_diff = float(np.abs(got - pooled).max()), float(np.abs(tail(pooled) - expected).max())
    end_to_end = float(np.abs(tail(got) - expected).max())  # what loaded.encode gives, without a second pass
    model_relative = model_diff / max(float(np.abs(pooled).max()), 1e-12)
    postproc_relative = postproc_diff / max(float(np.abs(expected).max()), 1e-12)
    return {"max_abs_diff": model_diff, "model_relative": model_relative, "postproc_max_abs_diff": postproc_diff,
            "postproc_relative": postproc_relative, "end_to_end_max_abs_diff": end_to_end,
            "relative": max(model_relative, postproc_relative),
            "notes": [f"template as the default prompt: {prompt!r}"] if prompt else [],
            "summary": f"transformer and pooling differ by at most {model_diff:.1e}, the post-processing modules by "
                       f"{postproc_diff:.1e} on the same inputs; end to end {end_to_end:.1e}"}


