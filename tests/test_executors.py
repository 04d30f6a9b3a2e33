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


def test_an_executor_is_named_and_a_ray_address_needs_ray():
    from rlcert.envs.executors import RayExecutor

    assert isinstance(make_executor(2, "ray"), RayExecutor)
    with pytest.raises(ValueError, match="executor must be one of local, ray, got 'dask'"):
        make_executor(1, "dask")
    with pytest.raises(ValueError, match="needs the ray executor"):
        make_executor(1, "local", "ray://head:10001")


def test_without_ray_installed_the_ray_executor_is_refused_in_one_line(monkeypatch):
    import importlib.util

    from rlcert.envs.options import RolloutOptions

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real_find_spec(name, *a)
    )
    with pytest.raises(ValueError, match=r"pip install 'rlcert\[ray\]'"):
        RolloutOptions(executor="ray")


@pytest.mark.slow
def test_ray_and_local_executors_give_the_same_certificate_on_the_same_seed():
    # Ray's start-up takes seconds, hence slow (it still runs in CI, which installs rlcert[ray]).
    from rlcert.analyses import RewardCertificateConfig, certify_reward
    from rlcert.envs.options import RolloutOptions

    config = RewardCertificateConfig(episodes=600, budgets="0,0.2,0.4", bound="dkw")
    results = [
        certify_reward("zoo:cartpole5-ppo-sigma0.2", config=config, rollout=RolloutOptions(progress=False, **options))
        for options in ({}, {"workers": 2}, {"executor": "ray", "workers": 2})
    ]
    local, pool, ray = (r.certificate for r in results)
    assert local.certified.tolist() == pool.certified.tolist() == ray.certified.tolist()
    assert local.clean_mean == ray.clean_mean
    assert [f.to_dict() | {"versions": {}} for f in results[0].findings()] == [
        f.to_dict() | {"versions": {}} for f in results[2].findings()
    ]
