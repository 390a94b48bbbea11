"""Coaching text for each rep flag: a title, a mid-set cue, the reason behind it and a corrective drill.

The cues are written in our own words from two coaching guides: "Hip Hinge: An Easy to Understand Guide"
(Burpees for Breakfast) and "Hip Hinge: The Ultimate Guide" (Ian Markow). Where the guides disagree (flat
back and pelvic tuck versus a long spine and true hip extension) we ask for a long, neutral spine and a
glute-driven finish, which both accept. ``docs/coaching.md`` explains what a good hinge looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Cue:
    """Coaching text for one flag.

    Attributes
    ----------
    flag : str
        Key in the report's ``flag_vocabulary``.
    title : str
        Two to four words.
    cue : str
        One short sentence to act on mid-set (at most 110 characters).
    why : str
        What goes wrong and what it risks, in one or two sentences.
    drill : str
        One corrective drill or setup tip.
    """

    flag: str
    title: str
    cue: str
    why: str
    drill: str


_CUES = (
    Cue(
        flag="back_rounding",
        title="Keep your back long",
        cue="Keep your back long and shoulders set, and let your chest and hips tip forward together.",
        why="Your upper back is curling forward on its own instead of moving as one piece with your pelvis. "
        "With weight in your hands that moves the work from your hips onto your spine and makes a back "
        "strain more likely.",
        drill="Hinge slowly with one palm on your belly and one on your chest, keeping the gap between your "
        "hands the same all the way down and up.",
    ),
    Cue(
        flag="lean_back",
        title="Finish tall, not back",
        cue="At the top, squeeze your glutes and stop when you're stacked; don't tip your shoulders back.",
        why="Leaning back at the top arches your lower back to finish the rep instead of your hips. It loads "
        "the lumbar spine for no benefit.",
        drill="Hold each top for about three seconds with your head over your mid-foot, as if a wall right "
        "behind you stops any lean.",
    ),
    Cue(
        flag="incomplete_lockout",
        title="Stand all the way",
        cue="Push your hips through until you're fully upright before you start the next rep.",
        why="Turning around before your hips are fully open skips the part of the rep that works the glutes "
        "hardest, and the top of each rep tends to creep lower as the set goes on.",
        drill="Between reps, stand with hips stacked over knees and feet and give your glutes a firm "
        "one-second squeeze before lowering again.",
    ),
    Cue(
        flag="knee_dominant",
        title="Hips back, not down",
        cue="Reach your hips back behind you and keep your knees soft; don't sit down into them.",
        why="When your knees slide forward and your hips sink, the rep becomes a squat: the thighs take over "
        "and the hamstrings and glutes the hinge is meant to train do less.",
        drill="Do wall taps: stand a short step in front of a wall and push your hips back to touch it, "
        "letting your knees bend only as much as they need to.",
    ),
    Cue(
        flag="shallow_depth",
        title="Use your full range",
        cue="Lower until you feel a stretch in your hamstrings, as deep as your better reps.",
        why="This rep covered much less range than your others, often a sign of fatigue or rushing, so your "
        "hamstrings and glutes get less stretch and less training.",
        drill="Before the set, do a few slow bodyweight hinges to find where your hamstrings tighten and aim "
        "for that point on every rep.",
    ),
    Cue(
        flag="fast_descent",
        title="Control the way down",
        cue="Lower under control, about two seconds down; don't drop into the bottom.",
        why="Dropping fast lets the weight pull you out of position, so your back can round and your "
        "hamstrings get jolted at the bottom.",
        drill="Practise a slow count down with your lats switched on, as if pinning a small ball under each "
        "armpit.",
    ),
    Cue(
        flag="posture_drift",
        title="Same start, same finish",
        cue="Come back to the same tall stance you started in: feet rooted, ribs down, shoulders easy.",
        why="Your standing posture at the end has shifted from where you began, which often means fatigue is "
        "setting in, and each rep then starts from a worse position than the last.",
        drill="Film a set from the side and compare your first and last standing positions, then rebuild the "
        "first one before every rep.",
    ),
    Cue(
        flag="hip_hike",
        title="Keep hips level",
        cue="Keep your pelvis level; don't let the back-leg hip ride up, shift sideways onto the front leg.",
        why="One side of your pelvis is rising above the other, so the working hip isn't really loaded and "
        "your lower back bends sideways to make up for it.",
        drill="In a staggered-stance or single-leg RDL, rehearse a few slow reps while imagining a gentle "
        "sideways nudge that moves your hips over the front foot.",
    ),
    Cue(
        flag="pelvis_rotation",
        title="Keep hips square",
        cue="Don't let your hips swing open; keep your belly button turned a touch toward the front leg.",
        why="Your pelvis twists open during the rep, which takes the stretch off the glute you are trying to "
        "work and lets your lower back twist under load.",
        drill="Rest your hands on your hip bones as you hinge and check that the back-leg hip doesn't swing "
        "back and open out.",
    ),
)

CUES: Mapping[str, Cue] = MappingProxyType({c.flag: c for c in _CUES})
"""Flag → :class:`Cue`, read-only."""


def cue_for(flag: str) -> Cue:
    """Return the coaching text for ``flag``.

    Parameters
    ----------
    flag : str
        A rep flag, e.g. ``"back_rounding"``.

    Returns
    -------
    Cue

    Raises
    ------
    KeyError
        If ``flag`` has no cue; the message lists the known flags.
    """
    try:
        return CUES[flag]
    except KeyError:
        raise KeyError(f"no coaching cue for flag {flag!r}; known flags: {', '.join(CUES)}") from None
