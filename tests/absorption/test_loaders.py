"""Loaders of absorption spectra: every format on a small file written from its documentation.

The expected values come from the formulas the files were written with (see
tests/data/absorption/README.md), not from the loaders' output.
"""

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from clusterstruct.absorption.loaders import (detect_format, parse_time_cell, read_cary, read_folder,
                                              read_jcamp, read_matrix, read_ocean, read_spectra,
                                              time_from_name)
from clusterstruct.absorption.series import HC_EV_NM
from clusterstruct.errors import ClusterstructError

DATA = Path(__file__).resolve().parents[1] / "data" / "absorption"


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- time cells and names
@pytest.mark.parametrize("cell, expected", [("5 min", (5.0, "min")), ("30 s", (30.0, "s")),
                                            ("1.5 h", (1.5, "h")), ("t=5min", (5.0, "min")),
                                            ("time: 10 minutes", (10.0, "min")), ("12", (12.0, None)),
                                            ("Sample A", None)])
def test_parse_time_cell(cell, expected):
    assert parse_time_cell(cell) == expected


def test_parse_time_cell_unknown_unit():
    with pytest.raises(ClusterstructError, match="unknown time unit 'days'"):
        parse_time_cell("3 days", source="x.csv")


@pytest.mark.parametrize("name, expected", [("ZnSe_10min", (10.0, "min")), ("run-2.5h-b", (2.5, "h")),
                                            ("CdS_350nm_45s", (45.0, "s")), ("ZnSe_350nm", None),
                                            ("ZnSe_Absorbance__0__14-02-10-123", None)])
def test_time_from_name(name, expected):
    assert time_from_name(name) == expected


# ---------------------------------------------------------------- matrix
def test_matrix_minutes_header():
    s = read_spectra(DATA / "matrix_minutes.csv")
    assert detect_format(DATA / "matrix_minutes.csv") == "matrix"
    np.testing.assert_array_equal(s.times_min, [0, 5, 10, 20])
    # written descending 320 -> 300 in 2 nm steps; read ascending
    np.testing.assert_array_equal(s.wavelength_nm, np.arange(300, 321, 2))
    # A = 0.1 + 0.01 t + 0.001 (wl - 300): 0.16 at 310 nm, 5 min
    assert s.od_at(310)[1] == pytest.approx(0.16, abs=1e-12)
    assert s.od_at(320)[3] == pytest.approx(0.1 + 0.2 + 0.02, abs=1e-12)


def test_matrix_numeric_header_needs_unit():
    with pytest.raises(ClusterstructError, match=r"matrix_seconds\.tsv.*time unit"):
        read_matrix(DATA / "matrix_seconds.tsv")
    s = read_matrix(DATA / "matrix_seconds.tsv", time_unit="s")
    assert s.time_unit == "s"
    np.testing.assert_allclose(s.times_min, [0, 0.5, 1.0, 1.5])
    # the NaN cell at 306 nm drops that wavelength for all spectra, with a note naming the file
    np.testing.assert_array_equal(s.wavelength_nm, [300, 302, 304, 308, 310])
    assert any("matrix_seconds.tsv" in n and "NaN" in n for n in s.notes)
    # A = 0.2 + 0.002 t[s] - 0.001 (wl - 300)
    assert s.od_at(304)[3] == pytest.approx(0.2 + 0.18 - 0.004, abs=1e-12)


def test_matrix_energy_axis_converted():
    s = read_spectra(DATA / "matrix_energy_ev.csv")
    e = 4.0 - 0.1 * np.arange(11)
    np.testing.assert_allclose(s.wavelength_nm, np.sort(HC_EV_NM / e), rtol=1e-12)
    # absorbance unchanged (no Jacobian): A(5 min) = E - 2.5 at E = 3.5 eV
    j = int(np.argmin(abs(s.wavelength_nm - HC_EV_NM / 3.5)))
    assert s.absorbance[0, j] == pytest.approx(1.0, abs=1e-12)
    assert s.absorbance[1, j] == pytest.approx(2.0, abs=1e-12)
    assert any("1239.841984" in n for n in s.notes)


