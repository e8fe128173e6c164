"""The verifier's report: counts in a table, violations listed, and a verdict on the last line."""

from collections import Counter

from ecommerce_streams.harness.verify import VerifyReport


def test_a_clean_report_is_ok_and_ends_with_ok() -> None:
    report = VerifyReport(orders=3, confirmed=2, rejected=Counter(out_of_stock=1))
    assert report.ok
    lines = report.render().splitlines()
    assert lines[-1] == "OK"
    assert any("orders placed" in line and line.rstrip().endswith("3") for line in lines)
    assert any("rejected" in line and "out_of_stock 1" in line for line in lines)


def test_violations_are_listed_and_counted_in_the_verdict() -> None:
    report = VerifyReport(violations=["order o-1 has no terminal event", "sku s-1 is oversold"])
    assert not report.ok
    text = report.render()
    assert "  1. order o-1 has no terminal event" in text
    assert "  2. sku s-1 is oversold" in text
    assert text.splitlines()[-1] == "FAILED (2 violations)"


def test_one_violation_is_singular() -> None:
    assert VerifyReport(violations=["x"]).render().endswith("FAILED (1 violation)")


def test_long_lists_are_cut_with_a_count_of_the_rest() -> None:
    report = VerifyReport(violations=[f"problem {n}" for n in range(120)])
    text = report.render(limit=10)
    assert "  10. problem 9" in text
    assert "problem 10" not in text
    assert "... and 110 more" in text
    assert "problem 119" in report.render(limit=None)


def test_warnings_do_not_fail_the_run() -> None:
    report = VerifyReport(warnings=["derived message was dead-lettered"])
    assert report.ok
    assert "Warnings (1):" in report.render()


def test_an_unsettled_run_says_so() -> None:
    assert "had not settled" in VerifyReport(settled=False).render()
