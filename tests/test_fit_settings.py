"""The config read as a fit's stage arguments (acefit.fit_settings)."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from acefit.data import configurations_from_atoms
from acefit.fit_settings import isolated_atom_elements, separated_atoms
from acefit.validate import ValidationReport, separated_atoms_note


def _config(e0, one_body=False):
    return {"data": {"e0": e0}, "basis": {"one_body": one_body}}


@pytest.mark.parametrize("e0, one_body, isolated, expected", [
    ({"Ni": -0.1, "Al": -0.2}, False, (), None),   # given: the user's free atoms
    ("fit", False, (), ["Al", "Ni"]),
    ("fit", False, ("Al", "Ni"), ["Al", "Ni"]),     # no one-body term to match them with
    ("fit", True, ("Al",), ["Ni"]),
    ("fit", True, ("Al", "Ni"), None),
    ("zero", True, (), ["Al", "Ni"]),
])
def test_separated_atoms_are_pinned_by_given_e0_or_a_matchable_isolated_atom(
        e0, one_body, isolated, expected):
    """An audit (session 38) read a Ni-Al run's dimer table, E relative to the separated
    atoms, with E0 fitted (the mean energy per atom) as if the separated atoms were free
    ones: Al-Al lowest at +0.179 eV where the labels' EMT gives -3.95 eV."""
    record = separated_atoms(_config(e0, one_body), ["Al", "Ni"], isolated)
    assert record == (None if expected is None else {"e0": e0, "elements": expected})


def test_the_note_names_the_elements_and_what_e0_is():
    fit = separated_atoms_note({"e0": "fit", "elements": ["Al", "Ni"]})
    assert fit.startswith("The separated atoms' energy of Al, Ni is not constrained by the "
                          "data: E0 is fitted (the mean energy per atom")
    assert "the repulsive-core verdict, is." in fit
    assert "the labels' zero" in separated_atoms_note({"e0": "zero", "elements": ["Al"]})
    assert separated_atoms_note(None) == ""


def test_isolated_atoms_are_lone_atoms_with_an_energy():
    def frame(symbols, positions, energy, cell=None):
        atoms = Atoms(symbols, positions=positions, cell=cell, pbc=cell is not None)
        atoms.calc = SinglePointCalculator(atoms, energy=energy,
                                           forces=np.zeros((len(atoms), 3)))
        return atoms

    frames = [frame("Al", [[0, 0, 0]], -0.3),                            # isolated
              frame("Ni", [[0, 0, 0]], -0.5, cell=[2.5, 2.5, 2.5]),      # a crystal cell
              frame("NiAl", [[0, 0, 0], [0, 0, 2.4]], -3.0)]
    assert isolated_atom_elements(configurations_from_atoms(frames)) == ["Al"]


def test_validate_says_so_below_its_dimers():
    dimer = {"pair": "Al-Al", "lowest_eV": 0.179, "lowest_at_A": 2.65, "shortest_eV": 400.0,
             "rises_inwards_from_A": 2.65, "repulsive_core": True}
    report = ValidationReport(dimers=[dimer])
    assert "not constrained" not in report.to_markdown()
    report.separated_atoms = {"e0": "fit", "elements": ["Al"]}
    assert ("0.55 of the sum of covalent radii. The separated atoms' energy of Al is not "
            "constrained by the data") in report.to_markdown()
