"""Per-game facts behind the STORI probes: RAM addresses, screen regions and object hides.

STORI (Barsainyan et al. 2025, arXiv 2509.01793, §3; code github.com/ARY2260/stori) defines its Atari
perturbations per game by RAM edits and screen rectangles for Breakout, Boxing, Gopher and BankHeist.
The addresses, values, rectangles and fill colours here are STORI's, each checked by experiment on ALE
0.12 (poke the byte, step, watch the RAM and the screen; ``tests/test_stori_games.py`` keeps those checks).
Where an experiment showed that STORI's edit does not do what its name says, the rule here does what
the name says and the comment says what differs. Pong and Freeway are rlcert's own additions, their
addresses found the same way.

Everything here is data; the probe classes are in ``rlcert.envs.stori`` and the random-event rules, which use
these addresses, in ``rlcert.envs.stori_events``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALE_SCREEN_SHAPE",
    "Region",
    "BLACKOUT_REGIONS",
    "OBJECT_HIDES",
    "ale_gray",
]

ALE_SCREEN_SHAPE = (210, 160)
"""Rows and columns of the ALE screen that STORI's rectangles refer to."""


def ale_gray(rgb: tuple[int, int, int]) -> int:
    """The value ALE's ``getScreenGrayscale`` gives an NTSC palette colour (ITU-R 601 luma, rounded).

    Checked against every colour on the screens of the four STORI games (``test_stori_games.py``).
    """
    red, green, blue = rgb
    return int(round(0.2989 * red + 0.5870 * green + 0.1140 * blue))


# ---------------------------------------------------------------------------------------------------
# RAM addresses (indices into the 128-byte RAM the ALE shows)
# ---------------------------------------------------------------------------------------------------

# Breakout: the wall is 36 bytes (six playfield bytes for each of six rows); a brick is a pair of adjacent
# bits (0-1, 2-3, 4-5, 6-7), set while it stands. A hit clears the pair and pays in the same frame.
BREAKOUT_WALL = slice(0, 36)
BREAKOUT_BALL_X, BREAKOUT_BALL_Y = 99, 101  # y = 0: above the court, not drawn
# Boxing: scores (binary-coded decimal), colours, positions (STORI's boxing.py).
BOXING_PLAYER_SCORE, BOXING_ENEMY_SCORE = 18, 19
BOXING_PLAYER_COLOUR, BOXING_ENEMY_COLOUR, BOXING_ROPES_COLOUR = 1, 2, 3  # the player's and enemy's with their scores
BOXING_RING_COLOUR_CODE = 214  # the ring's background: an object drawn in it is invisible
BOXING_PLAYER_X, BOXING_ENEMY_X, BOXING_PLAYER_Y, BOXING_ENEMY_Y = 32, 33, 34, 35
# Gopher: the tunnels are 24 bytes (four rows of six); a set bit is dug soil, the farmer's fill clears
# bits and pays 20 points in the same frame. Byte 52: the carrots still standing (left 4, middle 2, right 1).
GOPHER_TUNNELS = slice(0, 24)
GOPHER_CARROTS = 52
GOPHER_SEED_Y, GOPHER_NO_SEED = 92, 128  # the duck's seed falling; 128: no seed in the air
GOPHER_SETTLE_FRAMES = 238  # STORI waits this many frames after a reset before removing a carrot
# BankHeist: byte 0 counts the cities driven through (its value % 4 is the map shown); 12 is the dynamite's
# x and 63 its fuse (84 at the drop, counting down to the blast); 86 the fuel used (0 full ... 25 empty);
# 24-26 the bank sites (253 bank, 254 police, 255 none); 66 and 68 draw the city blocks; 69 is the
# background colour; 8 and 28 the robber's car y and x.
BANKHEIST_CITY, BANKHEIST_BOMB_X, BANKHEIST_FUSE, BANKHEIST_FUEL_USED = 0, 12, 63, 86
BANKHEIST_SITES = slice(24, 27)
BANKHEIST_BANK, BANKHEIST_POLICE, BANKHEIST_EMPTY_SITE = 253, 254, 255
BANKHEIST_BLOCKS, BANKHEIST_BACKGROUND = (66, 68), 69
BANKHEIST_CAR_Y, BANKHEIST_CAR_X = 8, 28
BANKHEIST_HALF_TANK = 12  # STORI's leak level: half of the 25-unit tank
# Pong (rlcert): ball x 49, ball y 54 (0 while waiting for a serve), velocities 58 (x, opposite sign:
# 255 = -1 makes x grow) and 56 (y), two's complement. Negating one turns the ball around the next frame.
PONG_BALL_Y, PONG_VELOCITY_Y, PONG_VELOCITY_X = 54, 56, 58
# Freeway (rlcert): byte 14 is the chicken's height above the kerb (6 at the start, grows as it crosses).
FREEWAY_CHICKEN_Y = 14


