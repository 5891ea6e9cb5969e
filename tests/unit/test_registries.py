"""Contract tests over every registry: each pooling mode, post-processing step, task family and model config
keeps the promises the outer ring (export, report, plan) relies on. A plug-in is checked by being
registered; nothing here lists the plug-ins by name."""
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sentgrid.errors import SentgridError
from sentgrid.paths import CONF_DIR
from sentgrid.pooling import MODES, pool_primitive, pool_tokens
from sentgrid.pooling.primitives import token_primitives
from sentgrid.pooling.tokens import TokenBatch
from sentgrid.postproc import STEPS, build, is_affine, is_unit_length, unmapped
from sentgrid.spec import PoolingSpec, PostprocSpec
from sentgrid.tasks import FAMILIES

LENGTHS = (5, 3, 7, 4)  # tokens per sentence, [CLS] and [SEP] included


def states(layers=2, dim=6, seed=0):
    """Token states [layers, batch, tokens, dim] with right padding, the attention and special-token masks,
    each sentence's [MASK] at its second token, and the same sentences as a flat TokenBatch."""
    generator = torch.Generator().manual_seed(seed)
    padded = torch.randn(layers, len(LENGTHS), max(LENGTHS), dim, generator=generator)
    attention = torch.tensor([[1] * n + [0] * (max(LENGTHS) - n) for n in LENGTHS])
    special = torch.tensor([[1] + [0] * (n - 2) + [1] + [0] * (max(LENGTHS) - n) for n in LENGTHS])
    flat = torch.cat([padded[:, i, :n] for i, n in enumerate(LENGTHS)], dim=1).numpy()
    offsets = np.concatenate([[0], np.cumsum(LENGTHS)])
    batch = TokenBatch(np.zeros(offsets[-1], np.int64), offsets, special[attention.bool()].numpy().astype(bool),
                       mask_index=offsets[:-1] + 1)
    return padded, attention, special, flat, batch


# -- pooling modes ------------------------------------------------------------------------------------
SERVED = [(name, special) for name, mode in MODES.items() for special in ("include", "exclude")
          if mode.served_by(special)]


@pytest.mark.parametrize("name, special_tokens", SERVED)
def test_a_mode_served_from_a_primitive_equals_its_token_function(name, special_tokens):
    """The cached primitive and the token states give one vector, so a cell may take either path."""
    mode = MODES[name]
    padded, attention, special, flat, batch = states()
    primitive = token_primitives(padded, attention, special, torch.tensor([1] * len(LENGTHS)))[mode.served_by(special_tokens)]
    counts = np.array(LENGTHS) - (2 if special_tokens == "exclude" else 0)
    served = pool_primitive(primitive.numpy(), mode, token_counts=counts)
    pooled, _ = pool_tokens(flat, batch, mode, special_tokens=special_tokens)
    np.testing.assert_allclose(served, pooled, atol=1e-5)


@pytest.mark.parametrize("name", list(MODES))
def test_a_modes_linear_flag_says_whether_averaging_layers_first_changes_nothing(name):
    """export relies on it: sentence-transformers averages the layers before pooling."""
    mode = MODES[name]
    _, _, _, flat, batch = states(seed=3)
    per_layer_then_mean, _ = pool_tokens(flat, batch, mode)
    mean_then_pooled, _ = pool_tokens(flat.mean(axis=0, keepdims=True), batch, mode)
    assert np.allclose(per_layer_then_mean, mean_then_pooled, atol=1e-5) == mode.linear


@pytest.mark.parametrize("name", list(MODES))
def test_a_mode_equals_sentence_transformers_pooling_or_export_refuses_it(name):
    from sentence_transformers.sentence_transformer.modules import Pooling

    from sentgrid.export import sentence_transformers as writer

    mode = MODES[name]
    padded, attention, _, flat, batch = states(layers=1, seed=1)
    if mode.st_name is None:
        spec = SimpleNamespace(pooling=PoolingSpec(name=name), postproc=PostprocSpec(),
                               template=SimpleNamespace(text=None, punctuation=False))
        with pytest.raises(SentgridError, match=f"pooling={name} .* has no mode in sentence-transformers' Pooling"):
            writer.check(spec, SimpleNamespace(random_init=False), [1])
        return
    module = Pooling(padded.shape[-1], pooling_mode=mode.st_name)
    theirs = module({"token_embeddings": padded[0], "attention_mask": attention})["sentence_embedding"].numpy()
    ours, _ = pool_tokens(flat, batch, mode)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


