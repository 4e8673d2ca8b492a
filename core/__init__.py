"""digitrec: read handwritten digits from real images."""
__version__ = "0.1.0"
