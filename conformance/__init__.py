"""The Allos conformance harness: capability scenarios, generated sequences, cassettes and the matrix."""
