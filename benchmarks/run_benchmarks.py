"""Run every benchmark script and print their tables (``make bench``). Not a test."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_ingest.py", "bench_features.py", "bench_track2.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
