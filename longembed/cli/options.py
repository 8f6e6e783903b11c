"""The options several commands share (store, encoder, index settings), their checks, and the exit codes.

Imports only click and light longembed modules (settings, errors); the device check imports torch only for a
device other than ``auto``.
"""

from __future__ import annotations

import click

from longembed.cli.errors import EXIT_USER_ERROR  # noqa: F401 (re-exported with the other exit codes)
from longembed.errors import LongEmbedError
from longembed.settings import (
    DEFAULT_BATCH_TOKENS,
    DEFAULT_BATCH_TOKENS_CUDA,
    DEFAULT_COLLECTION,
    DTYPE_CHOICES,
    DEFAULT_EXTEND,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MODEL,
    DEFAULT_STORE,
    EXTEND_METHOD_NOTES,
    EXTEND_METHODS,
    IndexSettings,
)

EXIT_OK = 0
"""Done. Files that could not be read are listed on stderr and counted in the summary; they do not fail a run."""
"""A user mistake or an unusable input, store or model (one ``error:`` line on stderr); nothing stored changed
except documents already written by the same run."""
EXIT_USAGE = 2
"""Click's usage error: an unknown option, a value of the wrong type, a missing argument."""
EXIT_INTERRUPTED = 130
"""``serve`` stopped by Ctrl-C (SIGINT) after a clean shutdown (128 + SIGINT, as shells report it)."""
EXIT_CODES_HELP = (
    "Exit codes: 0 done (unreadable files are listed, not fatal); 1 error (one line on stderr, a traceback "
    "with --debug; nothing stored is lost); 2 bad usage (unknown option, wrong value type)."
)


MAX_COLLECTION_BYTES = 255


