"""Toll-fraud guards: what an outbound call must pass before it reaches a trunk."""
