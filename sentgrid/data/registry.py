"""Every STS dataset declared once: where its local files are, its hub id, its expected size."""
from dataclasses import dataclass
from pathlib import Path

from ..errors import SentgridError, choice_error
from . import sts


@dataclass(frozen=True)
class STSSpec:
    name: str
    hub_id: str
    pairs: int  # expected scored pairs (SICK-R: all three splits)
    year_dir: tuple[str, str] | None = None  # (raw folder, SentEval folder) for STS12-16
    subsets: tuple[str, ...] = ()
    raw_gold: str = "STS.gs.{}.txt"
    raw_input: str = "STS.input.{}.txt"


STS_DATASETS = {spec.name: spec for spec in [
    STSSpec("STS12", "mteb/sts12-sts", 3108, ("sts-raw/STS12-en-test/test-gold", "senteval/STS/STS12-en-test"),
            ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews")),
    # STS13's SMT subset has no input file (LDC licence), as in SentEval and MTEB.
    STSSpec("STS13", "mteb/sts13-sts", 1500, ("sts-raw/STS13-en-test/test-gs", "senteval/STS/STS13-en-test"),
            ("FNWN", "headlines", "OnWN")),
    STSSpec("STS14", "mteb/sts14-sts", 3750, ("sts-raw/STS14-en-test/sts-en-test-gs-2014", "senteval/STS/STS14-en-test"),
            ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news")),
    STSSpec("STS15", "mteb/sts15-sts", 3000, ("sts-raw/STS15-en-test/test_evaluation_task2a", "senteval/STS/STS15-en-test"),
            ("answers-forums", "answers-students", "belief", "headlines", "images")),
    STSSpec("STS16", "mteb/sts16-sts", 1186, ("sts-raw/STS16-en-test/sts2016-english-with-gs-v1.0", "senteval/STS/STS16-en-test"),
            ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
            raw_gold="STS2016.gs.{}.txt", raw_input="STS2016.input.{}.txt"),
    STSSpec("STSB", "mteb/stsbenchmark-sts", 1379),
    STSSpec("SICK-R", "mteb/sickr-sts", 9927),
    STSSpec("BIOSSES", "mteb/biosses-sts", 100),
]}

TEXT_VARIANTS = ("raw", "senteval")
SICK_SPLITS = ("all", "test")
SOURCES = ("local", "hub")


def data_root(value) -> Path:
    if not value:
        raise SentgridError("data.root is not set; set data.root=/path/to/data or the SENTGRID_DATA environment "
                            "variable to the folder holding sts-raw/, senteval/, biosses/ ...")
    root = Path(str(value)).expanduser()
    if not root.is_dir():
        raise SentgridError(f"data.root={str(value)!r} is not a folder; set data.root (or SENTGRID_DATA) "
                            f"to the folder holding sts-raw/, senteval/, biosses/ ...")
    return root


def load_sts(name: str, root: Path | None, text_variant: str = "raw", sick_split: str = "all",
             source: str = "local") -> sts.STSData:
    if name not in STS_DATASETS:
        raise choice_error("task.sts.datasets entry", name, STS_DATASETS)
    if text_variant not in TEXT_VARIANTS:
        raise choice_error("task.sts.text_variant", text_variant, TEXT_VARIANTS)
    if sick_split not in SICK_SPLITS:
        raise choice_error("task.sts.sick_split", sick_split, SICK_SPLITS)
    if source not in SOURCES:
        raise choice_error("task.sts.source", source, SOURCES)
    spec = STS_DATASETS[name]
    if source == "hub":
        return sts.read_hub(name, spec.hub_id)
    senteval = text_variant == "senteval"
    if spec.year_dir:
        folder = root / spec.year_dir[senteval]
        gold, inputs = ("STS.gs.{}.txt", "STS.input.{}.txt") if senteval else (spec.raw_gold, spec.raw_input)
        data = sts.read_semeval_year(name, folder, list(spec.subsets), inputs, gold)
    elif name == "STSB":
        folder = "senteval/STS/STSBenchmark" if senteval else "sts-raw/STSBenchmark/stsbenchmark"
        data = sts.read_stsb(name, root / folder / "sts-test.csv")
    elif name == "SICK-R":
        splits = ["SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt"] if sick_split == "all" \
            else ["SICK_test_annotated.txt"]
        data = sts.read_sick(name, [root / "senteval/SICK" / f for f in splits])
    else:  # BIOSSES: one version only, raw text
        data = sts.read_biosses(name, root / "biosses/biosses.tsv")
    data.notes["text_variant"] = "raw" if name == "BIOSSES" else text_variant
    return data


FAMILY_DATASETS = {"sts": STS_DATASETS}


def load(family: str, name: str, root: Path | None, family_cfg):
    """One dataset of a family as a plain record."""
    from .families import load_classification, load_clustering

    if family == "sts":
        return load_sts(name, root, family_cfg.text_variant, family_cfg.sick_split, family_cfg.source)
    if family == "clustering":
        return load_clustering(name, root)
    return load_classification(name, root)


def sts_files(spec: STSSpec) -> list[str]:
    """Every local file an STS dataset can read (both text variants)."""
    if spec.year_dir:
        raw, senteval = spec.year_dir
        return [f"{raw}/{pattern.format(s)}" for s in spec.subsets for pattern in (spec.raw_input, spec.raw_gold)] + \
               [f"{senteval}/STS.{kind}.{s}.txt" for s in spec.subsets for kind in ("input", "gs")]
    return {"STSB": ["sts-raw/STSBenchmark/stsbenchmark/sts-test.csv", "senteval/STS/STSBenchmark/sts-test.csv"],
            "SICK-R": [f"senteval/SICK/SICK_{s}.txt" for s in ("train", "trial", "test_annotated")],
            "BIOSSES": ["biosses/biosses.tsv"]}[spec.name]
