"""HTTP layer: the Starlette app, route table, request models, auth and error rendering."""
