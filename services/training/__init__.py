"""TrainingService: training jobs, the model registry and evaluations."""
