"""sentgrid: a Hydra grid runner for sentence embeddings extracted from pretrained transformers."""
import os

__version__ = "0.1.0"

# MLflow (3.x) reports usage to its makers from a background thread unless told not to: sentgrid's runs
# send nothing anywhere but the tracking store they name (and the thread held every cell's exit ~1 s).
# A user who wants it sets MLFLOW_DISABLE_TELEMETRY=false.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# numpy asks the kernel for huge pages on every array over 4 MB (madvise), and where the page cache is full
# of freshly written cache entries each such first touch may stall on memory compaction: 0.43 s for every
# 1,024-sentence piece of a cold MPNet encode (its 200 MB of primitives), 7 % of the encode. Read when numpy
# is first imported, so it holds for `python -m sentgrid` and every process it starts.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
