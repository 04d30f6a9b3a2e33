"""Each STORI random event does what its name says, checked on the real ALE games.

Events are switched on for single emulator frames (``p = 1`` while ``enabled``), and every effect is
checked twice: the RAM byte the rule writes, and what it changes on the screen or in the reward,
against the same game run with the probe switched off.
"""

import gymnasium as gym
import numpy as np
import pytest

from rlcert.envs.factory import make_raw_env
from rlcert.envs.probes import ProbeStack
from rlcert.envs.stori import RandomEvents


def find_wrapper(env: gym.Env, cls: type) -> gym.Wrapper:
    while not isinstance(env, cls):
        env = env.env
    return env


def game_with_event(game: str, game_mode: str, p: float = 1.0, seed: int = 0):
    """The preprocessed game with RandomEvents below frame skipping (reset, probe off) and that probe."""
    stack = ProbeStack.of(RandomEvents, game_mode=game_mode, p=p)
    env = make_raw_env(game, wrap_emulator=stack.wrap_emulator)
    probe = find_wrapper(env, RandomEvents)
    probe.enabled = False  # before the reset: its no-op frames run through the probe too
    env.reset(seed=seed)
    return env, probe, env.unwrapped.ale


def frames(probe: RandomEvents, action: int, count: int) -> list[float]:
    """Emulator frames stepped through the probe; their rewards."""
    return [probe.step(action)[1] for _ in range(count)]


def one_event_frame(probe: RandomEvents, action: int = 0):
    probe.enabled = True
    result = probe.step(action)
    probe.enabled = False
    return result


def screen(ale) -> np.ndarray:
    return ale.getScreenGrayscale().astype(int)


# --- Breakout ------------------------------------------------------------------------------------


def breakout_tracking_action(ale) -> int:
    ram = ale.getRAM()
    ball_x, ball_y, paddle_x = int(ram[99]), int(ram[101]), int(ram[72])
    if ball_y == 0:
        return 1  # FIRE: serve
    return 2 if ball_x > paddle_x + 10 else 3 if ball_x < paddle_x + 4 else 0


def play_breakout(env, ale, steps: int) -> list[float]:
    return [env.step(breakout_tracking_action(ale))[1] for _ in range(steps)]


WALL = slice(0, 36)


def test_breakout_hit_cancelled_keeps_every_brick_and_pays_nothing():
    env, probe, ale = game_with_event("breakout", "hit_cancelled")
    intact_wall = ale.getRAM()[WALL]
    assert sum(play_breakout(env, ale, 250)) > 0 and (ale.getRAM()[WALL] != intact_wall).any()  # probe off

    env, probe, ale = game_with_event("breakout", "hit_cancelled")
    probe.enabled = True
    rewards = []
    for _ in range(250):
        _, reward, _, _, info = env.step(breakout_tracking_action(ale))
        rewards.append(reward)
        assert (ale.getRAM()[WALL] == intact_wall).all()
    assert rewards == [0.0] * 250 and info["random_events"] >= 2
    assert ale.getRAM()[77] > 0  # the score on screen still counts the hits (see the rule's comment)


def test_breakout_hit_cancelled_keep_reward_pays_but_keeps_the_brick():
    env, probe, ale = game_with_event("breakout", "hit_cancelled_keep_reward")
    intact_wall = ale.getRAM()[WALL]
    probe.enabled = True
    assert sum(play_breakout(env, ale, 250)) > 0
    assert (ale.getRAM()[WALL] == intact_wall).all()


def test_breakout_brick_regenerated_puts_one_knocked_out_brick_back():
    env, probe, ale = game_with_event("breakout", "brick_regenerated")
    intact_wall = ale.getRAM()[WALL]
    play_breakout(env, ale, 250)
    holes = intact_wall & ~ale.getRAM()[WALL]
    assert holes.any()
    start = ale.cloneState(include_rng=True)
    frames(probe, 0, 2)
    plain_wall_rows = screen(ale)[57:93]
    ale.restoreState(start)
    one_event_frame(probe)
    regrown = ale.getRAM()[WALL] & holes
    assert sum(bin(int(byte)).count("1") for byte in regrown) == 2  # one brick: a pair of playfield bits
    probe.step(0)  # the edit follows the event frame; the next frame draws it
    assert (screen(ale)[57:93] != plain_wall_rows).sum() >= 8


