"""The peak-RSS figure is the child's own, not the benchmark process's.

Linux's ``wait4`` ``ru_maxrss`` for a child includes the high-water mark of the forked copy of
the parent before exec; the benchmark process holds gigabytes after its 1M-row scenarios, which
is how a 1.85 GiB cycle was once reported as 2.87 GiB. The child now reports ``VmHWM``.
"""

import os
import subprocess
import sys

from benchmarks.common import ROOT

MIB = 2**20


def test_child_reports_its_own_peak_not_the_parents():
    ballast = bytearray(512 * MIB)
    for i in range(0, len(ballast), 4096):  # make every page resident in this (parent) process
        ballast[i] = 1
    code = "from benchmarks.child import own_peak_rss_kib; print(own_peak_rss_kib())"
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    own_kib = int(child.stdout.read())
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    del ballast
    assert own_kib * 1024 < 256 * MIB, own_kib  # a small interpreter, whatever its parent holds
    assert usage.ru_maxrss * 1024 >= 512 * MIB, usage.ru_maxrss  # what wait4 would have said
