"""acefit.formatting: the one "number or a dash" formatter the tables, reports and log
lines share, and the conventions each caller keeps (its dash, its NaN, its SE rule)."""

import math

import numpy as np
import pytest

from acefit.formatting import DASH, fixed, mae_text, number


@pytest.mark.parametrize("x, spec, expected", [
    (0.12345, ".2f", "0.12"), (-1.5, "+.2f", "-1.50"), (2.0, "+.2f", "+2.00"),
    (12345.678, ".5g", "12346"), (3, ".4g", "3"), (np.float64(0.5), ".3f", "0.500"),
    (None, ".2f", DASH), (math.nan, ".2f", DASH), (math.inf, ".4g", DASH),
    (np.float64("nan"), ".2f", DASH), (np.float32("nan"), ".2f", DASH)])
def test_number_is_the_value_or_a_dash(x, spec, expected):
    assert number(x, spec) == expected


def test_number_suffix_and_missing_and_keep_nan():
    assert number(95.0, ".0f", " %") == "95 %"
    assert number(None, ".0f", " %") == DASH            # no suffix after the dash
    assert number(None, ".5g", missing="-") == "-"
    # keep_nan: NaN and inf print as what they are; None still as missing
    assert number(math.nan, ".5g", missing="-", keep_nan=True) == "nan"
    assert number(-math.inf, ".4g", keep_nan=True) == "-inf"
    assert number(None, ".4g", missing="None", keep_nan=True) == "None"


def test_fixed_is_number_with_decimals():
    assert fixed(1 / 3, 4) == "0.3333"
    assert fixed(None, 2) == DASH
    assert fixed(math.nan, 5, keep_nan=True) == "nan"


def test_mae_text_shows_the_se_the_caller_passes():
    assert mae_text(0.1234, 0.0101, 3) == "0.123 ± 0.010"
    assert mae_text(0.1234, None, 3) == "0.123"
    assert mae_text(0.1234, 0.0, 2) == "0.12 ± 0.00"     # the caller's rule, not this one's
    assert mae_text(None, 0.5, 2) == DASH


def test_the_callers_keep_their_conventions():
    """What each table printed before it shared the formatter, byte for byte."""
    from acefit.compare import _fmt as compare_cell
    from acefit.evaluate import mae_cell
    from acefit.solver_runs import _fmt as log_value
    from acefit.validate import _fmt as validate_cell

    assert compare_cell(None, 5) == DASH and compare_cell(math.nan, 5) == "nan"
    assert compare_cell(0.007481, 5) == "0.00748"
    assert log_value(None) == "-" and log_value(math.nan) == "nan"
    assert log_value(0.0123456) == "0.012346"
    assert validate_cell(None) == "None" and validate_cell(math.nan) == "nan"
    assert validate_cell(2.71828) == "2.718"
    # evaluate's cells: no SE where the bootstrap gave none (NaN: one configuration,
    # acefit.metrics.MIN_SE_CONFIGS), one of 0 over several, a dash without rows
    assert mae_cell({"n": 3, "mae": 0.5, "se": 0.0}, 2) == "0.50 ± 0.00"
    assert mae_cell({"n": 3, "mae": 0.5, "se": math.nan}, 2) == "0.50"
    assert mae_cell({"n": 3, "mae": 0.5, "se": 0.25}, 2) == "0.50 ± 0.25"
    assert mae_cell({"n": 3, "mae": 0.5}, 2) == "0.50"
    assert mae_cell({"n": 0, "mae": math.nan, "se": 0.1}, 2) == DASH
