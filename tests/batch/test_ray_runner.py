"""texsynth/batch/ray_runner.py: what a task asks for, how Ray starts (a real Ray run: tests/commands/test_batch.py)."""

from texsynth.batch.ray_runner import LOCAL, OBJECT_STORE_BYTES, init_options, task_options


def test_tasks_ask_for_a_gpu_when_the_cluster_has_gpus():
    assert task_options({"CPU": 64.0, "GPU": 8.0}, 2) == {"num_gpus": 1, "num_cpus": 2, "max_calls": 1,
                                                            "max_retries": 1}
    assert task_options({"CPU": 64.0}, 3) == {"num_cpus": 3, "max_retries": 1}
    assert task_options({"CPU": 4.0, "GPU": 0.0}, 1) == {"num_cpus": 1, "max_retries": 1}


def test_a_local_instance_is_small_and_quiet():
    options = init_options(LOCAL, workers=2, threads=3)
    assert options["address"] == "local" and options["num_cpus"] == 6
    assert options["object_store_memory"] == OBJECT_STORE_BYTES
    assert options["include_dashboard"] is False and options["log_to_driver"] is False
    assert options["configure_logging"] is False and options["_node_ip_address"] == "127.0.0.1"  # loopback only


def test_joining_a_cluster_sets_no_resources():
    options = init_options("auto", workers=2, threads=1)
    assert options == {"address": "auto", "include_dashboard": False, "log_to_driver": False,
                       "configure_logging": False}
    # Ray Client passes other arguments on to the server's ray.init.
    assert init_options("ray://head:10001", 1, 1) == {"address": "ray://head:10001", "log_to_driver": False}
