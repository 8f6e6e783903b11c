"""Stand-in for :mod:`longembed.serve.openai_errors`, where the server's OpenAI-shaped error middleware now lives;
kept so that old imports of ``longembed.retrieve.openai_errors`` keep working."""

from longembed.serve.openai_errors import ERROR_TYPES, OPENAI_PREFIX, OpenAIErrors, openai_error

__all__ = ["ERROR_TYPES", "OPENAI_PREFIX", "OpenAIErrors", "openai_error"]
