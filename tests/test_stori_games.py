"""The per-game tables behind the STORI probes, checked on the real ALE games: every object hide removes
pixels from the frame, and every blackout fill colour is what the emulator shows."""

import numpy as np
import pytest

from rlcert.envs.factory import make_raw_env
from rlcert.envs.stori import MissingStateVariables
from rlcert.envs.stori_games import BLACKOUT_REGIONS, OBJECT_HIDES, ale_gray

# --- Object hides and screen regions -------------------------------------------------------------

HIDE_CASES = [(game, target) for game, targets in OBJECT_HIDES.items() for target in targets]
ABSENT_AT_START = {("gopher", "seed"), ("bankheist", "police"), ("breakout", "ball"), ("pong", "ball")}
NOT_REACHED_HERE = {("gopher", "seed"), ("bankheist", "police")}  # need a duck's seed / a robbery first


@pytest.mark.parametrize("game, target", HIDE_CASES)
def test_each_object_hide_removes_pixels_from_the_frame(game, target):
    env = MissingStateVariables(make_raw_env(game), mode="hide_objects", p=1.0, target=target, exact_mask=True)
    _, info = env.reset(seed=0)
    if (game, target) in ABSENT_AT_START:  # nothing to hide: the frame is left alone
        assert not info["observation_altered"] and not info["hidden_pixels"].any()
    if (game, target) in NOT_REACHED_HERE:
        return
    action = {"breakout": 1, "freeway": 1, "bankheist": 3}.get(game, 0)  # serve / walk / drive (uses fuel)
    for _ in range(150):  # BankHeist's fuel gauge moves only after a while
        if info["hidden_pixels"] is not None and info["hidden_pixels"].any():
            break
        _, _, _, _, info = env.step(action)
    assert info["observation_altered"] and info["hidden_pixels"].any()


@pytest.mark.parametrize("target, columns", [("left_carrot", (60, 67)), ("middle_carrot", (76, 83)),
                                             ("right_carrot", (92, 99))])  # fmt: skip
def test_gopher_carrot_hides_act_on_their_own_carrot(target, columns):
    env = MissingStateVariables(make_raw_env("gopher"), mode="hide_objects", p=1.0, target=target, exact_mask=True)
    _, info = env.reset(seed=0)
    hidden_columns = np.nonzero(info["hidden_pixels"].any(axis=0))[0]
    # Frame column j covers screen columns [j, j + 1) * 160 / 84.
    first, last = columns[0] * 84 // 160, -(-(columns[1] + 1) * 84 // 160) - 1
    assert first <= hidden_columns.min() and hidden_columns.max() <= last


def test_region_fill_colours_are_what_the_emulator_shows():
    """ale_gray matches ALE's own grayscale, and STORI's fill colours are the game's background colours."""
    for game in ("boxing", "gopher", "bankheist", "breakout"):
        env = make_raw_env(game)
        env.reset(seed=0)
        for _ in range(50):
            env.step(env.action_space.sample())
        ale = env.unwrapped.ale
        rgb, gray = ale.getScreenRGB().reshape(-1, 3), ale.getScreenGrayscale().reshape(-1)
        colours = {tuple(int(c) for c in colour): int(value) for colour, value in zip(rgb, gray)}
        assert all(ale_gray(colour) == value for colour, value in colours.items()), game
        fills = {region.fill_rgb for regions in BLACKOUT_REGIONS[game].values() for region in regions}
        assert fills - {(0, 0, 0)} <= set(colours) | {(223, 183, 85)}, game  # dug soil appears only once dug
