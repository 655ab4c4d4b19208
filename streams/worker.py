"""The Faust worker class the app runs (`Worker` setting)."""

from __future__ import annotations

from typing import Any

import faust


class QuietWorker(faust.Worker):
    """Faust's worker without its terminal progress spinner.

    At log level WARN and above Faust's spinner sets the root logger to DEBUG so that it can spin
    on every record, which makes every debug call of Faust and aiokafka (one per record sent)
    build a log record only for the handler to drop it: about 5 % of a busy worker's CPU. The
    worker runs under a supervisor or in a container, where nobody watches a spinner.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None
