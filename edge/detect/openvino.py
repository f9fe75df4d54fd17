"""The exported model on OpenVINO: the fastest CPU runtime measured here (see README, "Speed").

On CPUs with native bfloat16 (AMX or AVX512-BF16) OpenVINO computes in bfloat16 unless told
`precision: f32`; elsewhere it computes in float32. Colour order, layout and scaling run inside the
compiled graph, so the frame goes in as uint8.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edge.config import OpenvinoDetectorConfig
from edge.detect.exported import ExportedPoseModel
from edge.detect.model import ModelManifest

if TYPE_CHECKING:
    import openvino as ov

DEVICE = "CPU"
# Static shapes run ~15 % faster than one dynamic graph; a camera needs one, tiling one more.
COMPILED_SHAPES_KEPT = 4


def import_openvino() -> ModuleType:
    """openvino, without its model-conversion tools: `import openvino` imports them too, and they
    keep a client id and usage counts in ~/intel and send them to Google Analytics unless the user
    opted out. An edge box must not call home, and it converts nothing: marking the tools as absent
    makes openvino skip them. Called when a detector is built, never at import."""
    sys.modules.setdefault("openvino.tools.ovc", None)  # type: ignore[arg-type]
    import openvino

    module: ModuleType = openvino
    return module


class OpenvinoDetector(ExportedPoseModel):
    def __init__(self, config: OpenvinoDetectorConfig, manifest: ModelManifest) -> None:
        self._ov = import_openvino()
        self._core = self._ov.Core()
        properties: dict[str, object] = {
            "INFERENCE_NUM_THREADS": config.threads,
            "PERFORMANCE_HINT": "LATENCY",
        }
        if config.precision == "f32":
            properties["INFERENCE_PRECISION_HINT"] = "f32"
        self._core.set_property(DEVICE, properties)
        chosen = self._core.get_property(DEVICE, "INFERENCE_PRECISION_HINT").get_type_name()  # "bf16"
        self.backend = f"openvino-{chosen}"
        super().__init__(config, manifest)
        self._model = self._core.read_model(str(config.model))
        self._requests: OrderedDict[tuple[int, ...], ov.InferRequest] = OrderedDict()

    def infer(self, canvases: NDArray[np.uint8]) -> NDArray[np.float32]:
        request = self._request(canvases.shape)
        request.infer({0: canvases})
        return np.array(request.get_output_tensor(0).data, copy=True)

    def _request(self, shape: tuple[int, ...]) -> ov.InferRequest:
        from openvino.preprocess import ColorFormat, PrePostProcessor

        runtime = self._ov
        if shape in self._requests:
            self._requests.move_to_end(shape)
            return self._requests[shape]
        batch, height, width, _ = shape
        model = self._model.clone()
        model.reshape({model.input(0): runtime.PartialShape([batch, 3, height, width])})
        steps = PrePostProcessor(model)
        steps.input().tensor().set_element_type(runtime.Type.u8).set_layout(
            runtime.Layout("NHWC")
        ).set_color_format(ColorFormat.BGR)
        steps.input().model().set_layout(runtime.Layout("NCHW"))
        steps.input().preprocess().convert_element_type(runtime.Type.f32).convert_color(
            ColorFormat.RGB
        ).scale(255.0)
        request = self._core.compile_model(steps.build(), DEVICE).create_infer_request()
        self._requests[shape] = request
        if len(self._requests) > COMPILED_SHAPES_KEPT:
            self._requests.popitem(last=False)
        return request
