"""`arbnet sweep ... --serve` and `arbnet sweep-worker`: one sweep, N workers.

The chief is `arbnet sweep` with `--serve`: the same sweep options, and
instead of training it hands the runs out. Each worker is
`arbnet sweep-worker DIR --chief HOST:PORT`, which reads the sweep from
DIR/sweep.json (the directory is shared) and does the runs it is handed:

    arbnet sweep dirichlet --alpha 0.01 1 --seeds 2 --out runs/d \\
        --serve --port 0 --workers 2          # Prints the port.
    arbnet sweep-worker runs/d --chief 127.0.0.1:PORT --worker-id w1
    arbnet sweep-worker runs/d --chief 127.0.0.1:PORT --worker-id w2

See `arbnet_keras.experiments.shared_sweep` and docs/distributed.md.
"""

import argparse
import sys

from arbnet_keras.cli.backend import add_backend_argument

# Options of `arbnet sweep` that only a chief takes, with their defaults
# (the parser's defaults are None, so that one given without --serve is
# an error, not silently ignored).
_SERVE_DEFAULTS = {
    "ip": "127.0.0.1",
    "port": 8000,
    "workers": 1,
    "timeout": 600.0,
    "lease": 60.0,
}

_WORKER_EPILOG = """\
example (a chief and two workers on one machine):
  arbnet sweep dirichlet --alpha 0.01 1 --seeds 2 --out runs/d \\
      --serve --port 0 --workers 2
  arbnet sweep-worker runs/d --chief 127.0.0.1:PORT --worker-id w1
  arbnet sweep-worker runs/d --chief 127.0.0.1:PORT --worker-id w2
On several machines, DIR must be the same shared directory (NFS...) and
the chief must listen on an address the workers reach (--ip 0.0.0.0).
See docs/distributed.md.
"""


def add_parser(subparsers):
    """Adds `sweep-worker`; `--serve` is added to `sweep` by `sweep.py`."""
    parser = subparsers.add_parser(
        "sweep-worker",
        help="do the runs a sweep's chief (arbnet sweep ... --serve) hands out",
        description=(
            "Ask the chief of a shared sweep (`arbnet sweep ... --out DIR "
            "--serve`) for runs, train each and append its record to "
            "DIR/results.jsonl, until the chief has none left. A run "
            "already recorded is reported, not trained again."
        ),
        epilog=_WORKER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "out",
        metavar="DIR",
        help="the sweep's directory (the chief's --out), shared with it",
    )
    parser.add_argument(
        "--chief",
        required=True,
        metavar="HOST:PORT",
        help="the chief's address, as it printed it",
    )
    parser.add_argument(
        "--worker-id",
        default=None,
        help="the worker's unique name (default: from host and process id); "
        "restarted with the same name, a worker gets its unfinished run back",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds to wait for each answer of the chief, including for "
        "it to start (default: %(default)s)",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=10.0,
        help="seconds between heartbeats to the chief; keep it well below "
        "the chief's --lease (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir", default=None, help="tensorflow-datasets directory"
    )
    add_backend_argument(parser)
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=0,
        help="per-epoch output: 0 none, 1 Keras progress bar, 2 one line "
        "per epoch (default: %(default)s)",
    )
    return parser


def run(args):
    """Runs `arbnet sweep-worker`; returns the exit status."""
    from arbnet_keras.experiments import shared_sweep
    from arbnet_keras.tuning import distributed

    prefix = f"[{args.worker_id}] " if args.worker_id else ""
    try:
        done = shared_sweep.run_sweep_worker(
            args.out,
            args.chief,
            worker_id=args.worker_id,
            timeout=args.timeout,
            heartbeat_interval=args.heartbeat,
            data_dir=args.data_dir,
            verbose=args.verbose,
            print_fn=_printer(prefix),
        )
    except distributed.ChiefUnreachableError as error:
        if getattr(args, "traceback", False):
            raise
        _error("arbnet sweep-worker", error)
        return 1
    prefix = f"[{done['worker']}] "
    line = (
        f"{prefix}Worker finished: the chief has no run left. Trained "
        f"{len(done['trained'])}, found recorded {len(done['found'])}"
    )
    if done["duplicates"]:
        line += f", recorded first by another worker {len(done['duplicates'])}"
    if done["failed"]:
        line += f", failed {len(done['failed'])}"
    print(line + ".", flush=True)
    return 0


