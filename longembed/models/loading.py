"""Loading a Hugging Face embedding model for the encoder: tokenizer, transformer (SDPA where it has it,
bidirectional where its folder asks), the sentence-transformers Dense head, what it says about positions and
special tokens (see :mod:`longembed.models.positions`), and a tuned folder's learned position rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from longembed.errors import ModelLoadError
from longembed.extenders import Framing, ModelPositions
from longembed.models.bidirectional import bidirectional_if_configured
from longembed.models.paths import model_folder_config, resolve_model_path
from longembed.models.positions import MIN_VOCABULARY, detect_positions, special_token_framing, with_eos
from longembed.models.sentence_transformers_folder import SentenceTransformersConfig, load_dense_head
from longembed.models.tuned import read_tuning, tuned_positions

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A model ready for an extender (still in float32, on its device).

    Attributes:
        path: the local folder (or hub id) it was loaded from.
        folder: its sentence-transformers configuration (pooling, prompts, Dense layers).
        tokenizer: its tokenizer, with ``model_max_length`` lifted (longembed truncates itself).
        model: the transformer, in eval mode.
        head: the Dense layers (e.g. EmbeddingGemma's 768 → 3072 → 768), ``None`` without.
        positions: its position encoding and L_o (a tuned folder's learned table and base L_o).
        framing: the special tokens put around a text (with EOS for ``lasttoken`` pooling).
        dimension: d, the length of the vectors it gives.
    """

    path: str
    folder: SentenceTransformersConfig
    tokenizer: object
    model: nn.Module
    head: nn.Module | None
    positions: ModelPositions
    framing: Framing
    dimension: int


def load_model(model: str, device, model_path: str | None = None) -> LoadedModel:
    """Load ``model`` (a hub id, a local folder, the bundled default or a shipped tuned name) onto ``device``;
    ``model_path``: its folder when already resolved (:func:`~longembed.models.paths.resolve_model_path`).

    Raises:
        ModelLoadError: the tokenizer or the model cannot be loaded, or the tokenizer has no vocabulary files.
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = model_path if model_path is not None else resolve_model_path(model)
    st = model_folder_config(path)
    if not st.include_prompt:
        log.warning("the model's pooling excludes prompt tokens (include_prompt=false); longembed pools them too")
    load_from = str(Path(path) / st.transformer_path) if st.transformer_path else path
    try:
        tokenizer = AutoTokenizer.from_pretrained(load_from)
    except Exception as exc:  # transformers raises OSError, ValueError, ... for a missing tokenizer
        raise ModelLoadError(f"could not load a tokenizer from {model!r}: {exc}") from None
    if len(tokenizer) < MIN_VOCABULARY:  # transformers builds an empty one when the files are missing
        raise ModelLoadError(
            f"could not load a tokenizer from {model!r}: it has no tokenizer files "
            f"(the tokenizer built from its config knows only {len(tokenizer)} tokens)"
        )
    try:
        try:
            net = AutoModel.from_pretrained(load_from, attn_implementation="sdpa")
        except (ValueError, ImportError):  # model without an SDPA path
            net = AutoModel.from_pretrained(load_from)
    except Exception as exc:
        raise ModelLoadError(f"could not load model {model!r}: {exc}") from None
    net.eval().to(device=device)
    bidirectional_if_configured(net)
    head = load_dense_head(path, st.dense).to(device) if st.dense else None
    tokenizer.model_max_length = 10**9  # we truncate ourselves, with a warning
    positions = detect_positions(net)
    tuning = read_tuning(path)
    if tuning is not None:
        positions = tuned_positions(positions, tuning)
    framing = special_token_framing(tokenizer)
    if st.pooling == "lasttoken":
        framing = with_eos(framing, tokenizer.eos_token_id)
    dimension = st.dense[-1].out_features if st.dense else int(net.config.hidden_size)
    return LoadedModel(path, st, tokenizer, net, head, positions, framing, dimension)
