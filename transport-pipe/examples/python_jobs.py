"""A Python program hands jobs to Rust workers through a Listener.

    python3 python_jobs.py WORKERS WORKER_COMMAND...

For example, from the workspace:

    cargo build --example python_worker -p transport-pipe
    python3 transport-pipe/examples/python_jobs.py 3 target/debug/examples/python_worker

It listens on a socket file in a private directory with a random authkey,
starts WORKERS copies of WORKER_COMMAND with the address and the key in
their environment, sends each job (a dict) to whichever worker asks, and
checks every answer. The workers are Rust (examples/python_worker.rs): they
connect with `Client::connect_python` and read and write plain pickles.
"""

import multiprocessing.connection as mpc
import os
import subprocess
import sys
import tempfile
import threading

JOBS = 40


def serve(conn, jobs, results, lock):
    """Gives this worker jobs until none are left, then None."""
    while True:
        request = conn.recv()  # {"ready": worker_id} or {"id": ..., "sum": ...}
        if "sum" in request:
            with lock:
                results[request["id"]] = (request["sum"], request["worker"])
        with lock:
            job = jobs.pop() if jobs else None
        conn.send(job)
        if job is None:
            return


def main():
    workers, command = int(sys.argv[1]), sys.argv[2:]
    key = os.urandom(32)
    with tempfile.TemporaryDirectory(prefix="jobs-") as tmp:
        address = os.path.join(tmp, "jobs.sock")
        listener = mpc.Listener(address, authkey=key)
        env = dict(os.environ, JOBS_ADDRESS=address, JOBS_AUTHKEY=key.hex())
        children = [subprocess.Popen(command, env=env) for _ in range(workers)]
        jobs = [{"id": i, "numbers": list(range(i)), "label": "job %d" % i} for i in range(JOBS)]
        results, lock, threads = {}, threading.Lock(), []
        for _ in range(workers):
            conn = listener.accept()
            t = threading.Thread(target=serve, args=(conn, jobs, results, lock))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        listener.close()
        codes = [c.wait(60) for c in children]
    wrong = [i for i in range(JOBS) if results.get(i, (None,))[0] != sum(n * n for n in range(i))]
    by = sorted({w for _, w in results.values()})
    if wrong or any(codes):
        raise SystemExit("wrong answers for jobs %s, worker exit codes %s" % (wrong, codes))
    print("all %d jobs done by workers %s" % (JOBS, by), flush=True)


if __name__ == "__main__":
    main()
