"""Serve one cached model with llama.cpp's OpenAI-compatible server.

    python bench/realmodel/serve.py --model qwen2.5-coder-1.5b

Binds 127.0.0.1 on a free port, one thread, prints ``api_base=http://...:PORT/v1``
on stdout once the model is loaded (and writes it to ``--ready-file`` if given),
then serves until SIGINT/SIGTERM or until stdin closes with ``--stdin-lifeline``.
Run ``setup.py`` first. Exit 2 when the model is not set up, 3 when the
runtime is missing.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import MODELS, cached_model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--ctx", type=int, default=4096, help="context size")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument(
        "--stdin-lifeline",
        action="store_true",
        help="stop when stdin closes (for a parent process that may die)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    path = cached_model(args.model)
    if path is None:
        print(
            f"{args.model} is not set up: run python bench/realmodel/setup.py --model {args.model}",
            file=sys.stderr,
        )
        return 2
    try:
        import xllamacpp
    except ImportError:
        print("xllamacpp is not installed: run setup.py", file=sys.stderr)
        return 3
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = args.model
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port or free_port()
    params.warmup = False
    if not args.verbose:
        params.verbosity = 0
    server = xllamacpp.Server(params)
    api_base = f"http://127.0.0.1:{params.port}/v1"
    line = f"api_base={api_base}"
    if args.ready_file is not None:
        tmp = args.ready_file.with_suffix(".tmp")
        tmp.write_text(api_base + "\n", encoding="utf-8")
        os.replace(tmp, args.ready_file)
    print(line, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.stdin_lifeline:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    del server
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
