"""Runs a command and prints its wall time and peak resident memory (the child's ru_maxrss).

usage: python3 peak_rss.py CMD [ARGS...]   (stdout and stderr of CMD pass through)
"""
import resource
import subprocess
import sys
import time

start = time.monotonic()
rc = subprocess.call(sys.argv[1:])
wall = time.monotonic() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"peak_rss {peak_kib / 1024**2:.2f} GiB ({peak_kib} KiB)  wall {wall:.1f} s  exit {rc}", file=sys.stderr)
sys.exit(rc)