def test_matrix_x_unit_argument_and_names(tmp_path):
    f = _write(tmp_path / "names.csv", "E,Sample A,Sample B\n3.0,0.1,0.2\n3.1,0.1,0.2\n3.2,0.1,0.2\n")
    s = read_matrix(f, x_unit="eV")
    assert s.times is None
    assert [m["name"] for m in s.meta] == ["Sample A", "Sample B"]
    assert s.wavelength_nm[0] == pytest.approx(HC_EV_NM / 3.2)


def test_matrix_sort_dedupe_and_reorder(tmp_path):
    f = _write(tmp_path / "m.csv", "nm,10 min,0 min\n402,0.4,0.2\n400,0.3,0.1\n402,0.6,0.4\n401,0.5,0.2\n")
    s = read_matrix(f)
    np.testing.assert_array_equal(s.wavelength_nm, [400, 401, 402])
    np.testing.assert_array_equal(s.times, [0, 10])               # columns reordered by time
    assert s.absorbance[0, 2] == pytest.approx(0.3)                # (0.2 + 0.4) / 2 at 402 nm, 0 min
    assert any("duplicated" in n for n in s.notes)


def test_matrix_scaling():
    s = read_spectra(DATA / "matrix_minutes.csv", aliquot_factor=4.0, path_length_cm=0.5)
    assert s.od_at(310)[1] == pytest.approx(0.16 * 8.0, abs=1e-12)


# ---------------------------------------------------------------- Cary WinUV
def test_cary_three_spectra_with_metadata_block():
    f = DATA / "cary_winuv_3spectra.csv"
    assert detect_format(f) == "cary"
    s = read_spectra(f)
    assert s.n_spectra == 3
    np.testing.assert_array_equal(s.wavelength_nm, np.arange(340, 351))
    np.testing.assert_array_equal(s.times_min, [0, 10, 20])
    # A = amp exp(-((wl - 345)/3)^2) + 0.05, amp = 0.2, 0.5, 0.8
    np.testing.assert_allclose(s.od_at(345), [0.25, 0.55, 0.85], atol=1e-6)
    np.testing.assert_allclose(s.od_at(348), 0.05 + np.array([0.2, 0.5, 0.8]) * math.exp(-1), atol=1e-6)
    assert s.meta[1]["name"] == "ZnSe_10min"
    assert s.meta[1]["cary"]["Collection Time"] == "3/14/2024 10:10:00 AM"
    assert s.meta[0]["cary"]["Comment"] == "aliquot 50 µL in 3 mL hexane, 25 °C"      # Windows-1252
    assert any("Windows-1252" in n for n in s.notes)


def test_cary_times_from_collection_stamps(tmp_path):
    raw = (DATA / "cary_winuv_3spectra.csv").read_bytes().decode("cp1252")
    for old, new in (("ZnSe_0min", "S1"), ("ZnSe_10min", "S2"), ("ZnSe_20min", "S3")):
        raw = raw.replace(old, new)
    f = _write(tmp_path / "stamps.csv", raw)
    s = read_cary(f)
    # 10:00:00, 10:10:00, 10:20:05 -> minutes after the first
    np.testing.assert_allclose(s.times_min, [0.0, 10.0, 20.0 + 5 / 60], atol=1e-12)
    assert any("Collection Time" in n for n in s.notes)


def test_cary_percent_t_and_baseline(tmp_path):
    text = ("Baseline 100%T,,dye,,\nWavelength (nm),%T,Wavelength (nm),%T\n"
            "402,100,402,10\n401,100,401,1\n400,100,400,50\n")
    f = _write(tmp_path / "pt.csv", text)
    s = read_spectra(f)
    assert s.n_spectra == 1 and s.times is None
    np.testing.assert_allclose(s.absorbance[0], [2 - math.log10(50), 2.0, 1.0], atol=1e-12)
    assert any("Baseline 100%T" in n for n in s.notes)


