"""Unit tests: the broker warm-up's case, and the wait for a quiet JIT compiler."""

import os

from bench.warm_up import wait_for_quiet_compiler, warm_up_case


def test_the_warm_up_runs_the_saga_exactly_once_through_one_worker_without_a_restore() -> None:
    case = warm_up_case(3000, 15.0, partitions=8, env={"ES_ROUTING": "false"})

    assert (case.guarantee, case.workers, case.partitions) == ("exactly_once", 1, 8)
    assert (case.orders, case.latency_seconds) == (3000, 15.0)
    assert case.restore is False
    assert case.extra_env == {"ES_ROUTING": "false"}


async def test_a_process_without_compiler_threads_is_quiet_after_one_window() -> None:
    quiet, share = await wait_for_quiet_compiler(os.getpid(), window=0.01, timeout=1.0)

    assert (quiet, share) == (True, 0.0)


async def test_a_process_that_is_gone_is_not_called_quiet() -> None:
    quiet, share = await wait_for_quiet_compiler(2**22 + 1, window=0.01, timeout=1.0)

    assert (quiet, share) == (False, None)
