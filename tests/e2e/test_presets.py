"""Every experiment preset, at a reduced size, runs as a real sweep and feeds its table or figure."""
import os
import subprocess
import sys

import pytest

from sentgrid.paths import PROJECT_ROOT
from sentgrid.report.__main__ import main as report

SMALL = ["task.max_items=16", "diagnostics.corpus_sentences=150", "corpus.max_sentences=300", "tracking.enabled=false"]
PRESETS = {
    "alignment": (["pooling=avg,max", "postproc=none,whiten"], ["fig3_alignment_uniformity.png"]),
    "bert_avg": (["model.w=0,1", "layer.index=5,6", "task.sts.datasets=[STSB,BIOSSES]"], ["fig5_bert_avg.png"]),
    "layers": (["model=minilm", "layer.layers=[5],[6],[5,6]", "task=sts"], ["fig4_layers.png"]),
    "isotropy": (["model=minilm,re", "postproc=none,whiten"], ["fig1_isoscore_sts.png", "fig2_isoscore_clustering.png"]),
    "main_table": (["model=minilm,re", "pooling.weighting=none,idf_task", "pooling.bias_removal=none",
                    "postproc=none", "task=sts"], ["sts.md", "best.md"]),
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("preset-cache")


@pytest.mark.parametrize("preset", list(PRESETS))
def test_preset_runs_and_feeds_its_artefact(preset, tmp_path, cache_dir, data_root):
    overrides, artefacts = PRESETS[preset]
    command = [sys.executable, "-m", "sentgrid", "-m", f"+experiment={preset}", *overrides, *SMALL,
               f"cache.dir={cache_dir}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    run = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "SENTGRID_DATA": str(data_root)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "failed" not in run.stdout.split("sweep summary:")[-1]
    assert report(["all", "--sweep", str(tmp_path / "sweep"), "--out", str(tmp_path / "reports")]) == 0
    for name in artefacts:  # a slice's report has folders of its own (slices never mix with full data)
        folder = "figures" if name.endswith(".png") else "tables"
        path = tmp_path / "reports" / folder / "slice-16" / name
        assert path.stat().st_size > (5000 if folder == "figures" else 100), name