# ---------------------------------------------------------------- Ocean Optics
def test_ocean_oceanview_single_file():
    f = DATA / "ocean_folder" / "ZnSe_Absorbance__1__14-07-40-456.txt"
    assert detect_format(f) == "ocean"
    s = read_ocean(f)
    # decimal-comma file: 340,000 ... 350,000 in 1.25 nm steps, A = 0.40 + 0.01 k
    np.testing.assert_allclose(s.wavelength_nm, 340 + 1.25 * np.arange(9))
    assert s.od_at(345.0)[0] == pytest.approx(0.44, abs=1e-12)
    assert s.meta[0]["timestamp"] == "2025-06-05T14:07:40"
    assert s.meta[0]["integration_time_s"] == pytest.approx(0.01)
    assert s.times is None


def test_ocean_folder_times_from_stamps():
    s = read_spectra(DATA / "ocean_folder")
    # 14:02:10 and 14:07:40 -> 0 and 5.5 min
    np.testing.assert_allclose(s.times_min, [0.0, 5.5])
    np.testing.assert_allclose(s.od_at(340.0), [0.20, 0.40])
    assert any("time stamps" in n for n in s.notes)


def test_spectrasuite_file():
    s = read_spectra(DATA / "spectrasuite_absorbance.txt")
    np.testing.assert_allclose(s.wavelength_nm, 400 + 0.5 * np.arange(6))
    np.testing.assert_allclose(s.absorbance[0], 0.1 * np.arange(1, 7))
    assert s.meta[0]["integration_time_s"] == pytest.approx(3000e-6)
    assert s.meta[0]["timestamp"] == "2013-10-08T09:15:00"


# ---------------------------------------------------------------- JCAMP-DX
def test_jcamp_uvvis():
    f = DATA / "uvvis_znse_15min.jdx"
    assert detect_format(f) == "jcamp"
    s = read_spectra(f)
    np.testing.assert_array_equal(s.wavelength_nm, np.arange(280, 321, 2))
    assert s.od_at(300)[0] == pytest.approx(0.850, abs=1e-12)       # 850 x YFACTOR 0.001
    assert s.od_at(308)[0] == pytest.approx(round(50 + 800 * math.exp(-1)) / 1000, abs=1e-12)
    np.testing.assert_array_equal(s.times_min, [15.0])               # from ##TITLE
    assert s.meta[0]["title"] == "ZnSe MSC aliquot 15 min"


def _jdx_variant(tmp_path, name, **replace):
    text = (DATA / "uvvis_znse_15min.jdx").read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return _write(tmp_path / name, text)


def test_jcamp_wavenumber_axis(tmp_path):
    f = _jdx_variant(tmp_path, "wn.jdx", **{"##XUNITS=NANOMETERS": "##XUNITS=1/CM",
                                            "##FIRSTX=280.0": "##FIRSTX=25000.0",
                                            "##LASTX=320.0": "##LASTX=20000.0"})
    s = read_jcamp(f)
    nu = np.linspace(25000, 20000, 21)
    np.testing.assert_allclose(s.wavelength_nm, np.sort(1e7 / nu), rtol=1e-12)
    assert s.wavelength_nm[[0, -1]] == pytest.approx([400.0, 500.0])


def test_jcamp_transmittance_refused_or_converted(tmp_path):
    f = _jdx_variant(tmp_path, "t.jdx", **{"##YUNITS=ABSORBANCE": "##YUNITS=TRANSMITTANCE"})
    with pytest.raises(ClusterstructError, match=r"t\.jdx.*TRANSMITTANCE"):
        read_spectra(f)
    s = read_spectra(f, convert_transmittance=True)
    assert s.od_at(300)[0] == pytest.approx(-math.log10(0.850), abs=1e-12)
    g = _jdx_variant(tmp_path, "pt.jdx", **{"##YUNITS=ABSORBANCE": "##YUNITS=%T"})
    s = read_jcamp(g, convert_transmittance=True)
    assert s.od_at(300)[0] == pytest.approx(-math.log10(0.00850), abs=1e-12)


