"""Starting TensorFlow: the CPU backend chosen before it loads."""

from texsynth.runtime.startup import onednn_default


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

    if platform.machine().lower() in ("x86_64", "amd64"):
        assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") in ("0", "1")
