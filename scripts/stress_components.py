"""Which labelled stress component does a potential's stress follow? A measurement.

`acefit.consistency` finds stresses that disagree with their energies from the labels
alone, on strain pairs. This script is the second witness, for any frames: a potential
fitted without stress rows (V 0) predicts stresses from energies and forces alone; per
config_type it prints the MAE of those predictions against the labels as they are and
read in each other convention of ``acefit.consistency.STRESS_READINGS``, and the
correlation of each predicted shear component with each labelled one:

    acefit fit my.yaml --set 'data.weights.default={E: 30.0, F: 1.0, V: 0.0}' -o /tmp/v0
    python scripts/stress_components.py /tmp/v0/potential.h5 my_train.xyz

On Zuo Si (docs/zuo_tuning.md, session 26; configs/zuo_si.yaml is V 0 already):

    acefit fit configs/zuo_si.yaml -o /tmp/v0 --set basis.order=3 --set basis.totaldegree=18 \
        --set 'solvers=[{name: blr}]' --set 'selection.budgets=[2000]' \
        --set 'export.formats=[acefit]' --set export.committee=0
    python scripts/stress_components.py /tmp/v0/potential.h5 ../shared/datasets/zuo2020/Si/train.xyz

the Elastic frames' predicted yz follows the labelled xz (correlation 1.00) and the other
way round, and their stress MAE over the six components falls from 1.83 GPa as labelled
to 0.51 GPa with yz and xz swapped; AIMD-NVT, Surface and Vacancy frames are closest as
labelled (0.22, 0.34, 0.16 GPa).
"""

from __future__ import annotations

import argparse

import numpy as np

from acefit.consistency import STRESS_READINGS
from acefit.metrics import EV_PER_A3_TO_GPA

SHEAR = ("yz", "xz", "xy")


def predicted_and_labelled(potential, configs) -> dict:
    """{config_type: (predicted, labelled)} Voigt stresses in GPa, (frames, 6) each, of the
    periodic ``configs`` (:class:`acefit.data.LabelledConfig`) with a stress."""
    from acefit.calculator import ACECalculator

    calc = ACECalculator(potential)
    out = {}
    for c in configs:
        if c.stress is None or not c.atoms.pbc.all():
            continue
        atoms = c.atoms.copy()
        atoms.calc = calc
        pred, lab = out.setdefault(c.config_type, ([], []))
        pred.append(atoms.get_stress() * EV_PER_A3_TO_GPA)
        lab.append(np.asarray(c.stress) * EV_PER_A3_TO_GPA)
    return {t: (np.array(p), np.array(l)) for t, (p, l) in sorted(out.items())}


def _correlation(x, y) -> float:
    return float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else float("nan")


def component_rows(stresses: dict) -> list[dict]:
    """Per config_type: frames, the MAE (GPa) under each reading, the reading with the
    lowest, and the correlation of predicted shear component i with labelled j."""
    rows = []
    for config_type, (pred, lab) in stresses.items():
        mae = {name: float(np.abs(pred - np.array([read(v) for v in lab])).mean())
               for name, read in STRESS_READINGS.items()}
        corr = {(a, b): _correlation(pred[:, 3 + i], lab[:, 3 + j])
                for i, a in enumerate(SHEAR) for j, b in enumerate(SHEAR)}
        rows.append({"config_type": config_type, "frames": len(pred), "mae": mae,
                     "best": min(mae, key=mae.get), "corr": corr})
    return rows


def main(argv=None) -> None:
    from acefit.data import read_configurations
    from acefit.potential import Potential

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("potential", help="a potential file (.h5), best fitted without stresses")
    p.add_argument("data", nargs="+", help="labelled configurations with stresses")
    args = p.parse_args(argv)
    rows = component_rows(predicted_and_labelled(Potential.load(args.potential),
                                                 read_configurations(args.data)))
    names = list(STRESS_READINGS)
    print("| config_type | frames | " + " | ".join(f"MAE {n} (GPa)" for n in names)
          + " | lowest | " + " | ".join(f"r(pred {a}, label {b})" for a in SHEAR
                                       for b in SHEAR) + " |")
    print("|---|---:|" + "---:|" * len(names) + "---|" + "---:|" * 9)
    for r in rows:
        print(f"| {r['config_type']} | {r['frames']} | "
              + " | ".join(f"{r['mae'][n]:.3f}" for n in names) + f" | {r['best']} | "
              + " | ".join(f"{r['corr'][a, b]:.2f}" for a in SHEAR for b in SHEAR) + " |")


if __name__ == "__main__":
    main()
