"""The root of the hub's own errors.

`except HubError` catches what the hub refuses or cannot do (a registration, a schema, a scenario, a broker
out of reach), and lets programming errors through. Each error keeps its builtin base as well, so callers
that catch ValueError, LookupError, RuntimeError or TimeoutError still do.
"""


class HubError(Exception):
    pass
