"""longembed: retrieval over long documents with context-extended embedding models (LongEmbed, arXiv 2404.12096)."""

__version__ = "0.1.0"
