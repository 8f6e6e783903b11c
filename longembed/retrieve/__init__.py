"""Serving queries over a longembed collection."""

from longembed.retrieve.retriever import Retriever

__all__ = ["Retriever"]
