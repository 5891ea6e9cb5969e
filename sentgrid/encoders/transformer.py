"""A Hugging Face transformer as a sentgrid encoder: all hidden states in one forward pass, reduced to
per-layer pooling primitives (see `sentgrid.pooling`).

Models come from a local folder, a hub id (downloaded once when online, read from the local hub
cache otherwise), or a random initialisation from a BERT config and a seed. The model itself is
loaded lazily: a cell served from the cache never loads it.
"""
import contextlib
import json
import logging
import os
import time
from functools import cached_property
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from ..errors import SentgridError, choice_error
from ..pooling.primitives import names as primitive_names
from ..pooling.primitives import token_primitives
from ..pooling.tokens import tokenize
from ..pooling.weighting import Vocabulary
from ..templates import Template, mask_positions
from .base import Produces
from .fingerprint import folder_fingerprint

log = logging.getLogger(__name__)

DTYPES = ("float32", "float16", "bfloat16", "auto")


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), read from /proc/cpuinfo (Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_dtype(name: str, device) -> str:
    """model.dtype=auto: bfloat16 on a CPU that multiplies it natively, float32 elsewhere. Measured (issue 14):
    MPNet STS on such a CPU 2.6x faster; on an H200 the encode is bound by the host (tokenising, storing every
    layer), so bfloat16 gains nothing there. No model's default: in bfloat16 a cell's scores move with the
    other sentences of its pass (issue 23, docs/measurements.md)."""
    if name != "auto":
        return name
    return "bfloat16" if device.type == "cpu" and cpu_has_bf16() else "float32"


HUB_FILES = ["*.json", "*.txt", "*.model", "*.safetensors"]


def resolve_device(name: str):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise choice_error("model.device", name, ("auto", "cpu", "cuda", "cuda:N", "mps")) from None


def resolve_folder(path: str, revision: str | None) -> Path:
    """A local folder for `path`: the folder itself, or the hub snapshot of a hub id."""
    if os.path.isdir(path):
        return Path(path)
    if os.path.exists(path) or path.startswith((".", "/", "~")):
        raise SentgridError(f"model.path={path!r} is not a model folder; point it at a folder with config.json "
                            f"and weights, or at a Hugging Face hub id.")
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(path, revision=revision, allow_patterns=HUB_FILES))
        if not any(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(path, revision=revision, allow_patterns=HUB_FILES + ["pytorch_model*.bin"]))
    except Exception as exc:  # offline, unknown id, no access: all mean the same to the user
        raise SentgridError(
            f"could not load model {path!r} from the Hugging Face hub ({type(exc).__name__}); download it while "
            f"online or set model.path to a local model folder.") from exc
    return folder


