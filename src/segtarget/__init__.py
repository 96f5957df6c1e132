"""segtarget: customer segments and a causal targeting policy from retail transactions."""

__version__ = "0.1.0"
