"""Spam scoring: weighted rules, a Bayesian classifier, thresholds and learning."""
