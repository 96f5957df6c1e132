"""Run every benchmark script and print their tables (``make bench``), headed by the machine. Not a test.

``bench_csv_features.py`` (raw CSVs -> features at 10x, beside the original's pandas way) and
``bench_reruns.py`` (the cold default run and what a parameter change costs) answer the targets
of the README's performance section; ``bench_scale.py`` (100x) and ``bench_workflow.py`` (the
whole workflow at 10x) take too long for it and run on their own.
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_ingest.py", "bench_features.py", "bench_csv_features.py", "bench_track2.py", "bench_reruns.py")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}", flush=True)
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)
