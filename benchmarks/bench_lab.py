#!/usr/bin/env python3
"""What the lab costs: one iteration and one frame of each preset, then the page's loop live for a while.

    python3 benchmarks/bench_lab.py [--repeats 15] [--seconds 60] [--threads 1] [--tiny] [--browser FOLDER]

Part 1, in one process, for each preset of ``minigan/lab/settings.py``: the CPU time of one iteration of
Algorithm 1 (``Lab.step("iteration")``: k D steps and one G step) and of one frame (``Lab.frame``: G on
the shown noise, D on the heatmap grid, G's gradients, the manifold, the divergences) plus its JSON
encoding; medians of --repeats, in turns so that a slow spell lands on all of them.

Part 2, live: a ``LabServer`` on 127.0.0.1 plays each preset for --seconds while a client does what the
page does (``GET /api/state?after=V``, parse the JSON, ask again), and reports the frames the client got
per second, the iterations per second the run made, and the ring's modes covered (of 8) and high-quality
share at a quarter, half and all of the time (``minigan.tools.data.ring.mode_coverage`` on G's 2,000
points for the lab's fixed noise, of which the page shows 500). The browser's own drawing runs in another process on the other core, so this
is the server's side of what the page shows.

Part 3, with ``--browser FOLDER``: the same in the page itself, in a headless Chromium driven by selenium
(Debian's ``chromium`` and ``chromium-driver``): the preset's button, play, the page's own frames-per-second
reading every second, and a screenshot per preset. Measured numbers belong in docs/lab.md, with the command.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import apply_threads  # noqa: E402  (must run before numpy is imported)

THREADS = apply_threads(sys.argv)

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="The lab's iteration and frame costs, and its live frame rate, per preset.")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (read before NumPy is imported)")
    parser.add_argument("--repeats", type=int, default=15, help="timed iterations and frames per preset")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of live play per preset (0: skip part 2)")
    parser.add_argument("--tiny", action="store_true", help="a smoke test: 2 repeats, 2 s of play")
    parser.add_argument("--browser", metavar="FOLDER",
                        help="part 3: play each preset for --seconds in the real page (headless Chromium, selenium), "
                             "read its fps and save a screenshot per preset into FOLDER")
    return parser.parse_args(argv)


def costs(repeats):
    """{preset: (ms per iteration, ms per frame, ms per JSON encoding)}, CPU-time medians taken in turns."""
    from minigan.lab import settings
    from minigan.lab.playground import Lab

    labs = {name: Lab(0, settings.preset(name)) for name in settings.PRESETS}
    for lab in labs.values():
        lab.step("iteration", 20)  # past the first steps' allocations
    samples = {name: ([], [], []) for name in labs}
    for _ in range(repeats):
        for name, lab in labs.items():
            iteration, frame, encoding = samples[name]
            started = time.process_time()
            lab.step("iteration")
            iteration.append(time.process_time() - started)
            started = time.process_time()
            state = lab.frame()
            frame.append(time.process_time() - started)
            started = time.process_time()
            json.dumps(state)
            encoding.append(time.process_time() - started)
    return {name: tuple(1000 * statistics.median(values) for values in triple) for name, triple in samples.items()}


def live(name, seconds):
    """Play preset ``name`` for ``seconds`` under a polling client; frames/s, iterations/s, and the ring's coverage."""
    from minigan.lab import settings, views
    from minigan.lab.playground import Lab
    from minigan.lab.server import serving_in_background
    from minigan.tools.data.ring import MODES, RADIUS, STD, mode_coverage

    with serving_in_background(Lab(0, settings.preset(name))) as server:
        url = server.url + "/api/"
        urllib.request.urlopen(urllib.request.Request(url + "play", data=b"{}"), timeout=30).read()
        started, version, frames, checkpoints = time.perf_counter(), 0, 0, []
        marks = [seconds / 4, seconds / 2, seconds]
        while marks:
            with urllib.request.urlopen(f"{url}state?after={version}", timeout=30) as response:
                state = json.loads(response.read())
            version, frames = state["version"], frames + 1
            elapsed = time.perf_counter() - started
            if elapsed >= marks[0]:
                lab = server.lab
                with lab.lock:  # judged on all 2,000 points of the fixed noise (the page shows 500 of them)
                    fake = views.samples(lab.gan, lab.shown_noise)
                coverage = mode_coverage(fake, MODES, RADIUS, STD)
                checkpoints.append((marks.pop(0), state["counters"]["iteration"], coverage.modes_covered, coverage.high_quality_fraction))
        iterations = state["counters"]["iteration"]
    elapsed = time.perf_counter() - started
    return frames / elapsed, iterations / elapsed, state["steps_per_frame"], checkpoints


