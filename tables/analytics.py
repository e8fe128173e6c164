"""Table ``windows``: running totals per metric and tumbling window of event time.

Windows are plain keys (``<metric>@<window start>``) rather than Faust windowed
tables: Faust expires windows on wall-clock time and never expires restored ones
(faust-streaming #385), while these totals follow event time and replay exactly.
Each worker holds the totals of the partitions it owns; the ``analytics`` topic
carries every increment for a global view.
"""

from ecommerce_streams.worker.app import app, settings
from models.analytics import WindowTotal

windows = app.Table(
    "windows",
    key_type=str,
    value_type=WindowTotal,
    partitions=settings.partitions,
    help="Running total per '<metric>@<window start>' (this worker's partitions).",
)
