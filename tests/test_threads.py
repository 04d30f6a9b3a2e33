import pytest
import torch

from rlcert.envs.executors import InProcessExecutor
from rlcert.envs.threads import ROLLOUT_THREADS, rollout_threads, torch_threads
from rlcert.reports.errors import InvalidValueError


def _threads_inside(task):
    return torch.get_num_threads()


def test_in_process_chunks_run_with_the_chosen_threads_and_restore_the_callers(monkeypatch):
    monkeypatch.delenv("RLCERT_TORCH_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert list(InProcessExecutor().map(_threads_inside, [None], [0])) == [(0, ROLLOUT_THREADS)]
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("RLCERT_TORCH_THREADS", "2")
        assert list(InProcessExecutor().map(_threads_inside, [None], [0])) == [(0, 2)]
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("value", ["0", "two", "-1", ""])
def test_a_bad_thread_count_is_refused(monkeypatch, value):
    monkeypatch.setenv("RLCERT_TORCH_THREADS", value)
    with pytest.raises(InvalidValueError, match="RLCERT_TORCH_THREADS must be a positive integer"):
        rollout_threads()


def test_torch_threads_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(KeyError), torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
        raise KeyError
    assert torch.get_num_threads() == before
