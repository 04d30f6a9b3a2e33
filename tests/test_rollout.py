import functools

import gymnasium as gym
import numpy as np
import pytest

from conftest import make_mlp_policy
from rlcert.agents import load_policy
from rlcert.attacks.base import Attack, ThreatModel
from rlcert.attacks.smoothing import GaussianSmoothing
from rlcert.envs.batched import SerialBatchedEnv
from rlcert.envs.executors import InProcessExecutor, ProcessPoolExecutor
from rlcert.envs.factory import make_env
from rlcert.envs.generic_probes import ObservationNoise, StickyActions
from rlcert.envs.probes import ProbeStack
from rlcert.envs.rollout import chunk_seeds, run
from rlcert.envs.wrappers import GaussianFrameNoise


def test_same_seed_same_episodes_and_different_seed_differs(balancing_policy):
    a = run(balancing_policy, "cartpole5", 40, seed=3, chunk_size=16)
    b = run(balancing_policy, "cartpole5", 40, seed=3, chunk_size=16)
    c = run(balancing_policy, "cartpole5", 40, seed=4, chunk_size=16, defense=GaussianSmoothing(0.5))
    np.testing.assert_array_equal(a.returns, b.returns)
    assert len(a) == 40 and a.returns.dtype == np.float64
    assert not np.array_equal(a.returns, c.returns)
    assert np.all(a.lengths == a.returns)  # CartPole pays 1 per step


def test_one_and_two_workers_give_identical_episodes(balancing_policy):
    kwargs = dict(seed=11, chunk_size=10, defense=GaussianSmoothing(0.3))
    one = run(balancing_policy, "cartpole5", 30, executor=InProcessExecutor(), **kwargs)
    two = run(balancing_policy, "cartpole5", 30, executor=ProcessPoolExecutor(2), **kwargs)
    np.testing.assert_array_equal(one.returns, two.returns)
    np.testing.assert_array_equal(one.lengths, two.lengths)


def test_engine_matches_a_plain_gymnasium_loop():
    """The batched engine runs exactly the episodes a one-env loop with the same reset seeds runs."""
    policy = make_mlp_policy(obs_shape=(2,), n_actions=3, seed=1)
    eps = run(policy, "MountainCar-v0?max_steps=60", 3, seed=5, chunk_size=3, record_steps=True)
    env_seed = chunk_seeds(5, 0)[0]
    for i, slot_seed in enumerate(SerialBatchedEnv.slot_seeds(env_seed, 3)):
        env = make_env("MountainCar-v0?max_steps=60")
        obs, _ = env.reset(seed=int(slot_seed))
        total, actions, done = 0.0, [], False
        while not done:
            action = int(policy.act(obs[None])[0])  # one policy call per step, as research scripts do
            actions.append(action)
            obs, reward, term, trunc, _ = env.step(action)
            total += reward
            done = term or trunc
        assert total == eps.returns[i]
        np.testing.assert_array_equal(eps.records[i].actions, actions)
        assert eps.records[i].rewards.sum() == eps.returns[i]


def test_engine_stacking_matches_make_env(balancing_policy):
    """The engine stacks raw frames exactly like make_env's FrameStackObservation."""
    eps = run(
        balancing_policy,
        "cartpole5?max_steps=12",
        1,
        seed=2,
        chunk_size=1,
        record_steps=True,
        probe=functools.partial(GaussianFrameNoise, sigma=0.0),
    )
    record = eps.records[0]
    env = make_env("cartpole5?max_steps=12")
    obs, _ = env.reset(seed=int(SerialBatchedEnv.slot_seeds(chunk_seeds(2, 0)[0], 1)[0]))
    for t in range(len(record.actions)):
        np.testing.assert_allclose(obs[-1], record.frames[t])
        np.testing.assert_allclose(obs[-1], record.seen[t])  # no attack, no defense
        assert balancing_policy.act(obs[None])[0] == record.actions[t]
        obs, *_ = env.step(int(record.actions[t]))


class ShiftAttack(Attack):
    """Adds a constant to the pole angle; checks what the engine hands an attack."""

    def __init__(self, shift):
        self.threat_model = ThreatModel(norm="inf", eps=abs(shift))
        self.shift = shift
        self.seen_history = []

    def perturb(self, frames, policy, state):
        self.seen_history.append(None if state.history is None else state.history.shape)
        out = frames.copy()
        out[:, 2] += self.shift
        return out


