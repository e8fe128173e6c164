"""Check a run against the platform's five exactly-once invariants."""

from ecommerce_streams.harness.verify.invariants import check_invariants
from ecommerce_streams.harness.verify.records import Record
from ecommerce_streams.harness.verify.report import VerifyReport
from ecommerce_streams.harness.verify.verifier import verify

__all__ = ["Record", "VerifyReport", "check_invariants", "verify"]
