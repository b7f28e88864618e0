"""Peer comparisons and performance studies: configurations of the harness."""
