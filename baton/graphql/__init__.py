"""GraphQL at /graphql: the workflow engine and the records over the same services as
REST (`schema.py` the entry, `api.py` the route, `loaders.py` the batched reads)."""
