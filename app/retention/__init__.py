"""Retention of leavers' personal data and subject access (UK GDPR / DPA 2018)."""
