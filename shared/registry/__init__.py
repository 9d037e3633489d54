"""The model registry: models, versions, stages and evaluations in Postgres."""
