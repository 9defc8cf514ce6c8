"""Stand-ins for JobRunner in local worker processes (light: no TensorFlow), chosen by output name:
``ok*`` writes a JSON of what the worker saw, ``die*`` kills its worker, ``slow*`` waits to be stopped."""

import json
import os
import sys
import time

from texsynth.batch.report import Outcome


class FakeRunner:
    def __init__(self, threads, name):
        self.seen = {"pid": os.getpid(), "name": name, "threads": threads,
                     "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "tensorflow_loaded": "tensorflow" in sys.modules}

    def run(self, job):
        name = job.output.name
        if name.startswith("die"):
            os._exit(9)
        if name.startswith("slow"):
            try:
                time.sleep(120)
            except KeyboardInterrupt:
                return Outcome.of(job, "interrupted", worker=self.seen["name"])
        job.output.parent.mkdir(parents=True, exist_ok=True)
        job.output.write_text(json.dumps(self.seen))
        return Outcome.of(job, "done", 0.01, worker=self.seen["name"])


class BrokenRunner:
    def __init__(self, threads, name):
        raise RuntimeError("no TensorFlow here")
