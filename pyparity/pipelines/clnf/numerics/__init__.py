"""The arithmetic CLNF needs bit for bit, kept apart from the model families: OpenBLAS 0.3.21's float32
Haswell kernels (f32kernels), ports of the OpenCV routines OpenFace calls (cv_ports), and LAPACK on one
thread (lapack_threads)."""