# ---------------------------------------------------------------------------------------------------
# Type 3.2 blackout rectangles (STORI's ``blackout_obs_mode`` per game; names follow its modes_directory.md)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A rectangle of the 210x160 ALE screen, bounds inclusive as STORI writes them, and its fill colour."""

    min_x: int
    max_x: int
    min_y: int
    max_y: int
    fill_rgb: tuple[int, int, int] = (0, 0, 0)

    @property
    def fill_gray(self) -> int:
        return ale_gray(self.fill_rgb)


def _paint(fill: tuple[int, int, int], *regions: Region) -> tuple[Region, ...]:
    return tuple(Region(r.min_x, r.max_x, r.min_y, r.max_y, fill) for r in regions)


# Breakout: everything is painted black.
_BREAKOUT_BLOCKS = Region(8, 151, 57, 92)
_BREAKOUT_PADDLE = Region(7, 152, 189, 195)
_BREAKOUT_SCORE = Region(2, 158, 3, 16)
_BREAKOUT_BALL_TOP = Region(8, 151, 105, 130)  # three bands the ball crosses between wall and paddle
_BREAKOUT_BALL_MIDDLE = Region(8, 151, 131, 156)
_BREAKOUT_BALL_BOTTOM = Region(8, 151, 157, 182)

# Boxing: painted in the ring's background colour, so what is hidden blends in.
_BOXING_BACKGROUND = (110, 156, 66)
_BOXING_FULL_RING, _BOXING_LEFT_RING, _BOXING_RIGHT_RING, _BOXING_ENEMY_SCORE, _BOXING_PLAYER_SCORE, _BOXING_CLOCK = (
    _paint(_BOXING_BACKGROUND, Region(32, 127, 36, 176), Region(32, 80, 36, 176), Region(81, 127, 36, 176),
           Region(87, 134, 1, 16), Region(33, 69, 1, 16), Region(57, 97, 14, 27))
)  # fmt: skip

# Gopher: the strips where the gopher breaks through keep their three row colours; the underground is
# painted as undug (or dug) soil; farmer, duck and score are painted black.
_GOPHER_ATTACK_COLOURS = ((101, 209, 174), (117, 231, 194), (132, 252, 212))
_GOPHER_LEFT_ATTACK = tuple(Region(0, 59, 146 + 5 * row, 150 + 5 * row, colour)
                            for row, colour in enumerate(_GOPHER_ATTACK_COLOURS))  # fmt: skip
_GOPHER_RIGHT_ATTACK = tuple(Region(100, 159, 146 + 5 * row, 150 + 5 * row, colour)
                             for row, colour in enumerate(_GOPHER_ATTACK_COLOURS))  # fmt: skip
_GOPHER_UNDUG, _GOPHER_DUG = (187, 159, 71), (223, 183, 85)
_GOPHER_UNDERGROUND = Region(0, 159, 161, 200, _GOPHER_UNDUG)
_GOPHER_UNDERGROUND_OFFSET = Region(0, 159, 164, 200, _GOPHER_UNDUG)  # leaves the surface's dents visible
_GOPHER_ROWS = (Region(0, 159, 161, 168), Region(0, 159, 168, 176), Region(0, 159, 176, 182), Region(0, 159, 183, 194))
_GOPHER_FARMER_BELOW_NOSE = Region(0, 159, 104, 145)
_GOPHER_FARMER = Region(0, 159, 87, 145)
_GOPHER_DUCK = Region(0, 159, 26, 56)
_GOPHER_SCORE = Region(0, 159, 0, 25)

# BankHeist: walls black, the fuel and lives panel and the score bar in their own background colours.
_BANKHEIST_TOP_WALL = Region(12, 147, 37, 44)
_BANKHEIST_LEFT_WALL = Region(12, 15, 37, 177)
_BANKHEIST_BOTTOM_WALL = Region(12, 147, 173, 177)
_BANKHEIST_RIGHT_WALL = Region(144, 147, 37, 177)
_BANKHEIST_WALLS = (_BANKHEIST_TOP_WALL, _BANKHEIST_LEFT_WALL, _BANKHEIST_BOTTOM_WALL, _BANKHEIST_RIGHT_WALL)
_BANKHEIST_FUEL, _BANKHEIST_LIVES = _paint((0, 0, 148), Region(12, 73, 11, 36), Region(78, 147, 11, 36))
(_BANKHEIST_SCORE,) = _paint((162, 98, 33), Region(12, 147, 178, 186))

