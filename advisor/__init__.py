"""advise: should we prompt it, give it retrieval, or fine-tune it?"""
__version__ = "0.1.0"
