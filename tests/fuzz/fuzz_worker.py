"""The fuzz run, in a process of its own under a memory cap: `python fuzz_worker.py FOLDER EXAMPLES`.

Every case runs `hub` in this process (main(), no start-up per case) and must end with exit 0, 1 or 2
(0: a mutation that is still valid data), at most one line on stderr besides `warning:` lines, no
traceback, within TIME_LIMIT seconds, and without the process running out of its RLIMIT_AS (an
allocation past it is a MemoryError, which the hub must have refused first as over the budget).
Results are JSON lines on stdout: {"family", "case", "command", "problem"} for each failure, then a
summary line with the number of runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

MEMORY_CAP = 3 << 30  # address space of this process: the budget below is far under it
BUDGET = "256M"
TIME_LIMIT = 20  # seconds per command: refusals take milliseconds, a hang ends here


class TimeLimit(BaseException):
    """Not an Exception: nothing on the way may catch it and call the case handled."""


def _alarm(signum: int, frame: object) -> None:
    raise TimeLimit()


def run(argv: list[str]) -> tuple[int | None, str, str, str | None]:
    """Exit code, stdout, stderr and the problem of one in-process `hub` call."""
    from neurodatahub.cli import main

    out, err = io.StringIO(), io.StringIO()
    signal.alarm(TIME_LIMIT)
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except TimeLimit:
        return None, out.getvalue(), err.getvalue(), f"still running after {TIME_LIMIT} s"
    except BaseException as error:  # what escaped main() is a failure whatever it is
        return None, out.getvalue(), err.getvalue(), f"escaped main(): {type(error).__name__}: {error}"
    finally:
        signal.alarm(0)
    seconds = time.monotonic() - started
    lines = [
        line for line in err.getvalue().splitlines() if line.strip() and not line.startswith("hub: warning:")
    ]
    problem = None
    if code not in (0, 1, 2):
        problem = f"exit {code}"
    elif "Traceback" in err.getvalue() or "internal error" in err.getvalue():
        problem = "traceback or internal error"
    elif len(lines) > 1:
        problem = f"{len(lines)} lines on stderr"
    elif seconds > TIME_LIMIT:
        problem = f"took {seconds:.1f} s"
    return code, out.getvalue(), err.getvalue(), problem


def check(family: str, case: str, path: Path, commands: tuple[str, ...], failures: list[dict]) -> int:
    from fuzz_corpus import target_of

    target = target_of(path)
    runs = 0
    for command in commands:
        argv = [command, str(target)]
        if command == "convert":
            out = target.parent / f"converted-{os.getpid()}{_output_extension(family)}"  # beside the input
            argv += [str(out), "--overwrite"]
        _, _, err, problem = run(argv)
        runs += 1
        if problem:
            failures.append(
                {
                    "family": family,
                    "case": case,
                    "command": command,
                    "problem": problem,
                    "stderr": err[-2000:],
                }
            )
    return runs


def _output_extension(family: str) -> str:
    kind = family.split("-")[0]
    return {
        "spikes": ".parquet",
        "connectivity": ".npz",
        "surface": ".ply",
        "tractogram": ".tck",
        "lesion": ".nii",
        "regions": ".csv",
        "functional": ".h5",
    }.get(kind, ".json")


MUTATIONS = ("flip", "byte", "insert", "delete", "int32")
EXTREME_INT32 = (0, 1, -1, 2**31 - 1, -(2**31), 2**30, 65535)  # counts and sizes set to extremes


def mutate(data: bytes, draw: object) -> bytes:
    """A few edits of `data` drawn by hypothesis: bit flips, bytes, insertions, deletions, int32 fields."""
    from hypothesis import strategies as st

    payload = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4), label="mutations")):
        where = draw.draw(st.integers(0, max(len(payload) - 1, 0)), label="offset")
        how = draw.draw(st.sampled_from(MUTATIONS), label="how")
        if how == "flip" and payload:
            payload[where] ^= 1 << draw.draw(st.integers(0, 7))
        elif how == "byte" and payload:
            payload[where] = draw.draw(st.integers(0, 255))
        elif how == "insert":
            payload[where:where] = draw.draw(st.binary(min_size=1, max_size=16))
        elif how == "delete":
            del payload[where : where + draw.draw(st.integers(1, 16))]
        elif how == "int32":
            value = draw.draw(st.sampled_from(EXTREME_INT32))
            payload[where : where + 4] = int(value).to_bytes(4, "little", signed=True)
    return bytes(payload)


def fuzz(family: str, seed: Path, examples: int, failures: list[dict]) -> int:
    """`examples` hypothesis-driven mutations of the seed file, each read back by `hub`."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st

    data = seed.read_bytes()
    done = [0]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every run: a failure in CI reproduces locally
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],  # failures are collected, not raised: nothing to shrink
    )
    @given(st.data())
    def mutated(draw: st.DataObject) -> None:
        seed.write_bytes(mutate(data, draw))
        done[0] += 1
        commands = ("validate", "convert") if done[0] % 5 == 0 else ("validate",)
        check(family, f"mutation {done[0]}", seed, commands, failures)

    mutated()
    return done[0]


def main_worker(folder: Path, examples: int, truncation_count: int) -> None:
    from fuzz_corpus import SEEDS, hostile, truncations

    failures: list[dict] = []
    runs = 0
    (folder / "hostile").mkdir()
    for name, path in hostile(folder / "hostile").items():
        runs += check("hostile", name, path, ("info", "validate", "convert"), failures)
    for family, make in SEEDS.items():
        (folder / family).mkdir()
        seed = make(folder / family)
        data = seed.read_bytes()
        runs += check(family, "seed", seed, ("validate",), failures)
        for index, cut in enumerate(truncations(data, truncation_count)):
            seed.write_bytes(cut)
            commands = ("validate",) if index % 4 else ("info", "validate")
            runs += check(family, f"truncated at {len(cut)} of {len(data)}", seed, commands, failures)
        seed.write_bytes(data)
        runs += fuzz(family, seed, examples, failures)
    print(json.dumps({"summary": True, "runs": runs}))
    for failure in failures:
        print(json.dumps(failure))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    os.environ["NEURODATAHUB_MAX_MEMORY"] = BUDGET
    signal.signal(signal.SIGALRM, _alarm)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main_worker(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