# --- Boxing --------------------------------------------------------------------------------------


def boxing_chase_action(ale, frame: int) -> int:
    ram = ale.getRAM()
    dx, dy = int(ram[33]) - int(ram[32]), int(ram[35]) - int(ram[34])
    if frame % 3 == 0:
        return 1  # FIRE: punch
    return 3 if dx > 28 else 4 if dx < 20 else 2 if dy < 0 else 5


def test_boxing_colour_swap_swaps_the_boxers_colours_until_switched_off():
    env, probe, ale = game_with_event("boxing", "colour_swap")
    player_score, enemy_score = np.s_[1:17, 33:70], np.s_[1:17, 87:135]  # STORI's rectangles
    light, dark = screen(ale)[player_score].max(), screen(ale)[enemy_score].max()
    assert light > dark
    one_event_frame(probe)
    swapped = screen(ale)
    assert (swapped[player_score].max(), swapped[enemy_score].max()) == (dark, light)
    probe.enabled, probe.p = True, 0.0  # no further swap: the colours stay swapped
    frames(probe, 0, 20)
    assert (screen(ale)[player_score].max(), screen(ale)[enemy_score].max()) == (dark, light)
    assert probe.events_this_episode == 1
    probe.enabled = False  # switched off: the default game comes back
    probe.step(0)
    assert (screen(ale)[player_score].max(), screen(ale)[enemy_score].max()) == (light, dark)


def boxing_state_before_a_point(probe, ale):
    """Chase and punch until a boxer scores; the state, action and reward of that frame."""
    for frame in range(3000):
        state = ale.cloneState(include_rng=True)
        action = boxing_chase_action(ale, frame)
        reward = probe.step(action)[1]
        if reward != 0:
            return state, action, reward
    raise AssertionError("nobody scored in 3000 frames")


def test_boxing_hit_cancelled_counts_no_point_and_pays_nothing_on_any_frame():
    env, probe, ale = game_with_event("boxing", "hit_cancelled")
    state, action, points = boxing_state_before_a_point(probe, ale)
    ale.restoreState(state)
    scores = ale.getRAM()[18:20]
    assert [probe.step(action)[1], *frames(probe, 0, 20)] == [points] + [0.0] * 20  # probe off
    plain_score_row = screen(ale)[1:17]

    ale.restoreState(state)
    probe.enabled = True
    # No point, and no -points on the next frame either (the ALE pays the rewound score back; the probe
    # cancels that), whether or not the probe fires then.
    assert [probe.step(action)[1], *frames(probe, 0, 20)] == [0.0] * 21
    assert (ale.getRAM()[18:20] == scores).all() and probe.events_this_episode == 1
    assert (screen(ale)[1:17] != plain_score_row).any()  # the score on screen did not move


def test_boxing_displace_to_corners_sends_each_boxer_to_the_others_start():
    env, probe, ale = game_with_event("boxing", "displace_to_corners")
    probe.reset(seed=0)  # no no-op frames: the boxers stand in their corners
    player_start, enemy_start = ale.getRAM()[[32, 34]].astype(int), ale.getRAM()[[33, 35]].astype(int)
    frames(probe, 3, 60)  # walk out of the corner
    before = screen(ale)
    one_event_frame(probe)
    assert np.abs(ale.getRAM()[[32, 34]].astype(int) - enemy_start).max() <= 2
    assert np.abs(ale.getRAM()[[33, 35]].astype(int) - player_start).max() <= 2
    assert (screen(ale) != before).sum() > 300  # both boxers drawn elsewhere


