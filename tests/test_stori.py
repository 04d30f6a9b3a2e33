"""The STORI probes as probes: validation, exact masks, seeded reproducibility, the off switch, the
bit-identical restore of hide_objects, and the paper's profiles. Per-game events: test_stori_games.py."""

import gymnasium as gym
import numpy as np
import pytest

from rlcert.envs.factory import make_raw_env
from rlcert.envs.generic_probes import ConceptDrift, RandomActionExecution
from rlcert.envs.probes import ProbeStack
from rlcert.envs.stori import (
    MissingStateVariables,
    RandomEvents,
    atari_game,
    missing_state_modes,
    random_event_modes,
    stori_profiles,
)
from rlcert.envs.stori_games import OBJECT_HIDES


def breakout_action(ale, rng) -> int:
    """Serve, then follow the ball (with some random moves): bricks get hit every ~40 agent steps."""
    ram = ale.getRAM()
    if ram[101] == 0:
        return 1
    if rng.random() < 0.2:
        return int(rng.integers(4))
    return 2 if ram[99] > ram[72] + 10 else 3 if ram[99] < ram[72] + 4 else 0


def play(env, steps: int, seed: int, action_seed: int = 0):
    """Rewards, frames and infos of one seeded episode prefix, and the emulator RAM at the end."""
    obs, info = env.reset(seed=seed)
    ale, rng = env.unwrapped.ale, np.random.default_rng(action_seed)
    rewards, frames, infos = [], [obs], [info]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(breakout_action(ale, rng))
        rewards.append(reward), frames.append(obs), infos.append(info)
        assert not (terminated or truncated)
    return rewards, frames, infos, ale.getRAM()


def with_events(game_mode: str, p: float | None = None, game: str = "breakout") -> gym.Env:
    return make_raw_env(game, wrap_emulator=ProbeStack.of(RandomEvents, game_mode=game_mode, p=p).wrap_emulator)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "message"),
    [(-0.1, r"p must be a probability in \[0, 1\], got"), (1.5, r"p must be a probability in \[0, 1\], got"),
     (float("nan"), r"p must be a probability in \[0, 1\], got"), ("often", r"parameter p must be a number")],
)  # fmt: skip
def test_a_probability_outside_0_1_is_refused_eagerly(p, message):
    with pytest.raises(ValueError, match=message):
        ProbeStack.of(RandomEvents, game_mode="hit_cancelled", p=p)
    with pytest.raises(ValueError, match=message):
        ProbeStack.of(MissingStateVariables, mode="torch", p=p)


def test_unknown_modes_and_targets_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="unknown game_mode 'explode'; modes per game: breakout: brick_regenerated"):
        ProbeStack.of(RandomEvents, game_mode="explode")
    with pytest.raises(ValueError, match="breakout has no random event 'colour_swap'; its events: brick_regenerated, "
                                         "hit_cancelled, hit_cancelled_keep_reward"):  # fmt: skip
        with_events("colour_swap")
    with pytest.raises(ValueError, match="no events for 'seaquest'; games with events: bankheist, boxing, breakout"):
        with_events("hit_cancelled", game="ALE/Seaquest-v5")
    with pytest.raises(ValueError, match="unknown mode 'crop_middle'; modes: crop_left, crop_right"):
        ProbeStack.of(MissingStateVariables, mode="crop_middle", p=0.5)
    with pytest.raises(ValueError, match="mode 'torch' takes none"):
        ProbeStack.of(MissingStateVariables, mode="torch", p=0.5, target="ball")
    with pytest.raises(ValueError, match="exact_mask is for mode 'hide_objects'"):
        ProbeStack.of(MissingStateVariables, mode="blackout", p=0.5, exact_mask=True)
    with pytest.raises(ValueError, match="breakout has no hide_objects target 'paddle'; its targets: ball"):
        MissingStateVariables(make_raw_env("breakout"), mode="hide_objects", p=0.5, target="paddle")
    with pytest.raises(ValueError, match="boxing has no blackout target 'ball'; its targets: all, clock, enemy_score"):
        MissingStateVariables(make_raw_env("boxing"), mode="blackout", p=0.5, target="ball")
    with pytest.raises(ValueError, match="blackout has no tables for 'pong'; games: bankheist, boxing"):
        MissingStateVariables(make_raw_env("pong"), mode="blackout", p=0.5)


