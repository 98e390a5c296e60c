"""The lab without a browser: the run it steps (``minigan/lab/playground.py``), what it draws (``views.py``) and
the JSON API (``server.py``) driven over real HTTP on 127.0.0.1, as the page and a script drive it.

The browser half (the page, clicked in a headless Chromium) is ``tests/test_lab_browser.py``.
"""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy
import pytest

from minigan import Tensor, backend, nn, optim
from minigan.lab import distributions, settings as lab_settings, sources, views
from minigan.lab.playground import STEP_LIMIT, Lab, LabError, RunDiverged
from minigan.lab.server import serving_in_background
from minigan.lab.settings import SettingError
from minigan.tools.data.ring import MODES, RADIUS, STD, mode_coverage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = {"g_width": 16, "d_width": 16, "batch_size": 32}  # quick networks: these tests check bookkeeping, not learning


def small_lab(seed=0, **changes):
    return Lab(seed, lab_settings.check_settings({**SMALL, **changes}))


def counters(lab):
    return dict(lab.frame()["counters"])


# ----- the run ------------------------------------------------------------------------------------
def test_each_step_kind_advances_exactly_its_counters():
    lab = small_lab(k=3)
    assert counters(lab) == {"iteration": 0, "discriminator_steps": 0, "generator_steps": 0, "substeps": 0, "phase": 0}
    lab.step("d")
    assert counters(lab) == {"iteration": 0, "discriminator_steps": 1, "generator_steps": 0, "substeps": 1, "phase": 0}
    lab.step("g", 2)
    assert counters(lab) == {"iteration": 0, "discriminator_steps": 1, "generator_steps": 2, "substeps": 3, "phase": 0}
    lab.step("iteration")  # k = 3 D steps and one G step
    assert counters(lab) == {"iteration": 1, "discriminator_steps": 4, "generator_steps": 3, "substeps": 7, "phase": 0}
    assert lab.frame()["last_substep"] == "g"


def test_slow_motion_takes_an_iteration_one_sub_step_at_a_time():
    lab = small_lab(k=2)
    seen = []
    for _ in range(3):
        lab.advance()
        seen.append((lab.last_substep, lab.phase, lab.gan.iteration))
    assert seen == [("d", 1, 0), ("d", 2, 0), ("g", 0, 1)]
    lab.advance()                 # halfway through the next iteration …
    lab.step("iteration")         # … "one iteration" finishes it: one more D step and the G step
    assert counters(lab) == {"iteration": 2, "discriminator_steps": 4, "generator_steps": 2, "substeps": 6, "phase": 0}


def run_losses(lab):
    return [(record["d_loss"], record["g_loss"]) for record in lab.history]


def test_a_seed_fixes_the_run_however_its_steps_are_grouped():
    # One call of 6 iterations, 6 calls of one, and slow motion throughout: the same sub-steps, the same run.
    at_once, one_by_one, slowly = small_lab(seed=5, k=2), small_lab(seed=5, k=2), small_lab(seed=5, k=2)
    at_once.step("iteration", 6)
    for _ in range(6):
        one_by_one.step("iteration")
    for _ in range(6 * 3):
        slowly.advance()
    fakes = [views.samples(lab.gan, lab.shown_noise) for lab in (at_once, one_by_one, slowly)]
    numpy.testing.assert_array_equal(fakes[0], fakes[1])
    numpy.testing.assert_array_equal(fakes[0], fakes[2])
    assert at_once.last_losses == one_by_one.last_losses == slowly.last_losses
    other = small_lab(seed=6, k=2)
    other.step("iteration", 6)
    assert not numpy.array_equal(views.samples(other.gan, other.shown_noise), fakes[0])


def test_a_reset_starts_the_same_run_again():
    lab = small_lab(seed=2)
    lab.step("iteration", 4)
    first = views.samples(lab.gan, lab.shown_noise)
    lab.reset()
    assert counters(lab)["substeps"] == 0 and [record["step"] for record in lab.history] == [0]  # the frame's first point
    lab.step("iteration", 4)
    numpy.testing.assert_array_equal(views.samples(lab.gan, lab.shown_noise), first)


