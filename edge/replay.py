"""`wartezone replay`: a video through the whole pipeline as fast as it goes, to a timeline and a chart."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from edge.config import CameraConfig, Config
from edge.detect import build_detector
from edge.pipeline import CameraPipeline, FrameResult
from edge.runner import CameraRunner
from edge.sources.base import PendingFrame
from edge.sources.file import FileSource


@dataclass
class ZoneSummary:
    zone: str
    peak: int = 0
    occupancy_sum: int = 0
    entries: int = 0
    dwells_s: list[float] = field(default_factory=list)


@dataclass
class ReplaySummary:
    camera: str
    frames: int
    video_s: float
    detector_ms: float
    zones: list[ZoneSummary]
    analysis_errors: int = 0

    def lines(self) -> list[str]:
        out = [
            f"camera {self.camera}: {self.frames} frames analysed over {self.video_s:.1f} s of video, "
            f"detector {self.detector_ms:.0f} ms/frame"
        ]
        if self.analysis_errors:
            out.append(f"  {self.analysis_errors} frames failed analysis and were skipped (see the log)")
        for z in self.zones:
            mean = z.occupancy_sum / max(self.frames, 1)
            dwell = sum(z.dwells_s) / len(z.dwells_s) if z.dwells_s else 0.0
            out.append(
                f"  zone {z.zone}: mean {mean:.1f} people, peak {z.peak}, {z.entries} entries, "
                f"{len(z.dwells_s)} visits ended, mean dwell {dwell:.1f} s"
            )
        return out


def replay(
    video: Path, config: Config, camera: CameraConfig, out_dir: Path, progress: bool = True
) -> ReplaySummary:
    """Writes out_dir/occupancy.csv (one row per analysed frame and zone) and out_dir/occupancy.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    source = FileSource(video, realtime=False)
    detector = build_detector(config.detector)
    runner = CameraRunner(camera, CameraPipeline(camera, detector, config.tracker, settings=config.detector))
    summaries = {z.id: ZoneSummary(z.id) for z in camera.zones}
    results: list[FrameResult] = []
    bar = tqdm(total=source.frame_count(), desc=f"replay {video.name}", unit="frame", disable=not progress)

    def frames() -> Iterator[PendingFrame]:
        for pending in source.frames():
            bar.update()
            yield pending

    def collect(result: FrameResult) -> None:
        results.append(result)
        for r in result.zones:
            s = summaries[r.zone]
            s.peak = max(s.peak, r.occupancy)
            s.occupancy_sum += r.occupancy
            s.entries += r.entries
            s.dwells_s.extend(r.completed_dwells_s)

    for r in runner.run(frames(), on_result=collect):
        summaries[r.zone].dwells_s.extend(r.completed_dwells_s)
    bar.close()
    _write_timeline(out_dir / "occupancy.csv", results)
    _plot_timeline(out_dir / "occupancy.png", results, camera, video.name)
    detector_ms = 1000 * sum(r.detector_s for r in results) / max(len(results), 1)
    return ReplaySummary(
        camera.id,
        len(results),
        results[-1].time_s - results[0].time_s if results else 0.0,
        detector_ms,
        list(summaries.values()),
        runner.analysis_errors,
    )


def _write_timeline(path: Path, results: list[FrameResult]) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["time_s", "zone", "occupancy", "raw_count", "loitering", "longest_dwell_s"])
        for result in results:
            for r in result.zones:
                writer.writerow(
                    [
                        f"{result.time_s:.3f}",
                        r.zone,
                        r.occupancy,
                        r.raw_count,
                        r.loitering,
                        f"{r.longest_dwell_s:.1f}",
                    ]
                )


def _plot_timeline(path: Path, results: list[FrameResult], camera: CameraConfig, title: str) -> None:
    """A chart of counts over time; no pixel of any frame goes into it."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display; chosen here, not at import
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 4), dpi=100)
    times = [r.time_s for r in results]
    for i, zone in enumerate(camera.zones):
        axes.step(times, [r.zones[i].occupancy for r in results], where="post", label=f"{zone.id}")
    axes.set_xlabel("video time (s)")
    axes.set_ylabel("people in zone")
    axes.set_title(f"Occupancy, camera {camera.id} ({title})")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
