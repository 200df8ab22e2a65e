"""Engine speed and memory against a hand-written plain-Python floor: ``python -m benchmarks``."""