def test_settings_take_effect_at_the_next_step():
    lab = small_lab()
    lab.configure({"k": 4, "d_lr": 0.01, "g_optimizer": "sgd", "g_lr": 0.05})
    assert lab.gan.discriminator_optimizer.lr == 0.01
    assert isinstance(lab.gan.generator_optimizer, optim.SGD) and lab.gan.generator_optimizer.lr == 0.05
    lab.step("iteration")
    assert counters(lab)["discriminator_steps"] == 4
    # The switched optimiser is the one that steps: an SGD step moves G by exactly lr · ∇ (no moments).
    weight = lab.gan.generator.layers[0].weight
    before = weight.numpy().copy()
    lab.step("g")
    numpy.testing.assert_allclose(weight.numpy(), before - 0.05 * backend.to_numpy(weight.grad), rtol=1e-5, atol=1e-7)


def test_changing_the_objective_changes_what_d_is_and_what_the_page_shows():
    lab = small_lab()
    assert lab.frame()["heatmap"]["kind"] == "probability"
    lab.configure({"objective": "wgan-gp", "k": 5})
    assert type(lab.gan.objective).__name__ == "WGANGP" and lab.betas == (0.0, 0.9)
    assert lab.frame()["heatmap"]["kind"] == "score"
    assert sources.code_map(lab.settings)["d_loss"] == ["WGANGP.discriminator_loss"]
    lab.step("iteration")
    assert counters(lab)["discriminator_steps"] == 5


def test_a_structural_setting_rebuilds_the_networks_and_the_others_do_not():
    lab = small_lab()
    lab.step("iteration", 2)
    assert lab.configure({"d_lr": 0.002}) is False and counters(lab)["iteration"] == 2
    assert lab.configure({"g_width": 8, "noise_dim": 1}) is True
    assert counters(lab)["iteration"] == 0
    linear = [layer for layer in lab.gan.generator.layers if isinstance(layer, nn.Linear)]
    assert [tuple(layer.weight.shape) for layer in linear] == [(8, 1), (8, 8), (2, 8)]  # (out, in): noise 1 → 8 → 8 → 2


def test_the_frame_has_the_shapes_the_page_draws():
    lab = small_lab()
    lab.step("iteration", 3)
    frame = lab.frame()
    assert numpy.shape(frame["real"]) == numpy.shape(frame["fake"]) == numpy.shape(frame["gradients"]) == (500, 2)
    size = frame["heatmap"]["size"]
    assert len(frame["heatmap"]["values"]) == size * size
    assert all(0.0 <= v <= 1.0 for v in frame["heatmap"]["values"])  # probabilities for the standard objective
    assert len(frame["manifold"]) == 2 * views.MANIFOLD_LINES and numpy.shape(frame["manifold"][0]) == (views.MANIFOLD_LINES, 2)
    assert frame["history"][-1]["step"] == frame["counters"]["substeps"]
    assert 0.0 <= frame["divergences"]["js"] <= math.log(2) + 1e-12
    json.dumps(frame, allow_nan=False)  # what the server sends: plain JSON, no NaN
    lab.configure({"noise_dim": 1})
    assert len(lab.frame()["manifold"]) == 1
    lab.configure({"noise_dim": 3})
    assert lab.frame()["manifold"] is None


def test_the_heatmap_is_d_on_the_grid_cell_by_cell():
    lab = small_lab()
    lab.step("iteration", 2)
    values, kind = views.discriminator_heatmap(lab.gan, size=4)
    points = views.grid_points(4)
    assert points[0].tolist() == pytest.approx([-2.25, 2.25]) and points[3].tolist() == pytest.approx([2.25, 2.25])
    logits = backend.to_numpy(lab.gan.discriminator(Tensor(backend.get_backend().asarray(points))).data).ravel()
    numpy.testing.assert_allclose(values, 1 / (1 + numpy.exp(-logits)), rtol=1e-5)
    assert kind == "probability"


