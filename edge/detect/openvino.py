"""The exported model on OpenVINO: the fastest CPU runtime measured here (see README, "Speed").

`precision: auto` computes in whichever of float32 and bfloat16 this CPU runs faster, measured
when the detector is built (bfloat16 only where the CPU has it natively: AMX or AVX512-BF16; the
gain differs between CPU generations, and on some it is none). The int8 model is not among
auto's choices: it is faster still, but misses the accuracy goals float32 meets (README, "Speed"),
so it is a setting. `precision: int8` runs an int8 model (models/quantize.py): its convolutions
in int8, the rest in float32. Colour order, layout and scaling run inside the compiled graph, so
the frame goes in as uint8.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edge.config import OpenvinoDetectorConfig
from edge.detect.exported import ExportedPoseModel
from edge.detect.model import ModelError, ModelManifest

if TYPE_CHECKING:
    import openvino as ov

log = logging.getLogger(__name__)
CPU = "CPU"
# The probe `precision: auto` times: a third of a default input's pixels, so that building a
# detector costs well under a second more; the order of the precisions is the same at full size.
PROBE_SHAPE = (1, 640, 640, 3)
PROBE_RUNS = 3  # each precision's fastest of these counts, the runs interleaved against noise
# float32 is exact; another precision is chosen only when it is faster by more than this share.
FASTER_BY = 0.05
PROBE_TIMEOUT_S = 120.0
# Static shapes run ~15 % faster than one dynamic graph (which also keeps memory for every size it
# met); a camera needs one, its motion windows one more (edge/motion.py).
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
    default = core.get_property(CPU, "INFERENCE_PRECISION_HINT").get_type_name()
    return default == "bf16" and isa_limit() not in ISA_LIMITS_WITHOUT_BF16


def quantized(model: ov.Model) -> bool:
    """Whether the model holds quantized operations (an int8 model: OpenVINO reads the ONNX
    QuantizeLinear/DequantizeLinear pairs as FakeQuantize)."""
    return any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


@dataclass(frozen=True, slots=True)
class PrecisionChoice:
    precision: str  # what OpenVINO computes in: "f32", "bf16"
    reason: str  # a few words for wartezone_model_info (no timings: a label must not vary by run)


def choose_precision(ms_per_run: dict[str, float]) -> PrecisionChoice:
    """The fastest of the measured precisions; float32 unless another is faster by over FASTER_BY."""
    if "f32" not in ms_per_run:
        raise ValueError(f"float32 must be among the measured precisions, got {sorted(ms_per_run)}")
    fastest = min(ms_per_run, key=lambda p: ms_per_run[p])
    if fastest == "f32" or ms_per_run[fastest] > (1 - FASTER_BY) * ms_per_run["f32"]:
        others = sorted(set(ms_per_run) - {"f32"})
        reason = f"auto: f32, {' and '.join(others)} not faster here" if others else "auto: f32, the only one"
        return PrecisionChoice("f32", reason)
    return PrecisionChoice(fastest, f"auto: {fastest}, faster than f32 here")


def time_precisions(core: ov.Core, model: ov.Model, precisions: list[str], threads: int) -> dict[str, float]:
    """Milliseconds of one run of the probe input in each precision (fastest of PROBE_RUNS)."""
    runtime = import_openvino()
    probe_model = model.clone()
    probe_model.reshape({probe_model.input(0): runtime.PartialShape([1, 3, PROBE_SHAPE[1], PROBE_SHAPE[2]])})
    probe = np.random.default_rng(0).random((1, 3, PROBE_SHAPE[1], PROBE_SHAPE[2]), np.float32)
    requests = {}
    for precision in precisions:
        properties = {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": precision,
        }
        requests[precision] = core.compile_model(probe_model, CPU, properties).create_infer_request()
        requests[precision].infer({0: probe})  # the first run allocates
    best = dict.fromkeys(precisions, float("inf"))
    for _ in range(PROBE_RUNS):
        for precision, request in requests.items():
            started = time.perf_counter()
            request.infer({0: probe})
            best[precision] = min(best[precision], 1000 * (time.perf_counter() - started))
    return best


def time_precisions_apart(model_path: str, precisions: list[str], threads: int) -> dict[str, float]:
    """time_precisions in a child process (this module run as a program, with this environment):
    the probe's compiled models leave about 25 MiB of kernels and caches in the process that ran
    them, for as long as it lives (docs/accuracy.md, "Memory"); a child takes them along when it
    exits. Where the child fails, the probe runs in this process after all."""
    command = [sys.executable, "-m", __name__, model_path, str(threads), *precisions]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=PROBE_TIMEOUT_S)
        if done.returncode == 0:
            found = json.loads(done.stdout.strip().splitlines()[-1])
            return {str(p): float(ms) for p, ms in found.items()}
        why = f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as error:
        why = f"{type(error).__name__}: {error}"
    log.warning("detector: timing the precisions in a child process failed (%s); timing them here", why)
    core = import_openvino().Core()
    return time_precisions(core, core.read_model(model_path), precisions, threads)


@functools.cache
def auto_precision(model_path: str, threads: int, isa_limit: str) -> PrecisionChoice:
    """What `precision: auto` computes in on this CPU, measured once per process (the CPU does
    not change while it runs; isa_limit is part of the key because tests change it)."""
    core = import_openvino().Core()
    if not native_bf16(core):
        return PrecisionChoice("f32", "auto: f32, no native bf16 on this CPU")
    ms = time_precisions_apart(model_path, ["f32", "bf16"], threads)
    choice = choose_precision(ms)
    log.info(
        "detector: precision auto computes in %s (a %dx%d probe: %s)",
        choice.precision,
        PROBE_SHAPE[1],
        PROBE_SHAPE[2],
        ", ".join(f"{p} {ms[p]:.0f} ms" for p in ms),
    )
    return choice


def isa_limit() -> str:
    return os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).strip().upper()


class OpenvinoDetector(ExportedPoseModel):
    def __init__(self, config: OpenvinoDetectorConfig, manifest: ModelManifest) -> None:
        self._ov = import_openvino()
        self._core = self._ov.Core()
        self._device = config.device
        available = self._core.available_devices
        if config.device != "AUTO" and not any(d.split(".")[0] == config.device for d in available):
            raise ModelError(
                f"detector.device {config.device}: OpenVINO sees no such device here (it sees: "
                f"{', '.join(available)}); use CPU, or AUTO to take a GPU where there is one"
            )
        self._model = self._core.read_model(str(config.model))
        int8 = quantized(self._model)
        if config.precision == "int8" and not int8:
            raise ModelError(
                f"precision int8 needs an int8 model (models/quantize.py makes one); {config.model} is not"
            )
        if config.precision == "f32" and int8:
            raise ModelError(f"precision f32 needs a float model; {config.model} is an int8 model")
        # An int8 model's remaining float parts (the head's decoding) compute in float32.
        if int8 or config.precision == "f32":
            choice = PrecisionChoice("f32", f"{config.precision} (configured)")
        elif config.device == CPU:
            choice = auto_precision(str(config.model), config.threads, isa_limit())
        else:  # a GPU's plugin picks its own (f16); not measured here
            choice = PrecisionChoice("", f"auto: the {config.device} plugin's own")
        # LATENCY spreads one inference over every thread; THROUGHPUT gives each of `streams`
        # inferences its own share, so one waits less on a core another thread has taken.
        properties: dict[str, object] = {
            "INFERENCE_NUM_THREADS": config.threads,
            "PERFORMANCE_HINT": "LATENCY",
        }
        if config.streams > 1:
            properties |= {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": config.streams}
        if choice.precision:
            properties["INFERENCE_PRECISION_HINT"] = choice.precision
        self._core.set_property(CPU, properties)  # AUTO runs on the CPU where it finds no GPU
        if config.device == "GPU":
            self._core.set_property("GPU", {"PERFORMANCE_HINT": "LATENCY"})
        if config.device == CPU:
            chosen = self._core.get_property(CPU, "INFERENCE_PRECISION_HINT").get_type_name()  # "bf16"
            self.backend = "openvino-int8" if int8 else f"openvino-{chosen}"
        else:
            self.backend = f"openvino-{config.device.lower()}" + ("-int8" if int8 else "")
        super().__init__(config, manifest, precision=choice.reason)
        self._compiled: OrderedDict[tuple[int, ...], ov.CompiledModel] = OrderedDict()
        # One infer request per compiled shape and calling thread: up to `streams` threads infer at once.
        self._requests: dict[tuple[tuple[int, ...], int], ov.InferRequest] = {}
        self._lock = threading.Lock()

    def infer(self, canvases: NDArray[np.uint8]) -> NDArray[np.float32]:
        request = self._request(canvases.shape)
        request.infer({0: canvases})
        return np.array(request.get_output_tensor(0).data, copy=True)

    def _request(self, shape: tuple[int, ...]) -> ov.InferRequest:
        with self._lock:
            if shape not in self._compiled:
                self._compiled[shape] = self._compile(shape)
                if len(self._compiled) > COMPILED_SHAPES_KEPT:
                    dropped, _ = self._compiled.popitem(last=False)
                    self._requests = {key: r for key, r in self._requests.items() if key[0] != dropped}
            self._compiled.move_to_end(shape)
            key = (shape, threading.get_ident())
            if key not in self._requests:
                self._requests[key] = self._compiled[shape].create_infer_request()
            return self._requests[key]

    def _compile(self, shape: tuple[int, ...]) -> ov.CompiledModel:
        from openvino.preprocess import ColorFormat, PrePostProcessor

        runtime = self._ov
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
        return self._core.compile_model(steps.build(), self._device)


if __name__ == "__main__":  # time_precisions_apart's child: MODEL THREADS PRECISION...
    probe_core = import_openvino().Core()
    model_file, probe_threads, *probed = sys.argv[1:]
    print(
        json.dumps(time_precisions(probe_core, probe_core.read_model(model_file), probed, int(probe_threads)))
    )
