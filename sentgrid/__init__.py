"""sentgrid: a Hydra grid runner for sentence embeddings extracted from pretrained transformers."""
import os

__version__ = "0.1.0"

# MLflow (3.x) reports usage to its makers from a background thread unless told not to: sentgrid's runs
# send nothing anywhere but the tracking store they name (and the thread held every cell's exit ~1 s).
# A user who wants it sets MLFLOW_DISABLE_TELEMETRY=false.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