BLACKOUT_REGIONS: dict[str, dict[str, tuple[Region, ...]]] = {
    "breakout": {
        "all": (_BREAKOUT_BLOCKS, _BREAKOUT_PADDLE, _BREAKOUT_SCORE,
                _BREAKOUT_BALL_TOP, _BREAKOUT_BALL_MIDDLE, _BREAKOUT_BALL_BOTTOM),
        "blocks": (_BREAKOUT_BLOCKS,),
        "paddle": (_BREAKOUT_PADDLE,),
        "score": (_BREAKOUT_SCORE,),
        "ball_missing_top": (_BREAKOUT_BALL_TOP,),
        "ball_missing_middle": (_BREAKOUT_BALL_MIDDLE,),
        "ball_missing_bottom": (_BREAKOUT_BALL_BOTTOM,),
        "blocks_and_paddle": (_BREAKOUT_BLOCKS, _BREAKOUT_PADDLE),
        "blocks_and_score": (_BREAKOUT_BLOCKS, _BREAKOUT_SCORE),
        "ball_missing_top_and_bottom": (_BREAKOUT_BALL_TOP, _BREAKOUT_BALL_BOTTOM),
        "ball_missing_all": (_BREAKOUT_BALL_TOP, _BREAKOUT_BALL_MIDDLE, _BREAKOUT_BALL_BOTTOM),
    },
    "boxing": {
        "all": (_BOXING_FULL_RING, _BOXING_LEFT_RING, _BOXING_RIGHT_RING,
                _BOXING_ENEMY_SCORE, _BOXING_PLAYER_SCORE, _BOXING_CLOCK),
        "left_ring": (_BOXING_LEFT_RING,),
        "right_ring": (_BOXING_RIGHT_RING,),
        "full_ring": (_BOXING_FULL_RING,),
        "enemy_score": (_BOXING_ENEMY_SCORE,),
        "player_score": (_BOXING_PLAYER_SCORE,),
        "scores": (_BOXING_ENEMY_SCORE, _BOXING_PLAYER_SCORE),
        "clock": (_BOXING_CLOCK,),
        "scores_and_clock": (_BOXING_ENEMY_SCORE, _BOXING_PLAYER_SCORE, _BOXING_CLOCK),
    },
    "gopher": {
        # STORI paints the soil, farmer, duck and score first and the attack strips last.
        "all": (_GOPHER_UNDERGROUND, _GOPHER_UNDERGROUND_OFFSET, *_paint(_GOPHER_UNDUG, *_GOPHER_ROWS),
                _GOPHER_FARMER_BELOW_NOSE, _GOPHER_FARMER, _GOPHER_DUCK, _GOPHER_SCORE,
                *_GOPHER_LEFT_ATTACK, *_GOPHER_RIGHT_ATTACK),
        "gopher_attack": (*_GOPHER_LEFT_ATTACK, *_GOPHER_RIGHT_ATTACK),
        "left_gopher_attack": _GOPHER_LEFT_ATTACK,
        "right_gopher_attack": _GOPHER_RIGHT_ATTACK,
        "underground": (_GOPHER_UNDERGROUND,),
        "underground_offset": (_GOPHER_UNDERGROUND_OFFSET,),
        **{f"underground_row{row}": _paint(_GOPHER_UNDUG, region) for row, region in enumerate(_GOPHER_ROWS)},
        **{f"underground_row{row}_dug": _paint(_GOPHER_DUG, region) for row, region in enumerate(_GOPHER_ROWS)},
        "farmer": (_GOPHER_FARMER,),
        "farmer_below_nose": (_GOPHER_FARMER_BELOW_NOSE,),
        "duck": (_GOPHER_DUCK,),
        "score": (_GOPHER_SCORE,),
    },
    "bankheist": {
        "all": (*_BANKHEIST_WALLS, _BANKHEIST_FUEL, _BANKHEIST_LIVES, _BANKHEIST_SCORE),
        "city_walls": _BANKHEIST_WALLS,
        "top_wall": (_BANKHEIST_TOP_WALL,),
        "left_wall": (_BANKHEIST_LEFT_WALL,),
        "bottom_wall": (_BANKHEIST_BOTTOM_WALL,),
        "right_wall": (_BANKHEIST_RIGHT_WALL,),
        "left_and_right_walls": (_BANKHEIST_LEFT_WALL, _BANKHEIST_RIGHT_WALL),
        "fuel": (_BANKHEIST_FUEL,),
        "lives": (_BANKHEIST_LIVES,),
        "score": (_BANKHEIST_SCORE,),
    },
}  # fmt: skip
"""Game → blackout target → rectangles painted in order (later ones over earlier ones)."""


