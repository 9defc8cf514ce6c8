"""The names of the options the library accepts, importable without TensorFlow.

Commands build their parsers from these, so ``--help`` and flag errors answer without loading the
numerical stack; library modules import them to validate their configurations.
"""

__all__ = ["DISTANCE_TYPES", "JOIN_MODES", "PADDINGS", "PRECISIONS", "SEED_KINDS", "SW_JOIN_MODES", "WEIGHT_NAMES",
           "DREAM_LAYERS", "LOSSES", "OPTIMIZERS", "SCHEDULES", "STAGE_DETAILS"]

# How several sources' statistics combine (see texsynth.stats).
JOIN_MODES = ("average", "max", "log_euclidean", "affine_invariant")
# The join modes that have a meaning for distributions (sliced Wasserstein, texsynth.stats.sliced_wasserstein).
SW_JOIN_MODES = ("average", "affine_invariant")
# The statistic matched at every layer and octave (see texsynth.stats).
LOSSES = ("gram", "sw")
# How synthesis visits the octaves (see texsynth.schedule) and which optimiser it runs (texsynth.optim).
SCHEDULES = ("coarse-to-fine", "joint")
OPTIMIZERS = ("device", "scipy")
# What a finer coarse-to-fine stage starts with besides the upsampled coarser result (texsynth.detail_copy).
STAGE_DETAILS = ("copied", "noise")
# Inter-frame distance of animations (see texsynth.interframe).
DISTANCE_TYPES = ("l2", "lap1")
# Precision of the network's feature maps (see texsynth.runtime.precision).
PRECISIONS = ("auto", "float32", "bfloat16")
# Starting images of synthesis (see texsynth.seeds).
SEED_KINDS = ("random", "symmetric", "cppn", "image")
# Named weight choices besides a path (see texsynth.nn.weights).
WEIGHT_NAMES = ("auto", "hed", "vgg16", "vgg19")
# Boundary conditions of the network and the pyramid (see texsynth.nn.vgg).
PADDINGS = ("valid", "same", "wrap")
# DeepDream's default layers. With the bundled (edge-detection fine-tuned) VGG16, conv5_3 grows
# swirling patterns over the whole photo and keeps it recognisable, while conv3/conv4 layers mostly
# paint large areas in saturated orange.
DREAM_LAYERS = ("conv5_3",)
