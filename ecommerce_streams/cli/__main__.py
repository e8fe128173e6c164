"""``python -m ecommerce_streams.cli``: the command line."""

from ecommerce_streams.cli import main

main()
