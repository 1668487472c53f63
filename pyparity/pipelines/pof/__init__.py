"""POF 3D body reconstruction (humanpose3d_backend src/pof @ 396dac4) in NumPy.

Public API: see ``pyparity.pipelines.pof.reconstruct`` (``reconstruct_3d``, ``predict_pof``,
``solve_least_squares``) and ``checkpoint`` (``synthetic_model``, ``load_checkpoint``).
"""
