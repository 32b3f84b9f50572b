"""Upgrading live legacy databases (series shared across leagues) to the isolated schema."""