# --- Gopher --------------------------------------------------------------------------------------

TUNNELS = slice(0, 24)


def gopher_state_before_a_fill(probe, ale):
    """Play until the farmer fills a hole; the state and action just before that frame."""
    rng = np.random.default_rng(1)
    action = 0
    for frame in range(4000):
        if frame % 8 == 0:
            action = int(rng.choice([1, 1, 1, 5, 6, 7, 3, 4]))
        state = ale.cloneState(include_rng=True)
        if probe.step(action)[1] > 0:
            return state, action
    raise AssertionError("the farmer filled no hole in 4000 frames")


@pytest.mark.parametrize("game_mode, paid", [("hole_not_filled", 0.0), ("hole_not_filled_keep_reward", 20.0)])
def test_gopher_hole_not_filled_leaves_the_tunnel_open(game_mode, paid):
    env, probe, ale = game_with_event("gopher", game_mode)
    state, action = gopher_state_before_a_fill(probe, ale)
    ale.restoreState(state)
    tunnels = ale.getRAM()[TUNNELS]
    assert probe.step(action)[1] == 20.0 and (ale.getRAM()[TUNNELS] != tunnels).any()  # probe off: filled
    probe.step(0)
    filled_screen = screen(ale)

    ale.restoreState(state)
    assert one_event_frame(probe, action)[1] == paid
    assert not (tunnels & ~ale.getRAM()[TUNNELS]).any()  # no dug bit cleared
    probe.step(0)
    assert (screen(ale)[161:195] != filled_screen[161:195]).any()  # the hole is still drawn


def test_gopher_carrot_removed_takes_one_carrot_once():
    env, probe, ale = game_with_event("gopher", "carrot_removed")
    probe.reset(seed=0)
    probe.enabled = True
    frames(probe, 0, 200)
    assert int(ale.getRAM()[52]) == 7  # STORI waits for the game to settle after a reset
    start = ale.cloneState(include_rng=True)
    probe.enabled = False
    frames(probe, 0, 60)
    plain = screen(ale)
    ale.restoreState(start)
    probe.enabled = True
    frames(probe, 0, 60)
    carrots = int(ale.getRAM()[52])
    assert bin(carrots).count("1") == 2 and probe.events_this_episode == 1
    gone = {4: slice(60, 68), 2: slice(76, 84), 1: slice(92, 100)}[7 & ~carrots]
    assert (screen(ale)[151:178, gone] != plain[151:178, gone]).sum() > 20
    frames(probe, 0, 300)
    assert int(ale.getRAM()[52]) == carrots  # once per episode


# --- BankHeist -----------------------------------------------------------------------------------


def blast_frames(probe, ale, count: int) -> list[bool]:
    flashes = []
    for _ in range(count):
        probe.step(0)
        flashes.append(int(ale.getRAM()[69]) != 0)  # byte 69, the background colour, flashes in a blast
    return flashes


def test_bankheist_dud_bomb_vanishes_without_a_blast():
    env, probe, ale = game_with_event("bankheist", "dud_bomb")
    frames(probe, 3, 60)
    start = ale.cloneState(include_rng=True)
    probe.step(1)  # FIRE: drop dynamite, probe off
    assert int(ale.getRAM()[63]) > 0
    assert any(blast_frames(probe, ale, 120))  # the background flashes when it blows up

    ale.restoreState(start)
    one_event_frame(probe, 1)
    assert (int(ale.getRAM()[12]), int(ale.getRAM()[63])) == (0, 0)
    assert not any(blast_frames(probe, ale, 120)) and probe.events_this_episode == 1


