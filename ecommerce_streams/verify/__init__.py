"""Check a run against the platform's five exactly-once invariants."""

from ecommerce_streams.verify.invariants import check_invariants
from ecommerce_streams.verify.records import Record
from ecommerce_streams.verify.report import VerifyReport
from ecommerce_streams.verify.verifier import verify

__all__ = ["Record", "VerifyReport", "check_invariants", "verify"]
