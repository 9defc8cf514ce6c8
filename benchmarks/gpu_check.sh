#!/usr/bin/env bash
# GPU check for texsynth: on a machine with an NVIDIA GPU and this project's files, install the CUDA
# build of TensorFlow, run the GPU-relevant tests and print seconds per iteration at 512, 1024 and
# 2048, the time to a finished 512x512 texture at the defaults, and peak GPU memory. Meant to finish
# within 5 minutes on a current data-centre GPU.
#
#   bash benchmarks/gpu_check.sh            # installs tensorflow[and-cuda] from the package index
#   WHEELS=/path/to/wheels bash benchmarks/gpu_check.sh   # offline: install from a folder of wheels
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-/tmp/texsynth-gpu-venv}
python3 -m venv "$venv"
. "$venv/bin/activate"
pip_args=(--quiet)
if [ -n "${WHEELS:-}" ]; then pip_args+=(--no-index --find-links "$WHEELS"); fi
# The CUDA build instead of requirements.txt's CPU one; the rest as requirements.txt pins it.
grep -v '^tensorflow==' requirements.txt | grep -v '^-e' | grep -v '^ray' > /tmp/texsynth-gpu-reqs.txt
python -m pip install "${pip_args[@]}" "tensorflow[and-cuda]==2.21.0" -r /tmp/texsynth-gpu-reqs.txt
python -m pip install "${pip_args[@]}" --no-deps -e .
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python -c "import tensorflow as tf; gpus = tf.config.list_physical_devices('GPU'); print('TensorFlow', tf.__version__, 'GPUs:', gpus); assert gpus, 'TensorFlow sees no GPU'"
# Tests whose code paths change on a GPU: the device optimiser, statistics (sorting on the device),
# the objective's gradient, synthesis end to end.
# In one process (-n 0): each TensorFlow process reserves most of the GPU's memory.
timeout 150 python -m pytest -q -x -n 0 -p no:cacheprovider tests/optim tests/stats tests/test_objective.py \
    tests/test_schedule.py tests/test_spectrum.py
timeout 150 python benchmarks/gpu_timings.py
