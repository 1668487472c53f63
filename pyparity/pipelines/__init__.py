"""Reimplemented reference pipelines (MTCNN, CLNF, img2pose, POF), every stage recordable by name."""
