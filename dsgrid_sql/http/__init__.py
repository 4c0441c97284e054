"""The HTTP API of ``dsgrid-sql serve --http-port N`` (README "HTTP API"): statements as
jobs, the catalog, ``/health``, ``/metrics`` and OpenAPI docs at ``/docs``."""
