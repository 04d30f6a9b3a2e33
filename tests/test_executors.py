import pytest

from rlcert.envs.executors import InProcessExecutor, ProcessPoolExecutor, make_executor


def _square(x):
    return x * x


def test_make_executor_picks_by_worker_count():
    assert isinstance(make_executor(1), InProcessExecutor)
    assert isinstance(make_executor(2), ProcessPoolExecutor)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="workers"):
            make_executor(bad)


def test_executors_yield_every_index_once():
    tasks, indices = [1, 2, 3, 4], [10, 11, 12, 13]
    assert dict(InProcessExecutor().map(_square, tasks, indices)) == {10: 1, 11: 4, 12: 9, 13: 16}
    assert dict(ProcessPoolExecutor(2).map(_square, tasks, indices)) == {10: 1, 11: 4, 12: 9, 13: 16}
    assert list(ProcessPoolExecutor(2).map(_square, [], [])) == []
