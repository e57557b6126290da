#!/usr/bin/python3
"""Execute notebooks headlessly with the clip-nad kernel (tslab + comms) and fail on any cell error.

    /usr/bin/python3 tools/notebooks/run_notebooks.py [NOTEBOOK ...]   (default: notebooks/*.ipynb)

- installs the kernelspec with `clip-nad kernel install --prefix build/jupyter` and puts
  build/jupyter/share/jupyter on JUPYTER_PATH (no global state);
- runs each notebook with nbclient in its own directory, writes the executed copy to build/notebooks/<name>.ipynb
  (also when it fails, for inspection);
- tslab reports errors only on the cell's stderr stream (execute_reply has no ename/evalue), so a failing
  cell's stderr is printed; an unhandled rejection / uncaught exception on stderr also fails the notebook;
- ends with `N passed, N failed` and exit status 1 if any notebook failed.
Needs Debian's python3-nbclient (nbclient 0.7, jupyter_client 7): always /usr/bin/python3.
"""
import argparse
import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FATAL_STDERR = ("UnhandledPromiseRejection", "UncaughtException")


def install_kernel(prefix, name):
    cmd = ["node", os.path.join(ROOT, "src", "cli", "bin.cjs"), "kernel", "install", "--prefix", prefix, "--name", name]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    path = os.path.join(prefix, "share", "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([path] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])


def cell_stderr(cell):
    return "".join(
        "".join(o.get("text", "")) if isinstance(o.get("text"), list) else o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )


def run_one(path, out_dir, kernel, timeout):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    failed = {}

    def on_cell_error(cell, cell_index, execute_reply):
        failed.setdefault("index", cell_index)

    def on_cell_executed(cell, cell_index, execute_reply):
        print(f"  cell {cell_index}: {execute_reply['content'].get('status')} ({time.time() - started:.1f}s)", file=sys.stderr, flush=True)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=False,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
        on_cell_error=on_cell_error,
        on_cell_executed=on_cell_executed,
    )
    started = time.time()
    error = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        error = f"{type(e).__name__}: {str(e).strip() or '(tslab gives no message; see stderr below)'}"
    except Exception as e:  # kernel start failures and the like
        error = f"{type(e).__name__}: {e}"
    if error is None:
        for i, cell in enumerate(nb.cells):
            text = cell_stderr(cell) if cell.cell_type == "code" else ""
            if any(f in text for f in FATAL_STDERR):
                failed.setdefault("index", i)
                error = "unhandled asynchronous error (printed on stderr)"
                break
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, os.path.basename(path))
    nbformat.write(nb, out)
    elapsed = time.time() - started
    if error is None:
        print(f"PASS {path} ({elapsed:.1f}s) -> {os.path.relpath(out, ROOT)}", flush=True)
        return True
    print(f"FAIL {path} ({elapsed:.1f}s): {error}", flush=True)
    if "index" in failed:
        i = failed["index"]
        cell = nb.cells[i]
        print(f"--- cell {i} source:\n{cell.source}\n--- cell {i} stderr:\n{cell_stderr(cell) or '(empty)'}", flush=True)
    print(f"executed copy: {os.path.relpath(out, ROOT)}", flush=True)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "notebooks"))
    ap.add_argument("--kernel", default="clip-nad")
    ap.add_argument("--prefix", default=os.path.join(ROOT, "build", "jupyter"), help="kernelspec prefix")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    ap.add_argument("--no-install", action="store_true", help="the kernelspec is installed and on JUPYTER_PATH already")
    args = ap.parse_args()
    paths = args.notebooks or sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    if not paths:
        print("no notebooks found")
        print("0 passed, 0 failed")
        return 0
    if not args.no_install:
        install_kernel(args.prefix, args.kernel)
    passed = failed = 0
    for p in paths:
        if run_one(p, args.out, args.kernel, args.timeout):
            passed += 1
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
