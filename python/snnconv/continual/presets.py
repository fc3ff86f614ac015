"""CoLaNET settings for class-incremental streams (docs/continual.md).

With its defaults CoLaNET learning Split MNIST class by class ends far below joint
training: the newest columns fire on the old classes' images, which they never met,
and the old columns, depressed (anti-Hebbian) whenever they fire on a later class's
images with no reward to balance it, lose their own classes. Two local settings
remove most of it:

- ``threshold_excess`` k = 0.7 (default 0.218): the threshold H + k·Σw⁺ grows with a
  neuron's positive weight, so a neuron fires only when an input covers a large share
  of its prototype. A column no longer answers an image that merely lies inside its
  prototypes (most of a 3 lies inside an 8), which is what joint training otherwise
  teaches it by depressing it on the other classes' images.
- ``reward`` D = 1.0 (default 0.18, against the anti-Hebbian step d_H = −0.177): the
  rewarded synapses of a correct answer grow by D + d_H instead of by 0.003, so what
  a column learned on its own task outweighs the depression it receives later.

Neither stores an example or replays anything. They are for CoLaNET on raw pixels
(the rate code); they cost a joint fit about a point on MNIST 5k, so they are not
CoLaNET's defaults. The CSNN needs none: its population code of the pooled counts
already lets an absent feature speak against a class, and with these settings its
columns no longer fire at all (docs/continual.md).
"""

from __future__ import annotations

from typing import Any

#: CoLaNET parameters for class-incremental learning (``CoLaNET(**INCREMENTAL)``).
INCREMENTAL: dict[str, Any] = {"threshold_excess": 0.7, "reward": 1.0}
