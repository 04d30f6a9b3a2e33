"""Progress bars for long steps (episodes, attacked episodes, states bounded), on stderr and only on a
terminal: a log or a pipe gets no bar and no blank line where a bar was."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["progress_bar"]


class progress_bar:  # noqa: N801 - used as a context manager, like open()
    """``with progress_bar(enabled, total, "episodes · cartpole5") as advance: advance(n)`` (a no-op when
    disabled, or when stderr is not a terminal)."""

    def __init__(self, enabled: bool, total: int, description: str):
        self.enabled, self.total, self.description = enabled, total, description
        self.progress = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        if not console.is_terminal:
            return lambda n: None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.progress.start()
        task_id = self.progress.add_task(self.description, total=self.total)
        return lambda n: self.progress.advance(task_id, n)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
