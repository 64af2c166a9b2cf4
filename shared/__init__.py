"""AKS Compliance Monitor core library.

Nothing in this package imports ``azure.functions``: the Function App adapters
in ``functions/`` and the command line both call into it.
"""

__version__ = "0.1.0"