# ---------------------------------------------------------------- folders
def test_folder_times_csv_sorted_and_resampled():
    s = read_spectra(DATA / "folder_times")
    assert [Path(p).name for p in s.sources] == ["spec_a.csv", "spec_c.csv", "spec_b.csv"]
    np.testing.assert_allclose(s.times_min, [0.0, 1.5, 2.0])               # 90 s = 1.5 min
    np.testing.assert_array_equal(s.wavelength_nm, np.arange(400, 421, 2))  # grid of the first file
    # spec_c (1 nm grid) is linear, so resampling is exact: 0.60 + 0.003 (410 - 400)
    assert s.od_at(410)[1] == pytest.approx(0.63, abs=1e-12)
    assert any("spec_c.csv" in n and "resampled" in n for n in s.notes)


def test_folder_pattern_regex_and_template():
    for pattern in (r"_(?P<t>\d+)min", "ZnSe_{t}min.txt"):
        s = read_folder(DATA / "folder_names", pattern=pattern)
        np.testing.assert_array_equal(s.times_min, [5, 15, 30])
        assert s.od_at(360) == pytest.approx([0.31, 0.46, 0.61], abs=1e-12)
        assert any("blank_solvent.txt" in n for n in s.notes)


def test_folder_pattern_without_unit_needs_time_unit(tmp_path):
    for t in (1, 2):
        _write(tmp_path / f"scan{t}.csv", "400,0.1\n401,0.2\n402,0.3\n")
    with pytest.raises(ClusterstructError, match="time unit"):
        read_folder(tmp_path, pattern="scan{t}.csv")
    s = read_folder(tmp_path, pattern="scan{t}.csv", time_unit="h")
    np.testing.assert_array_equal(s.times_min, [60, 120])


def test_folder_times_from_names_by_default(tmp_path):
    for name in ("ZnSe_5min.txt", "ZnSe_30min.txt", "ZnSe_15min.txt"):
        shutil.copy(DATA / "folder_names" / name, tmp_path / name)
    s = read_folder(tmp_path)
    np.testing.assert_array_equal(s.times_min, [5, 15, 30])


def test_folder_without_times(tmp_path):
    shutil.copy(DATA / "folder_names" / "blank_solvent.txt", tmp_path / "a.txt")
    shutil.copy(DATA / "folder_names" / "blank_solvent.txt", tmp_path / "b.txt")
    s = read_folder(tmp_path)
    assert s.times is None and s.n_spectra == 2
    with pytest.raises(ClusterstructError, match="carry no times"):
        s.times_min


# ---------------------------------------------------------------- bad input
def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ClusterstructError, match="nothere.csv: no such file"):
        read_spectra(tmp_path / "nothere.csv")
    with pytest.raises(ClusterstructError, match="empty.csv: empty file"):
        read_spectra(_write(tmp_path / "empty.csv", "  \n"))
    with pytest.raises(ClusterstructError, match="words.csv: no numeric data"):
        read_spectra(_write(tmp_path / "words.csv", "a,b\nc,d\n"))


def test_all_nan_spectrum(tmp_path):
    f = _write(tmp_path / "dead.csv", "nm,0 min,5 min\n400,0.1,nan\n401,0.2,nan\n402,0.3,nan\n")
    with pytest.raises(ClusterstructError, match=r"dead\.csv: spectrum 2 has no finite"):
        read_matrix(f)


def test_header_count_mismatch(tmp_path):
    f = _write(tmp_path / "cols.csv", "nm,0 min,5 min,10 min\n400,0.1,0.2\n401,0.1,0.2\n402,0.1,0.2\n")
    with pytest.raises(ClusterstructError, match=r"cols\.csv: the header has 4 columns but the data rows have 3"):
        read_matrix(f)


