"""Recorded results -> the paper's tables and figures (`make tables`, `make figures`)."""
