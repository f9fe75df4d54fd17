"""The exported model on OpenVINO: the fastest CPU runtime measured here (see README, "Speed").

On CPUs with native bfloat16 (AMX or AVX512-BF16) OpenVINO computes in bfloat16 unless told
`precision: f32`; elsewhere it computes in float32. `precision: int8` runs an int8 model
(models/quantize.py): its convolutions in int8, the rest in float32. Colour order, layout and
scaling run inside the compiled graph, so the frame goes in as uint8.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edge.config import OpenvinoDetectorConfig
from edge.detect.exported import ExportedPoseModel
from edge.detect.model import ModelError, ModelManifest

if TYPE_CHECKING:
    import openvino as ov

DEVICE = "CPU"
# Static shapes run ~15 % faster than one dynamic graph; a camera needs one, tiling one more.
COMPILED_SHAPES_KEPT = 4
# Values of oneDNN's ONEDNN_MAX_CPU_ISA that leave it no bfloat16 kernels: set, they make a CPU with
# bfloat16 behave as one without (the way an older CPU is emulated), and OpenVINO's own default,
# which reads the CPU itself, would still pick bfloat16 and fail or crawl.
ISA_LIMITS_WITHOUT_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI"})


def import_openvino() -> ModuleType:
    """openvino, without its model-conversion tools: `import openvino` imports them too, and they
    keep a client id and usage counts in ~/intel and send them to Google Analytics unless the user
    opted out. An edge box must not call home, and it converts nothing: marking the tools as absent
    makes openvino skip them. Called when a detector is built, never at import."""
    sys.modules.setdefault("openvino.tools.ovc", None)  # type: ignore[arg-type]
    import openvino

    module: ModuleType = openvino
    return module


def native_bf16(core: ov.Core) -> bool:
    """Whether the CPU computes bfloat16 natively: OpenVINO's default precision there is bf16,
    and no ONEDNN_MAX_CPU_ISA limit takes it away."""
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).strip().upper()
    default = core.get_property(DEVICE, "INFERENCE_PRECISION_HINT").get_type_name()
    return default == "bf16" and limit not in ISA_LIMITS_WITHOUT_BF16


def quantized(model: ov.Model) -> bool:
    """Whether the model holds quantized operations (an int8 model: OpenVINO reads the ONNX
    QuantizeLinear/DequantizeLinear pairs as FakeQuantize)."""
    return any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


class OpenvinoDetector(ExportedPoseModel):
    def __init__(self, config: OpenvinoDetectorConfig, manifest: ModelManifest) -> None:
        self._ov = import_openvino()
        self._core = self._ov.Core()
        self._model = self._core.read_model(str(config.model))
        int8 = quantized(self._model)
        if config.precision == "int8" and not int8:
            raise ModelError(
                f"precision int8 needs an int8 model (models/quantize.py makes one); {config.model} is not"
            )
        if config.precision == "f32" and int8:
            raise ModelError(f"precision f32 needs a float model; {config.model} is an int8 model")
        properties: dict[str, object] = {
            "INFERENCE_NUM_THREADS": config.threads,
            "PERFORMANCE_HINT": "LATENCY",
        }
        # An int8 model's remaining float parts (the head's decoding) compute in float32.
        if int8 or config.precision == "f32" or not native_bf16(self._core):
            properties["INFERENCE_PRECISION_HINT"] = "f32"
        self._core.set_property(DEVICE, properties)
        chosen = self._core.get_property(DEVICE, "INFERENCE_PRECISION_HINT").get_type_name()  # "bf16"
        self.backend = "openvino-int8" if int8 else f"openvino-{chosen}"
        super().__init__(config, manifest)
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
