"""Social media account registry for UK police forces."""

__version__ = "0.1.0"
