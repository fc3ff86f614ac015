"""NEOVISION2 annotation CSV: header, boxes, skipped rows, DCR masks, malformed rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snnconv.datasets.neovision2 import HEADER, canonical_type, read_annotations
from snnconv.datasets.neovision2_csv import format_row
from snnconv.exceptions import DataError


def _write(tmp_path, lines, header=HEADER, name="clip.csv", bom=False):
    path = tmp_path / name
    text = "\n".join([header, *lines]) + "\n"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def test_header_is_checked_exactly(tmp_path):
    path = _write(tmp_path, [], header=HEADER.replace("ObjectType", "Class"))
    with pytest.raises(ValueError, match=r"clip\.csv:1: not a NEOVISION2 annotation header"):
        read_annotations(path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty file"):
        read_annotations(tmp_path / "empty.csv")


def test_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes(
        ("\ufeff" + HEADER + "\r\n" + "3,1,2,5,2,5,8,1,8,Car,FALSE,FALSE,1.0,,1.4\r\n").encode()
    )
    a = read_annotations(path)
    assert a.frame.tolist() == [3] and a.object_type.tolist() == ["Car"]


def test_fields_are_parsed(tmp_path):
    path = _write(
        tmp_path,
        [
            "0,10,20,30,20,30,40,10,40,Car,TRUE,FALSE,0.75,north gate,1.4",
            "7,1.5,2.5,3.5,2.5,3.5,4.5,1.5,4.5,person,FALSE,TRUE,,,1.4",
        ],
    )
    a = read_annotations(path)
    assert len(a) == 2
    assert a.frame.tolist() == [0, 7]
    assert a.object_type.tolist() == ["Car", "Person"]  # canonical case
    assert a.occlusion.tolist() == [True, False]
    assert a.ambiguous.tolist() == [False, True]
    assert a.confidence[0] == 0.75 and math.isnan(a.confidence[1])
    assert a.site_info.tolist() == ["north gate", ""]
    assert a.version.tolist() == ["1.4", "1.4"]
    assert a.line.tolist() == [2, 3]
    np.testing.assert_array_equal(a.quad[0], [10, 20, 30, 20, 30, 40, 10, 40])


def test_quadrilateral_becomes_clipped_axis_aligned_box(tmp_path):
    path = _write(
        tmp_path,
        [
            # A rotated quadrilateral: min/max of the corners.
            "0,5,1,9,4,6,8,2,5,Truck,FALSE,FALSE,1,,1.4",
            # Leaves the frame on the left and bottom: clipped to [0, 20] x [0, 10].
            "0,-4,6,3.2,6,3.2,14,-4,14,Bus,FALSE,FALSE,1,,1.4",
            # Entirely outside: empty box.
            "0,25,1,30,1,30,5,25,5,Car,FALSE,FALSE,1,,1.4",
        ],
    )
    boxes = read_annotations(path).boxes(width=20, height=10)
    np.testing.assert_array_equal(boxes, [[2, 1, 9, 8], [0, 6, 4, 10], [20, 1, 20, 5]])


def test_empty_object_type_and_blank_lines_are_skipped(tmp_path):
    path = _write(
        tmp_path,
        [
            "0,0,0,0,0,0,0,0,0,,FALSE,FALSE,0,,1.4",
            "",
            "1,junk,0,0,0,0,0,0,0,  ,FALSE,FALSE,0,,1.4",  # empty type: not validated further
            "2,1,1,4,1,4,4,1,4,Cyclist,FALSE,FALSE,1,,1.4",
        ],
    )
    a = read_annotations(path)
    assert a.frame.tolist() == [2] and a.skipped_empty == 2


def test_dcr_regions_are_kept_as_ignore_masks(tmp_path):
    path = _write(
        tmp_path,
        [
            "4,1,1,3,1,3,2,1,2,DCR,FALSE,FALSE,1,,1.4",
            "4,4,0,9,0,9,1,4,1,Car,FALSE,FALSE,1,,1.4",
            "5,0,0,6,0,6,3,0,3,dcr,FALSE,FALSE,1,,1.4",
        ],
    )
    a = read_annotations(path)
    assert a.objects().object_type.tolist() == ["Car"]
    assert len(a.dcr()) == 2
    expected = np.zeros((3, 6), bool)
    expected[1, 1:3] = True
    np.testing.assert_array_equal(a.ignore_mask(4, width=6, height=3), expected)
    assert a.ignore_mask(5, 6, 3).all()
    assert not a.ignore_mask(6, 6, 3).any()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1,2,3,4,5,6,7,8,9,Car,FALSE,FALSE,1,,1.4,extra", "expected 15 fields, got 16"),
        ("x,2,3,4,5,6,7,8,9,Car,FALSE,FALSE,1,,1.4", "Frame must be an integer"),
        ("-1,2,3,4,5,6,7,8,9,Car,FALSE,FALSE,1,,1.4", "Frame must be >= 0"),
        ("1,2,3,4,five,6,7,8,9,Car,FALSE,FALSE,1,,1.4", "BoundingBox_Y2 must be a number"),
        ("1,2,3,4,5,6,nan,8,9,Car,FALSE,FALSE,1,,1.4", "BoundingBox_Y3 must be finite"),
        ("1,2,3,4,5,6,7,8,9,Car,maybe,FALSE,1,,1.4", "Occlusion must be TRUE or FALSE"),
        ("1,2,3,4,5,6,7,8,9,Car,FALSE,yes,1,,1.4", "Ambiguous must be TRUE or FALSE"),
        ("1,2,3,4,5,6,7,8,9,Car,FALSE,FALSE,high,,1.4", "Confidence must be a number"),
        ("1,2,3,4,5,6,7,8,9,Car,FALSE,FALSE,nan,,1.4", "Confidence must be finite or empty"),
        ("1,2,3,4,5,6,7,8,9,Car,FALSE,FALSE,-inf,,1.4", "Confidence must be finite or empty"),
        ("1,2,3,4,5,6,7,8,9,Car,FALSE,FALSE,1e400,,1.4", "Confidence must be finite or empty"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, row, message):
    good = "0,1,1,2,1,2,2,1,2,Car,FALSE,FALSE,1,,1.4"
    path = _write(tmp_path, [good, good, row])
    with pytest.raises(DataError, match=message) as err:
        read_annotations(path)
    assert f"{path}:4:" in str(err.value)


def test_canonical_type_spellings():
    assert canonical_type(" car ") == "Car"
    assert canonical_type("Tractor-trailer") == "Tractor-Trailer"
    assert canonical_type("dcr") == "DCR"
    assert canonical_type("Zeppelin") == "Zeppelin"


def test_format_row_round_trips(tmp_path):
    row = format_row(12, (1, 2, 3.5, 2, 3.5, 7, 1, 7), "Bus", occlusion=True)
    assert row == [
        "12",
        "1",
        "2",
        "3.5",
        "2",
        "3.5",
        "7",
        "1",
        "7",
        "Bus",
        "TRUE",
        "FALSE",
        "1",
        "",
        "1.4",
    ]
    a = read_annotations(_write(tmp_path, [",".join(row)]))
    assert a.object_type.tolist() == ["Bus"] and a.occlusion.tolist() == [True]
    np.testing.assert_array_equal(a.boxes(10, 10), [[1, 2, 4, 7]])


def test_non_utf8_file_is_a_data_error_naming_file_and_line(tmp_path):
    from snnconv.exceptions import DataError

    path = tmp_path / "latin1.csv"
    good = "0,1,1,5,1,5,5,1,5,Car,FALSE,FALSE,1.0,s,v"
    path.write_bytes((HEADER + "\n" + good + "\n").encode() + "Café,x\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.csv:3: not UTF-8"):
        read_annotations(path)
