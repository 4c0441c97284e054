"""What the network front ends of one server process share: auth, the current catalog,
admission of queries, jobs and metrics. Front ends (Flight, HTTP) import this; it never
imports them."""
