"""The paper's experiments for one base model, as ordinary sweeps: what each runs, which table or figure
it feeds, and why it is the shape it is where it is not the full cross product.

Every sweep scores all 26 datasets per cell (`task=all`), so each cell has an STS, a clustering and a
classification score and every table and figure is drawn from the same cells. The token passes are shared
across sweeps (one cache): a cell that only changes weighting, bias removal, post-processing or layer
reads entries another cell already encoded.
"""
from dataclasses import dataclass

# Prompt templates as PromptBERT (Jiang et al. 2022) writes them; the paper calls its two T0 and T4 and its
# text is not available offline, so the mapping is sentgrid's reading, recorded with every cell (the
# template string is in each record) and said in every caption.
TEMPLATES = {"T0": "promptbert", "T4": "promptbert-of"}
TEMPLATE_TEXT = {"promptbert": 'This sentence : "[X]" means [MASK] .',
                 "promptbert-of": 'This sentence of "[X]" means [MASK] .'}
# The static rows of the paper, built on the same base model. RE needs the base's vocabulary.
RANDOM_EMBEDDINGS = {"mpnet": "re-mpnet"}


# The values each axis takes. The paper's grid: every post-processing the paper names (none, z-score,
# whitening, ABTT, quantile, normalize; chains that end in normalize are left out: cosine ignores a final
# normalize, so for STS a chain equals its first step). The demo, which a slice (task.max_items) runs: the same
# sweeps with fewer values per axis, so that every table and figure is drawn in about 15 minutes on 2 cores.


@dataclass(frozen=True)
class Axes:
    postprocs: str          # the BERT row's post-processings (the full cross with weighting and bias removal)
    weightings: str
    bias: str
    row_postprocs: str      # the static and template rows' post-processings
    row_weightings: str
    row_bias: str
    template_means: bool    # the templates' tokens averaged with weighting (two more token passes)
    pooling_postprocs: str
    fitted: str             # the fitted steps refitted on WikiText
    mix_weights: str        # BERT + Avg.'s w


PAPER = Axes(postprocs="none,zscore,whiten,abtt,quantile,normalize", weightings="none,idf_task,idf_corpus",
             bias="none,frequent", row_postprocs="none,quantile", row_weightings="none,idf_task,idf_corpus",
             row_bias="none,frequent", template_means=True, pooling_postprocs="none,zscore,whiten,quantile,normalize",
             fitted="zscore,whiten,abtt,quantile", mix_weights="0,0.25,0.5,0.75,1")
DEMO = Axes(postprocs="none,whiten,quantile,normalize", weightings="none,idf_task", bias="none,frequent",
            row_postprocs="none,quantile", row_weightings="none,idf_task", row_bias="none", template_means=False,
            pooling_postprocs="none,quantile", fitted="whiten,quantile", mix_weights="0,0.5,1")


@dataclass(frozen=True)
class Sweep:
    name: str               # the folder under multirun/paper/<model>/
    overrides: list[str]    # the `-m` overrides (the user's own come after them)
    feeds: str              # which tables and figures read it
    why: str                # what of the paper it covers, and what it leaves out and why


STATIC_ROWS = {"avg": "Avg.", "bert_avg": "BERT + Avg. (w = 0.5)", "b2s": "B2S", "b2s-100": "B2S-100", "re": "RE",
               "re-mpnet": "RE"}


def static_models(model: str) -> list[str]:
    """The static rows' model configs (each sweeps alone: RE has no base to override)."""
    return ["avg", "bert_avg", "b2s", "b2s-100", RANDOM_EMBEDDINGS.get(model, "re")]


def layer_lists(num_layers: int, with_all: bool = False) -> str:
    """Every single layer, then first + last (and every layer's mean), as `layer.layers` values."""
    lists = [f"[{i}]" for i in range(num_layers + 1)] + [f"[1,{num_layers}]"]
    if with_all:
        lists.append("[" + ",".join(str(i) for i in range(num_layers + 1)) + "]")
    return ",".join(lists)


