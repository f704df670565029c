"""linexplain: explain PyTorch's nn.Linear — shapes, equations and PyTorch's own numbers."""

__version__ = "0.1.0"