# -- post-processing steps ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(STEPS))
def test_a_step_exports_as_what_it_computes_or_is_refused_in_one_sentence(name):
    """An affine step's (mean, matrix) is its transform, and the exported sentence-transformers modules give
    the same vectors; a unit-length step exports as Normalize; any other step is named in the refusal."""
    from sentgrid.export import sentence_transformers as writer

    rng = np.random.default_rng(0)
    fit, vectors = rng.normal(size=(60, 8)) * rng.uniform(0.5, 3, 8), rng.normal(size=(10, 8))
    pipeline = build([name])
    pipeline.fit(fit.astype(np.float32))
    step = pipeline.steps[0][1]
    expected = pipeline.transform(vectors.astype(np.float32))
    if not (is_affine(step) or is_unit_length(step)):
        assert unmapped([name])[0] == name
        spec = SimpleNamespace(pooling=PoolingSpec(name="avg"), postproc=PostprocSpec(steps=(name,)),
                               template=SimpleNamespace(text=None, punctuation=False))
        with pytest.raises(SentgridError, match=f"postproc step {name} \\(.+\\) is not an affine map"):
            writer.check(spec, SimpleNamespace(random_init=False), [1])
        return
    assert unmapped([name]) is None
    if is_affine(step):
        mean, matrix = step.affine()
        np.testing.assert_allclose((vectors - mean) @ matrix, expected, rtol=1e-4, atol=1e-4)
    features = {"sentence_embedding": torch.tensor(vectors, dtype=torch.float32)}
    for module in writer.affine_modules(pipeline, vectors.shape[1]):
        features = module(features)
    np.testing.assert_allclose(features["sentence_embedding"].detach().numpy(), expected, rtol=1e-4, atol=1e-4)


# -- task families ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_family_carries_what_report_plan_and_export_read(name):
    family = FAMILIES[name]
    assert family.label and family.cell_seconds > 0 and set(family.headline) <= set(family.averaged)
    assert family.datasets and (Path(CONF_DIR) / "task" / f"{name}.yaml").is_file()
    for function in ("predict", "rescore", "evaluate", "resampled", "fit_sentences", "scored_sentences"):
        assert callable(getattr(family.scorer, function))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_familys_results_render_as_tables_and_figures(tmp_path, name):
    from sentgrid.export import headline_scores
    from sentgrid.report.figures import write_figures
    from sentgrid.report.results import load
    from sentgrid.report.tables import best_table, family_table

    family = FAMILIES[name]
    datasets = family.datasets[:2]
    for i, pooling in enumerate(("avg", "cls", "max")):
        metrics = {f"{name}/{d}/{family.headline[0]}": 50.0 + i + j for j, d in enumerate(datasets)}
        metrics |= {f"{name}/avg/{m}": 50.0 + i for m in family.averaged}
        record = {"status": "ok", "cell_id": f"c{i}", "metrics": metrics,
                  "config": {"model": {"name": "minilm"}, "task": {"families": [name]},
                             "pooling": {"name": pooling, "special_tokens": "include", "weighting": "none",
                                         "bias_removal": "none"}, "template": {"name": "none"},
                             "postproc": {"name": "none"}, "tracking": {"experiment": "sentgrid"}},
                  "resolved": {"layers": [6]}, "tags": {"started_at": "2026-12-05T10:00:00", "cell": f"c{i}"}}
        (tmp_path / "s" / str(i)).mkdir(parents=True)
        (tmp_path / "s" / str(i) / "result.json").write_text(json.dumps(record))
    assert set(headline_scores(record)) == set(metrics)  # each dataset's objective and every average
    frame = load("records", sweeps=[str(tmp_path / "s")]).frame
    assert len(family_table(frame, name)) == 3 and not best_table(frame).empty
    written, _ = write_figures(frame, tmp_path / "figures")
    assert "fig0_cells.png" in {p.name for p in written}


# -- model configs ------------------------------------------------------------------------------------
def _members(protocol) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_")} | set(getattr(protocol, "__annotations__", {}))


def _declares(obj, name: str) -> bool:
    """Whether `obj` offers `name`, without evaluating a property (some would load a model)."""
    return name in vars(obj) or any(name in vars(klass) for klass in type(obj).__mro__)


@pytest.mark.parametrize("name", sorted(p.stem for p in (Path(CONF_DIR) / "model").glob("*.yaml")))
def test_every_model_config_builds_an_encoder_that_keeps_the_contract(name, compose_cell):
    from sentgrid.encoders import build
    from sentgrid.encoders.base import Encoder, ForwardModel
    from sentgrid.export import writer_for
    from sentgrid.templates import Template

    cfg = compose_cell(f"model={name}")
    encoder = build(cfg.model, Template("none", None), corpus=lambda: [], fingerprints=None)
    assert {m for m in _members(Encoder) if not _declares(encoder, m)} == set()
    model = encoder.forward_model  # a transformer is its own; a mix names its base; a static table has none
    if model is not None:
        assert {m for m in _members(ForwardModel) if not _declares(model, m)} == set()
    if encoder.exports_to is None:
        with pytest.raises(SentgridError, match="has a module for that"):
            writer_for(encoder)
    else:
        assert importlib.util.find_spec(f"sentgrid.export.{encoder.exports_to}") is not None
