"""Background jobs on procrastinate: the queue, the task wrapper, the worker, sweeps.

`runtime` holds the procrastinate app and the decorators that turn a function into a
job running in its tenant's unit of work; `defer` enqueues one inside the caller's
transaction; `worker` runs workers (`baton worker`, or inline in `baton serve`);
`retention` is the periodic sweep of expired rows; `queries`, `service`, `api`,
`web` and `metrics` show a tenant's jobs to its admins and the queue to Prometheus.
"""