def test_bankheist_fuel_leak_drains_half_the_tank_once_per_city():
    env, probe, ale = game_with_event("bankheist", "fuel_leak")
    start = ale.cloneState(include_rng=True)
    frames(probe, 0, 2)
    full_gauge = screen(ale)[11:37, 12:74]
    ale.restoreState(start)
    one_event_frame(probe)
    assert int(ale.getRAM()[86]) == 12
    probe.step(0)  # the edit follows the event frame; the next frame draws it
    assert (screen(ale)[11:37, 12:74] != full_gauge).any()
    ale.setRAM(86, 0)
    probe.enabled = True
    frames(probe, 0, 50)
    assert int(ale.getRAM()[86]) < 12 and probe.events_this_episode == 1


def test_bankheist_teleport_changes_the_city_map():
    env, probe, ale = game_with_event("bankheist", "teleport")
    start = ale.cloneState(include_rng=True)
    frames(probe, 0, 3)
    same_city = screen(ale)
    ale.restoreState(start)
    city = int(ale.getRAM()[0])
    one_event_frame(probe)
    frames(probe, 0, 2)
    new_city = int(ale.getRAM()[0])
    assert new_city % 4 != city % 4 and new_city // 4 == city // 4
    assert (screen(ale) != same_city).sum() > 5000  # another maze


def test_bankheist_empty_bank_pays_nothing_for_a_robbery():
    env, probe, ale = game_with_event("bankheist", "empty_bank")
    rng = np.random.default_rng(0)
    action = 0
    for frame in range(5000):
        if frame % 20 == 0:
            action = int(rng.integers(18))
        state = ale.cloneState(include_rng=True)
        sites = ale.getRAM()[24:27]
        if probe.step(action)[1] > 0 and ((sites == 253) & (ale.getRAM()[24:27] != 253)).any():
            break
    else:
        raise AssertionError("no bank robbed in 5000 frames")
    ale.restoreState(state)
    assert one_event_frame(probe, action)[1] == 0.0 and probe.events_this_episode == 1


# --- Pong and Freeway (rlcert's own events) --------------------------------------------------------


def pong_ball(ale) -> tuple[float, float]:
    """Centre (row, column) of the ball's pixels on the court."""
    rows, cols = np.nonzero(screen(ale)[34:194] == 236)
    return rows.mean() + 34, cols.mean()


@pytest.mark.parametrize("game_mode, velocity, axis", [("ball_reversed", 58, 1), ("ball_deflected", 56, 0)])
def test_pong_events_turn_the_ball_around(game_mode, velocity, axis):
    env, probe, ale = game_with_event("pong", game_mode)
    while int(ale.getRAM()[54]) == 0:  # wait for the serve
        probe.step(0)
    frames(probe, 0, 8)
    start = ale.cloneState(include_rng=True)
    before = pong_ball(ale)[axis]
    frames(probe, 0, 4)
    plain_direction = np.sign(pong_ball(ale)[axis] - before)

    ale.restoreState(start)
    speed = int(ale.getRAM()[velocity])
    one_event_frame(probe)
    assert int(ale.getRAM()[velocity]) == (-speed) & 0xFF
    frames(probe, 0, 3)
    assert plain_direction != 0 and np.sign(pong_ball(ale)[axis] - before) == -plain_direction


def test_freeway_knocked_back_returns_the_chicken_to_the_kerb():
    env, probe, ale = game_with_event("freeway", "knocked_back")
    kerb = int(ale.getRAM()[14])
    while int(ale.getRAM()[14]) < kerb + 50:
        probe.step(1)  # UP
    start = ale.cloneState(include_rng=True)
    frames(probe, 1, 2)
    plain = screen(ale)[:, 44:51] == 233  # the chicken's column and colour
    ale.restoreState(start)
    one_event_frame(probe, 1)
    assert int(ale.getRAM()[14]) == kerb
    probe.step(1)  # the edit follows the event frame; the next frame draws it
    knocked = screen(ale)[:, 44:51] == 233
    assert np.nonzero((knocked & ~plain).any(axis=1))[0].min() > 170  # drawn at the kerb now
    assert np.nonzero((plain & ~knocked).any(axis=1))[0].max() < 150  # and gone from where it was