def in_browser(name, seconds, folder):
    """Play preset ``name`` in the page, in a headless Chromium, for ``seconds``: the page's own fps readings,
    the run's iterations, coverage as in ``live``, and a screenshot ``folder/lab_<name>.png``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from minigan.lab import settings, views
    from minigan.lab.playground import Lab
    from minigan.lab.server import serving_in_background
    from minigan.tools.data.ring import MODES, RADIUS, STD, mode_coverage

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    with serving_in_background(Lab(0)) as server:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
            driver.get(server.url + "/")
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, f"preset-{name}"))
            driver.find_element(By.ID, f"preset-{name}").click()
            WebDriverWait(driver, 30).until(lambda d: server.lab.settings == settings.preset(name))
            driver.find_element(By.ID, "play").click()
            started, readings = time.perf_counter(), []
            while time.perf_counter() - started < seconds:
                time.sleep(1.0)
                readings.append(int(driver.find_element(By.ID, "fps").text))
            driver.find_element(By.ID, "pause").click()
            path = os.path.join(folder, f"lab_{name}.png")
            driver.save_screenshot(path)
            lab = server.lab
            with lab.lock:
                fake, iterations = views.samples(lab.gan, lab.shown_noise), lab.gan.iteration
            return readings, iterations, mode_coverage(fake, MODES, RADIUS, STD), mode_coverage(fake, MODES, RADIUS, 5 * STD), path
        finally:
            driver.quit()


def main(argv=None):
    args = parse_args(argv)
    repeats, seconds = (2, 2.0) if args.tiny else (args.repeats, args.seconds)
    from minigan.lab import settings

    print(f"one iteration and one frame, CPU ms, medians of {repeats} (BLAS threads: {THREADS})")
    print(f"{'preset':>10} {'iteration':>10} {'frame':>8} {'JSON':>7}")
    for name, (iteration, frame, encoding) in costs(repeats).items():
        print(f"{name:>10} {iteration:>10.2f} {frame:>8.2f} {encoding:>7.2f}", flush=True)
    if seconds <= 0:
        return 0
    print(f"\nlive, {seconds:g} s of play per preset, a client polling as the page does")
    print(f"{'preset':>10} {'frames/s':>9} {'iter/s':>8} {'steps/frame':>11}   modes covered (of 8) and high-quality share at time t")
    for name in settings.PRESETS:
        fps, rate, per_frame, checkpoints = live(name, seconds)
        marks = "   ".join(f"{t:g} s (it {it}): {modes}/8, {100 * hq:.0f}%" for t, it, modes, hq in checkpoints)
        print(f"{name:>10} {fps:>9.1f} {rate:>8.0f} {per_frame:>11}   {marks}", flush=True)
    if args.browser:
        os.makedirs(args.browser, exist_ok=True)
        print(f"\nin the page (headless Chromium), {seconds:g} s of play per preset: the page's fps, read every second;"
              f" modes covered within 3 std (0.06) and within 15 std (0.3) of a centre, and their high-quality shares")
        for name in settings.PRESETS:
            readings, iterations, strict, loose, path = in_browser(name, seconds, args.browser)
            print(f"{name:>10}  fps median {statistics.median(readings[1:] or readings):.0f} (min {min(readings[1:] or readings)}, "
                  f"max {max(readings)}), iterations {iterations}: {strict.modes_covered}/8 ({100 * strict.high_quality_fraction:.0f}%), "
                  f"{loose.modes_covered}/8 ({100 * loose.high_quality_fraction:.0f}%); {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
