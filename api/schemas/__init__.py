"""Request models (pydantic): the shapes the API accepts, discriminated on `secret_type`."""
