"""A finished cell's per-item outputs: what each evaluation predicted, item by item (STS and pair
classification: each pair's similarity; classification: each fold's or experiment's predicted labels;
clustering: each seed's clusters), beside the gold it is scored against, and each headline score on every
bootstrap resample. One `.npz` beside the cell's record in the finished-cell index
(`cells/<id[:2]>/<id>.outputs.npz`), its sha256 in the record: a damaged file is refused, never read.

Re-scoring the outputs with the family's `rescore` gives the recorded metrics exactly; intervals, paired
comparisons and the tied set are computed from them without a forward pass or a re-evaluation."""
import hashlib
import io
import json
from dataclasses import dataclass, field

import numpy as np

from .stats.resample import Settings
from .tasks import family

SEPARATOR = "|"  # between a dataset's key (`sts/STSB`), the kind of array and its name, in the archive


@dataclass
class CellOutputs:
    """{dataset key: {name: array}} of outputs, {dataset key: {metric: values per resample}}, the settings of
    those resamples, and each dataset's family."""
    outputs: dict[str, dict[str, np.ndarray]]
    resampled: dict[str, dict[str, np.ndarray]]
    settings: Settings
    families: dict[str, str] = field(default_factory=dict)

    def pack(self) -> bytes:
        arrays = {f"outputs{SEPARATOR}{key}{SEPARATOR}{name}": value
                  for key, named in self.outputs.items() for name, value in named.items()}
        arrays.update({f"resampled{SEPARATOR}{key}{SEPARATOR}{metric}": values
                       for key, named in self.resampled.items() for metric, values in named.items()})
        arrays["about"] = np.array(json.dumps({"settings": self.settings.as_dict(), "families": self.families}))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def unpack(cls, data: bytes) -> "CellOutputs":
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            about = json.loads(str(archive["about"]))
            out = cls({}, {}, Settings(**about["settings"]), about["families"])
            for name in archive.files:
                if name == "about":
                    continue
                kind, key, array = name.split(SEPARATOR)
                getattr(out, kind).setdefault(key, {})[array] = archive[name]
        return out

    def rescored(self, key: str) -> dict[str, float]:
        """The scores of dataset `key`, from its outputs."""
        return family(self.families[key]).scorer.rescore(self.outputs[key])

    def resamples(self, key: str, settings: Settings) -> dict[str, np.ndarray]:
        """Each headline score of `key` on every resample of `settings`: stored, or drawn again from the outputs
        when the stored ones were drawn with other settings."""
        if settings.resamples == self.settings.resamples and settings.seed == self.settings.seed:
            return self.resampled[key]
        from .stats.resample import resampled

        return resampled(family(self.families[key]).scorer, key, self.outputs[key], settings)


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DamagedOutputs(Exception):
    """An outputs file whose bytes are not those its record names."""
