"""What the benchmarks share: running work in threads, rates, a waitress server, the machine."""

import http.client
import os
import platform
import statistics
import threading
import time


def in_threads(target, count):
    """Run ``target(i)`` in ``count`` threads at once; return the seconds they took."""
    start = time.perf_counter()
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def rate(fn, seconds):
    """Calls of ``fn`` per second over about ``seconds``."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def ms(seconds):
    return round(seconds * 1000, 2)


def percentiles(times_ms):
    times = sorted(times_ms)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
        "max_ms": round(times[-1], 2),
        "runs": len(times),
    }


def latencies(fn, repeat):
    """First (cold) call and p50/p95 of ``repeat`` further calls of ``fn``, in ms."""
    start = time.perf_counter()
    result = fn()
    cold = ms(time.perf_counter() - start)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return dict(percentiles(times), cold_ms=cold), result


def disk_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for folder, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    return total


def http_rate(port, path, seconds, clients=4, headers=None):
    """Requests per second from ``clients`` keep-alive connections for ``seconds``."""
    counts = [0] * clients
    errors = []
    headers = headers or {}
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    warm.request("GET", path, headers=headers)  # templates compile on first use: not part of the figure
    warm.getresponse().read()
    warm.close()
    deadline = time.perf_counter() + seconds

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while time.perf_counter() < deadline:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(response.status)
                    return
                counts[i] += 1
        finally:
            conn.close()

    elapsed = in_threads(client, clients)
    if errors:
        raise RuntimeError(f"{path} answered {errors[0]} during the benchmark")
    return sum(counts) / elapsed


def serve(app):
    """Serve ``app`` on waitress (4 threads) on a free local port: (server, port); ``server.close()`` stops it."""
    import logging

    import waitress

    # a saturated queue is the point of the benchmark, not news
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)

    def run():
        try:
            server.run()
        except OSError:  # the socket closed under the loop at the end of a figure: done, not an error
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server, server.effective_port


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def write_report(out_dir, prefix, report, latest=None):
    """``report`` as ``<out_dir>/<prefix>-<its date>.json`` and as ``latest`` (default
    ``latest-<prefix>.json``): the run kept, and the last one at a fixed name. Returns the path."""
    import json

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{prefix}-{report['date'][:19].replace(':', '')}.json")
    for target in (path, os.path.join(out_dir, latest or f"latest-{prefix}.json")):
        with open(target, "w") as f:
            json.dump(report, f, indent=2, ensure_ascii=False)
    return path
