from rlcert.envs.rollout import chunk_seeds
from rlcert.envs.seeding import child_seed


def test_child_seeds_never_follow_seed_arithmetic():
    seeds = {child_seed(seed, key) for seed in range(50) for key in range(4)}
    assert len(seeds) == 200 and not seeds & set(range(60))
    # A sub-run's seed is none of the run's own chunk streams either.
    assert all(child_seed(0, c) != chunk_seeds(0, c)[0] for c in range(10))
