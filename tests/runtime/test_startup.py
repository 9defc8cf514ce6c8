"""Starting TensorFlow: the CPU backend chosen before it loads."""

import os

from texsynth.runtime.startup import X86_64, onednn_default


def test_onednn_is_turned_on_for_x86_unless_the_user_chose():
    assert onednn_default({}, "x86_64") == "1"
    assert onednn_default({}, "AMD64") == "1"
    assert onednn_default({"TF_ENABLE_ONEDNN_OPTS": "0"}, "x86_64") is None
    assert onednn_default({"TF_ENABLE_ONEDNN_OPTS": "1"}, "x86_64") is None
    assert onednn_default({}, "aarch64") is None


def test_the_test_process_runs_with_the_choice_made():
    # conftest starts TensorFlow through start_tensorflow: on x86-64 the variable is set by now.
    import os
    import platform

    if platform.machine().lower() in X86_64:
        assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") in ("0", "1")


def test_convolution_plan_follows_the_backend_and_the_cpu():
    # A fresh process per backend: the choice is made when TensorFlow loads. Bands wherever oneDNN
    # runs the convolutions; the input-gradient form there too, but only on x86-64 without AVX-512.
    import platform
    import subprocess
    import sys
    from pathlib import Path

    from texsynth.runtime.startup import CONV_BAND_BYTES

    root = Path(__file__).resolve().parents[2]
    probe = ("from texsynth.runtime.startup import conv_band_bytes, conv_by_transpose; "
             "print(conv_band_bytes(), conv_by_transpose({'avx2'}), conv_by_transpose({'avx2', 'avx512f'}))")
    seen = {}
    for flag in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": flag, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        seen[flag] = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                                    cwd=root, timeout=120, check=True).stdout.split()[-3:]
    x86 = platform.machine().lower() in X86_64
    assert seen == {"0": ["None", "False", "False"], "1": [str(CONV_BAND_BYTES), str(x86), "False"]}


def test_compiled_arithmetic_is_not_regrouped():
    # start_tensorflow (run by conftest) turns off the grappler rewrites that reassociate products
    # and sums with constants, whose choices varied between processes. With them on, about 40% of
    # these values came out differently compiled than eager.
    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).uniform(1, 2, 100_000).astype(np.float32))
    for expression in (lambda v: (v * 3.1) * 7.3, lambda v: (v + 0.1) + 1e3 - 0.3):
        np.testing.assert_array_equal(tf.function(expression)(x).numpy(), expression(x).numpy())


def test_the_rewrites_are_off_even_where_tensorflow_was_loaded_first():
    # A script that imports a texsynth module (and so TensorFlow) before start_tensorflow got the
    # rewrites on, and other pixels than the command for the same seed.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = ("import tensorflow as tf; tf.constant(1.0) + 1.0\n"
             "from texsynth.runtime import start_tensorflow; start_tensorflow(); start_tensorflow()\n"
             "options = tf.config.optimizer.get_experimental_options()\n"
             "print(options.get('arithmetic_optimization'), options.get('constant_folding'))")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=root,
                         timeout=120, check=True).stdout.split()
    assert out[-2:] == ["False", "False"]
