"""Learned risk model for customs fraud detection: records, features, model, metrics."""