def test_the_wrong_env_is_refused_with_what_to_do_instead():
    with pytest.raises(TypeError, match="need an ALE game"):
        RandomEvents(gym.make("CartPole-v1"), "hit_cancelled")
    with pytest.raises(ValueError, match="below the preprocessing"):
        RandomEvents(make_raw_env("breakout"), "hit_cancelled")  # the agent-level env: 4 frames per step
    with pytest.raises(TypeError, match="needs 2-D grayscale frames"):
        MissingStateVariables(gym.make("CartPole-v1"), mode="crop_left", p=0.5)
    raw_grayscale = gym.make("ALE/Breakout-v5", obs_type="grayscale", frameskip=1)
    with pytest.raises(ValueError, match="needs gymnasium's AtariPreprocessing"):
        MissingStateVariables(raw_grayscale, mode="hide_objects", p=0.5)
    with pytest.raises(TypeError, match="need an ALE game"):
        atari_game(gym.make("CartPole-v1"))
    assert atari_game(make_raw_env("bankheist")) == "bankheist"


# --- the screen masks ----------------------------------------------------------------------------


def plain_and_probed(steps: int = 6, game: str = "breakout", seed: int = 0, **params):
    plain = play(make_raw_env(game), steps, seed)
    probed = play(MissingStateVariables(make_raw_env(game), **params), steps, seed)
    return plain, probed


@pytest.mark.parametrize("mode, half", [("crop_left", np.s_[:, :42]), ("crop_right", np.s_[:, 42:]),
                                        ("crop_top", np.s_[:42, :]), ("crop_bottom", np.s_[42:, :])])  # fmt: skip
def test_a_crop_blacks_out_exactly_its_half(mode, half):
    (_, plain_frames, _, plain_ram), (_, frames, infos, ram) = plain_and_probed(mode=mode, p=1.0)
    expected = np.zeros((84, 84), dtype=bool)
    expected[half] = True
    for plain, frame, info in zip(plain_frames, frames, infos):
        assert info["observation_altered"] and (info["hidden_pixels"] == expected).all()
        assert (frame[expected] == 0).all() and (frame[~expected] == plain[~expected]).all()
    assert (ram == plain_ram).all()


def test_the_torch_lights_a_seeded_random_ellipse_of_stori_radius():
    (_, plain_frames, _, _), (_, frames, infos, _) = plain_and_probed(steps=20, mode="torch", p=1.0)
    masks = [info["hidden_pixels"] for info in infos]
    for plain, frame, mask in zip(plain_frames, frames, masks):
        assert (frame[mask] == 0).all() and (frame[~mask] == plain[~mask]).all()
        rows, cols = np.nonzero(~mask)
        # Radius 75 screen pixels: 75 * 84 / 210 = 30 frame rows, 75 * 84 / 160 = 39.4 frame columns.
        assert np.ptp(rows) <= 61 and np.ptp(cols) <= 79 and (~mask).sum() <= np.pi * 30 * 39.4 + 200
    assert len({mask.tobytes() for mask in masks}) > 15  # a fresh centre every step
    again = play(MissingStateVariables(make_raw_env("breakout"), mode="torch", p=1.0), 20, seed=0)[2]
    other = play(MissingStateVariables(make_raw_env("breakout"), mode="torch", p=1.0), 20, seed=1)[2]
    assert all((a["hidden_pixels"] == b["hidden_pixels"]).all() for a, b in zip(infos, again))
    assert not all((a["hidden_pixels"] == b["hidden_pixels"]).all() for a, b in zip(infos, other))


def test_blackout_paints_storis_rectangles_converted_to_the_frame():
    (_, plain_frames, _, _), (_, frames, infos, _) = plain_and_probed(mode="blackout", p=1.0)
    # Breakout's bands y 105-130 and 157-182, x 8-151 on the 210x160 screen: every frame pixel whose
    # source area overlaps them, rows 42-52 and 62-73, columns 4-79.
    expected = np.zeros((84, 84), dtype=bool)
    expected[42:53, 4:80] = expected[62:74, 4:80] = True
    assert (infos[-1]["hidden_pixels"] == expected).all()
    assert (frames[-1][expected] == 0).all() and (frames[-1][~expected] == plain_frames[-1][~expected]).all()

    (_, plain_frames, _, _), (_, frames, infos, _) = plain_and_probed(game="boxing", mode="blackout", p=1.0)
    mask, plain = infos[-1]["hidden_pixels"], plain_frames[-1]
    background = np.bincount(np.round(plain * 255).astype(int).ravel()).argmax()  # the ring's colour
    assert mask[:12].any() and not mask[12:].any()  # scores and clock sit in the top 27 screen rows
    assert (np.round(frames[-1][mask] * 255) == background).all() and (plain[mask] != frames[-1][mask]).any()


