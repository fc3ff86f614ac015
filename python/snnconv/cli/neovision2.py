"""``snnconv neovision2 …``: prepare object arrays from clips, write synthetic clips."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from ..exceptions import ParameterError
from .log import log


def _summary(objs) -> str:
    """Per-class table: objects, tracks and clips."""
    names = list(objs.classes) + (["?"] if (objs.labels < 0).any() else [])
    rows = []
    for i, name in enumerate(names):
        sel = objs.labels == (i if name != "?" else -1)
        rows.append(
            (name, int(sel.sum()), len(np.unique(objs.track[sel])), len(np.unique(objs.clip[sel])))
        )
    rows.append(("total", len(objs), len(np.unique(objs.track)), len(np.unique(objs.clip))))
    width = max(8, *(len(r[0]) for r in rows))
    lines = [f"{'class':<{width}} {'objects':>8} {'tracks':>7} {'clips':>6}"]
    lines += [f"{n:<{width}} {a:>8} {b:>7} {c:>6}" for n, a, b, c in rows]
    return "\n".join(lines)


def _prepare(args: argparse.Namespace) -> int:
    from ..datasets.neovision2 import open_clip
    from ..experiment.validate import check_out_file, check_threads
    from ..preprocess.extract import detect_objects, extract_objects

    check_out_file(args.out)
    check_threads("--threads", args.threads)
    clips = [open_clip(p) for p in args.clip]
    t0 = time.perf_counter()
    common = {
        "margin": args.margin,
        "raster": args.raster,
        "n_frames": args.n_frames,
        "every": args.every,
        "n_threads": args.threads,
        "progress": not args.quiet,
    }
    if args.detect:
        objs = detect_objects(
            clips,
            threshold=args.threshold,
            min_area=args.min_area,
            merge_distance=args.merge_distance,
            **common,
        )
    else:
        objs = extract_objects(
            clips,
            source=args.source,
            classes=args.classes,
            min_size=args.min_size,
            skip_ambiguous=args.skip_ambiguous,
            skip_occluded=args.skip_occluded,
            **common,
        )
        _check_classes_found(clips, objs)
    path = objs.save(args.out)
    print(_summary(objs))
    skipped = objs.info.get("skipped", {})
    if any(skipped.values()):
        log.info("skipped rows: " + ", ".join(f"{k} {v}" for k, v in skipped.items() if v))
    print(
        f"{len(objs)} objects {args.raster}x{args.raster} from {len(clips)} clip(s) in "
        f"{time.perf_counter() - t0:.2f} s; saved {path}"
    )
    return 0


def _synth(args: argparse.Namespace) -> int:
    from ..datasets.synth_neovision2 import generate_clips
    from ..experiment.validate import check_out_dir

    check_out_dir(args.out)
    clips = generate_clips(
        args.out,
        args.clips,
        seed=args.seed,
        n_frames=args.frames,
        frame_size=(args.height, args.width),
        noise=args.noise,
        arrival_rate=args.arrival_rate,
        image_format=args.format,
    )
    for c in clips:
        kinds, counts = np.unique(c.truth["kind"], return_counts=True)
        per = ", ".join(f"{k} {n}" for k, n in zip(kinds, counts, strict=True))
        print(f"{c.csv_path}: {c.n_frames} frames {c.frame_size[1]}x{c.frame_size[0]}; {per}")
    return 0


def _check_classes_found(clips: list, objs: Any) -> None:
    """A requested class with no object in the clips is named (all of them missing is
    an error: nothing would be prepared), with the types the annotations do hold."""
    counts = objs.class_counts()
    missing = [c for c in objs.classes if counts.get(c, 0) == 0]
    if not missing:
        return
    present = sorted({str(t) for c in clips for t in c.annotations.objects().object_type})
    msg = (
        f"--classes: no object of {', '.join(missing)} in the clips; their annotations "
        f"hold {', '.join(present) or 'no objects'}"
    )
    if len(missing) == len(objs.classes):
        raise ParameterError(msg)
    log.warning(msg)


def add_neovision2_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``neovision2 prepare`` and ``neovision2 synth`` under ``sub``."""
    from ..datasets.neovision2 import TOWER_CLASSES

    nv = sub.add_parser("neovision2", help="NEOVISION2 clips: object arrays, synthetic clips")
    nsub = nv.add_subparsers(dest="neovision2_command", required=True)

    p = nsub.add_parser(
        "prepare",
        help="crop the objects of clips into a 31x31 object array (npz)",
        description="CLIP is a clip's CSV (frames in the folder or video of the same name), "
        "or that folder / video.",
    )
    p.add_argument(
        "clip", nargs="+", metavar="CLIP", help="clip CSV, frame folder or video (one or more)"
    )
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument(
        "--source",
        choices=("heat", "frame"),
        default="heat",
        help="crop the difference heat map (default) or the grey frame",
    )
    p.add_argument(
        "--classes",
        nargs="+",
        default=list(TOWER_CLASSES),
        help="classes to keep, in label order (default: the 5 Tower classes)",
    )
    p.add_argument(
        "--margin",
        type=float,
        default=1.2,
        help="crop side as a multiple of the box's longer side (default 1.2)",
    )
    p.add_argument(
        "--raster", type=int, default=31, help="side of the square output images (default 31)"
    )
    p.add_argument(
        "--n-frames", type=float, default=3.0, help="heat-map averaging length (decay 1 - 1/n)"
    )
    p.add_argument("--every", type=int, default=1, help="keep every k-th crop of a track")
    p.add_argument("--min-size", type=int, default=1, help="smallest box side in pixels")
    p.add_argument(
        "--skip-ambiguous", action="store_true", help="drop rows marked ambiguous in the CSV"
    )
    p.add_argument(
        "--skip-occluded", action="store_true", help="drop rows marked occluded in the CSV"
    )
    p.add_argument(
        "--detect",
        action="store_true",
        help="ignore the annotations: find moving objects with the heat-map detector",
    )
    p.add_argument("--threshold", type=float, default=6.0, help="detector threshold (grey levels)")
    p.add_argument("--min-area", type=int, default=12, help="detector: smallest region (pixels)")
    p.add_argument("--merge-distance", type=int, default=6, help="detector: merge gap (pixels)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_prepare)

    s = nsub.add_parser("synth", help="write seeded synthetic clips in the NEOVISION2 layout")
    s.add_argument("--clips", type=int, default=1, help="number of clips (default 1)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--seed", type=int, default=0, help="seed of the clips (default 0)")
    s.add_argument("--frames", type=int, default=60, help="frames per clip (default 60)")
    s.add_argument("--width", type=int, default=320, help="frame width in pixels (default 320)")
    s.add_argument("--height", type=int, default=180, help="frame height in pixels (default 180)")
    s.add_argument("--noise", type=float, default=2.0, help="sensor noise sigma (grey levels)")
    s.add_argument(
        "--arrival-rate",
        type=float,
        default=0.06,
        help="chance per lane and frame that an object enters (default 0.06)",
    )
    s.add_argument("--format", choices=("pgm", "png"), default="pgm", help="frame file format")
    s.set_defaults(func=_synth)
