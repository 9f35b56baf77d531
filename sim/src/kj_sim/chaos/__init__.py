"""The chaos suite (issue 14, "the proof as a suite"): the real stack as processes on a broker
and a database of its own, steady load through the external contract, SIGKILL of every part,
SIGSTOP of a dispatch replica, poison records on every consumed topic, and a verifier that
reads PostgreSQL and the topics back. Measures: docs/decisions/0070."""