def test_probabilities_below_one_alter_that_share_of_frames():
    _, (_, _, infos, _) = plain_and_probed(steps=300, mode="crop_top", p=0.3)
    altered = np.array([info["observation_altered"] for info in infos])
    assert abs(altered.mean() - 0.3) < 0.08
    assert all(not info["hidden_pixels"].any() for info in np.array(infos)[~altered])


# --- hide_objects: exact preprocessing and an untouched game -------------------------------------


def test_hide_objects_leaves_the_game_bit_identical():
    steps = 120
    plain_env = make_raw_env("boxing")
    probed_env = MissingStateVariables(make_raw_env("boxing"), mode="hide_objects", p=0.5, target="enemy")
    plain_obs, _ = plain_env.reset(seed=5)
    probed_obs, info = probed_env.reset(seed=5)
    plain_ale, probed_ale = plain_env.unwrapped.ale, probed_env.unwrapped.ale
    actions = np.random.default_rng(0).integers(plain_env.action_space.n, size=steps)
    altered = 0
    for action in actions:
        assert (plain_ale.getRAM() == probed_ale.getRAM()).all()
        assert plain_ale.getEpisodeFrameNumber() == probed_ale.getEpisodeFrameNumber()
        if info["observation_altered"]:
            altered += 1
            assert (plain_obs != probed_obs).any()
        else:
            assert (plain_obs == probed_obs).all()
        plain_obs, plain_reward, *plain_ends, _ = plain_env.step(int(action))
        probed_obs, probed_reward, *probed_ends, info = probed_env.step(int(action))
        assert (plain_reward, plain_ends) == (probed_reward, probed_ends)
    assert (plain_ale.getRAM() == probed_ale.getRAM()).all() and 40 < altered < 80


def test_hidden_frames_are_preprocessed_exactly_like_gymnasiums_atari_preprocessing():
    env = MissingStateVariables(make_raw_env("breakout"), mode="hide_objects", p=1.0, exact_mask=True)
    env.reset(seed=0)
    for _ in range(12):
        hidden, _, _, _, info = env.step(1)  # serve: the ball comes into play
    assert info["hidden_pixels"].any()
    state = env.unwrapped.ale.cloneState(include_rng=True)
    # A reference with gymnasium's own preprocessing of one frame, started from the same emulator state.
    reference = gym.wrappers.AtariPreprocessing(
        gym.make("ALE/Breakout-v5", frameskip=1, repeat_action_probability=0.0),
        noop_max=0, frame_skip=1, screen_size=84, grayscale_obs=True, scale_obs=True,
    )  # fmt: skip
    reference.reset(seed=0)
    reference.unwrapped.ale.restoreState(state)
    for index, value in OBJECT_HIDES["breakout"]["ball"](reference.unwrapped.ale.getRAM()).items():
        reference.unwrapped.ale.setRAM(index, value)
    expected = reference.step(0)[0]
    assert expected.dtype == hidden.dtype and np.array_equal(expected, hidden)


# --- seeds and the off switch --------------------------------------------------------------------


def test_the_same_seed_reproduces_the_perturbed_episode_and_another_seed_does_not():
    first = play(with_events("hit_cancelled", p=0.5), 300, seed=3)
    again = play(with_events("hit_cancelled", p=0.5), 300, seed=3)
    other = play(with_events("hit_cancelled", p=0.5), 300, seed=4)
    events = [info["random_events"] for info in first[2]]
    assert events[-1] >= 2  # some hits were cancelled, not all (p = 0.5)
    assert first[0] == again[0] and events == [info["random_events"] for info in again[2]]
    assert (first[3] == again[3]).all() and all((a == b).all() for a, b in zip(first[1], again[1]))
    assert first[0] != other[0] or events != [info["random_events"] for info in other[2]]

    masks = [play(MissingStateVariables(make_raw_env("breakout"), mode="crop_left", p=0.5), 50, seed=seed)[2]
             for seed in (3, 3, 4)]  # fmt: skip
    pattern = [[info["observation_altered"] for info in infos] for infos in masks]
    assert pattern[0] == pattern[1] != pattern[2]