def test_each_arrow_is_minus_the_gradient_of_gs_loss_at_its_point():
    # Non-saturating: L_G = −(1/n) Σ log σ(D(xᵢ)), so n·∂L_G/∂xᵢ = −(1 − σ(D(xᵢ))) ∇ₓD(xᵢ); checked by finite differences.
    lab = small_lab()
    lab.configure({"objective": "non-saturating"})
    points = numpy.array([[0.3, -0.2], [1.0, 1.5], [-2.0, 0.5]], dtype=numpy.float32)
    arrows = views.generator_gradients(lab.gan, points)
    be = backend.get_backend()

    def loss_at(x):  # −log σ(D(x)) at one point, in float64 on the host
        logit = float(backend.to_numpy(lab.gan.discriminator(Tensor(be.asarray(x[None].astype(numpy.float32)))).data)[0, 0])
        return math.log1p(math.exp(-logit))
    for point, arrow in zip(points, arrows):
        numeric = [(loss_at(point + h) - loss_at(point - h)) / 2e-3 for h in numpy.eye(2, dtype=numpy.float32) * 1e-3]
        numpy.testing.assert_allclose(arrow, -numpy.array(numeric), rtol=2e-2, atol=1e-4)
    assert not any(p.grad is not None and numpy.any(backend.to_numpy(p.grad)) for p in lab.gan.discriminator.parameters())


def test_divergences_are_zero_for_one_sample_and_large_for_a_missed_mode():
    rng = numpy.random.default_rng(0)
    ring = distributions.sample("ring", 4000, rng)
    same = views.divergences(ring, ring)
    assert same["js"] == pytest.approx(0.0, abs=1e-12) and same["kl"] < 0.01
    half = ring[ring[:, 0] > 0.5]  # G drawing 3 of the 8 modes
    missed = views.divergences(ring, half)
    assert missed["kl"] > 0.5 and 0.2 < missed["js"] <= math.log(2)


@pytest.mark.parametrize("name", distributions.DATA_NAMES)
def test_each_distribution_lies_in_the_box_and_is_fixed_by_its_seed(name):
    drawn = [[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]]
    a = distributions.sample(name, 1000, numpy.random.default_rng(1), drawn)
    b = distributions.sample(name, 1000, numpy.random.default_rng(1), drawn)
    assert a.shape == (1000, 2) and a.dtype == numpy.float32
    numpy.testing.assert_array_equal(a, b)
    assert numpy.abs(a).max() < distributions.BOX


def test_a_divergence_is_caught_at_its_step_and_a_reset_recovers():
    lab = small_lab()
    lab.step("iteration", 2)
    weight = lab.gan.generator.layers[0].weight
    weight.data[...] = numpy.nan  # what an exploding run leaves behind
    lab.step("d")                 # D trains on G's NaN samples: its loss is NaN at sub-step 5
    assert lab.diverged.startswith("diverged at step 5")
    with pytest.raises(RunDiverged, match="diverged at step 5"):
        lab.step("g")
    assert lab.frame()["diverged"] == lab.diverged
    json.dumps(lab.frame(), allow_nan=False)
    lab.reset()
    assert lab.diverged is None
    lab.step("iteration")


@pytest.mark.parametrize("changes, field", [
    ({"g_lr": -1}, "g_lr"), ({"d_lr": float("nan")}, "d_lr"), ({"d_lr": 0}, "d_lr"), ({"k": 10**9}, "k"),
    ({"k": 2.0}, "k"), ({"k": True}, "k"), ({"objective": "wgan"}, "objective"), ({"noise_dim": 0}, "noise_dim"),
    ({"data": "drawn", "drawn": []}, "drawn"), ({"data": "drawn", "drawn": [[0, 0]] * (10**6)}, "drawn"),
    ({"data": "drawn", "drawn": [[0, 0], [1, 1], [9, 0]]}, "drawn"), ({"data": "drawn"}, "drawn"),
    ({"r1_gamma": 10, "objective": "wgan-gp"}, "r1_gamma"), ({"width": 3}, "width"),
])
def test_a_bad_setting_is_one_line_naming_its_field(changes, field):
    lab = small_lab()
    before = dict(lab.settings)
    with pytest.raises(SettingError) as caught:
        lab.configure(changes)
    message = str(caught.value)
    assert message.startswith(f"{field}:") and "\n" not in message and len(message) < 300
    assert lab.settings == before  # nothing half-applied


