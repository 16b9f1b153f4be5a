"""Entry point of one launched process: `torchrun ... -m domainforge.training.worker spec.pkl`.

The spec (written by engine._launch) holds the stage name, input model path, input tables,
params and runtime; every rank runs the same registered stage on them.
"""

import pickle
import sys

from domainforge.training import stages  # noqa: F401  (registers the stages)
from domainforge.training.engine import STAGES
from domainforge.training.runtime import Runtime


def main(spec_path: str) -> None:
    with open(spec_path, "rb") as handle:
        spec = pickle.load(handle)
    STAGES[spec["stage"]](
        spec["model"], *spec["frames"], params=spec["params"], runtime=Runtime(**spec["runtime"])
    )


if __name__ == "__main__":
    main(sys.argv[1])
