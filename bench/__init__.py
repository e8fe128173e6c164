"""Benchmarks of the order pipeline against a plain transactional ceiling (``python -m bench``)."""
