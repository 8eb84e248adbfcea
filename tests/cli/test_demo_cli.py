"""``tocsin demo --summary``: the bundled data load as 140 weekly series; the summary prints.

The full demo (farrington_flexible on 140 districts) takes minutes, so these tests run
the same code path with the fast ``ears_c1`` in its place; the data, the range and the
printing are the demo's own.
"""

from __future__ import annotations

import numpy as np

from tocsin.demo import summary as demo
from tocsin.files.detection import read_long_series


def test_the_bundled_data_is_140_districts_of_416_consecutive_weeks():
    path = demo.data_file("fluBYBW_observed.csv")
    data = read_long_series(path, counts=True, series_column="jurisdiction", consecutive=True)
    assert data.counts.shape == (416, 140)
    assert data.freq == 52
    assert data.labels[0] == "2001-W01" and data.labels[-1] == "2008-W52"
    assert not np.isnan(data.counts).any() and not data.warnings
    assert set(data.series) == set(demo.district_names())
    # Read by ISO calendar instead, 2004-W53 is a gap in every district, with a warning.
    iso = read_long_series(path, counts=True, series_column="jurisdiction")
    assert iso.counts.shape == (417, 140)
    assert iso.warnings == [
        f"{path}: no row for period 2004-W53 in all 140 series; taken as missing values"
    ]


def test_demo_prints_alarms_per_district(monkeypatch, tocsin_main):
    monkeypatch.setattr(demo, "METHOD", "ears_c1")
    monkeypatch.setattr(demo, "NOUFAILY", {"alpha": 0.001})
    code, out, err = tocsin_main("demo", "--summary", "--top", "5")
    assert code == 0, err
    assert "Influenza alarms per district, 2007-W01 to 2008-W52" in out
    assert "135 other districts" in out
    run = demo.run_demo()
    assert run.result.alarm.shape == (104, 140)
    assert f"{run.total_alarms} alarms in" in out.replace("\n", " ")
    top = run.districts[0]
    assert top.alarms == int(np.nansum(run.result.alarm[:, run.data.series.index(top.code)]))
    assert top.name in out and top.alarms >= run.districts[-1].alarms


def test_demo_without_its_method_says_so(monkeypatch, tocsin_main):
    monkeypatch.setattr(demo, "METHOD", "not_yet_there")
    code, out, err = tocsin_main("demo", "--summary")
    assert code == 2 and out == ""
    assert "the demo needs the method 'not_yet_there'" in err
    assert "ears_c1" in err  # lists what is available