def test_presets_are_complete_settings():
    for name in lab_settings.PRESETS:
        assert set(lab_settings.preset(name)) == set(lab_settings.FIELDS)
    with pytest.raises(SettingError, match="^name: expected one of balanced"):
        lab_settings.preset("collapse")


def test_every_name_the_page_can_show_has_its_source():
    for objective in lab_settings.OBJECTIVES:
        for optimizer in lab_settings.OPTIMIZERS:
            s = lab_settings.check_settings({"objective": objective, "g_optimizer": optimizer, "d_optimizer": optimizer})
            for part, names in sources.code_map(s).items():
                assert names, part
                for name in names:
                    found = sources.source(name)
                    assert found["source"].lstrip().startswith("def ") and os.path.exists(os.path.join(ROOT, found["file"]))
    with pytest.raises(KeyError):
        sources.source("os.system")


# ----- the HTTP API -------------------------------------------------------------------------------
@pytest.fixture
def server():
    with serving_in_background(small_lab()) as httpd:
        yield httpd


def call(server, path, body=None, raw=None, method=None):
    """(status, parsed JSON or text) of one request; ``raw`` bytes are sent as they are."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(server.url + path, data=data, method=method or ("POST" if data is not None else "GET"))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text, kind = response.status, response.read(), response.headers.get("Content-Type")
    except urllib.error.HTTPError as error:
        status, text, kind = error.code, error.read(), error.headers.get("Content-Type")
    return status, (json.loads(text) if kind == "application/json" else text)


def test_the_api_steps_configures_and_reports(server):
    status, state = call(server, "/api/state")
    assert status == 200 and state["counters"]["iteration"] == 0 and "d_step" in state["code"]
    status, state = call(server, "/api/step", {"what": "iteration", "count": 3})
    assert status == 200 and state["counters"]["iteration"] == 3
    status, answer = call(server, "/api/config", {"k": 2})
    assert status == 200 and answer["rebuilt"] is False and answer["state"]["settings"]["k"] == 2
    status, state = call(server, "/api/step", {"what": "iteration"})
    assert state["counters"]["discriminator_steps"] == 5
    status, answer = call(server, "/api/preset", {"name": "wgan-gp"})
    assert status == 200 and answer["settings"]["objective"] == "wgan-gp" and answer["counters"]["substeps"] == 0
    status, presets = call(server, "/api/presets")
    assert set(presets) == set(lab_settings.PRESETS)
    status, found = call(server, "/api/source?name=GAN.discriminator_step")
    assert status == 200 and found["file"] == "minigan/gans/gan.py" and "def discriminator_step" in found["source"]
    status, state = call(server, "/api/reset", {"seed": 9})
    assert state["seed"] == 9


@pytest.mark.parametrize("path, body, field", [
    ("/api/config", b"{bad json", "body"),
    ("/api/config", b"[1, 2]", "body"),
    ("/api/config", b'{"g_lr": NaN}', "body"),
    ("/api/config", b'{"g_lr": -1}', "g_lr"),
    ("/api/config", b'{"k": 1000000000}', "k"),
    ("/api/config", b'{"colour": "red"}', "colour"),
    ("/api/config", b'{"data": "drawn", "drawn": []}', "drawn"),
    ("/api/step", b'{"what": "iteration", "count": 1000000000}', "count"),
    ("/api/step", b'{"what": "both"}', "what"),
    ("/api/step", b'{"count": 0}', "count"),
    ("/api/step", b'{"what": "d", "times": 2}', "times"),
    ("/api/reset", b'{"seed": -1}', "seed"),
    ("/api/reset", b'{"seed": "abc"}', "seed"),
    ("/api/preset", b'{"name": "nope"}', "name"),
    ("/api/play", b'{"speed": "fast"}', "speed"),
])
def test_a_bad_request_is_400_with_one_line_and_the_server_goes_on(server, path, body, field):
    status, answer = call(server, path, raw=body)
    assert status == 400, answer
    assert answer["error"].startswith(f"{field}:") and "\n" not in answer["error"]
    status, state = call(server, "/api/step", {"what": "d"})
    assert status == 200 and state["counters"]["discriminator_steps"] == 1  # nothing was half-applied


def test_a_drawing_of_a_million_points_is_refused_before_it_is_read(server):
    points = json.dumps({"data": "drawn", "drawn": [[0.5, 0.5]] * 10**6}).encode()  # about 13 MB
    status, answer = call(server, "/api/config", raw=points)
    assert status == 400 and answer["error"].startswith("body:")
    assert call(server, "/api/state")[0] == 200


def test_a_drawing_is_trained_on(server):
    drawing = [[x, 1.0] for x in numpy.linspace(-2, 2, 50).tolist()]
    status, answer = call(server, "/api/config", {"data": "drawn", "drawn": drawing})
    assert status == 200 and answer["state"]["settings"]["data"] == "drawn"
    real = numpy.array(answer["state"]["real"])
    assert abs(real[:, 1].mean() - 1.0) < 0.05 and real[:, 0].min() < -1.8  # the drawn line, blurred
    assert call(server, "/api/step", {"what": "iteration", "count": 2})[0] == 200


@pytest.mark.parametrize("path", ["/static/../server.py", "/static/..%2fserver.py", "/../minigan/lab/server.py",
                                  "/static/%2e%2e/settings.py", "//etc/passwd", "/static/"])
def test_only_the_pages_own_files_are_served(server, path):
    status, answer = call(server, path)
    assert status == 404


def test_the_page_and_its_files_are_served(server):
    status, text = call(server, "/")
    assert status == 200 and b"<html" in text.lower() or b"<!doctype html" in text.lower()
    for name in os.listdir(os.path.join(ROOT, "minigan", "lab", "static")):
        assert call(server, f"/static/{name}")[0] == 200


def test_a_diverged_run_answers_409_until_reset(server):
    lab = server.lab
    lab.gan.generator.layers[0].weight.data[...] = numpy.nan
    status, answer = call(server, "/api/step", {"what": "d"})
    assert status == 200 and answer["diverged"].startswith("diverged at step 1")
    status, answer = call(server, "/api/step", {"what": "g"})
    assert status == 409 and answer["error"].startswith("diverged at step 1")
    assert call(server, "/api/play", {})[0] == 409
    status, state = call(server, "/api/reset", {})
    assert status == 200 and state["diverged"] is None
    assert call(server, "/api/step", {"what": "g"})[0] == 200


def test_two_clients_see_one_consistent_run(server):
    errors = []

    def client():
        for _ in range(5):
            status, _ = call(server, "/api/step", {"what": "iteration", "count": 2})
            if status != 200:
                errors.append(status)
    threads = [threading.Thread(target=client) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    first, second = call(server, "/api/state")[1], call(server, "/api/state")[1]
    assert first["counters"]["iteration"] == second["counters"]["iteration"] == 20
    assert first["version"] == second["version"] and first["fake"] == second["fake"]


def test_a_long_poll_returns_when_the_run_moves(server):
    version = call(server, "/api/state")[1]["version"]
    answers = []
    poller = threading.Thread(target=lambda: answers.append(call(server, f"/api/state?after={version}")[1]))
    poller.start()
    time.sleep(0.1)
    call(server, "/api/step", {"what": "g"})
    poller.join(timeout=10)
    assert answers and answers[0]["version"] > version and answers[0]["counters"]["generator_steps"] == 1
    status, answer = call(server, "/api/state?after=x")
    assert status == 400 and answer["error"].startswith("after:")


def test_play_trains_until_paused_and_slow_motion_takes_sub_steps(server):
    assert call(server, "/api/play", {})[0] == 200
    deadline = time.monotonic() + 20
    while call(server, "/api/state")[1]["counters"]["iteration"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    status, state = call(server, "/api/pause", {})
    assert state["playing"] is False and state["counters"]["iteration"] >= 3
    time.sleep(0.2)
    paused = call(server, "/api/state")[1]["counters"]
    time.sleep(0.3)
    assert call(server, "/api/state")[1]["counters"] == paused  # paused means paused
    server.lab.configure({"k": 1})
    call(server, "/api/play", {"speed": "slow"})
    seen = set()
    deadline = time.monotonic() + 20
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(call(server, f"/api/state?after={call(server, '/api/state')[1]['version']}")[1]["last_substep"])
    call(server, "/api/pause", {})
    assert seen == {"d", "g"}


def test_step_counts_are_bounded():
    lab = small_lab(k=20)
    with pytest.raises(LabError, match="^count: "):
        lab.step("iteration", STEP_LIMIT)  # 21 sub-steps an iteration: too many for one request
    assert counters(lab)["substeps"] == 0


# ----- the command line ---------------------------------------------------------------------------
def lab_command(*flags):
    return [sys.executable, "-m", "minigan.lab", *flags]


@pytest.mark.numpy_only("runs the lab's own process, which trains on NumPy")
def test_the_command_serves_until_ctrl_c():
    # Without BLAS variables in its environment, the lab restarts itself with one BLAS thread.
    environment = {name: value for name, value in os.environ.items() if not name.endswith("_NUM_THREADS")}
    # Ctrl-C's default in the child even if this suite runs in the background, where SIGINT may be ignored
    # and a Python started so never raises KeyboardInterrupt.
    process = subprocess.Popen(lab_command("--port", "0", "--seed", "1"), cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**environment, "PYTHONPATH": ROOT},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = process.stdout.readline()
        assert line.startswith("minigan lab: http://127.0.0.1:") and "BLAS threads 1;" in line, line
        url = line.split()[2]
        with urllib.request.urlopen(url + "api/state", timeout=120) as response:
            assert json.loads(response.read())["seed"] == 1
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=120)  # generous: the suite runs beside training jobs
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"python -m minigan.lab did not stop within 120 s of Ctrl-C; it printed {out!r} {err!r}")
    finally:
        process.kill()
    assert process.returncode == 0 and "stopped" in out and "Traceback" not in err, (out, err)


@pytest.mark.numpy_only("checks the command's flags, which train nothing")
@pytest.mark.parametrize("flags, message", [
    (("--port", "99999"), "--port: expected a port number in [0, 65535]"),
    (("--seed", "-3"), "--seed"),
    (("--backend", "torch"), "--backend: invalid choice"),
])
def test_a_bad_flag_is_one_line(flags, message):
    result = subprocess.run(lab_command(*flags), cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.numpy_only("binds a port the test holds")
def test_a_port_in_use_is_one_line():
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(lab_command("--port", str(port)), cwd=ROOT, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 2 and f"cannot listen on --host 127.0.0.1 --port {port}" in result.stderr
    assert "Traceback" not in result.stderr


# ----- the presets retell the lectures ------------------------------------------------------------
def coverage_after(name, iterations):
    lab = Lab(0, lab_settings.preset(name))
    lab.step("iteration", iterations)
    return mode_coverage(views.samples(lab.gan, lab.shown_noise), MODES, RADIUS, STD)


@pytest.mark.slow
@pytest.mark.numpy_only("trains a preset for thousands of steps: the learning, not the device rules, is under test")
def test_the_balanced_preset_spreads_over_the_ring_and_the_strong_d_collapses():
    balanced = coverage_after("balanced", 2000)
    strong = coverage_after("strong-d", 600)
    assert balanced.modes_covered >= 7, balanced
    assert strong.modes_covered <= 2, strong


def test_an_error_in_play_stops_it_with_one_line(monkeypatch, capsys):
    lab = small_lab()

    def broken():
        raise RuntimeError("out of memory")
    monkeypatch.setattr(lab, "advance", broken)
    lab.play()
    lab._player.join(timeout=10)
    assert lab.playing is False and lab.diverged == "stopped at step 0: RuntimeError: out of memory; reset to go on"
    assert "Traceback" in capsys.readouterr().err  # the whole story on the server's terminal


def test_a_request_whose_steps_diverge_stops_there_and_says_so():
    # Plain SGD at learning rate 1, minimax: seed 0's run blows up within 300 iterations; the request that
    # does it stops at the step that diverged (it is not refused: the refusal is for the next one).
    lab = Lab(0, lab_settings.check_settings({"objective": "minimax", "d_optimizer": "sgd", "g_optimizer": "sgd",
                                              "d_lr": 1, "g_lr": 1}))
    lab.step("iteration", 300)
    step = int(lab.diverged.split()[3].rstrip(":"))
    assert lab.diverged.startswith("diverged at step ") and lab.substeps == step < 600
    with pytest.raises(RunDiverged):
        lab.step("iteration")
