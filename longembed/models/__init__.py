"""Models: where a model lives (:mod:`~longembed.models.paths`), its sentence-transformers folder (pooling,
Dense head, prompts; :mod:`~longembed.models.sentence_transformers_folder`), what it says about positions and
framing (:mod:`~longembed.models.positions`), where it runs (:mod:`~longembed.models.device`) and decoder
patching (:mod:`~longembed.models.bidirectional`). Import the submodules; this package imports nothing, so
that light users (the command line) can take :mod:`~longembed.models.paths` without torch."""
