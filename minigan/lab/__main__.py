"""``python -m minigan.lab``: start the lab's server, print its address, serve until Ctrl-C.

    python -m minigan.lab                         # http://127.0.0.1:8000/
    python -m minigan.lab --port 8080 --seed 3 --backend cupy
"""

import argparse
import os
import sys

from minigan.engine import backend
from minigan.tools.cli import seed_value
from .playground import Lab
from .server import LabServer


def port_number(text):
    """A TCP port: an integer in [0, 65535] (0: any free port, printed at start)."""
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in [0, 65535], got {text!r}")
    return int(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m minigan.lab",
        description="Watch minigan train a 2-D GAN live in the browser, one step at a time, with the code beside each view.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--port", type=port_number, default=8000, help="the port to listen on (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on; the default serves this machine only (0.0.0.0 would serve the network: the lab has no login)")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes the networks' initial weights, the noise and the data")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default="numpy", help="the array backend that trains the GAN")
    return parser.parse_args(argv)


BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread(argv):
    """Run again with one BLAS thread unless the environment chose a number.

    The lab's matrices are small (a minibatch of 256 through layers of 128), too small for BLAS threads to
    help; on a 2-core machine they only take the cores that the play thread, the server and the browser
    need (the page drew 4 to 8 frames a second with OpenBLAS's default threads, over 20 with one). The
    count is read once, when NumPy loads, which ``python -m minigan.lab`` has already done by now (the
    package imports it), so the process replaces itself, same id, with the variables set.
    """
    if any(name in os.environ for name in BLAS_VARIABLES):
        return
    os.execve(sys.executable, [sys.executable, "-m", "minigan.lab", *argv],
              {**os.environ, **{name: "1" for name in BLAS_VARIABLES}})


def main(argv=None):
    args = parse_args(argv)
    if __name__ == "__main__":
        one_blas_thread(sys.argv[1:] if argv is None else argv)
    try:
        backend.set_backend(args.backend)
    except backend.BackendError as error:
        print(f"python -m minigan.lab: --backend {args.backend}: {error}", file=sys.stderr)
        return 2
    try:
        server = LabServer((args.host, args.port), Lab(seed=args.seed))
    except OSError as error:  # the port is taken, the host is not this machine's
        print(f"python -m minigan.lab: cannot listen on --host {args.host} --port {args.port}: {error.strerror or error}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "OpenBLAS's default")
    print(f"minigan lab: http://{host}:{port}/  (backend {args.backend}, seed {args.seed}, BLAS threads {threads}; "
          f"Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nminigan lab: stopped", flush=True)
    finally:
        server.lab.pause()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
