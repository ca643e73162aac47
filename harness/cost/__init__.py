"""What a run cost: energy (measured or estimated, per part) and money (from a stated price).

readings  - EnergyReading / EnergyMeasurement: joules per part, labelled measured/estimated/unknown
meter     - start_energy_meter(): picks NVML, RAPL or an estimate; why not codecarbon
nvml      - GPU energy through nvidia-ml-py (imported only when used)
rapl      - CPU package energy from /sys/class/powercap, wrap-arounds included
estimate  - CPU-time and GPU-time estimates and where their power figures come from
settings  - the config's `cost:` block
money     - price x device-hours or x tokens; per-problem and per-correct divisions
block     - the score file's `cost` fields for one run
"""
