"""The library every terrafake process imports: config, errors, db, jobs, auth, models."""