def check_collection(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A usage error (exit 2) for a collection name that is empty, has a path separator, NUL or control
    character, is ``.`` / ``..``, or is over 255 bytes: it names a folder inside a local store."""
    from longembed.errors import collection_name_problem, shown_name

    problem = collection_name_problem(value, MAX_COLLECTION_BYTES)
    if problem:
        raise click.BadParameter(f"{shown_name(value)!r} {problem}")
    return value


def store_options(func):
    """--store / --qdrant-url / --collection, shared by every command that opens a collection."""
    func = click.option(
        "--collection", default=DEFAULT_COLLECTION, show_default=True, callback=check_collection,
        help="Qdrant collection name.",
    )(func)
    return store_location_options(func)


def store_location_options(func):
    """--store / --qdrant-url: where the collections are (alone for the commands that name a collection NAME)."""
    func = click.option(
        "--qdrant-url",
        default=None,
        metavar="URL",
        help="Use a Qdrant server (e.g. http://localhost:6333) instead of the embedded local store.",
    )(func)
    func = click.option(
        "--store",
        default=DEFAULT_STORE,
        show_default=True,
        metavar="DIR",
        help="Directory of the embedded Qdrant store (Qdrant Edge, in this process).",
    )(func)
    return func


def encoder_options(func):
    """--device, --dtype and --batch-tokens: where and how the model runs (not recorded in the collection)."""
    func = click.option(
        "--batch-tokens",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help=f"Padded tokens per forward pass (batch size x longest input); a longer input runs alone. "
        f"Default: {DEFAULT_BATCH_TOKENS} on a CPU, {DEFAULT_BATCH_TOKENS_CUDA} on a GPU.",
    )(func)
    func = click.option(
        "--dtype",
        type=click.Choice(DTYPE_CHOICES),
        default="auto",
        show_default=True,
        help="Model weight dtype; auto = bfloat16 on a CUDA GPU that supports it; on a CPU, for a new collection "
        "bfloat16 where the CPU has bfloat16 matrix units (Intel AMX) and int8 elsewhere, float32 otherwise; an "
        "existing collection keeps how it was built. int8 (CPU): int8 linear layers. int8 and, on a CPU, bfloat16 "
        "are recorded in the collection so its queries use the same weights. Embeddings are stored as float32.",
    )(func)
    return click.option(
        "--device", default="auto", show_default=True, callback=check_device, help="auto, cpu, cuda or cuda:N."
    )(func)


def check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse an unknown device, or cuda on a machine without a GPU, before anything is read or loaded."""
    if value == "auto":  # always usable; not importing torch here keeps a query sent to a server light
        return value
    from longembed.models.device import pick_device

    try:
        pick_device(value)
    except LongEmbedError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


INDEX_OPTIONS = [
    click.option(
        "--model",
        default=DEFAULT_MODEL,
        show_default=True,
        help="Hugging Face model directory or hub id. The default ships with longembed (no network needed).",
    ),
    click.option(
        "--extend",
        type=click.Choice(sorted(EXTEND_METHODS)),
        default=DEFAULT_EXTEND,
        show_default=True,
        help="Context-window extension method: "
        + ", ".join(f"{name} ({note})" for name, note in EXTEND_METHOD_NOTES.items()) + ".",
    ),
    click.option(
        "--extend-param",
        multiple=True,
        metavar="KEY=VALUE",
        help="A parameter of the extension method (repeatable), e.g. lambda=10 for ntk, w=512 g=5 for se.",
    ),
    click.option(
        "--attn-scale/--no-attn-scale",
        default=None,
        help="Multiply attention logits by max(1, log L / log L_o) for inputs longer than L_o (LongEmbed "
        "Appendix B). Default off. Recorded in the collection as the method parameter attn_scale.",
    ),
    click.option(
        "--short-native",
        is_flag=True,
        default=None,
        help="RoPE pi/ntk/yarn: rescale only inputs longer than L_o, so queries and short documents are embedded "
        "exactly as by the original model. Recorded as the method parameter short_native.",
    ),
    click.option(
        "--max-length",
        type=int,
        default=DEFAULT_MAX_LENGTH,
        show_default=True,
        help="Longest document in tokens; longer ones are truncated with a warning (target length L_t for pi).",
    ),
    click.option(
        "--query-prefix",
        default=None,
        help="Text put before every query, e.g. 'Instruct: Given a question, retrieve passages that answer it\\n"
        "Query: ' for E5-Mistral / Qwen3-Embedding. Default: the model's own query prompt (sentence-transformers "
        "config), else none. Recorded in the collection.",
    ),
    click.option(
        "--document-prefix",
        default=None,
        help="Text put before every document. Default: the model's own document prompt, else none. Recorded in "
        "the collection.",
    ),
]
"""click options shared by ``ingest`` and ``serve`` (for the collections that POST /ingest creates)."""


def index_options(func):
    """The settings a collection records: model, extension method and parameters, max length, prefixes."""
    for option in reversed(INDEX_OPTIONS):
        func = option(func)
    return func


def index_settings(
    model: str,
    extend: str,
    extend_param: tuple[str, ...],
    attn_scale: bool | None,
    short_native: bool | None,
    max_length: int,
    query_prefix: str | None,
    document_prefix: str | None,
) -> IndexSettings:
    """:class:`IndexSettings` from the :func:`index_options` values (validated by IndexSettings)."""
    return IndexSettings(
        model=model,
        extend=extend,
        extend_params=extension_params(extend_param, attn_scale, short_native),
        max_length=max_length,
        query_prefix=query_prefix,
        document_prefix=document_prefix,
    )


def parse_extend_params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--extend-param")
        params[key.strip()] = value.strip()
    return params


def extension_params(values: tuple[str, ...], attn_scale: bool | None, short_native: bool | None) -> dict:
    """``--extend-param`` pairs plus the flags that were given (``attn_scale``, ``short_native`` as bools)."""
    params: dict = dict(parse_extend_params(values))
    if attn_scale is not None:
        params["attn_scale"] = attn_scale
    if short_native:
        params["short_native"] = True
    return params
