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


def test_a_config_type_named_all_is_a_group_beside_the_total():
    """Found in review (session 32): the total was kept under the group key "all", so a
    config_type named "all" took the total's place: 4 frames, 1 meV/atom off on the one
    typed "all", gave the total n=1, mae=1.0 and no "all" group."""
    import numpy as np

    from acefit.design import DesignBlock
    from acefit.metrics import errors_of_predictions

    k = 4
    block = DesignBlock(A=np.zeros((k, 1)), y=np.zeros(k), w=np.ones(k), config=np.arange(k),
                        kind=np.array(["E"] * k), atom=-np.ones(k, int),
                        component=-np.ones(k, int), n_atoms=np.ones(k, int),
                        volume=np.full(k, np.nan),
                        config_type=np.array(["all", "bulk", "bulk", "bulk"]))
    (e,) = errors_of_predictions(block, np.array([[1e-3], [0.0], [0.0], [0.0]]))
    assert e["all"]["E"]["n"] == 4 and math.isclose(e["all"]["E"]["mae"], 0.25)
    assert e["by_config_type"]["all"]["E"]["n"] == 1
    assert math.isclose(e["by_config_type"]["all"]["E"]["mae"], 1.0)
    (merged,) = _merge_columns(iter([[e], [e]]))       # the errors stage's sums
    assert merged["all"]["E"]["n"] == 8 and math.isclose(merged["all"]["E"]["mae"], 0.25)
    assert merged["by_config_type"]["all"]["E"]["n"] == 2
    assert sorted(merged["by_config_type"]) == ["all", "bulk"]
