"""Overhead and throughput measurements of Allos against raw httpx and the official openai SDK.

Run `python -m benchmarks` (see README.md). Not part of the installed package; never collected by pytest.
"""
