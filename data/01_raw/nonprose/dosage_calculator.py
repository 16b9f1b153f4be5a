"""Dose calculations for paediatric and renal patients.

The functions below take body weight in kilograms and creatinine clearance in mL/min and
return doses in milligrams. They are used by the ward prescribing tool and are covered by
the unit tests in test_dosage.py. Always check the result against the local formulary.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

MAX_DAILY_MG = {"paracetamol": 4000, "ibuprofen": 2400, "amoxicillin": 3000}
RENAL_BANDS = [(50, 1.0), (30, 0.75), (10, 0.5), (0, 0.25)]


@dataclass
class Patient:
    """A patient as the calculator sees them: age, weight and kidney function."""

    age_years: float
    weight_kg: float
    creatinine_clearance: Optional[float] = None
    allergies: list[str] = field(default_factory=list)


def weight_based_dose(patient: Patient, mg_per_kg: float, drug: str) -> float:
    """Return the single dose in mg for a weight-based regimen.

    The dose is capped at one quarter of the maximum daily dose, so that four doses a day
    never exceed the limit. Children under three months need a specialist's review.
    """
    if patient.weight_kg <= 0:
        raise ValueError(f"weight must be positive, got {patient.weight_kg!r}")
    dose = mg_per_kg * patient.weight_kg
    cap = MAX_DAILY_MG.get(drug, math.inf) / 4
    return round(min(dose, cap), 1)


def renal_factor(clearance: Optional[float]) -> float:
    """Fraction of the normal dose for a creatinine clearance (None means normal)."""
    if clearance is None:
        return 1.0
    for lower, factor in RENAL_BANDS:
        if clearance >= lower:
            return factor
    return RENAL_BANDS[-1][1]


def adjusted_dose(patient: Patient, mg_per_kg: float, drug: str) -> float:
    """Weight-based dose reduced for impaired renal function."""
    if drug in patient.allergies:
        raise PermissionError(f"{drug} is listed as an allergy")
    return round(weight_based_dose(patient, mg_per_kg, drug) * renal_factor(patient.creatinine_clearance), 1)


if __name__ == "__main__":
    child = Patient(age_years=4, weight_kg=16.5)
    for name, per_kg in [("paracetamol", 15), ("ibuprofen", 10)]:
        print(f"{name}: {adjusted_dose(child, per_kg, name)} mg")
    # >>> adjusted_dose(Patient(70, 80, creatinine_clearance=25), 10, "amoxicillin")
    # 375.0