def add_serve_arguments(parser):
    """Adds `--serve` and the chief's options to an `arbnet sweep` parser."""
    group = parser.add_argument_group(
        "shared sweep (a chief hands the runs out to `arbnet sweep-worker` "
        "processes; see docs/distributed.md)"
    )
    group.add_argument(
        "--serve",
        action="store_true",
        help="train nothing here: serve the runs not yet recorded to "
        "workers, `arbnet sweep-worker OUT --chief HOST:PORT`",
    )
    group.add_argument(
        "--ip",
        default=None,
        help="address to listen on, 0.0.0.0 for every interface "
        f"(default: {_SERVE_DEFAULTS['ip']})",
    )
    group.add_argument(
        "--port",
        type=int,
        default=None,
        help="port to listen on; 0 picks a free one, printed "
        f"(default: {_SERVE_DEFAULTS['port']})",
    )
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        help="workers that must ask for a run before the first is handed "
        f"out (default: {_SERVE_DEFAULTS['workers']})",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds without news of any worker before the chief gives "
        f"up (default: {_SERVE_DEFAULTS['timeout']:g})",
    )
    group.add_argument(
        "--lease",
        type=float,
        default=None,
        help="seconds a run may go without a heartbeat of its worker before "
        f"it is handed to another (default: {_SERVE_DEFAULTS['lease']:g})",
    )


def wants_serve(args):
    """Whether `arbnet sweep` arguments ask for a chief (or chief options).

    Raises:
        ValueError: If a chief's option is given without `--serve`, or
            `--serve` with an option of a single-process sweep.
    """
    given = [
        name
        for name in _SERVE_DEFAULTS
        if getattr(args, name, None) is not None
    ]
    if not getattr(args, "serve", False):
        if given:
            raise ValueError(
                f"`--{given[0]}` is an option of a chief: add `--serve`. "
                f"Received: {given[0]}={getattr(args, given[0])!r}"
            )
        return False
    if args.max_runs is not None:
        raise ValueError(
            "`--max-runs` is not an option of a chief (`--serve`): stop the "
            "chief to stop handing out runs. Received: "
            f"max_runs={args.max_runs!r}"
        )
    return True


def run_serve(args, spec, out):
    """Runs the chief of `arbnet sweep ... --serve`; returns the status.

    The status is 1 when runs failed on their workers (they are not
    recorded; serving again retries them), or when the chief gave up.
    """
    from arbnet_keras import experiments
    from arbnet_keras.cli.common import print_paths
    from arbnet_keras.experiments import shared_sweep
    from arbnet_keras.tuning import distributed

    options = {
        name: default if getattr(args, name) is None else getattr(args, name)
        for name, default in _SERVE_DEFAULTS.items()
    }
    echo = _printer("[chief] ")

    def on_listen(port):
        echo(
            "Start workers with: arbnet sweep-worker "
            f"{out} --chief {_host(options['ip'])}:{port}"
        )

    try:
        report = shared_sweep.serve_sweep(
            spec,
            out,
            ip=options["ip"],
            port=options["port"],
            min_workers=options["workers"],
            timeout=options["timeout"],
            lease=options["lease"],
            force=args.force,
            data_dir=args.data_dir,
            print_fn=echo,
            on_listen=on_listen,
        )
    except (distributed.ChiefTimeoutError, RuntimeError) as error:
        if getattr(args, "traceback", False):
            raise
        _error(f"arbnet sweep {args.hash}", error)
        return 1
    recorded = len(experiments.read_results(out))
    print(
        f"{report['total'] - _missing(report)} of {report['total']} runs "
        f"finished; results in {out}",
        flush=True,
    )
    if args.plot and recorded:
        print_paths(experiments.plot_results(out, formats=args.formats))
    # Runs that failed on their workers are not recorded: not done.
    return 1 if _missing(report) else 0


def _missing(report):
    return sum(run["status"] != "COMPLETED" for run in report["runs"].values())


def _host(ip):
    # A chief listening on every interface is reached at one of them.
    return "HOST" if ip in ("0.0.0.0", "::", "[::]") else ip


def _printer(prefix):
    def echo(line):
        print(f"{prefix}{line}", flush=True)

    return echo


def _error(prog, error):
    message = " ".join(str(error).split())
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
