"""JobService: follow, list and cancel jobs; run the diagnostic job."""
