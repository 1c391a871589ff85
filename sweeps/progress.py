"""Long sweeps are visible: a progress bar on a terminal, periodic progress lines elsewhere."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO


def duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


class Progress:
    """A tqdm bar on a terminal; elsewhere one line every ``every_s`` seconds (rate, ETA) on stderr."""

    def __init__(self, total: int, desc: str, enabled: bool | None, every_s: float = 10.0,
                 stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.desc = desc
        self.done = 0
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.every_s = every_s
        tty = self.stream.isatty() if hasattr(self.stream, "isatty") else False
        self.on = tty if enabled is None else enabled
        self.lines = not tty and enabled is not False
        self.bar = None
        if self.on and tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="pt", dynamic_ncols=True, smoothing=0.1, file=self.stream)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        if self.lines and now - self.last >= self.every_s and self.total:
            self.last = now
            rate = self.done / max(now - self.t0, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else math.inf
            eta = f", about {duration(left)} left" if math.isfinite(left) else ""
            print(f"sweep {self.desc}: {self.done:,} of {self.total:,} points ({100 * self.done / self.total:.1f} %), "
                  f"{60 * rate:,.0f} points/min{eta}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        if self.on or self.lines:
            if self.bar is not None:
                self.bar.write(text, file=self.stream)
            else:
                print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
