"""What each cell of a sweep reads and writes in the store: its cache entries (through reading.py, as a
run decides) and the static table it needs built."""
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from .. import throughput
from ..data.corpus import Corpora
from ..encoders import Produces, build
from ..reading import reading
from ..requests import load_datasets, requests_for
from ..spec import CellSpec
from ..store import TOKENS, Encoding, EntryStore
from ..store.entries import table_key
from ..store.kept_layers import group as kept_group
from ..store.kept_layers import to_keep


class Memo:
    """Datasets and corpora read once for the whole plan (most cells share them)."""

    def __init__(self):
        self.datasets, self.corpora = {}, Corpora()

    def datasets_for(self, spec: CellSpec, cfg):
        key = json.dumps([OmegaConf.to_container(cfg.task, resolve=True), str(spec.data_root)], sort_keys=True,
                         default=str)
        if key not in self.datasets:
            self.datasets[key] = load_datasets(spec, spec.root())
        return self.datasets[key]

    def corpus(self, corpus_cfg):
        return self.corpora.loader(corpus_cfg)


@dataclass
class Pass:
    """A cache entry a cell reads or writes: what `run_cell` asks the store for."""
    encoding: Encoding
    encoder: object        # the forward model
    kind: str              # TOKENS or a primitive
    label: str             # the model, as throughput is measured
    sentences: list[str]
    layers: list[int] | None  # the layers the cell reads; None: a table's source (keeps every layer)
    setting: str           # cache.layers

    def keep(self, sweep_layers: dict) -> list[int] | None:
        return None if self.layers is None else to_keep(self.setting, self.encoder, self.layers, sweep_layers)


@dataclass
class TableBuild:
    kind: str              # the table's kind (bert_avg reads the avg table)
    base: str              # the base model, as its speed is measured
    work: float            # the encoder's `table_work`
    default_rate: float    # work per second until a build is measured here

    def seconds(self, cache_dir: Path) -> tuple[float, str]:
        measured = throughput.read(cache_dir).get(throughput.table_label(self.kind, self.base), {})
        if measured.get("work_per_s"):
            return self.work / measured["work_per_s"], "measured"
        return self.work / self.default_rate, "default"


def forward_passes(cfg, memo: Memo) -> tuple[list[Pass], dict]:
    """Every cache entry the cell reads or writes: the same requests `run_cell` builds, read through the
    encoder's declared contract; and {table key: TableBuild} of the static table it reads, if any."""
    spec = CellSpec.from_config(cfg)
    corpus = memo.corpus(spec.corpus)
    encoding = Encoding(EntryStore(spec.cache.dir), spec.cache.dtype, spec.cache.token_dtype)
    encoder = build(spec.model, spec.template, corpus, Path(spec.cache.dir) / "fingerprints")
    sentences = requests_for(spec, corpus, memo.datasets_for(spec, cfg)).sentences()
    out = []
    base, corpus_sentences = encoder.table_source() if Produces.TABLE in encoder.produces else (None, [])
    if corpus_sentences:  # the corpus through the base model, once per table (Model2Vec passes its vocabulary)
        out.append(Pass(encoding, base, TOKENS, throughput.label(base.speed_label, True), corpus_sentences, None, "all"))
    read = reading(encoder, spec)
    if read.forward is not None:
        model = throughput.label(read.forward.speed_label, read.kind == TOKENS)
        out += [Pass(encoding, read.forward, read.kind, model, s, read.layers, spec.cache.layers)
                for s in sentences.values()]
    tables = {}
    if base is not None:
        identity = encoder.table_identity()
        tables[table_key(identity, encoding.store_dtype)] = TableBuild(identity["kind"], base.speed_label,
                                                                       encoder.table_work(), encoder.TABLE_WORK_PER_S)
    return out, tables


def sweep_layers(passes: list[Pass]) -> dict:
    """{group: layers}: what the sweep's cells ask of each model, kept together under cache.layers=requested."""
    asked = defaultdict(set)
    for p in passes:
        if p.layers is not None and to_keep(p.setting, p.encoder, p.layers, {}) is not None:
            asked[kept_group(p.encoder)].update(p.layers)
    return {name: sorted(layers) for name, layers in asked.items()}
