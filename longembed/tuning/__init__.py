"""Further tuning of APE models (LongEmbed §4.2): only the new position embeddings learn.

:mod:`~longembed.tuning.pairs` reads or draws (query, positive) training pairs; :mod:`~longembed.tuning.trainer`
trains the new rows of the position table with a contrastive loss and writes a tuned model folder
(:mod:`longembed.models.tuned`) that ``longembed ingest --model DIR`` loads with the ``tuned`` method.
"""
