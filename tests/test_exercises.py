"""The exercises: the model solutions pass, empty bodies are "not implemented", each classic
mistake gets its own hint, learners' files are never overwritten, and the command line works in
both languages."""
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from minigan import backend as B
from minigan.exercises import BY_NAME, EXERCISES, check, check_file, load, messages, template
from minigan.exercises import catalogue as cat
from minigan.exercises import write_workspace
from minigan.exercises.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def learner(name, **overrides):
    """The model solution of exercise ``name`` with some functions replaced."""
    return types.SimpleNamespace(**dict(BY_NAME[name].solution, **overrides))


# ---------------------------------------------------------------------------------------------
# The classic mistakes, each written as a learner would write it

def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _bn_stats(x):
    return x.mean(axis=0), x.var(axis=0), 1 / np.sqrt(x.var(axis=0) + cat.BN_EPS)


def bn_backward_without_mean_term(x, gamma, beta, grad_y):
    mu, var, inv_std = _bn_stats(x)
    xhat = (x - mu) * inv_std
    grad_gamma, grad_beta = (grad_y * xhat).sum(0), grad_y.sum(0)
    return gamma * inv_std * (grad_y - xhat * grad_gamma / len(x)), grad_gamma, grad_beta


def bn_backward_constant_statistics(x, gamma, beta, grad_y):
    mu, var, inv_std = _bn_stats(x)
    xhat = (x - mu) * inv_std
    return gamma * inv_std * grad_y, (grad_y * xhat).sum(0), grad_y.sum(0)


def _col2im_assigning(cols, shape, k, stride, padding):
    """col2im with `=` where it needs `+=`: overlapping windows overwrite each other."""
    n, ch, h, w = shape
    oh, ow = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    xp = np.zeros((n, ch, h + 2 * padding, w + 2 * padding))
    patches = cols.reshape(n, oh, ow, ch, k, k)
    for i in range(oh):
        for j in range(ow):
            xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k] = patches[:, i, j]
    return xp[:, :, padding:padding + h, padding:padding + w]


def conv_backward_assigning(x, W, b, grad_y, stride, padding):
    grad_x, grad_W, grad_b = cat._conv_backward(x, W, b, grad_y, stride, padding)
    c_out, _, k, _ = W.shape
    grad_x = _col2im_assigning(cat._rows(grad_y) @ W.reshape(c_out, -1), x.shape, k, stride,
                               padding)
    return grad_x, grad_W, grad_b


def conv_forward_flipped(x, W, b, stride, padding):
    return cat._conv_forward(x, np.ascontiguousarray(W[:, :, ::-1, ::-1]), b, stride, padding)


def convt_forward_assigning(x, W, b, stride, padding):
    n, c_in, h, w = x.shape
    _, c_out, k, _ = W.shape
    size = ((h - 1) * stride - 2 * padding + k, (w - 1) * stride - 2 * padding + k)
    cols = cat._rows(x) @ W.reshape(c_in, -1)
    return _col2im_assigning(cols, (n, c_out) + size, k, stride, padding) + b[:, None, None]


def bce_naive(logits, targets):
    s = _sigmoid(logits)
    value = np.mean(-targets * np.log(s) - (1 - targets) * np.log(1 - s))
    return value, (s - targets) / logits.size