def test_attack_sees_history_and_changes_behaviour(balancing_policy):
    attack = ShiftAttack(0.3)
    clean = run(balancing_policy, "cartpole5", 8, seed=1, chunk_size=8)
    attacked = run(balancing_policy, "cartpole5", 8, seed=1, chunk_size=8, attack=attack)
    assert attack.seen_history[0] is None and attack.seen_history[1] == (8, 4, 4)
    assert attacked.mean_return < clean.mean_return


def test_costs_come_from_info(balancing_policy):
    class CostPerStep(gym.Wrapper):
        def step(self, action):
            obs, r, te, tr, info = self.env.step(action)
            return obs, r, te, tr, {**info, "cost": 2.0}

    eps = run(balancing_policy, "cartpole5?max_steps=10", 4, seed=0, probe=CostPerStep)
    np.testing.assert_array_equal(eps.costs, 2.0 * eps.lengths)


def test_cut_marks_episodes_the_step_limit_ended(balancing_policy):
    """A balancing policy plays until the step limit cuts it; an untrained one drops the pole first."""
    balanced = run(balancing_policy, "cartpole5?max_steps=50", 6, seed=0, chunk_size=4)
    assert balanced.cut.tolist() == [True] * 6 and balanced.summary()["cut_episodes"] == 6
    untrained = make_mlp_policy(seed=0)
    fallen = run(untrained, "cartpole5?max_steps=50", 6, seed=0)
    assert fallen.cut_episodes == int(np.sum(fallen.lengths == 50)) < 6
    assert not fallen.cut[fallen.lengths < 50].any()


