"""Library versions, read from package metadata (no imports, so no torch is loaded to read them)."""
import platform
from importlib.metadata import PackageNotFoundError, version

# Libraries whose version can change a result: part of every cell's identity.
RESULT_CHANGING = ("torch", "transformers", "numpy", "scipy", "scikit-learn")
# Recorded with every result besides those.
RECORDED = RESULT_CHANGING + ("mlflow", "hydra-core")


def versions(packages=RESULT_CHANGING) -> dict:
    from . import __version__

    out = {"sentgrid": __version__}
    for package in packages:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out


def recorded() -> dict:
    return {**versions(RECORDED), "python": platform.python_version()}
