"""Run the hostile-artefact corpus (tests/bundle/hostile.py) and print what happened to each artefact.

Every artefact is generated afresh; those marked crash-prone run in their own
subprocess (a segfault is counted, not fatal). The last line is the figure
README's Security section quotes::

    python scripts/hostile_report.py [--json report.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "bundle"))

import hostile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the outcomes as JSON")
    args = parser.parse_args()
    outcomes: dict[str, dict[str, str]] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gmm_hub-hostile-") as tmp:
        for name, attack in sorted(hostile.ATTACKS.items(), key=lambda kv: (kv[1].item, kv[0])):
            work = Path(tmp) / name
            outcome = hostile.run_isolated(name, work)[0] if attack.crashy else hostile.run(name, work)
            outcomes[name] = {"item": attack.item, "outcome": outcome}
            print(f"item {attack.item:<8} {name:<46} {outcome}")
    counts = Counter(o["outcome"] if o["outcome"] in hostile.OUTCOMES else "crashed" for o in outcomes.values())
    print(
        f"\nhostile artefacts tried: {len(outcomes)}, refused: {counts['refused']}, "
        f"neutralised: {counts['neutralised']}, executed: {counts['executed']}, crashed: {counts['crashed']}, "
        f"silent wrong answers: {counts['wrong']}  ({time.perf_counter() - start:.0f} s)"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(outcomes, indent=2) + "\n")
    return 0 if counts["executed"] == counts["crashed"] == counts["wrong"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
