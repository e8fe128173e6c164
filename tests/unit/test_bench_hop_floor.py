"""Unit tests: the hop floor spreads each input's outputs and reports every variant."""

from bench.hop_floor import VARIANTS, HopShape, output_partition, render_hop_floor


def test_an_inputs_outputs_go_to_distinct_partitions_in_turn() -> None:
    shape = HopShape(outputs=8, output_partitions=32)

    first = [output_partition(shape, 0, k) for k in range(shape.outputs)]
    second = [output_partition(shape, 1, k) for k in range(shape.outputs)]
    fifth = [output_partition(shape, 4, k) for k in range(shape.outputs)]

    assert first == list(range(8))
    assert second == list(range(8, 16))
    assert fifth == first  # 32 partitions: every fourth input starts over


def test_the_report_names_each_variant_and_the_output_spread() -> None:
    run = {
        "sent": 1000,
        "seen": 1000,
        "one_hop_ms": {50: 7.4, 95: 12.7, 99: 19.6},
        "histogram_mean_ms": 5.1,
    }
    shape = {"rate": 50.0, "seconds": 20.0, "partitions": 4, "outputs": 8, "output_partitions": 32}
    result = {"shape": shape, "runs": {variant: [run] for variant in VARIANTS}}

    markdown = render_hop_floor(result)

    assert "8 records written per input to distinct partitions of 32" in markdown
    assert "| alternating | 1 | 1000 (1000) | 7.4 / 12.7 / 19.6 | 5.1 |" in markdown
    assert "| one producer | 1 |" in markdown
