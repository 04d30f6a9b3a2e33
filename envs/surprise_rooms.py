"""The multi-room gridworld of Adversarial Surprise (Fickinger, Jaques et al. 2021, §5.1; REFERENCE §6), on
minigrid 3.

A 25 × 25 grid holds ``rooms`` rooms of side 4 to ``max_room_size`` (4 and 8 by default, as the authors' code),
chained by closed doors, laid out by minigrid's ``MultiRoomEnv`` procedure (its goal removed: nothing pays a
reward). Each room is either *dark* (probability ``p_dark``) or *flashing*. The two are the extremes the game is
about:

* dark: while the agent stands in a dark room it sees nothing (every cell of its egocentric view reads
  ``unseen``). Its observations there are perfectly predictable, which is where a surprise-minimizing Control
  wants to be;
* flashing: a share ``flashing_fraction`` of the room's floor cells are floor tiles whose colour is redrawn at
  every step, from the env's seeded generator. One box per flashing room: toggling it (opening it) freezes that
  room's lights for the rest of the episode, so Control can learn to reduce entropy by acting on the world.

The authors' code marks a dark room by leaving it empty; the paper describes rooms that are dark. This env makes
them dark, which keeps the contrast the paper describes with every room type visible. ``info`` carries what
coverage needs: the room the agent is in, the rooms and cells it has visited, and how many rooms are frozen.
Observations are minigrid's 7 × 7 × 3 encoding (object, colour, state per cell), uint8.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from minigrid.core.constants import COLOR_NAMES, OBJECT_TO_IDX
from minigrid.core.world_object import Box, Floor
from minigrid.envs.multiroom import MultiRoomEnv

from rlcert.reports.errors import InvalidValueError

__all__ = ["SurpriseRooms", "SURPRISE_ROOMS_ID", "ImageObservation"]

SURPRISE_ROOMS_ID = "rlcert/SurpriseRooms-v0"


class SurpriseRooms(MultiRoomEnv):
    """Rooms that are dark or flashing; a box freezes a flashing room's lights (module docstring)."""

    def __init__(
        self,
        rooms: int = 4,
        max_room_size: int = 8,
        p_dark: float = 0.5,
        flashing_fraction: float = 0.5,
        max_steps: int = 128,
        agent_view_size: int = 7,
        render_mode: str | None = None,
    ) -> None:
        if not 1 <= rooms <= 6:
            raise InvalidValueError(f"rooms must be between 1 and 6 (a 25 x 25 grid), got {rooms}")
        if not 4 <= max_room_size <= 10:
            raise InvalidValueError(f"max_room_size must be between 4 and 10, got {max_room_size}")
        for name, value in (("p_dark", p_dark), ("flashing_fraction", flashing_fraction)):
            if not 0 <= value <= 1:
                raise InvalidValueError(f"{name} must be in [0, 1], got {value}")
        self.p_dark, self.flashing_fraction = float(p_dark), float(flashing_fraction)
        self.dark: list[bool] = []
        self.floors: dict[int, list[Floor]] = {}
        self.boxes: dict[int, Box] = {}
        self.frozen: set[int] = set()
        self.visited_rooms: set[int] = set()
        self.visited_cells: set[tuple[int, int]] = set()
        super().__init__(rooms, rooms, max_room_size, max_steps=max_steps, agent_view_size=agent_view_size,
                         render_mode=render_mode)  # fmt: skip

    def _gen_grid(self, width: int, height: int) -> None:
        super()._gen_grid(width, height)
        self.grid.set(*self.goal_pos, None)  # no goal: the game's rewards are intrinsic
        self.dark, self.floors, self.boxes, self.frozen = [], {}, {}, set()
        for index, room in enumerate(self.rooms):
            dark = bool(self.np_random.random() < self.p_dark)
            self.dark.append(dark)
            if dark:
                continue
            inner = (room.size[0] - 2) * (room.size[1] - 2)
            box = Box(self._rand_elem(COLOR_NAMES))
            self.place_obj(box, room.top, room.size, max_tries=100)
            self.boxes[index] = box
            tiles = []
            for _ in range(int(self.flashing_fraction * inner)):
                tile = Floor(self._rand_elem(COLOR_NAMES))
                try:
                    self.place_obj(tile, room.top, room.size, max_tries=100)
                except RecursionError:  # minigrid raises this when the room is full
                    break
                tiles.append(tile)
            self.floors[index] = tiles
        self.visited_rooms, self.visited_cells = set(), set()

    def room_of(self, position: tuple[int, int]) -> int | None:
        """The index of the room whose walls enclose ``position`` (None in a doorway shared by two)."""
        inside = [index for index, room in enumerate(self.rooms)
                  if room.top[0] < position[0] < room.top[0] + room.size[0] - 1
                  and room.top[1] < position[1] < room.top[1] + room.size[1] - 1]  # fmt: skip
        return inside[0] if inside else None

    def gen_obs(self) -> dict[str, Any]:
        obs = super().gen_obs()
        room = self.room_of(tuple(self.agent_pos))
        if room is not None and self.dark[room]:
            obs["image"] = np.zeros_like(obs["image"])
            obs["image"][..., 0] = OBJECT_TO_IDX["unseen"]
        return obs

    def step(self, action: int) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        front = self.grid.get(*self.front_pos)
        if action == self.actions.toggle and isinstance(front, Box):
            self.frozen |= {index for index, box in self.boxes.items() if box is front}
        for index, tiles in self.floors.items():  # the lights flash before the agent sees the new step
            if index not in self.frozen:
                for tile in tiles:
                    tile.color = self._rand_elem(COLOR_NAMES)
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, self._record(info)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return obs, self._record(info)

    def _record(self, info: dict[str, Any]) -> dict[str, Any]:
        position = (int(self.agent_pos[0]), int(self.agent_pos[1]))
        room = self.room_of(position)
        if room is not None:
            self.visited_rooms.add(room)
        self.visited_cells.add(position)
        return info | {"room": room, "dark": room is not None and self.dark[room], "rooms_visited":
                       len(self.visited_rooms), "cells_visited": len(self.visited_cells), "rooms_frozen":
                       len(self.frozen), "flashing_rooms": len(self.floors), "position": position}  # fmt: skip


class ImageObservation(gym.ObservationWrapper):
    """minigrid's image alone (7 × 7 × 3 uint8): what the game's players and density models see."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = env.observation_space["image"]

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        return observation["image"]


def make_surprise_rooms(**kwargs: Any) -> gym.Env:
    """The registered env: :class:`SurpriseRooms` with image observations."""
    return ImageObservation(SurpriseRooms(**kwargs))


if SURPRISE_ROOMS_ID not in gym.registry:
    gym.register(id=SURPRISE_ROOMS_ID, entry_point="rlcert.envs.surprise_rooms:make_surprise_rooms")
