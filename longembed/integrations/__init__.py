"""Adapters that let other frameworks use longembed's encoder and collections (``llama_index``)."""
