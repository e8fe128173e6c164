"""``ecommerce-streams worker``: run one worker."""

import click


@click.command()
def worker() -> None:
    """Run one worker (ES_DATADIR and ES_WEB_PORT must differ per worker on one host)."""
    from ecommerce_streams.worker.run import run_worker

    run_worker()
