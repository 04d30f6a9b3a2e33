"""The multi-room env of Adversarial Surprise (rlcert.envs.surprise_rooms): layout, dark rooms that show
nothing, flashing rooms whose box freezes the lights, seeded episodes and coverage in info."""

import gymnasium as gym
import numpy as np
import pytest
from minigrid.core.constants import DIR_TO_VEC, OBJECT_TO_IDX

from rlcert.envs.surprise_rooms import SURPRISE_ROOMS_ID, SurpriseRooms
from rlcert.reports.errors import InvalidValueError


def _with_both_kinds() -> tuple[SurpriseRooms, int]:
    env = SurpriseRooms()
    for seed in range(50):
        env.reset(seed=seed)
        if any(env.dark) and not all(env.dark):
            return env, seed
    raise AssertionError("no layout with both dark and flashing rooms in 50 seeds")


def test_the_layout_follows_the_paper():
    env, _ = _with_both_kinds()
    assert (env.width, env.height) == (25, 25) and len(env.rooms) == 4
    assert all(4 <= side <= 8 for room in env.rooms for side in room.size)
    for index, dark in enumerate(env.dark):
        assert (index in env.boxes) == (index in env.floors) == (not dark)
        if not dark:
            inner = (env.rooms[index].size[0] - 2) * (env.rooms[index].size[1] - 2)
            assert 0 < len(env.floors[index]) <= inner // 2
    assert not any(cell is not None and cell.type == "goal" for cell in env.grid.grid)


def _face(env: SurpriseRooms, target: tuple[int, int]) -> None:
    """Put the agent on a free neighbour of ``target``, facing it."""
    for direction, vector in enumerate(DIR_TO_VEC):
        spot = (target[0] - vector[0], target[1] - vector[1])
        if env.grid.get(*spot) is None or env.grid.get(*spot).can_overlap():
            env.agent_pos, env.agent_dir = spot, direction
            return
    raise AssertionError("no free neighbour")


def test_a_dark_room_shows_nothing_and_a_box_freezes_the_flashing_lights():
    env, _ = _with_both_kinds()
    dark = env.dark.index(True)
    room = env.rooms[dark]
    env.agent_pos = (room.top[0] + 1, room.top[1] + 1)
    obs = env.gen_obs()["image"]
    assert (obs[..., 0] == OBJECT_TO_IDX["unseen"]).all()
    flashing = env.dark.index(False)
    colours = lambda: [tile.color for tile in env.floors[flashing]]  # noqa: E731
    before = colours()
    changed = False
    for _ in range(5):
        env.step(env.actions.left)
        changed |= colours() != before
        before = colours()
    assert changed  # the lights flash
    _face(env, env.boxes[flashing].cur_pos)
    _, _, _, _, info = env.step(env.actions.toggle)
    assert flashing in env.frozen and info["rooms_frozen"] == 1
    frozen = colours()
    for _ in range(5):
        env.step(env.actions.left)
    assert colours() == frozen


def test_episodes_are_seeded_and_report_coverage():
    env = gym.make(SURPRISE_ROOMS_ID)
    runs = []
    for _ in range(2):
        obs, info = env.reset(seed=7)
        frames, rng = [obs], np.random.default_rng(0)
        for _ in range(128):
            obs, reward, terminated, truncated, info = env.step(int(rng.integers(7)))
            frames.append(obs)
            assert reward == 0
        assert truncated and not terminated
        runs.append((np.stack(frames), info))
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][0].shape == (129, 7, 7, 3)
    info = runs[0][1]
    assert 1 <= info["rooms_visited"] <= 4 and info["cells_visited"] >= 1 and "position" in info


@pytest.mark.parametrize("kwargs, message", [({"rooms": 0}, "rooms must be between 1 and 6"),
                                             ({"max_room_size": 3}, "max_room_size must be between 4 and 10"),
                                             ({"p_dark": 1.5}, "p_dark must be in")])  # fmt: skip
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(InvalidValueError, match=message):
        SurpriseRooms(**kwargs)
