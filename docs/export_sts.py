"""An exported folder on the 8 STS datasets with sentence-transformers alone, scored as MTEB scores STS
(cosine Spearman x100). Usage: python docs/export_sts.py DIR DATA_ROOT"""
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sentence_transformers import SentenceTransformer

from sentgrid.data import STS_DATASETS, load_sts  # only to read the same files the cell read

model = SentenceTransformer(sys.argv[1], device="cpu")
scores = []
for name in STS_DATASETS:
    data = load_sts(name, Path(sys.argv[2]))  # the data root
    a, b = model.encode(data.sentences1, batch_size=64), model.encode(data.sentences2, batch_size=64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    scores.append(100 * spearmanr(cos, data.scores).statistic)
    print(f"{name:<8} {scores[-1]:.2f}")
print(f"avg      {np.mean(scores):.2f}")
