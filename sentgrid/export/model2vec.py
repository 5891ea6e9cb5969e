"""A static cell as a Model2Vec `StaticModel` folder (`StaticModel.from_pretrained(DIR)`).

Model2Vec averages the rows of a sentence's tokens (no special tokens, the unknown token left out) and
may normalise. So a static cell exports exactly when it averages those same tokens: the cell's layers
become one table (their mean: the pooling is linear), the post-processing's affine steps (whitening,
z-score, ABTT) are applied to every row (the mean of mapped rows is the mapped mean), and a final
normalisation becomes Model2Vec's own. Corpus token weights (idf_corpus, SIF), bias removal and rows
without a vector are baked into the rows: Model2Vec then divides by the token count rather than the
weights' sum, a factor per sentence that cosine similarity does not see, so those export only without
an affine step (which would see it) and are checked as directions.
"""
from pathlib import Path

import numpy as np

from .. import postproc
from .refusal import refuse

LIBRARY, PACKAGE, EXTRA = "Model2Vec", "model2vec", "m2v"
LOAD = ["from model2vec import StaticModel", 'model = StaticModel.from_pretrained("<this folder>")']


def check(spec, encoder, layers: list[int]) -> dict:
    """Raises, in one sentence, what a StaticModel cannot do exactly; returns what `write` needs to know."""
    pooling, steps = spec.pooling, spec.postproc.names
    if encoder.kind == "glove":
        raise refuse("GloVe's word tokenizer (lower-casing, Stanford-style splits) is not a Hugging Face "
                     "tokenizer, which a StaticModel needs.")
    if pooling.name != "avg":
        raise refuse(f"a StaticModel averages token rows; pooling={pooling.name} is not a mean.")
    if encoder.kind != "m2v" and pooling.special_tokens == "include":
        raise refuse("a StaticModel adds no [CLS]/[SEP], which this cell averages in; export the cell with "
                     "pooling.special_tokens=exclude.")
    if spec.template.text is not None or spec.template.punctuation:
        raise refuse(f"a StaticModel has no prompt template; template={spec.template.name} wraps each sentence.")
    if pooling.weighting == "idf_task":
        raise refuse("pooling.weighting=idf_task weighs tokens by each dataset's own counts; one model has one "
                     "table (idf_corpus and sif export).")
    unmapped = postproc.unmapped(spec.postproc.steps)
    if unmapped:
        raise refuse(f"postproc step {unmapped[0]} ({unmapped[1]}) is not an affine map and cannot be applied to "
                     f"the rows.")
    unit_length = [postproc.is_unit_length(step) for _, step in postproc.steps_of(spec.postproc.steps)]
    if any(unit_length[:-1]):
        raise refuse("a normalisation before another post-processing step is not a map of the rows.")
    scaled = not pooling.plain or (encoder.known() is not None and not encoder.known().all())
    affine = [name for name, unit in zip(steps, unit_length) if not unit]
    if scaled and affine:
        raise refuse(f"token weights, bias removal or rows without a vector change each sentence's scale in a "
                     f"StaticModel's mean (a count, not the weights' sum), which {', '.join(affine)} would see; export "
                     f"the cell with postproc=none or normalize.")
    return {"scaled": scaled, "normalize": bool(unit_length) and unit_length[-1],
            "drops_unknown": encoder.kind == "m2v"}  # tokenised as Model2Vec: [UNK] left out by the cell too


def _tokenizer(encoder):
    """The cell's tokenizer as a `tokenizers.Tokenizer`, and how many tokens of a sentence it keeps."""
    from tokenizers import Tokenizer

    if encoder.kind == "m2v":
        return Tokenizer.from_str(encoder.m2v_tokenizer.to_str()), int(encoder.cfg.max_length)
    tokenizer = encoder.tokenizer
    limit = int(encoder.base.cfg.max_length) if hasattr(encoder, "base") else int(encoder.cfg.get("max_length", 512))
    # sentgrid counts [CLS]/[SEP] in the limit and then leaves them out; a StaticModel counts content only
    return Tokenizer.from_str(tokenizer.backend_tokenizer.to_str()), limit - tokenizer.num_special_tokens_to_add()


def write(folder: Path, spec, encoder, layers: list[int], plan: dict, pipeline, workspace) -> None:
    from model2vec import StaticModel

    from ..pooling.weighting import weight_table

    rows = encoder.table()[layers].mean(axis=0, dtype=np.float64)
    if spec.pooling.plain:
        weights = np.ones(len(rows))
    else:
        corpus = encoder.tokenize_corpus(workspace.corpus(spec.corpus)()) if spec.pooling.needs_corpus else None
        weights = weight_table(spec.pooling, encoder.vocabulary(), None, corpus)
    known = encoder.known()
    if known is not None:
        weights = np.where(known, weights, 0.0)
    rows = rows * weights[:, None]
    if pipeline is not None and not plan["scaled"]:
        affine = [step for _, step in pipeline.steps if not postproc.is_unit_length(step)]
        for step in affine:  # affine maps commute with the mean: each row mapped, the mean is the mapped mean
            rows = step.transform(rows)
    tokenizer, max_length = _tokenizer(encoder)
    model = StaticModel(vectors=np.asarray(rows, dtype=np.float32), tokenizer=tokenizer, normalize=plan["normalize"],
                        max_length=max_length, config={"model_type": "model2vec", "architectures": ["StaticModel"],
                                                       "sentgrid_model": encoder.label})
    model.save_pretrained(str(folder))


def compare(folder: Path, sentences: list[str], pooled: np.ndarray, pipeline, spec, plan: dict) -> dict:
    """The loaded StaticModel's vectors against the cell's (as directions when the scale per sentence differs
    by construction); differences relative to the largest |value|."""
    from model2vec import StaticModel
    from sklearn.preprocessing import normalize

    loaded = StaticModel.from_pretrained(str(folder))
    got = loaded.encode(sentences)
    expected = pooled if pipeline is None else pipeline.transform(pooled)
    # A StaticModel drops the unknown token; sentgrid's WordPiece static cells average its row in. Those
    # sentences differ by design: they are counted, and the rest is compared.
    unknown = np.zeros(len(sentences), bool)
    if not plan["drops_unknown"] and loaded.unk_token_id is not None:
        encoded = loaded.tokenizer.encode_batch_fast(list(sentences), add_special_tokens=False)
        unknown = np.array([loaded.unk_token_id in e.ids for e in encoded])
    got, expected = got[~unknown], expected[~unknown]
    if plan["scaled"]:
        got, expected = normalize(got), normalize(expected)
    difference = float(np.abs(got - expected).max())
    relative = difference / max(float(np.abs(expected).max()), 1e-12)
    notes = []
    if plan["scaled"]:
        notes.append("token weights are baked into the rows: a StaticModel divides by the token count, not their sum, "
                     "so its vectors are the cell's times a factor per sentence (cosine similarity is the same)")
    if spec.pooling.bias_removal != "none":
        notes.append("a sentence whose every token bias removal drops is a zero vector here (the cell falls back to "
                     "all its tokens)")
    if not plan["drops_unknown"]:
        notes.append("[UNK] is left out by a StaticModel; the cell averaged its row in (sentences holding it differ)")
    what = "directions (unit vectors)" if plan["scaled"] else "vectors"
    left_out = f" ({int(unknown.sum())} holding [UNK] left out)" if unknown.any() else ""
    return {"max_abs_diff": difference, "relative": relative, "notes": notes, "unknown_sentences": int(unknown.sum()),
            "summary": f"{what} of {int((~unknown).sum())} sentences{left_out} differ by at most {difference:.1e}"}