def paper_grid(model: str, num_layers: int, axes: Axes = PAPER) -> list[Sweep]:
    """The sweeps that make the paper for `model` (a transformer of conf/model with `num_layers` blocks)."""
    base = f"model@model.base={model}"
    row_shaping = [f"pooling.weighting={axes.row_weightings}", f"pooling.bias_removal={axes.row_bias}",
                   f"postproc={axes.row_postprocs}"]
    # In this order: the sweeps over every layer first, so that the last layer's sweeps read their entries (an
    # entry keeping every layer serves any cell: one forward pass per sentence and template, not two); the
    # template sweeps together, so that under disk pressure the templates' every-layer entries go first.
    sweeps = [
        Sweep("layers_templates", [f"model={model}", "template=promptbert,promptbert-of", "pooling=template",
                                   "layer=mean_of", f"layer.layers={layer_lists(num_layers)}"],
              "Fig. 4 (T0, T4 columns)",
              "each single layer and first + last, the [MASK] state; RE (no layers) is Fig. 4's reference line, "
              "from the static sweep"),
        Sweep("templates", [f"model={model}", "template=promptbert,promptbert-of", "pooling=template",
                            f"postproc={axes.postprocs}", "diagnostics.enabled=true"],
              "Tables 1-3 (T0, T4), Figs. 1-2",
              "the [MASK] state under each template x every post-processing (token weighting and bias removal do "
              "not apply to one token's state)"),
        *([Sweep("templates_mean", [f"model={model}", "template=promptbert,promptbert-of", "pooling=avg",
                                    f"pooling.weighting={axes.row_weightings}", f"postproc={axes.row_postprocs}"],
                 "Tables 1-3 (T0, T4)",
                 "the templates' tokens averaged with each token weighting, without and with quantile (the paper's "
                 "best STS cell is T4 + task idf + quantile)")] if axes.template_means else []),
        Sweep("layers", [f"model={model}", "pooling=avg", "layer=mean_of", f"layer.layers={layer_lists(num_layers)}"],
              "Fig. 4 (BERT column)",
              "each single layer and first + last, mean pooling"),
        Sweep("bert", [f"model={model}", "pooling=avg", f"pooling.weighting={axes.weightings}",
                       f"pooling.bias_removal={axes.bias}", f"postproc={axes.postprocs}", "diagnostics.enabled=true"],
              "Tables 1-3 (BERT row), Figs. 1-3",
              "the base model's last layer, mean pooling: token weighting x bias removal x every post-processing "
              "(the full cross)"),
        *(Sweep(f"static_{name}", [f"model={name}", *([] if name.startswith("re") else [base]), *row_shaping,
                                   "diagnostics.enabled=true"],
                f"Tables 1-3 ({STATIC_ROWS[name]} row), Figs. 1-2"
                + (", Fig. 4's reference line" if name.startswith("re") else ""),
                f"{STATIC_ROWS[name]} built on the same base: token weighting ({axes.row_weightings}) x bias removal "
                f"({axes.row_bias}) x post-processing ({axes.row_postprocs}); the other post-processings are read on "
                "the BERT row (every row x every step would not fit in a day on 2 cores)")
          for name in static_models(model)),
        Sweep("poolings", [f"model={model}", "pooling=cls,max", f"postproc={axes.pooling_postprocs}",
                           "diagnostics.enabled=true"],
              "Fig. 3, Table 4 (pooling x post-processing)",
              "CLS and max pooling x post-processing (mean pooling is the BERT sweep, [MASK] the templates sweep)"),
        Sweep("fit_set", [f"model={model}", "pooling=avg", f"postproc={axes.fitted}", "postproc.fit_on=wikitext"],
              "Table 4 (fit set)",
              "each fitted post-processing fitted on WikiText instead of the task's own sentences (the default, "
              "which every other sweep uses)"),
        Sweep("bert_avg", ["model=bert_avg", base, f"model.w={axes.mix_weights}", "layer=mean_of",
                           f"layer.layers={layer_lists(num_layers, with_all=True)}"],
              "Fig. 5",
              "BERT + Avg. over w x layer: every single layer, then first + last and every layer's mean"),
    ]
    return sweeps