def adam_without_bias_correction(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * m / (np.sqrt(v) + eps), m, v


def adam_eps_inside(param, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * (m / (1 - beta1 ** t)) / np.sqrt(v / (1 - beta2 ** t) + eps), m, v


def jsd_naive(p_data, p_g, dx):
    m = (p_data + p_g) / 2
    return 0.5 * (np.sum(p_data * np.log(p_data / m)) + np.sum(p_g * np.log(p_g / m))) * dx


def frechet_product_of_roots(mu1, sigma1, mu2, sigma2):
    return (np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2)
            - 2 * np.trace(cat._sqrtm(sigma1) @ cat._sqrtm(sigma2)))


def counts_of_every_sample(samples, centres, std, num_std):
    good, _ = cat._high_quality(samples, centres, std, num_std)
    d = np.linalg.norm(samples[:, None] - centres[None], axis=2)
    return good, np.bincount(d.argmin(axis=1), minlength=len(centres))


MISTAKES = [
    ("dense", {"backward": lambda x, W, b, g: (g @ W.T, g.T @ x, g.sum(0))}, "transposed"),
    ("dense", {"backward": lambda x, W, b, g: (g @ W.T, x.T @ g, g.mean(0))}, "extra_1_over_n"),
    ("dense", {"backward": lambda x, W, b, g: (g @ W.T, x.T @ g, g)}, "not_summed"),
    ("dense", {"backward": lambda x, W, b, g: (-g @ W.T, x.T @ g, g.sum(0))}, "sign"),
    ("tanh", {"backward": lambda x, g: g * (1 - x ** 2)}, "tanh_uses_x"),
    ("tanh", {"backward": lambda x, g: 1 - np.tanh(x) ** 2}, "forgot_upstream"),
    ("leaky_relu", {"backward": lambda x, a, g: g * (x > 0)}, "leaky_is_relu"),
    ("leaky_relu", {"backward": lambda x, a, g: g * np.where(x > 0, a, 1.0)},
     "leaky_slopes_swapped"),
    ("sigmoid", {"backward": lambda x, g: g * _sigmoid(x)}, "sigmoid_missing_one_minus_y"),
    ("sigmoid", {"backward": lambda x, g: g * x * (1 - x)}, "sigmoid_uses_x"),
    ("batchnorm", {"backward": bn_backward_without_mean_term}, "bn_missing_mean_term"),
    ("batchnorm", {"backward": bn_backward_constant_statistics}, "bn_statistics_as_constants"),
    ("batchnorm", {"forward": lambda x, gamma, beta: gamma * (x - x.mean(0)) / np.sqrt(
        x.var(0, ddof=1) + cat.BN_EPS) + beta}, "bn_unbiased_variance"),
    ("batchnorm", {"forward": lambda x, gamma, beta: gamma * (x - x.mean(1, keepdims=True)) /
                   np.sqrt(x.var(1, keepdims=True) + cat.BN_EPS) + beta},
     "bn_per_sample_statistics"),
    ("dropout", {"forward": lambda x, mask, p: x * mask}, "dropout_forgot_scale"),
    ("dropout", {"backward": lambda x, mask, p, g: g / (1 - p)}, "dropout_backward_without_mask"),
    ("conv2d", {"backward": conv_backward_assigning}, "col2im_overwrites"),
    ("conv2d", {"forward": conv_forward_flipped}, "conv_flipped_kernel"),
    ("conv2d", {"backward": lambda x, W, b, g, s, p: cat._conv_backward(x, W, b, g, s, p)[:2] +
                (g.sum(axis=(2, 3)),)}, "not_summed"),
    ("conv_transpose2d", {"forward": convt_forward_assigning}, "col2im_overwrites"),
    ("bce_with_logits", {"bce_with_logits": lambda l, t: (cat._bce(l, t)[0], _sigmoid(l) - t)},
     "missing_1_over_n"),
    ("bce_with_logits", {"bce_with_logits": bce_naive}, "unstable_log"),
    ("bce_with_logits", {"bce_with_logits": lambda l, t: (
        cat._bce(l, t)[0], (_sigmoid(l) - t) / (_sigmoid(l) * (1 - _sigmoid(l))) / l.size)},
     "grad_wrt_probability"),
    ("nonsaturating_g_loss", {"g_loss": lambda l: (np.mean(np.log(1 - _sigmoid(l))),
                                                   -_sigmoid(l) / l.size)}, "saturating_loss"),
    ("adam_step", {"adam_step": adam_without_bias_correction}, "adam_no_bias_correction"),
    ("adam_step", {"adam_step": adam_eps_inside}, "adam_eps_inside_sqrt"),
    ("optimal_discriminator", {"d_star": lambda x, m1, s1, m2, s2: 1 - cat._dstar(
        x, m1, s1, m2, s2)}, "d_star_swapped"),
    ("optimal_discriminator", {"d_star": lambda x, m1, s1, m2, s2: np.exp(
        -(x - m1) ** 2 / (2 * s1 ** 2)) / (np.exp(-(x - m1) ** 2 / (2 * s1 ** 2)) + np.exp(
            -(x - m2) ** 2 / (2 * s2 ** 2)))}, "gaussian_missing_normaliser"),
    ("value_at_optimum", {"jensen_shannon": lambda p, q, dx: cat._jsd(p, q, dx) / np.log(2)},
     "log_base_2"),
    ("value_at_optimum", {"jensen_shannon": lambda p, q, dx: cat._jsd(p, q, dx) / dx},
     "missing_dx"),
    ("value_at_optimum", {"jensen_shannon": jsd_naive}, "zero_density_nan"),
    ("dirac_field", {"vector_field": lambda t, p, o: tuple(-v for v in cat._dirac_field(t, p, o))},
     "field_is_gradient"),
    ("dirac_field", {"vector_field": lambda t, p, o: cat._dirac_field(
        t, p, "non-saturating" if o == "minimax" else "minimax")}, "field_wrong_generator_loss"),
    ("frechet_distance", {"frechet_distance": frechet_product_of_roots},
     "frechet_product_of_square_roots"),
    ("mode_coverage", {"high_quality": counts_of_every_sample}, "counts_include_low_quality"),
    ("mode_coverage", {"high_quality": lambda s, c, std, k: cat._high_quality(s, c, std ** 2, k)},
     "variance_threshold"),
    ("pack", {"forward": lambda x, m: x.reshape(m, -1, x.shape[1]).transpose(1, 0, 2).reshape(
        x.shape[0] // m, -1)}, "pack_strided_groups"),
]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_the_model_solution_passes_every_check(exercise):
    verdict = check(exercise, types.SimpleNamespace(**exercise.solution))
    assert verdict.status == "pass", verdict.lines


def test_the_catalogue_has_every_exercise_of_the_issue_list():
    assert 15 <= len(EXERCISES) <= 20
    assert [e.number for e in EXERCISES] == list(range(1, len(EXERCISES) + 1))
    for exercise in EXERCISES:                          # every function can be reached by a case
        assert exercise.functions and exercise.cases(np.random.default_rng(0))


@pytest.mark.parametrize("name, functions, key", MISTAKES,
                         ids=[f"{n}-{k}" for n, _, k in MISTAKES])
def test_a_classic_mistake_gets_its_own_hint(name, functions, key):
    verdict = check(BY_NAME[name], learner(name, **functions))
    assert verdict.status == "wrong" and verdict.hint == key, (verdict.hint, verdict.lines)
    assert f"[{key}]" in verdict.lines[-1]


def test_every_exercise_has_a_mistake_with_a_specific_hint():
    assert {name for name, _, _ in MISTAKES} == set(BY_NAME)


def test_the_report_says_which_entry_and_by_how_much():
    exercise = BY_NAME["batchnorm"]
    verdict = check(exercise, learner("batchnorm", backward=bn_backward_without_mean_term))
    case = exercise.cases(np.random.default_rng(exercise.number))[0]
    with B.precision("float64"):
        want = cat._bn_reference(case)["grad_x"]
    wrong = bn_backward_without_mean_term(case["x"], case["gamma"], case["beta"],
                                          case["grad_y"])[0]
    worst = np.unravel_index(np.abs(wrong - want).argmax(), want.shape)
    line = verdict.lines[0]
    assert line.startswith("`grad_x`: entry (%d, %d) is %.6g, expected %.6g (off by %.3g)" % (
        *worst, wrong[worst], want[worst], abs(wrong - want)[worst])), line
    assert "18 of 18 entries wrong" in line


def test_a_wrong_forward_with_a_consistent_backward_is_told_to_fix_the_forward():
    def forward(x, W, b):
        return x @ W + 2 * b                                    # wrong, and backward below ...

    def backward(x, W, b, g):
        return g @ W.T, x.T @ g, 2 * g.sum(0)                   # ... is right for it
    verdict = check(BY_NAME["dense"], types.SimpleNamespace(forward=forward, backward=backward))
    assert verdict.status == "wrong" and "fix the forward" in " ".join(verdict.lines)


def test_float32_and_modified_inputs_and_none_are_reported():
    verdict = check(BY_NAME["tanh"], learner("tanh", forward=lambda x: np.tanh(x).astype(
        np.float32)))
    assert verdict.hint == "float32"

    def centring(x, gamma, beta):
        x -= x.mean(axis=0)
        return gamma * x / np.sqrt(x.var(axis=0) + cat.BN_EPS) + beta
    verdict = check(BY_NAME["batchnorm"], learner("batchnorm", forward=centring))
    assert verdict.status == "wrong" and "in place" in verdict.lines[0]
    verdict = check(BY_NAME["pack"], learner("pack", backward=lambda x, m, g: None))
    assert verdict.status == "not_implemented" and "returned None" in verdict.lines[0]
    verdict = check(BY_NAME["dense"], learner("dense", backward=lambda x, W, b, g: (g @ W.T,)))
    assert verdict.status == "wrong" and "must return 3 values" in verdict.lines[0]


# ---------------------------------------------------------------------------------------------
# The workspace

def test_every_empty_body_is_not_implemented(tmp_path):
    written = write_workspace(str(tmp_path), "en")
    assert [os.path.basename(p) for p, ok in written] == [e.filename for e in EXERCISES]
    for exercise in EXERCISES:
        verdict = check_file(exercise, str(tmp_path), "en")
        assert verdict.status == "not_implemented", (exercise.name, verdict.lines)
        assert "not implemented yet" in verdict.lines[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_template_holds_signature_shapes_and_chapter(lang):
    exercise = BY_NAME["batchnorm"]
    text = template(exercise, lang, "ws")
    compile(text, "05_batchnorm.py", "exec")
    words = messages.exercise_text("batchnorm", lang)
    assert "def backward(x, gamma, beta, grad_y):" in text and "raise NotImplementedError" in text
    assert words["title"] in text and "(N, F)" in text and words["task"] in text
    assert "chapters/ch4_code_examples.py" in text and "minigan/nn/norm.py" in text


def test_the_workspace_is_never_overwritten(tmp_path):
    write_workspace(str(tmp_path), "en")
    mine = tmp_path / BY_NAME["tanh"].filename
    mine.write_text("import numpy as np\n\ndef forward(x):\n    return np.tanh(x)\n\n"
                    "def backward(x, grad_y):\n    return grad_y * (1 - np.tanh(x) ** 2)\n")
    before = mine.read_text()
    written = dict(write_workspace(str(tmp_path), "zh"))
    assert mine.read_text() == before and written[str(mine)] is False
    assert not any(written.values())
    assert check_file(BY_NAME["tanh"], str(tmp_path)).passed


def test_an_exception_is_reported_with_the_learners_file_and_line(tmp_path):
    path = tmp_path / BY_NAME["dense"].filename
    path.write_text("import numpy as np\n\ndef forward(x, W, b):\n    return x @ W + b\n\n"
                    "def backward(x, W, b, grad_y):\n    grad_x = grad_y @ W\n"
                    "    return grad_x, x.T @ grad_y, grad_y.sum(0)\n")
    verdict = check_file(BY_NAME["dense"], str(tmp_path))
    assert verdict.status == "error"
    assert f"{path}, line 7: grad_x = grad_y @ W" in verdict.lines[0]
    assert "ValueError" in verdict.lines[0]


def test_a_file_that_cannot_be_loaded_or_lacks_a_function_is_reported(tmp_path):
    path = tmp_path / BY_NAME["sigmoid"].filename
    path.write_text("def forward(x):\n    return 1 / (1 + np.exp(-x)\n")
    verdict = check_file(BY_NAME["sigmoid"], str(tmp_path))
    assert verdict.status == "unloadable" and "line 2" in verdict.lines[0]
    assert "SyntaxError" in verdict.lines[0]
    path.write_text("import numpy as np\nraise RuntimeError('oops')\n")
    verdict = check_file(BY_NAME["sigmoid"], str(tmp_path))
    assert "line 2: RuntimeError: oops" in verdict.lines[0]
    path.write_text("import numpy as np\n\ndef forward(x):\n    return 1 / (1 + np.exp(-x))\n")
    verdict = check_file(BY_NAME["sigmoid"], str(tmp_path))
    assert verdict.status == "unloadable" and "backward(x, grad_y)" in verdict.lines[0]
    assert not os.path.exists(tmp_path / "__pycache__")
    assert check_file(BY_NAME["tanh"], str(tmp_path)).status == "unloadable"   # no file
    assert load(str(path)).forward(np.zeros(1))[0] == 0.5


def test_checking_leaves_the_backend_as_it_was():
    B.seed(3)
    expected = B.randn(3)
    B.seed(3)
    check(BY_NAME["dropout"], learner("dropout"))
    assert B.dtype() == np.float32 and np.array_equal(B.randn(3), expected)


# ---------------------------------------------------------------------------------------------
# Messages and the command line

def test_every_message_has_both_languages():
    for table in (messages.UI, messages.HINTS):
        for key, texts in table.items():
            assert set(texts) == set(messages.LANGUAGES), key
    keys = {key for e in EXERCISES for key, _, _ in e.detectors} | {k for _, _, k in MISTAKES}
    assert keys <= set(messages.HINTS)
    for exercise in EXERCISES:
        for lang in messages.LANGUAGES:
            words = messages.exercise_text(exercise.name, lang)
            assert words["hints"] and all(words[name] for name, _, _ in exercise.functions)


def test_the_command_line_in_both_languages(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    assert main(["list"]) == 0 and "05 batchnorm" in capsys.readouterr().out
    assert main(["list", "--lang", "zh"]) == 0 and "反向传播" in capsys.readouterr().out
    assert main(["init", "--dir", ws, "--lang", "zh"]) == 0
    assert "已写入" in capsys.readouterr().out
    assert "练习 5" in open(os.path.join(ws, BY_NAME["batchnorm"].filename),
                           encoding="utf-8").read()
    assert main(["init", "--dir", ws]) == 0 and "kept" in capsys.readouterr().out
    assert main(["check", "tanh", "--dir", ws]) == 1
    assert "[TODO] 02 tanh" in capsys.readouterr().out
    with open(os.path.join(ws, BY_NAME["tanh"].filename), "w") as f:
        f.write("import numpy as np\n\ndef forward(x):\n    return np.tanh(x)\n\n"
                "def backward(x, grad_y):\n    return grad_y * (1 - x ** 2)\n")
    assert main(["--lang", "zh", "check", "2", "--dir", ws]) == 1
    out = capsys.readouterr().out
    assert "[错误] 02 tanh" in out and "提示 [tanh_uses_x]" in out
    with open(os.path.join(ws, BY_NAME["pack"].filename), "w") as f:
        f.write("def forward(x, m):\n    return x.reshape(len(x) // m, -1)\n\n"
                "def backward(x, m, grad_y):\n    return grad_y.reshape(x.shape)\n")
    assert main(["check", "pack", "--dir", ws]) == 0
    assert "1 of 1 passed" in capsys.readouterr().out
    assert main(["check", "--dir", ws]) == 1
    assert "1 of 17 passed" in capsys.readouterr().out
    assert main(["hint", "batchnorm"]) == 0
    out = capsys.readouterr().out
    assert "1. grad_beta" in out and "2." not in out and "hint batchnorm 2" in out
    assert main(["hint", "batchnorm", "3", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "3. 利用" in out and "下一条" not in out


@pytest.mark.parametrize("argv", [["check", "nosuch", "--dir", "."], ["hint"], ["frobnicate"],
                                  ["check", "--dir", "/nonexistent/ws"], ["list", "--lang", "fr"]])
def test_usage_errors_exit_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m minigan.exercises: error:")


def test_python_dash_m_runs(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, MINIGAN_LANG="zh")
    run = subprocess.run([sys.executable, "-m", "minigan.exercises", "check", "--dir",
                          str(tmp_path), "dense"], env=env, capture_output=True, text=True)
    assert run.returncode == 1 and "不存在" in run.stdout


def test_half_done_wrong_signature_and_stale_forward_are_reported():
    def todo(*args):
        raise NotImplementedError
    verdict = check(BY_NAME["dense"], learner("dense", backward=todo))
    assert verdict.status == "not_implemented" and "`backward`" in verdict.lines[0]
    verdict = check(BY_NAME["dense"], learner("dense", forward=lambda x, W, b: x @ W,
                                              backward=todo))
    assert verdict.status == "wrong" and verdict.lines[0].startswith("`y`")
    verdict = check(BY_NAME["dense"], learner("dense", backward=lambda x, W, g: None))
    assert verdict.status == "error"
    assert "def backward(x, W, b, grad_y):" in verdict.lines[0]
    # a forward that keeps its first answer: right on the inputs, but not a function of them
    # -- only the finite differences of the learner's own forward can catch it
    remembered = []

    def forward(x):
        remembered.append(np.tanh(x))
        return remembered[0]
    verdict = check(BY_NAME["tanh"], learner("tanh", forward=forward))
    assert verdict.status == "wrong" and verdict.hint == "fd_mismatch"
    assert "finite differences of your own `forward`" in verdict.lines[0]


def test_checking_works_on_the_cupy_double_and_leaves_it_active(fake):
    assert check(BY_NAME["dropout"], learner("dropout")).passed
    assert check(BY_NAME["adam_step"], learner("adam_step")).passed
    assert B.name() == "cupy" and B.xp is fake
