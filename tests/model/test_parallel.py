"""thread_map: heavy calls on joblib's threads, light ones alone on the calling thread, same results."""

from __future__ import annotations

import threading
import time
from functools import partial

import joblib
import numpy as np
import pytest

from gmm_hub.model._parallel import LIGHT_VALUES, fit_threads, thread_map

HEAVY, LIGHT = LIGHT_VALUES, LIGHT_VALUES - 1


def _record(log: list, name: str, pause: float = 0.0, threads: int | None = None) -> tuple[str, int | None]:
    log.append(("start", name, threading.get_ident()))
    time.sleep(pause)
    log.append(("end", name, threading.get_ident()))
    return name, threads


def _calls(log: list, names: list[str]) -> list[partial]:
    return [partial(_record, log, name, 0.02) for name in names]


def test_on_threads_heavy_calls_run_beside_each_other_and_light_ones_alone_after_them():
    log: list = []
    names = ["h0", "l1", "h2", "l3", "h4"]
    values = [HEAVY, LIGHT, HEAVY, LIGHT, HEAVY]
    out = list(thread_map(_calls(log, names), values, n_jobs=2))
    assert sorted(out) == [(i, (name, None)) for i, name in enumerate(names)]
    assert [i for i, _ in out] == [0, 2, 4, 1, 3]  # the heavy in order, then the light
    me = threading.get_ident()
    light = [entry for entry in log if entry[1].startswith("l")]
    assert {ident for *_, ident in light} == {me}  # on the calling thread
    first_light = log.index(light[0])
    assert all(entry[1].startswith("h") for entry in log[:first_light])  # every heavy call had ended
    assert sum(entry[0] == "end" for entry in log[:first_light]) == 3
    # ...and one light call at a time: each ends before the next starts
    assert [entry[0] for entry in light] == ["start", "end", "start", "end"]
    heavy_threads = {ident for _, name, ident in log if name.startswith("h")}
    assert me not in heavy_threads


@pytest.mark.parametrize("n_jobs", [None, 1])
def test_one_job_runs_every_call_in_order(n_jobs):
    log: list = []
    out = list(thread_map(_calls(log, ["h0", "l1", "h2"]), [HEAVY, LIGHT, HEAVY], n_jobs=n_jobs))
    assert out == [(0, ("h0", None)), (1, ("l1", None)), (2, ("h2", None))]
    assert [name for kind, name, _ in log if kind == "start"] == ["h0", "l1", "h2"]


def test_a_backend_other_than_threads_takes_every_call_as_its_task():
    with joblib.parallel_config(backend="loky", n_jobs=2):
        assert fit_threads(2) == 1
        out = dict(thread_map([partial(np.add, i, 1) for i in range(4)], [LIGHT, HEAVY, LIGHT, HEAVY], n_jobs=2))
    assert out == {0: 1, 1: 2, 2: 3, 3: 4}


def test_spare_threads_go_to_a_lone_heavy_call_through_the_spread_keyword():
    log: list = []
    lone = dict(thread_map(_calls(log, ["h", "l"]), [HEAVY, LIGHT], n_jobs=2, spread="threads"))
    assert lone == {0: ("h", 2), 1: ("l", None)}  # the light call gets none: it runs alone anyway
    pair = dict(thread_map(_calls(log, ["h0", "h1"]), [HEAVY, HEAVY], n_jobs=2, spread="threads"))
    assert pair == {0: ("h0", None), 1: ("h1", None)}  # no thread to spare
    assert dict(thread_map(_calls(log, ["h"]), [HEAVY], n_jobs=1, spread="threads")) == {0: ("h", None)}
