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


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its class name when the message is empty (for one-line reports)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