def test_duplicate_times(tmp_path):
    f = _write(tmp_path / "dup.csv", "nm,5 min,300 s\n400,0.1,0.2\n401,0.1,0.2\n402,0.1,0.2\n")
    with pytest.raises(ClusterstructError, match=r"dup\.csv: column '5 min' and column '300 s' have the same"):
        read_matrix(f)
    d = tmp_path / "fold"
    d.mkdir()
    for n in ("x.csv", "y.csv"):
        _write(d / n, "400,0.1\n401,0.2\n402,0.3\n")
    _write(d / "times.csv", "file,time\nx.csv,5 min\ny.csv,5 min\n")
    with pytest.raises(ClusterstructError, match=r"x\.csv and y\.csv have the same time"):
        read_folder(d)


def test_unknown_time_unit(tmp_path):
    f = _write(tmp_path / "fortnight.csv", "nm,1 fortnight,2 fortnight\n400,0.1,0.2\n401,0.1,0.2\n402,0.1,0.2\n")
    with pytest.raises(ClusterstructError, match=r"fortnight\.csv: unknown time unit 'fortnight'"):
        read_matrix(f)
    with pytest.raises(ClusterstructError, match="unknown time unit 'weeks'"):
        read_matrix(DATA / "matrix_seconds.tsv", time_unit="weeks")


def test_latin1_file_is_read_with_a_note(tmp_path):
    f = _write(tmp_path / "latin.csv", "Wellenlänge (nm),0 min,5 min\n400,0.1,0.2\n401,0.1,0.2\n402,0.1,0.2\n",
               encoding="latin-1")
    s = read_matrix(f)
    np.testing.assert_array_equal(s.times, [0, 5])
    assert any("latin.csv" in n and "not UTF-8" in n for n in s.notes)


def test_folder_errors(tmp_path):
    with pytest.raises(ClusterstructError, match="no spectrum files"):
        read_folder(tmp_path)
    _write(tmp_path / "a.csv", "400,0.1\n401,0.2\n402,0.3\n")
    _write(tmp_path / "times.csv", "file,time,unit\na.csv,0,min\nb.csv,5,min\n")
    with pytest.raises(ClusterstructError, match=r"times\.csv: lists b\.csv"):
        read_folder(tmp_path)
    with pytest.raises(ClusterstructError, match="no file name matches"):
        read_folder(tmp_path, pattern="zzz_{t}min.txt", glob="*.csv")


def test_ocean_without_data_block(tmp_path):
    f = _write(tmp_path / "cut.txt", "Data from x Node\nDate: Thu Jun 05 14:02:10 CEST 2025\n")
    with pytest.raises(ClusterstructError, match=r"cut\.txt: no '>>>>>Begin Spectral Data"):
        read_ocean(f)


def test_fmt_override_and_bad_options(tmp_path):
    with pytest.raises(ClusterstructError, match="unknown format 'spc'"):
        read_spectra(DATA / "matrix_minutes.csv", fmt="spc")
    with pytest.raises(ClusterstructError, match="pattern"):
        read_spectra(DATA / "matrix_minutes.csv", pattern="{t}")
    with pytest.raises(ClusterstructError, match="not a JCAMP-DX"):
        read_spectra(DATA / "matrix_minutes.csv", fmt="jcamp")


def test_jcamp_link_file_with_two_blocks(tmp_path):
    block = (DATA / "uvvis_znse_15min.jdx").read_text()
    b1 = block.replace("aliquot 15 min", "aliquot 5 min")
    b2 = block.replace("aliquot 15 min", "aliquot 10 min").replace("##YFACTOR=0.001", "##YFACTOR=0.002")
    f = _write(tmp_path / "link.jdx", "##TITLE=ZnSe series\n##JCAMP-DX=5.01\n##DATA TYPE=LINK\n##BLOCKS=2\n"
               + b1 + b2 + "##END=\n")
    s = read_spectra(f)
    np.testing.assert_array_equal(s.times_min, [5, 10])
    np.testing.assert_allclose(s.od_at(300), [0.850, 1.700], atol=1e-12)


def test_binary_file_refused(tmp_path):
    f = tmp_path / "scan.spc"
    f.write_bytes(b"\x4b\x00\x01\x02" * 64)
    with pytest.raises(ClusterstructError, match=r"scan\.spc: binary file"):
        read_spectra(f)
