"""The errors stage's merge of the errors of disjoint row blocks."""

import math

from acefit.checkpoint_errors import _merge_columns


def _stats(e, by_type):
    nan = {"mae": float("nan"), "rmse": float("nan"), "n": 0}
    return {"units": {"E": "meV/atom"}, "all": {"E": e, "F": nan, "S": nan},
            "by_config_type": {k: {"E": v, "F": nan, "S": nan} for k, v in by_type.items()}}


def test_blocks_merge_as_the_rows_together_whatever_groups_each_holds():
    one = {"mae": 1.0, "rmse": 1.0, "n": 2}
    two = {"mae": 4.0, "rmse": 2.0, "n": 1}
    blocks = iter([[_stats(one, {"b": one})], [_stats(two, {"a": two})]])
    (merged,) = _merge_columns(blocks)
    assert merged["all"]["E"] == {"mae": 2.0, "rmse": math.sqrt(2.0), "n": 3}
    assert merged["all"]["F"]["n"] == 0 and math.isnan(merged["all"]["F"]["mae"])
    assert list(merged["by_config_type"]) == ["a", "b"]
    assert merged["by_config_type"]["a"]["E"] == {"mae": 4.0, "rmse": 2.0, "n": 1}
    assert merged["units"] == {"E": "meV/atom"}
    assert _merge_columns(iter([])) == []
