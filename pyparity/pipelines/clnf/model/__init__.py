"""OpenFace's CLNF model files and the point distribution model (PDM.cpp)."""

from pyparity.pipelines.clnf.model.files import ClnfModelFiles, MainModel, read_main_model
from pyparity.pipelines.clnf.model.matbin import MatBinReader
from pyparity.pipelines.clnf.model.pdm import PDM, read_pdm

__all__ = ["ClnfModelFiles", "MainModel", "read_main_model", "MatBinReader", "PDM", "read_pdm"]