class TransformerEncoder:
    """A Hugging Face model: primitives and token states from cached forward passes."""

    kind = "transformer"
    exports_to = "sentence_transformers"
    produces = Produces.PRIMITIVES | Produces.TOKENS
    layered = True

    def __init__(self, model_cfg, template: Template, corpus=None, fingerprints: Path | None = None):
        self.cfg = model_cfg
        self.label = str(model_cfg.get("name", "model"))
        self.template = template
        self.memo_dir = fingerprints
        if model_cfg.dtype not in DTYPES:
            raise choice_error("model.dtype", model_cfg.dtype, DTYPES)
        if int(model_cfg.max_length) < 8:
            raise SentgridError(f"model.max_length={model_cfg.max_length} is too short; use at least 8 tokens.")
        self.random_init = model_cfg.get("random_init")
        if self.random_init is None and not model_cfg.path:
            raise SentgridError("model.path is empty; set it to a local model folder or a hub id.")

    # -- identity: everything that changes the encoder's output ------------------------------------
    @cached_property
    def folder(self) -> Path | None:
        return None if self.random_init else resolve_folder(str(self.cfg.path), self.cfg.get("revision"))

    @cached_property
    def tokenizer_folder(self) -> Path:
        source = self.cfg.get("tokenizer") or self.cfg.path
        if source is None:
            raise SentgridError("model.tokenizer is empty; a randomly initialised model needs a tokenizer folder.")
        return self.folder if source == self.cfg.path and self.folder else resolve_folder(str(source), None)

    @property
    def forward_model(self):
        return self

    @cached_property
    def config(self):
        import transformers

        if self.random_init:
            return transformers.BertConfig(**OmegaConf.to_container(self.random_init.config))
        try:
            return transformers.AutoConfig.from_pretrained(self.folder)
        except Exception as exc:
            raise SentgridError(f"could not read the model config in {str(self.folder)!r} ({exc}); "
                                f"set model.path to a Hugging Face model folder.") from exc

    @cached_property
    def _shape(self) -> tuple[int, int]:
        """(blocks, width) from config.json without importing transformers (a second of a cached cell's
        start); configs that spell them otherwise are read through transformers."""
        if not self.random_init:
            try:
                raw = json.loads((self.folder / "config.json").read_text())
                return int(raw["num_hidden_layers"]), int(raw["hidden_size"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return int(self.config.num_hidden_layers), int(self.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return self._shape[0]

    @property
    def hidden_size(self) -> int:
        return self._shape[1]

    def identity(self) -> dict:
        if self.random_init:
            import torch
            import transformers

            model = {"random_init": OmegaConf.to_container(self.random_init, resolve=True),
                     "torch": torch.__version__, "transformers": transformers.__version__}
        else:
            model = {"weights": folder_fingerprint(self.folder, self.memo_dir)}
        return {
            "model": model,
            "tokenizer": folder_fingerprint(self.tokenizer_folder, self.memo_dir),
            "template": self.template.describe(),
            "max_length": int(self.cfg.max_length),
            "dtype": self.dtype,
        }

    @cached_property
    def dtype(self) -> str:
        """The compute precision model.dtype resolves to on this machine (auto: see resolve_dtype). A fixed
        one needs no device, so a cell served from the cache never imports torch (two seconds)."""
        name = str(self.cfg.dtype)
        return name if name != "auto" else resolve_dtype(name, resolve_device(self.cfg.device))

    @property
    def speed_label(self) -> str:
        """The model as its encode speed is measured (plan's throughput): precision and device change it
        several-fold, so a bfloat16 and a float32 measurement of one model are kept apart."""
        return f"{self.label} ({self.dtype}, {resolve_device(self.cfg.device).type})"

    def describe(self) -> dict:
        """What gets recorded about the model beside the config; `device` None: not loaded (all cached)."""
        loaded = "model" in self.__dict__
        return {"folder": str(self.folder) if self.folder else None, "num_layers": self.num_layers,
                "hidden_size": self.hidden_size, "device": str(self.model.device) if loaded else None,
                "dtype": self.dtype}

    # -- the model ----------------------------------------------------------------------------------
    @cached_property
    def tokenizer(self):
        import transformers

        try:
            return transformers.AutoTokenizer.from_pretrained(self.tokenizer_folder)
        except Exception as exc:
            raise SentgridError(f"could not load a tokenizer from {str(self.tokenizer_folder)!r} ({exc}).") from exc

    @cached_property
    def model(self):
        import torch
        import transformers

        device = resolve_device(self.cfg.device)
        transformers.utils.logging.disable_progress_bar()  # a "Loading weights" bar per load buries the results
        try:
            if self.random_init:
                torch.manual_seed(int(self.random_init.seed))
                model = transformers.BertModel(self.config)
            else:
                model = transformers.AutoModel.from_pretrained(self.folder, dtype=torch.float32)
        except Exception as exc:
            raise SentgridError(f"could not load the model in {str(self.folder)!r} ({type(exc).__name__}: {exc}); "
                                f"set model.path to a Hugging Face model folder with weights.") from exc
        log.info("loaded %s on %s (%s)", self.folder or "random BERT", device, self.dtype)
        model = model.to(device=device).eval()  # float32 weights; model.dtype is the compute precision (autocast)
        if self.dtype != "float32":
            # Autocast casts every linear layer's weights to model.dtype on every call (per batch: 7 % of an
            # MPNet bfloat16 encode on CPU); cast once, they are the same numbers. The rest stays float32.
            for module in model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.to(getattr(torch, self.dtype))
        return model

    def precision(self, device):
        """model.dtype as mixed precision: matrix products in bfloat16/float16 under autocast, while layer
        norms, softmax and the residual stream stay float32 (closer to float32 than casting the weights)."""
        import torch

        if self.dtype == "float32":
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=getattr(torch, self.dtype))

    # -- what token-level pooling needs -----------------------------------------------------------------
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(self.tokenizer)

    def tokenize_corpus(self, sentences: list[str]):
        """Corpus sentences as the model tokenises them, without the template (corpus idf, SIF, bias removal)."""
        return tokenize(self.tokenizer, sentences, int(self.cfg.max_length))

    def token_states(self, requests, layers, computed):
        return computed, {}

    def token_batch(self, sentences: list[str]):
        """The TokenBatch of the forward pass: the template applied (its [MASK] located), truncated."""
        texts = [self.template.apply(s, self.tokenizer.mask_token or "[MASK]") for s in sentences]
        return tokenize(self.tokenizer, texts, int(self.cfg.max_length), self.template.has_mask)

    def token_counts(self, sentences: list[str], special_tokens: str = "include") -> np.ndarray:
        """[n] tokens each sentence has in the forward pass (template applied, truncated); with
        special_tokens=exclude its content tokens, as the mean primitives count them."""
        batch = self.token_batch(sentences)
        if special_tokens == "include":
            return batch.lengths
        content = np.bincount(batch.sentence_of_token()[~batch.special], minlength=len(batch))
        return np.where(content > 0, content, batch.lengths)

    # -- the forward pass ---------------------------------------------------------------------------
    def encode(self, sentences: list[str], progress=None, token_states=None) -> tuple[dict[str, np.ndarray], dict]:
        """Primitives {name: [layers+1, n, dim] float32} for `sentences`, in order, and encode statistics;
        `progress` (a tqdm bar) is advanced by each batch (the contract: encoders/base.ForwardModel).

        With `token_states` (layers, tokens, dim -> a writable array, the store's), every token's state is
        kept too (stats `token_states`, with `token_batch` saying which token is where)."""
        import torch

        tok = self.tokenizer
        texts = [self.template.apply(s, tok.mask_token or "[MASK]") for s in sentences]
        max_length = int(self.cfg.max_length)
        lengths = np.array([len(ids) for ids in tok(texts, add_special_tokens=True)["input_ids"]])
        order = np.argsort(-lengths, kind="stable")  # longest first: little padding, early OOM
        special_ids = torch.tensor(sorted(set(tok.all_special_ids) - {tok.mask_token_id, tok.unk_token_id}))
        n, layers, dim = len(texts), self.num_layers + 1, self.hidden_size
        out = {name: np.empty((layers, n, dim), dtype=np.float32) for name in primitive_names(self.template.has_mask)}
        mask_lost = filled = 0
        token_batch = states_out = None
        if token_states is not None:
            token_batch = tokenize(tok, texts, max_length, self.template.has_mask)
            states_out = token_states(layers, len(token_batch.ids), dim)
        loading = time.perf_counter()
        model, device = self.model, self.model.device  # loads it on the first pass
        load_seconds = time.perf_counter() - loading
        batch_size = int(self.cfg.batch_size)
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                rows = order[start:start + batch_size]
                batch = tok([texts[i] for i in rows], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
                ids, attention = batch["input_ids"], batch["attention_mask"]
                masks = None
                if self.template.has_mask:
                    rows_ids = [r[:n] for r, n in zip(ids.numpy(), attention.sum(dim=1).tolist())]
                    mask_lost += sum(int(tok.mask_token_id not in r) for r in rows_ids)
                    masks = torch.from_numpy(mask_positions(rows_ids, tok.mask_token_id)).to(device)
                with self.precision(device):
                    hidden = model(**{k: v.to(device) for k, v in batch.items()}, output_hidden_states=True).hidden_states
                prims = token_primitives(hidden, attention.to(device), torch.isin(ids, special_ids).to(device), masks)
                for name, value in prims.items():
                    out[name][:, rows] = value.cpu().numpy()
                if states_out is not None:
                    stacked = torch.stack(hidden).float().cpu().numpy()  # [layers, batch, tokens, dim]
                    for b, i in enumerate(rows):
                        start, end = token_batch.offsets[i], token_batch.offsets[i + 1]
                        states_out[:, start:end] = stacked[:, b, :end - start]
                filled += len(rows)
                if progress is not None:
                    progress.update(len(rows))
        if filled != n:  # never hand back (or let anyone store) rows that were not computed
            raise SentgridError(f"the encoder filled {filled} of {n} sentences (model.batch_size={batch_size}); "
                                f"nothing was stored.")
        stats = {"lengths": lengths, "max_length": max_length, "tokens": int(np.minimum(lengths, max_length).sum()),
                 "load_seconds": load_seconds}
        if self.template.has_mask:
            stats["mask_truncated"] = mask_lost
        if states_out is not None:
            stats.update(token_batch=token_batch, token_states=states_out)
        return out, stats
