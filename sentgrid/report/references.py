"""Reference rows for the golden checks behind `make tables` (Spearman x 100).

bert-base-uncased rows: REFERENCE.md §4 (SentEval-tokenised text, SICK-R test, "all" aggregation).
MiniLM row: sentence-transformers' own `encode` of all-MiniLM-L6-v2, scored with the MTEB protocol on the
same files (the peer column of `make bench`, sentence-transformers 6.2.0); `make bench` recomputes it.
"""
STS7 = ["STS12", "STS13", "STS14", "STS15", "STS16", "STSB", "SICK-R"]
BERT = {"model_path": "bert-base-uncased", "text_variant": "senteval", "sick_split": "test", "template": "none",
        "weighting": "none", "bias_removal": "none", "special_tokens": "include"}

REFERENCES = [
    {"name": "bert-base, last layer, mean", "source": "PromptBERT paper", "datasets": STS7,
     "match": {**BERT, "layer": "12", "pooling": "avg", "postproc": "none"},
     "values": [30.87, 59.89, 47.73, 60.29, 63.73, 47.29, 58.22]},
    {"name": "bert-base, first+last, mean", "source": "SimCSE issue 285 rerun", "datasets": STS7,
     "match": {**BERT, "layer": "1+12", "pooling": "avg", "postproc": "none"},
     "values": [45.09, 64.30, 54.56, 70.52, 67.87, 59.05, 63.75]},
    {"name": "bert-base, first+last, mean, whitening (NLI fit in the source)", "source": "SimCSE table 5",
     "datasets": STS7, "match": {**BERT, "layer": "1+12", "pooling": "avg", "postproc": "whiten"},
     "values": [57.83, 66.90, 60.90, 75.08, 71.31, 68.24, 63.73]},
    {"name": "bert-base, PromptBERT template, [MASK] at layer 12", "source": "PromptBERT", "datasets": STS7,
     "match": {**BERT, "template": "promptbert", "layer": "12", "pooling": "template", "postproc": "none"},
     "values": [60.96, 73.83, 62.18, 71.54, 68.68, 70.60, 67.16]},
    {"name": "bert-base, static input embeddings, biases removed", "source": "PromptBERT", "datasets": STS7,
     "match": {**BERT, "layer": "0", "pooling": "avg", "postproc": "none", "bias_removal": "promptbert",
               "special_tokens": "exclude"},
     "values": [53.09, 66.48, 65.09, 69.80, 67.85, 61.60, 57.80]},
]

MINILM = {"name": "all-MiniLM-L6-v2, last layer, mean (MTEB protocol)",
          "source": "sentence-transformers 6.2.0 encode, MTEB protocol, same files (make bench peer column)",
          "datasets": STS7 + ["BIOSSES"],
          "match": {"model": "minilm", "layer": "6", "pooling": "avg", "postproc": "none", "template": "none",
                    "weighting": "none", "bias_removal": "none", "special_tokens": "include", "text_variant": "raw",
                    "sick_split": "all"},
          # Measured by `make bench` on 2026-11-26 (peer column; sentgrid's own cell differs by <= 0.001).
          "values": [72.37, 80.60, 75.60, 85.39, 78.99, 82.03, 77.58, 81.25]}