def test_a_switched_off_probe_is_the_unwrapped_game():
    plain = play(make_raw_env("breakout"), 300, seed=0)
    assert sum(plain[0]) > 0
    stack = ProbeStack.of(RandomEvents, game_mode="hit_cancelled", p=1.0)
    off = make_raw_env("breakout", wrap_emulator=stack.wrap_emulator)
    probe = off.env  # AtariPreprocessing -> RandomEvents
    assert isinstance(probe, RandomEvents)
    probe.enabled = False
    switched_off = play(off, 300, seed=0)
    assert plain[0] == switched_off[0] and (plain[3] == switched_off[3]).all()
    assert switched_off[2][-1]["random_events"] == 0

    crop = MissingStateVariables(make_raw_env("breakout"), mode="crop_left", p=1.0)
    crop.enabled = False
    _, frames, infos, _ = play(crop, 20, seed=0)
    assert all((a == b).all() for a, b in zip(plain[1], frames)) and not any(i["observation_altered"] for i in infos)


def test_concept_drift_switches_a_stori_probe_on_after_t_steps():
    stack = ProbeStack.of(RandomEvents, game_mode="hit_cancelled", p=1.0).then(ConceptDrift, after=150)
    env = stack(make_raw_env("breakout", wrap_emulator=stack.wrap_emulator))
    rewards, _, infos, _ = play(env, 300, seed=0)
    concepts = [info["concept"] for info in infos[1:]]
    assert concepts == [1] * 150 + [2] * 150
    assert sum(rewards[:150]) > 0 and sum(rewards[151:]) == 0  # no brick pays once the events are on


# --- the paper's profiles ------------------------------------------------------------------------


def test_modes_per_game():
    assert random_event_modes("ALE/Breakout-v5") == {"hit_cancelled": 0.25, "hit_cancelled_keep_reward": 0.25,
                                                     "brick_regenerated": 0.001}  # fmt: skip
    assert random_event_modes("boxing")["colour_swap"] == 0.001
    assert random_event_modes("gopher")["hole_not_filled"] == 0.3
    assert set(random_event_modes("bank_heist")) == {"teleport", "dud_bomb", "fuel_leak", "empty_bank"}
    assert random_event_modes("seaquest") == {}
    assert "blackout" not in missing_state_modes("pong") and "hide_objects" in missing_state_modes("freeway")
    assert missing_state_modes("seaquest") == ("crop_left", "crop_right", "crop_top", "crop_bottom", "torch")


def test_the_papers_profiles_build_and_run():
    profiles = dict(stori_profiles("breakout"))
    assert list(profiles) == [
        "type 1 random actions (p=0.3)",
        "type 2.1 hit_cancelled (p=0.25)",
        "type 2.2 sudden drift after 300 steps to blackout ball_missing_top_and_bottom (p=1)",
        "type 3.2A blackout ball_missing_top_and_bottom (p=1)",
        "type 3.2B crop_left (p=0.75)",
        "type 3.2C torch (p=1)",
    ]
    for stack in profiles.values():
        env = stack(make_raw_env("breakout", wrap_emulator=stack.wrap_emulator))
        env.reset(seed=0)
        for _ in range(5):
            env.step(1)
    type1 = dict(stori_profiles("ALE/BankHeist-v5"))["type 1 random actions (p=0.3)"]
    assert type1.layers == ((RandomActionExecution, (("actions", tuple(range(10))), ("p", 0.3), ("per", "frame"))),)
    boxing = [stack.label for _, stack in stori_profiles("boxing")]
    assert "RandomEvents(game_mode='colour_swap', p=0.001)" in boxing
    assert "MissingStateVariables(mode='hide_objects', p=0.7, target='enemy')" in boxing
    assert [label for label, _ in stori_profiles("pong")][1].endswith("(rlcert)")
    assert len(stori_profiles("seaquest")) == 3  # type 1, crop and torch
    with pytest.raises(ValueError, match="'cartpole' is not an ALE game"):
        stori_profiles("cartpole")
