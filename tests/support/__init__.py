"""Test helpers shared by unit, integration and e2e tests (test phone, ports, stack)."""
