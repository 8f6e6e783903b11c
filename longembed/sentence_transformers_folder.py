"""Moved to :mod:`longembed.models.sentence_transformers_folder`; this name keeps old imports working."""

from longembed.models.sentence_transformers_folder import *  # noqa: F403
