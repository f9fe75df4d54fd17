"""The `wartezone` command: `edge run`, `replay`, `eval`, `bench`, `calibrate`, `check`, `setup` and
`privacy-sheet`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path

from edge.config import CameraConfig, Config, ConfigError, FileSourceConfig, default_config, load_config
from edge.detect import ModelError, verify_model
from edge.privacy_sheet import register as register_privacy_sheet
from edge.setup import DEFAULT_PORT as SETUP_PORT
from edge.sources import SourceError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# Libraries that log each request at INFO: a scrape or a webhook that worked is not news.
QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn.access")


def _load(path: Path | None, video: Path | None = None) -> Config:
    config = load_config(path) if path is not None else default_config(video)
    try:
        verify_model(config.detector.model)
    except ModelError as error:
        raise ConfigError([("detector.model", str(error))]) from None
    return config


def _camera_for(config: Config, camera_id: str | None, video: Path) -> CameraConfig:
    """The configured camera to replay (its zones and masks), reading `video` instead of its source."""
    cameras = {c.id: c for c in config.cameras}
    if camera_id is not None and camera_id not in cameras:
        raise ConfigError([("--camera", f"no camera {camera_id!r}; configured: {', '.join(cameras)}")])
    camera = _with_zones(cameras[camera_id] if camera_id else config.cameras[0])
    return camera.model_copy(update={"source": FileSourceConfig(path=video, realtime=False)})


def _with_zones(camera: CameraConfig) -> CameraConfig:
    """The camera whose zones a replay or an evaluation counts; one there only for its rooms has none."""
    if not camera.zones:
        raise ConfigError(
            [
                (
                    "--camera",
                    f"camera {camera.id!r} has no zones to count (it counts only for its rooms): choose "
                    "a camera with zones, or evaluate its room with `wartezone eval --room`",
                )
            ]
        )
    return camera


def _check_video_files(config: Config) -> None:
    """Fail fast on a camera that reads a file that is not there (live streams may come later)."""
    problems = [
        (f"cameras[{i}].source.path", f"video file {camera.source.path} does not exist")
        for i, camera in enumerate(config.cameras)
        if camera.source.type == "file" and not camera.source.path.is_file()
    ]
    if problems:
        raise ConfigError(problems)


def _run_edge(args: argparse.Namespace) -> int:
    from edge.service import EdgeService
    from edge.terminal import LiveStatus

    config = _load(args.config)
    _check_video_files(config)
    service = EdgeService(config)
    status = LiveStatus(config, sys.stdout)
    service.on_result = status.update
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # both end the service the same orderly way
        signal.signal(signum, lambda *_: stop.set())
    service.start()
    url = f"http://{config.metrics.host}:{service.metrics_port}/metrics"
    print(f"wartezone edge: site {config.site}, metrics on {url} (Ctrl-C stops)", flush=True)
    try:
        while not stop.is_set() and not service.wait(timeout_s=0.5):
            status.print_if_due(time.monotonic(), service.readiness()[1])
    finally:
        service.stop()
    if service.failure is not None:
        print(f"wartezone edge: {service.failure}; exiting for the supervisor to restart", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _replay(args: argparse.Namespace) -> int:
    from edge.replay import replay

    config = _load(args.config, args.video)
    camera = _camera_for(config, args.camera, args.video)
    summary = replay(args.video, config, camera, args.out)
    for line in summary.lines():
        print(line)
    print(f"timeline: {args.out / 'occupancy.csv'}, chart: {args.out / 'occupancy.png'}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from edge.evaluate import band_table, eval_counts, eval_video, plot_counts

    if not 0 <= args.first < max(args.every, 1):
        raise ConfigError([("--first", f"{args.first} must be at least 0 and below --every ({args.every})")])
    if args.room is not None:
        if args.first:
            raise ConfigError([("--first", "not with --room: a room's cameras are paired by time")])
        return _eval_room(args)
    if (args.counts is None) == (args.gt is None):
        raise ConfigError(
            [("--counts/--gt", "give exactly one: --counts CSV for a frame folder, --gt XML for a video")]
        )
    if args.stills and args.gt is not None:
        raise ConfigError([("--stills", "only for a folder of images (--counts); a video is a sequence")])
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise ConfigError([("--plot", f"{args.plot} must end in .png")])
    if args.plot is not None and not args.plot.parent.is_dir():  # known before a long evaluation
        raise ConfigError([("--plot", f"folder {args.plot.parent} does not exist")])
    config = _load(args.config, args.path)
    if args.counts is not None:
        _with_zones(config.cameras[0])
        result = eval_counts(args.path, args.counts, config, args.every, stills=args.stills, first=args.first)
    else:
        camera = _camera_for(config, None, args.path)
        one_camera = config.model_copy(update={"cameras": [camera]})
        result = eval_video(args.path, args.gt, one_camera, args.every, first=args.first)
    if args.plot is not None:
        name = "/".join(args.path.resolve().parts[-3:])
        plot_counts(args.plot, result, name, stills=args.stills)
    values = result.as_dict()
    if args.json:
        print(json.dumps(values))
    else:
        for key, value in values.items():
            if value is not None and key != "bands":
                print(f"{key:>16}: {value}")
        print(f"{'bands':>16}:")
        for line in band_table(result.bands):
            print(f"{'':>16}  {line}")
        if args.plot is not None:
            print(f"{'plot':>16}: {args.plot}")
    return 0


def _eval_room(args: argparse.Namespace) -> int:
    """A room seen by several cameras: PATH is the site's YAML, --counts the room's truth."""
    from edge.evaluate import band_table
    from edge.room_eval import eval_room, plot_plan, room_of

    wrong = [
        flag for flag, value in (("--gt", args.gt), ("--stills", args.stills), ("-c", args.config)) if value
    ]
    if wrong:
        raise ConfigError([(wrong[0], "not with --room: PATH is the site's YAML, --counts the room's truth")])
    if args.counts is None:
        raise ConfigError([("--counts", "--room needs the room's truth: a CSV time_s,count[,floor_points]")])
    if args.plot is not None and (args.plot.suffix.lower() != ".png" or not args.plot.parent.is_dir()):
        raise ConfigError([("--plot", f"{args.plot} must end in .png, in a folder that exists")])
    config = _load(args.path)
    _check_video_files(config)
    room, _ = room_of(config, args.room or None)
    if args.plot is not None:
        plot_plan(args.plot, config, room)
    result = eval_room(config, args.counts, room, args.every)
    values = result.as_dict()
    if args.json:
        print(json.dumps(values))
        return 0
    for key, value in values.items():
        if key != "ways":
            print(f"{key:>26}: {value}")
    for way in result.counts:
        figures = values["ways"][way]  # type: ignore[index]
        print(f"{way:>26}: MAE {figures['mae']}, bias {figures['bias']}")
        for line in band_table(result.bands(way)):
            print(f"{'':>26}  {line}")
    if args.plot is not None:
        print(f"{'plan':>26}: {args.plot}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from edge.bench import BASELINES, CHECKPOINT, PIPELINE, VARIANTS, bench, report

    if not CHECKPOINT.is_file():
        raise ConfigError([("bench", f"the baselines need {CHECKPOINT}: run models/fetch_checkpoint.sh")])
    results = bench(args.video, args.gt, args.every, [*BASELINES, PIPELINE, *VARIANTS])
    for line in report(results):
        print(line)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from edge.calibration import Still, check_labels, count_stills, decide, write_correction
    from edge.evaluate import read_counts_csv

    config = _load(args.config)
    cameras = {c.id: c for c in config.cameras}
    if args.camera is None and len(cameras) > 1:
        raise ConfigError([("--camera", f"name the camera the stills are from: {', '.join(cameras)}")])
    if args.camera is not None and args.camera not in cameras:
        raise ConfigError([("--camera", f"no camera {args.camera!r}; configured: {', '.join(cameras)}")])
    camera = cameras[args.camera] if args.camera else config.cameras[0]
    rows = read_counts_csv(args.counts)
    days = check_labels(rows)
    detected = count_stills(args.path, args.counts, config, camera)
    outcome = decide([Still(r.file, days[r.file], n, r.count) for r, n in zip(rows, detected, strict=True)])
    print(f"camera {camera.id}: {len(rows)} stills from {len(set(days.values()))} days; {outcome.reason}")
    if outcome.correction is None:
        print(f"{args.config} is unchanged")
    elif args.dry_run:
        print(f"--dry-run: {args.config} is unchanged")
    else:
        backup = write_correction(args.config, camera.id, outcome.correction)
        print(f"written to cameras[{camera.id}].count_correction in {args.config} (before: {backup})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from edge.check import camera_checks, site_checks

    if (args.config is None) == (args.camera is None):
        raise ConfigError([("-c/--camera", "give exactly one: -c site.yaml, or --camera URL for one stream")])
    findings = (
        camera_checks(args.camera, args.api)
        if args.camera
        else site_checks(load_config(args.config), args.api)
    )
    failed = False
    for finding in findings:
        print(finding.line(), flush=True)
        failed = failed or finding.status == "FAIL"
    return EXIT_FAILED if failed else 0


def _setup(args: argparse.Namespace) -> int:
    from edge.setup.server import SetupServer
    from edge.setup.session import SetupSession

    if not 0 <= args.port <= 65535:
        raise ConfigError([("--port", f"a port is 0..65535 (0: a free one), got {args.port}")])
    config = _load(args.config)
    _check_video_files(config)
    server = SetupServer(args.host, args.port)  # a port in use is said before the model loads
    try:
        session = SetupSession(config, args.config)
    except BaseException:
        server.stop()
        raise
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    session.start()
    server.start(session)
    print(f"wartezone setup: site {config.site}: open {server.url}", flush=True)
    if args.host in ("127.0.0.1", "localhost", "::1"):
        print(
            f"  from another machine: ssh -L {server.port}:127.0.0.1:{server.port} THIS-BOX, "
            "then the same address there",
            flush=True,
        )
    else:
        print(
            f"  listening on {args.host}: anyone who has the address with its token sees the pictures",
            flush=True,
        )
    print(
        f"  saving writes {args.config} (the previous file stays as {args.config.name}.bak); Ctrl-C stops",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        session.stop()
    return 0


def _version() -> str:
    try:
        return version("wartezone")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="wartezone", description="Waiting-room occupancy from camera streams."
    )
    root.add_argument("--version", action="version", version=f"wartezone {_version()}")
    commands = root.add_subparsers(dest="command", required=True)

    edge = commands.add_parser("edge", help="the edge service").add_subparsers(dest="action", required=True)
    run = edge.add_parser(
        "run",
        help="analyse the configured cameras and serve /metrics",
        epilog="example: wartezone edge run -c site.yaml",
    )
    run.add_argument("-c", "--config", type=Path, required=True, help="YAML config file")
    run.set_defaults(handler=_run_edge)

    rep = commands.add_parser(
        "replay",
        help="run a video through the pipeline; write a timeline and chart",
        epilog="example: wartezone replay door.mp4 -c site.yaml --camera door --out replay-door",
    )
    rep.add_argument("video", type=Path)
    rep.add_argument("-c", "--config", type=Path, help="YAML config (zones, detector); default: whole frame")
    rep.add_argument("--camera", help="which configured camera's zones to use (default: the first)")
    rep.add_argument(
        "--out", type=Path, default=Path("replay-out"), help="output folder (default: replay-out)"
    )
    rep.set_defaults(handler=_replay)

    ev = commands.add_parser(
        "eval",
        help="count accuracy on labelled frames or video",
        epilog="example: wartezone eval ../data/frames --counts counts.csv --every 4 --json",
    )
    ev.add_argument("path", type=Path, help="a folder of frames (with --counts) or a video (with --gt)")
    ev.add_argument("--counts", type=Path, help="CSV frame,file,count (the Mall format)")
    ev.add_argument("--gt", type=Path, help="CVML XML per-person ground truth (the PETS format)")
    ev.add_argument("--every", type=int, default=1, help="evaluate every Nth frame (default 1)")
    ev.add_argument(
        "--first",
        type=int,
        default=0,
        help="start at this frame, below --every (default 0): with --every 5, --first 0..4 are the five "
        "ways to take every 5th frame",
    )
    ev.add_argument("-c", "--config", type=Path, help="YAML config (detector, tracker, zones)")
    ev.add_argument(
        "--stills",
        action="store_true",
        help="the images are stills, not a sequence: each is counted on its own, without smoothing "
        "or tracking across images (then mae == mae_raw). Only this flag decides, never the file "
        "names; without it, the images are consecutive frames and the reported count is smoothed",
    )
    ev.add_argument(
        "--room",
        nargs="?",
        const="",
        metavar="ID",
        help="evaluate a room of the floor plan seen by several cameras: PATH is the site's YAML (floor "
        "and calibrated cameras reading files recorded together), --counts a CSV time_s,count[,floor_points] "
        "of the room's truth; per step each camera alone and merged, and with floor points how often a "
        "person in an overlap was counted twice. ID: the room (none: the site's only room)",
    )
    ev.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also draw reported against true count per frame, with the per-band figures, into FILE.png; "
        "with --room the floor plan with the room, its cameras' footprints and overlaps (no people)",
    )
    ev.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object as the last line; per band of the true count (bands: 0-9, 10-19, "
        "20-39, 40+) its frames, mean_true, mae, bias and relative_bias (bias / mean true count)",
    )
    ev.set_defaults(handler=_eval)

    be = commands.add_parser(
        "bench",
        help="our pipeline against plain ultralytics predict, same frames: speed, MAE, memory",
        epilog="example: wartezone bench ../data/pets2009-s2l1/vtest.avi --gt pets.xml --every 5",
    )
    be.add_argument("video", type=Path, help="a video with CVML ground truth (the PETS format)")
    be.add_argument("--gt", type=Path, required=True, help="CVML XML per-person ground truth")
    be.add_argument("--every", type=int, default=5, help="use every Nth frame (default 5)")
    be.set_defaults(handler=_bench)

    ca = commands.add_parser(
        "calibrate",
        help="fit a camera's count correction on its own labelled stills and write it into the config",
        description="Counts each labelled still with the camera's settings, fits a correction of the "
        "count shrunk towards none, and writes it into the camera's config only if, fitted without "
        "each day in turn, it lowers that day's error. Stills from at least two days, named with "
        "their date (YYYYMMDD), at least 10; 30 are plenty. Only counts are stored.",
        epilog="example: wartezone calibrate stills/ --counts stills/counts.csv -c site.yaml --camera door",
    )
    ca.add_argument("path", type=Path, help="the folder of the camera's stills")
    ca.add_argument("--counts", type=Path, required=True, help="CSV frame,file,count: people in each still")
    ca.add_argument("-c", "--config", type=Path, required=True, help="the site's YAML config (written to)")
    ca.add_argument("--camera", help="the camera the stills are from (default: the only one)")
    ca.add_argument("--dry-run", action="store_true", help="say what would be written, write nothing")
    ca.set_defaults(handler=_calibrate)

    ch = commands.add_parser(
        "check",
        help="an installer's checks: cameras open and analyse, model, metrics port, clock",
        description="One line per check (ok, warn or FAIL) in words to act on. With -c: every camera "
        "opens and one frame of each is analysed, the model matches its manifest, the metrics port "
        "is free, and with --api the API's clock agrees with this box's. With --camera: that one "
        "stream opens (no config needed). Exit status 1 when a check failed.",
        epilog="example: wartezone check -c site.yaml --api http://192.0.2.20:8088",
    )
    ch.add_argument("-c", "--config", type=Path, help="the site's YAML config")
    ch.add_argument(
        "--camera",
        metavar="URL",
        help="check one stream instead: rtsp://, http:// (MJPEG), a USB device (0, /dev/video0) or a file",
    )
    ch.add_argument("--api", metavar="URL", help="the alert API's address, to compare clocks")
    ch.set_defaults(handler=_check)

    se = commands.add_parser(
        "setup",
        help="the installer's page: draw zones and privacy masks on each camera's picture, see live counts",
        description="Serves a page on 127.0.0.1 (a token made for this run is in the printed address) "
        "that shows each camera's current picture, every detected person pixelated and the privacy "
        "masks black; draw, move and delete zones and masks, name the zones and set their loitering "
        "limits, and see live how many people each zone counts and where each person's anchor point "
        "falls. Save checks the layout with the config model and writes it into the YAML file, "
        "comments and order kept, the previous file as FILE.bak. Pictures stay in this process's memory.",
        epilog="example: wartezone setup -c site.yaml   "
        f"(from afar: ssh -L {SETUP_PORT}:127.0.0.1:{SETUP_PORT} BOX first)",
    )
    se.add_argument("-c", "--config", type=Path, required=True, help="the site's YAML config (written to)")
    se.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1, this box only)")
    se.add_argument(
        "--port", type=int, default=SETUP_PORT, help=f"listen port (default {SETUP_PORT}; 0 picks a free one)"
    )
    se.set_defaults(handler=_setup)

    register_privacy_sheet(commands)

    # Other parts of the product (the alert API) add their commands through an entry point, so
    # that edge never imports them; an edge box installed without the [api] extra has none.
    for command in entry_points(group="wartezone.commands"):
        try:
            register = command.load()
        except ImportError as error:
            logging.getLogger(__name__).debug("command %s not installed: %s", command.name, error)
            continue
        register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    if getattr(args, "every", 1) < 1:
        print("wartezone: --every must be 1 or more", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(args.handler(args))
    except ConfigError as error:
        source = getattr(args, "config", None) or "built-in defaults"
        print(f"wartezone: invalid configuration ({source}):", file=sys.stderr)
        for path, message in error.problems:
            print(f"  {path}: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, ValueError, SourceError) as error:  # unreadable video or ground truth: named
        print(f"wartezone: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