def test_checkpoint_resumes_without_rerunning_finished_chunks(balancing_policy, tmp_path):
    full = run(balancing_policy, "cartpole5", 30, seed=9, chunk_size=10, checkpoint_dir=tmp_path)
    (tmp_path / "chunk_00001.npz").unlink()  # as if the run was interrupted after chunks 0 and 2

    class CountingExecutor(InProcessExecutor):
        ran: list = []

        def map(self, fn, tasks, indices):
            self.ran.extend(indices)
            yield from super().map(fn, tasks, indices)

    executor = CountingExecutor()
    resumed = run(balancing_policy, "cartpole5", 30, seed=9, chunk_size=10, checkpoint_dir=tmp_path, executor=executor)
    assert executor.ran == [1]
    np.testing.assert_array_equal(full.returns, resumed.returns)
    np.testing.assert_array_equal(full.cut, resumed.cut)
    with pytest.raises(ValueError, match="different run.*seed"):
        run(balancing_policy, "cartpole5", 30, seed=10, chunk_size=10, checkpoint_dir=tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(episodes=0), "episodes"),
        (dict(episodes=5, chunk_size=0), "chunk_size"),
        (dict(episodes=5, seed=-1), "seed"),
    ],
)
def test_bad_arguments_fail_early(balancing_policy, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(balancing_policy, "cartpole5", **kwargs)


def test_wrong_observation_shape_names_both_shapes(mlp_policy):
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(2,\)"):
        run(mlp_policy, "MountainCar-v0", 2)


def test_stack_frames_rebuilds_what_the_policy_saw(balancing_policy):
    from rlcert.envs.rollout import stack_frames

    eps = run(balancing_policy, "cartpole5?max_steps=15", 1, seed=3, record_steps=True)
    stacks = stack_frames(eps.records[0].frames, 5)
    assert stacks.shape == (15, 5, 4)
    np.testing.assert_array_equal(stacks[0], np.repeat(eps.records[0].frames[:1], 5, axis=0))
    np.testing.assert_array_equal(balancing_policy.act(stacks), eps.records[0].actions)


def test_defense_noise_is_recorded_as_what_the_policy_saw(balancing_policy):
    eps = run(balancing_policy, "cartpole5", 5, seed=3, record_steps=True, defense=GaussianSmoothing(0.3))
    noise = np.concatenate([r.seen - r.frames for r in eps.records])
    assert abs(noise.std() - 0.3) < 0.02 and abs(noise.mean()) < 0.02


def _uniform_cartpole_policy():
    """Equal logits for both CartPole-5 actions: greedy always pushes left, sampled is a fair coin."""
    import torch
    from torch import nn

    from rlcert.agents.policies import TorchModulePolicy

    layer = nn.Sequential(nn.Flatten(), nn.Linear(20, 2))
    with torch.no_grad():
        for p in layer.parameters():
            p.zero_()
    return TorchModulePolicy(layer, gym.spaces.Box(-np.inf, np.inf, (5, 4)), gym.spaces.Discrete(2), "logits")


def test_sampled_actions_are_seeded_per_chunk_whatever_the_workers():
    policy = _uniform_cartpole_policy()
    kwargs = dict(seed=5, chunk_size=8, actions="sampled")
    one = run(policy, "cartpole5", 20, executor=InProcessExecutor(), record_steps=True, **kwargs)
    two = run(policy, "cartpole5", 20, executor=ProcessPoolExecutor(2), **kwargs)
    np.testing.assert_array_equal(one.returns, two.returns)
    assert one.actions == "sampled" and one.summary()["actions"] == "sampled"
    taken = np.concatenate([r.actions for r in one.records])
    assert 0.4 < taken.mean() < 0.6  # a fair coin, where greedy play would push left every step
    greedy = run(policy, "cartpole5", 20, seed=5, chunk_size=8, record_steps=True)
    assert all((r.actions == 0).all() for r in greedy.records) and greedy.actions == "greedy"
    other_seed = run(policy, "cartpole5", 20, seed=6, chunk_size=8, actions="sampled")
    assert not np.array_equal(one.returns, other_seed.returns)


def test_sampled_actions_need_a_distribution_and_a_known_mode(balancing_policy, mlp_policy):
    with pytest.raises(ValueError, match="actions must be one of greedy, sampled, got 'stochastic'"):
        run(balancing_policy, "cartpole5", 2, actions="stochastic")
    for policy in (balancing_policy, mlp_policy):  # no sample(); Q-values
        with pytest.raises(ValueError, match="needs a policy with an action distribution"):
            run(policy, "cartpole5", 2, actions="sampled")


def test_sampled_and_greedy_runs_do_not_share_checkpoints(tmp_path):
    policy = _uniform_cartpole_policy()
    run(policy, "cartpole5", 4, seed=1, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="different run"):
        run(policy, "cartpole5", 4, seed=1, checkpoint_dir=tmp_path, actions="sampled")


ZERO_SEVERITY_PROBES = [ProbeStack.of(ObservationNoise, sigma=0.0), ProbeStack.of(StickyActions, p=0.0)]


def _assert_same_episodes(baseline, probed):
    np.testing.assert_array_equal(baseline.returns, probed.returns)
    np.testing.assert_array_equal(baseline.lengths, probed.lengths)
    for base_record, probed_record in zip(baseline.records, probed.records, strict=True):
        np.testing.assert_array_equal(base_record.actions, probed_record.actions)
        np.testing.assert_array_equal(base_record.frames, probed_record.frames)


@pytest.mark.parametrize("probe", ZERO_SEVERITY_PROBES, ids=lambda stack: stack.label)
@pytest.mark.parametrize(
    "agent, env", [("zoo:cartpole5-dqn", "cartpole5"), ("zoo:mountaincar-dqn", "mountaincar")], ids=["cartpole", "car"]
)
def test_a_probe_at_zero_severity_gives_the_baseline_episodes(agent, env, probe):
    """Stress tests are paired: a probe that does nothing leaves every episode as it was (issue 19, item 1),
    whichever batched backend runs the baseline (CartPole's runs on gymnasium's array implementation)."""
    policy = load_policy(agent)
    baseline = run(policy, env, 6, seed=0, record_steps=True)
    _assert_same_episodes(baseline, run(policy, env, 6, seed=0, record_steps=True, probe=probe))


@pytest.mark.parametrize(
    "probe", [*ZERO_SEVERITY_PROBES, ProbeStack.of(StickyActions, p=0.0, per="frame")], ids=lambda stack: stack.label
)
def test_a_probe_at_zero_severity_gives_the_baseline_atari_episodes(probe):
    """Also below frame skipping, where the probe sees the noop starts the ALE draws at reset."""
    policy = load_policy("zoo:freeway-dqn")
    env = "freeway?max_steps=60"
    baseline = run(policy, env, 2, seed=0, record_steps=True)
    _assert_same_episodes(baseline, run(policy, env, 2, seed=0, record_steps=True, probe=probe))


def test_episodes_record_the_defense_attack_and_probe_that_produced_them(balancing_policy):
    eps = run(balancing_policy, "cartpole5?max_steps=5", 2, seed=0, defense=GaussianSmoothing(0.25))
    assert eps.defense == GaussianSmoothing(0.25).describe() and eps.attack is None and eps.probe is None
    probed = run(balancing_policy, "cartpole5?max_steps=5", 2, seed=0, probe=ZERO_SEVERITY_PROBES[1],
                 attack=ShiftAttack(0.1))  # fmt: skip
    assert probed.defense is None and probed.probe == "StickyActions(p=0.0)" and "ShiftAttack" in probed.attack
