"""The Arrow Flight SQL endpoint (``dsgrid-sql serve``).

The endpoint is built on the query path; this package is its home in the distribution
(installed as ``dsgrid_sql.flight_server``) and holds no server yet.
"""

from __future__ import annotations
