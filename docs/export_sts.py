"""An exported folder on the 8 STS datasets with its library alone (sentence-transformers, or Model2Vec for
a static cell), scored as MTEB scores STS (cosine Spearman x100). Usage: python docs/export_sts.py DIR DATA_ROOT"""
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from sentgrid.data import STS_DATASETS, load_sts  # only to read the same files the cell read

folder = Path(sys.argv[1])
if (folder / "modules.json").exists():
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(folder), device="cpu")
else:
    from model2vec import StaticModel
    model = StaticModel.from_pretrained(str(folder))
scores = []
for name in STS_DATASETS:
    data = load_sts(name, Path(sys.argv[2]))
    a, b = model.encode(data.sentences1), model.encode(data.sentences2)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    scores.append(100 * spearmanr(cos, data.scores).statistic)
    print(f"{name:<8} {scores[-1]:.2f}")
print(f"avg      {np.mean(scores):.2f}")
