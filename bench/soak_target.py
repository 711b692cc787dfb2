# SPDX-License-Identifier: MIT
#
# A target of agent_soak.sh and agent_bpf_cost.sh: 10 ms busy in every
# 100 ms, forever; every second a thread comes, spins 10 ms and goes.
import threading
import time


def spin(until):
    x = 0
    while time.monotonic() < until:
        x += 1
    return x


n = 0
while True:
    spin(time.monotonic() + 0.01)
    n += 1
    if n % 10 == 0:
        t = threading.Thread(target=spin, args=(time.monotonic() + 0.01,))
        t.start()
        t.join()
    time.sleep(0.09)
