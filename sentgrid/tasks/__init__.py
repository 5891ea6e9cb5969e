"""Evaluators: sentence vectors + gold labels -> scores. One module per task family."""
