"""Serving over HTTP (FastAPI, uvicorn), one module per concern:

- :mod:`~longembed.serve.schemas`: request and response bodies and their bounds;
- :mod:`~longembed.serve.service`: the server's state (store, encoders, retrievers) and its locks;
- :mod:`~longembed.serve.app`: the app, its middleware and error mapping (:func:`~longembed.serve.app.create_app`);
- :mod:`~longembed.serve.routes`: the routes;
- :mod:`~longembed.serve.run`: binding a socket and running uvicorn (``longembed serve``);
- :mod:`~longembed.serve.security` (Host/Origin/token checks), :mod:`~longembed.serve.requests` (upload names,
  multipart bodies), :mod:`~longembed.serve.fair` (fair sharing of the model), :mod:`~longembed.serve.address`
  (the address file a server writes next to its store), :mod:`~longembed.serve.client` (finding and asking
  the server that holds a store), :mod:`~longembed.serve.openai_errors` (errors of the
  ``/v1/`` routes in OpenAI's shape), :mod:`~longembed.serve.asgi` (the middleware's HTTP-only shape).
"""
