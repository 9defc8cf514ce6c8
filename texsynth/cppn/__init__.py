"""CPPN pattern generator: pictures drawn by a random network of the pixel coordinates.

* :mod:`.model` - :class:`CPPNConfig` (every setting, frozen and checked when made), the
  :class:`CPPN` with its seeded weights and latent vector z (:func:`build_cppn`,
  :func:`draw_z`), and the activations of each architecture;
* :mod:`.render` - chunked rendering at any resolution with bounded memory
  (:func:`render_rows`, :func:`render`), tone normalisation, and the texture synthesizer's
  seed image (:func:`render_seed_image`);
* :mod:`.morph` - looping z paths for morph animations (:func:`interpolate_z`);
* :mod:`.fileformat` - the ``.npz`` file of a network (:func:`save_cppn`, :func:`load_cppn`)
  and :func:`with_z`.

All of it is pure numpy (no TensorFlow). The command line lives in :mod:`texsynth.commands.cppn`.
"""

from texsynth.cppn.fileformat import FILE_FORMAT, FILE_VERSION, load_cppn, save_cppn, with_z
from texsynth.cppn.model import ARCHITECTURES, CPPN, CPPNConfig, build_cppn, draw_z, new_seed
from texsynth.cppn.morph import interpolate_z
from texsynth.cppn.render import default_chunk_rows, render, render_rows, render_seed_image, unit_to_uint8

__all__ = ["ARCHITECTURES", "CPPN", "CPPNConfig", "FILE_FORMAT", "FILE_VERSION", "build_cppn", "default_chunk_rows",
           "draw_z", "interpolate_z", "load_cppn", "new_seed", "render", "render_rows", "render_seed_image",
           "save_cppn", "unit_to_uint8", "with_z"]
