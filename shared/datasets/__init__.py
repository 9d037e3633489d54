"""Datasets: named image collections, their immutable versions and splits."""
