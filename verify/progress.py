"""Progress bars on stderr for the long commands (``verify``, ``scan``, ``run``), via tqdm.

A bar is drawn only when its stream is a terminal and ``--quiet`` was not given; otherwise :func:`bar` returns
a :class:`Silent` bar with the same methods, which does nothing (so piped or captured output never holds bar
characters).  ``bar.write(text, out)`` prints a line to ``out`` without breaking the bar (tqdm clears it,
prints, and redraws it below).

>>> import io
>>> b = bar(3, "verify", stream=io.StringIO())   # not a terminal: silent
>>> isinstance(b, Silent), b.update(1), b.close()
(True, None, None)
>>> out = io.StringIO(); b.write("a line", out); out.getvalue()
'a line\\n'
"""

from __future__ import annotations

import sys


def enabled(quiet=False, stream=None) -> bool:
    """True when a bar should be drawn: not ``quiet`` and ``stream`` (default stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return not quiet and bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Silent:
    """A bar that draws nothing (stderr is not a terminal, or ``--quiet``)."""

    n = 0
    total = None

    def update(self, k=1):
        self.n += k

    def set_description_str(self, text):
        pass

    def set_postfix_str(self, text):
        pass

    def write(self, text, out):
        out.write(text + "\n")   # one write: a Ctrl-C cannot fall between the text and its newline
        out.flush()

    def stages(self, done, total, now=""):
        """Show ``done`` of ``total`` stages, and what runs ``now``."""
        self.total = total
        if done > self.n:
            self.update(done - self.n)
        self.set_postfix_str(now)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Bar(Silent):
    """A tqdm bar on ``stream``."""

    def __init__(self, total, desc, unit, stream):
        from tqdm import tqdm
        self._tqdm = tqdm
        self.t = tqdm(total=total, desc=desc, unit=unit, file=stream, leave=False, dynamic_ncols=True,
                      mininterval=0.2)

    @property
    def n(self):
        return self.t.n

    @property
    def total(self):
        return self.t.total

    @total.setter
    def total(self, value):
        if value != self.t.total:
            self.t.total = value
            self.t.refresh()

    def update(self, k=1):
        self.t.update(k)

    def set_description_str(self, text):
        self.t.set_description_str(text)

    def set_postfix_str(self, text):
        self.t.set_postfix_str(text)

    def write(self, text, out):
        self._tqdm.write(text + "\n", file=out, end="")   # one write, as in Silent.write
        out.flush()

    def close(self):
        self.t.close()


def bar(total=None, desc="", unit="it", *, quiet=False, stream=None):
    """A progress bar on ``stream`` (default stderr), silent unless that is a terminal and not ``quiet``."""
    stream = sys.stderr if stream is None else stream
    return Bar(total, desc, unit, stream) if enabled(quiet, stream) else Silent()


class StepWatch:
    """A ``watch(t, f, lam, eta)`` for :func:`catapult.numerics.gd.run_gd` that advances ``progress`` by the
    steps of successive runs of ``steps`` steps each (a new run starts when t goes back to 0); it never stops a
    run (returns False)."""

    def __init__(self, progress, steps):
        self.progress, self.steps, self.offset, self.last = progress, int(steps), 0, -1

    def __call__(self, t, f, lam, eta):
        if t < self.last:  # the next run: count the previous one as complete (it may have stopped early)
            self.offset += self.steps
        self.last = t
        target = min(self.offset + t, (self.progress.total or 0) or self.offset + t)
        if target > self.progress.n:
            self.progress.update(target - self.progress.n)
        return False
