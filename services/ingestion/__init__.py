"""IngestionService: datasets, versions, images, and the ingest jobs."""
