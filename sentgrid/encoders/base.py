"""The encoder contract: what every model kind (`conf/model/*.yaml`, instantiated from `_target_`) offers.

An encoder computes; the store stores. The pipeline asks the store for what an encoder `produces`:

* PRIMITIVES: pooled per-layer primitives from a forward pass (`encode`), cached as primitive entries. An
  encoder built on a forward model (BERT + Avg.) that declares it says which primitives it `serves` and
  turns the base model's into its own (`from_primitives(arrays, sentences, primitive, layers)`).
* TOKENS: per-token states for token-level pooling, from the `forward_model`'s cached token entries
  (the encoder itself, or a base model) and/or a table lookup, through `token_states`.
* TABLE: a table built once from a base model over the corpus (`table_source`, `table_identity`,
  `build_table`), handed back with `use_table` before the encoder is used; `table_work` counts what a
  build computes, so `plan` can scale a measured build (or `TABLE_WORK_PER_S`) to other settings.

Encoder modules import torch and transformers lazily, so `layered` can be read from the class (the
finished-cell check does) without loading either.
"""
from enum import Flag, auto
from typing import Protocol, runtime_checkable


class Produces(Flag):
    PRIMITIVES = auto()
    TOKENS = auto()
    TABLE = auto()


@runtime_checkable
class Encoder(Protocol):
    produces: Produces
    layered: bool            # False: one static table, the cell's `layer` is recorded as n/a
    kind: str
    label: str               # the model's name in plans and logs
    exports_to: str | None   # the export/ module that writes it (sentence_transformers, model2vec); None: refused,
    #                          naming the class docstring's first line

    @property
    def num_layers(self) -> int: ...          # transformer blocks (0 when not layered)

    @property
    def forward_model(self) -> "ForwardModel | None": ...  # the transformer whose forward passes are cached

    def identity(self) -> dict: ...           # everything that changes the output (the cache key)

    def describe(self) -> dict: ...           # what a result records about the model

    def vocabulary(self): ...                 # pooling.weighting.Vocabulary: token strings by id (weighting, bias removal)

    def tokenize_corpus(self, sentences: list[str]): ...  # TokenBatch without the template

    def token_states(self, requests: dict, layers: list[int], computed: dict | None) -> tuple[dict, dict]:
        """{name: (TokenBatch, states [len(layers), T, dim])} from `computed` (the forward model's token
        entries, when there is a forward model) and/or a table; and statistics to record."""
        ...


@runtime_checkable
class ForwardModel(Protocol):
    """What the store (store/encoding.py) and `plan` call on a model whose forward passes are cached."""
    label: str

    @property
    def num_layers(self) -> int: ...          # blocks; a pass gives num_layers + 1 states (0 = embeddings)

    @property
    def hidden_size(self) -> int: ...

    @property
    def speed_label(self) -> str: ...         # its name with the precision and device its throughput is kept under

    def identity(self) -> dict: ...

    def token_counts(self, sentences: list[str], special_tokens: str = "include"): ...  # [n] tokens of each pass

    def encode(self, sentences: list[str], progress=None, token_states=None) -> tuple[dict, dict]:
        """({primitive: [num_layers + 1, n, dim] float32} for each of pooling.primitives.names(), in the order
        of `sentences`; stats). stats: `lengths` ([n] tokens before truncation), `max_length`, `tokens` (after
        truncation), `load_seconds`; `mask_truncated` with a [MASK] template. With `token_states`, the store's
        allocator ((layers, tokens, dim) -> a writable array), every token's state too: stats `token_states`
        (that array, filled) and `token_batch` (TokenBatch) saying which token is where. Rows it did not
        compute are an error, never returned. `progress` (a tqdm bar) is advanced by each batch."""
        ...


def build(model_cfg, template, corpus, fingerprints=None) -> Encoder:
    """The encoder a `model` config names by `_target_` (a class taking the config, the template, the
    corpus loader and the folder memoising weight fingerprints)."""
    from hydra.utils import get_class

    from ..errors import SentgridError

    target = model_cfg.get("_target_")
    if not target:
        raise SentgridError(f"model={model_cfg.get('name')} has no _target_; a model YAML names its encoder class "
                            f"with _target_ (for example sentgrid.encoders.transformer.TransformerEncoder).")
    return get_class(target)(model_cfg, template, corpus=corpus, fingerprints=fingerprints)


def is_layered(model_cfg) -> bool:
    """Whether a model config's encoder has layers, read from its class (no torch import)."""
    from hydra.utils import get_class

    target = model_cfg.get("_target_")
    return bool(getattr(get_class(target), "layered", True)) if target else True
