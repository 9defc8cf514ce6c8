"""``texsynth batch``: many syntheses from one manifest, on local worker processes or a Ray cluster.

- ``manifest``: CSV, JSON Lines or a folder of images -> validated jobs (synth command lines)
- ``records``: the small JSON kept beside each output, and the decision to skip a job that is done
- ``worker``: one job in a process that has TensorFlow (threads, weights loaded once, failures)
- ``local``: the pool of local worker processes
- ``ray_runner``: one Ray task per job
- ``report``: each job's outcome, the progress line, the summary table and ``batch.json``

Nothing in this package imports TensorFlow or Ray at import time: the manifest is checked, and
finished jobs are skipped, before either is loaded.
"""

__all__: list[str] = []