# ---------------------------------------------------------------------------------------------------
# Type 3.2 object hides: RAM edits that make the next rendered frame lack an object
# ---------------------------------------------------------------------------------------------------

RamEdit = dict[int, int]


def _constant(edit: RamEdit) -> Callable[[np.ndarray], RamEdit]:
    return lambda ram: edit


def _unless_absent(position: int, edit: RamEdit) -> Callable[[np.ndarray], RamEdit]:
    # A ball waiting to be served has position 0 and is not drawn: nothing to hide then.
    return lambda ram: edit if int(ram[position]) != 0 else {}


def _clear_carrot_bits(mask: int) -> Callable[[np.ndarray], RamEdit]:
    # Clearing a carrot's bit hides it; a carrot already gone needs no hiding (no edit).
    return lambda ram: {GOPHER_CARROTS: int(ram[GOPHER_CARROTS]) & ~mask} if int(ram[GOPHER_CARROTS]) & mask else {}


def _empty_sites_showing(state: int) -> Callable[[np.ndarray], RamEdit]:
    sites = range(BANKHEIST_SITES.start, BANKHEIST_SITES.stop)
    return lambda ram: {site: BANKHEIST_EMPTY_SITE for site in sites if int(ram[site]) == state}


# BankHeist's background colour that makes the city blocks blend into the street, per city map (byte 0 % 4).
_BANKHEIST_BLEND_COLOUR = (30, 190, 46, 126)

OBJECT_HIDES: dict[str, dict[str, Callable[[np.ndarray], RamEdit]]] = {
    "breakout": {
        "ball": _unless_absent(BREAKOUT_BALL_Y, {BREAKOUT_BALL_X: 0, BREAKOUT_BALL_Y: 0}),
        # STORI's other Breakout mode ("nus pattern" in the wall bytes) is marked buggy by its authors: left out.
    },
    "boxing": {
        "ring": _constant({BOXING_ROPES_COLOUR: BOXING_RING_COLOUR_CODE}),
        "enemy": _constant({BOXING_ENEMY_COLOUR: BOXING_RING_COLOUR_CODE}),
        "player": _constant({BOXING_PLAYER_COLOUR: BOXING_RING_COLOUR_CODE}),
    },
    "gopher": {
        "left_carrot": _clear_carrot_bits(4),
        "middle_carrot": _clear_carrot_bits(2),
        "right_carrot": _clear_carrot_bits(1),
        "carrots": _clear_carrot_bits(7),
        "seed": lambda ram: {} if int(ram[GOPHER_SEED_Y]) == GOPHER_NO_SEED else {GOPHER_SEED_Y: GOPHER_NO_SEED},
    },
    "bankheist": {
        "robber_car": _constant({BANKHEIST_CAR_Y: 155, BANKHEIST_CAR_X: 12}),  # off the city map
        "fuel_gauge": _constant({BANKHEIST_FUEL_USED: 0}),  # the gauge shows a full tank
        "city_blocks": _constant({block: 0 for block in BANKHEIST_BLOCKS}),
        "city_blend": lambda ram: {BANKHEIST_BACKGROUND: _BANKHEIST_BLEND_COLOUR[int(ram[BANKHEIST_CITY]) % 4]},
        "banks": _empty_sites_showing(BANKHEIST_BANK),
        "police": _empty_sites_showing(BANKHEIST_POLICE),
    },
    # rlcert's own, found by poking every byte and value and keeping the edits whose screen difference
    # is exactly the object (see the module docstring).
    "pong": {
        # Ball y 207..254 is below the court: the ball is not drawn. The computer's paddle chases the ball,
        # so in the hidden frame it may also move up to 8 px towards where the ball seems to be.
        "ball": _unless_absent(PONG_BALL_Y, {PONG_BALL_Y: 230}),
    },
    "freeway": {
        "chicken": _constant({FREEWAY_CHICKEN_Y: 200}),  # 6 at the kerb, ~177 at the far side; 200 is off-screen
    },
}
"""Game → hide target → function of the current RAM giving the bytes to write (empty: nothing to hide)."""
