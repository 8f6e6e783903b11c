"""Errors that mean "the user asked for something that cannot be done".

The CLI turns every :class:`LongEmbedError` into a one-line message and a non-zero exit;
anything else is a bug and keeps its traceback.
"""


class LongEmbedError(Exception):
    """Base class of all user-facing errors (bad path, bad option, incompatible store ...)."""


class ModelLoadError(LongEmbedError):
    """The model or its tokenizer could not be loaded."""


class ExtensionError(LongEmbedError):
    """An extension method is unknown, has bad parameters, or does not fit the model."""


class StoreError(LongEmbedError):
    """The Qdrant store or collection cannot be used as asked."""


class CollectionNotFound(StoreError):
    """The named collection does not exist in the store."""


class IngestError(LongEmbedError):
    """Nothing could be ingested (no readable document)."""


class BenchError(LongEmbedError):
    """A benchmark cannot run as asked (no data source, malformed task files, bad task/length/method list)."""


class TuneError(LongEmbedError):
    """Position-embedding tuning cannot run as asked (a RoPE model, no training pairs, a bad checkpoint)."""


SHOWN_NAME_CHARS = 80


def shown_name(name: str) -> str:
    """``name`` for a message: its first 80 characters and ``…`` when longer (a name is never echoed whole)."""
    return name if len(name) <= SHOWN_NAME_CHARS else name[:SHOWN_NAME_CHARS] + "…"


def collection_name_problem(name: str, max_bytes: int = 255) -> str | None:
    """What is wrong with collection ``name`` (it names a folder inside a local store), ``None`` when nothing:
    empty, a path separator, ``.``/``..``, a control character, or more than ``max_bytes`` UTF-8 bytes."""
    if not name.strip():
        return "must not be empty"
    if any(c in name for c in "/\\") or name in (".", ".."):
        return "must not contain '/' or '\\' or be '.' or '..'"
    if not name.isprintable():
        return "must not contain control characters"
    if len(name.encode("utf-8", "surrogateescape")) > max_bytes:
        return f"must be at most {max_bytes} bytes"
    return None


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its class name when the message is empty (for one-line reports)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
