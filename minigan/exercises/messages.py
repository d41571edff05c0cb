"""Every word the exercises say, in English ("en") and Chinese ("zh").

    text(key, lang, **fields)      a line of the interface (verdicts, errors, the summary)
    hint(key, lang, **fields)      the diagnosis of a mistake, by its key (catalogue's detectors
                                   and the checker's general patterns)
    exercise_text(name, lang)      an exercise's title, chapter, task, function docs and hints

The keys are the same in both languages; a test checks that every key has both.
"""
from __future__ import annotations

import os

LANGUAGES = ("en", "zh")


def language(lang=None) -> str:
    """``lang`` if given, else the environment's MINIGAN_LANG, else English."""
    lang = lang or os.environ.get("MINIGAN_LANG") or "en"
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return lang


def text(key: str, lang: str, /, **fields) -> str:
    return UI[key][lang].format(**fields)


def hint(key: str, lang: str, /, **fields) -> str:
    return HINTS[key][lang].format(**fields)


def exercise_text(name: str, lang: str) -> dict:
    return EXERCISES[name][lang]


# ---------------------------------------------------------------------------------------------
# The interface

UI = {
    "pass": {"en": "PASS", "zh": "通过"},
    "fail": {"en": "FAIL", "zh": "错误"},
    "todo": {"en": "TODO", "zh": "待做"},
    "not_implemented": {"en": "not implemented yet: `{function}` still raises NotImplementedError",
                        "zh": "尚未实现：`{function}` 仍在 raise NotImplementedError"},
    "returned_none": {"en": "not implemented yet: `{function}` returned None (an empty body, or "
                            "a missing `return`)",
                      "zh": "尚未实现：`{function}` 返回了 None（函数体为空，或缺少 `return`）"},
    "missing_file": {"en": "{path} does not exist; create it with "
                           "`python -m minigan.exercises init --dir {workspace}`",
                     "zh": "{path} 不存在；请先运行 `python -m minigan.exercises init --dir "
                           "{workspace}` 生成"},
    "import_error": {"en": "{path} cannot be loaded: line {line}: {error}",
                     "zh": "无法加载 {path}：第 {line} 行：{error}"},
    "missing_function": {"en": "{path} defines no function `{function}({args})`",
                         "zh": "{path} 中没有定义函数 `{function}({args})`"},
    "exception": {"en": "`{function}` raised {error}\n    at {path}, line {line}: {code}",
                  "zh": "`{function}` 抛出异常 {error}\n    位置：{path} 第 {line} 行：{code}"},
    "exception_in_call": {"en": "`{function}` could not be called: {error}; its signature "
                                "must be `def {function}({args}):`",
                          "zh": "无法调用 `{function}`：{error}；它的签名应为 "
                                "`def {function}({args}):`"},
    "bad_return": {"en": "`{function}` must return {count} values ({names}), got {got}",
                   "zh": "`{function}` 应返回 {count} 个值（{names}），实际得到 {got}"},
    "not_numeric": {"en": "`{output}` must be a NumPy array or a number, got {got}",
                    "zh": "`{output}` 应是 NumPy 数组或数，实际是 {got}"},
    "wrong_shape": {"en": "`{output}`{case}: shape {got}, expected {want}",
                    "zh": "`{output}`{case}：形状为 {got}，应为 {want}"},
    "wrong_dtype": {"en": "`{output}`{case}: dtype {got}, expected {want}",
                    "zh": "`{output}`{case}：dtype 为 {got}，应为 {want}"},
    "wrong_entry": {"en": "`{output}`{case}: entry {index} is {got:.6g}, expected {want:.6g} (off "
                          "by {diff:.3g}); {count} of {size} entries wrong, rel_error {rel:.2e}",
                    "zh": "`{output}`{case}：第 {index} 项为 {got:.6g}，应为 {want:.6g}（相差 "
                          "{diff:.3g}）；{size} 项中有 {count} 项不对，rel_error {rel:.2e}"},
    "wrong_scalar": {"en": "`{output}`{case}: {got:.10g}, expected {want:.10g} (off by {diff:.3g})",
                     "zh": "`{output}`{case}：得到 {got:.10g}，应为 {want:.10g}（相差 {diff:.3g}）"},
    "wrong_exact": {"en": "`{output}`{case}: {count} of {size} entries wrong, the first at index "
                          "{index}: {got}, expected {want}",
                    "zh": "`{output}`{case}：{size} 项中有 {count} 项不对，第一处在下标 {index}："
                          "得到 {got}，应为 {want}"},
    "fd_mismatch": {"en": "`{output}`{case} disagrees with centred finite differences of your own "
                          "`{function}` (rel_error {rel:.2e}; entry {index}: {got:.6g} vs "
                          "{numeric:.6g})",
                    "zh": "`{output}`{case} 与对你自己的 `{function}` 做中心差分得到的数值梯度不符"
                          "（rel_error {rel:.2e}；第 {index} 项：{got:.6g} 对 {numeric:.6g}）"},
    "fd_consistent": {"en": "note: your `{output}` does agree with finite differences of your own "
                            "`{function}` (rel_error {rel:.1e}): the derivation matches the "
                            "forward you wrote, so fix the forward first",
                      "zh": "注意：你的 `{output}` 与对你自己的 `{function}` 做差分的结果一致（"
                            "rel_error {rel:.1e}）：推导与你写的前向一致，请先改正前向"},
    "modified_input": {"en": "`{function}` changed its input `{name}` in place; compute new arrays "
                             "instead (`x = x - m`, not `x -= m`)",
                       "zh": "`{function}` 原地修改了输入 `{name}`；请计算新的数组（写 "
                             "`x = x - m`，而不是 `x -= m`）"},
    "case": {"en": " (case {number} of {total})", "zh": "（第 {number}/{total} 组输入）"},
    "case_with": {"en": " (case {number} of {total}: {label})",
                  "zh": "（第 {number}/{total} 组输入：{label}）"},
    "hint_line": {"en": "hint [{key}]: {text}", "zh": "提示 [{key}]：{text}"},
    "summary": {"en": "{passed} of {total} passed", "zh": "{total} 题中通过 {passed} 题"},
    "wrote": {"en": "wrote {path}", "zh": "已写入 {path}"},
    "kept": {"en": "kept {path} (it exists; a learner's file is never overwritten)",
             "zh": "保留 {path}（文件已存在；学习者的文件从不覆盖）"},
    "workspace_ready": {"en": "Workspace {workspace}: open a file, write the body, then run\n"
                              "    python -m minigan.exercises check NAME --dir {workspace}",
                        "zh": "练习目录 {workspace}：打开一个文件，写出函数体，然后运行\n"
                              "    python -m minigan.exercises check NAME --dir {workspace} "
                              "--lang zh"},
    "unknown_exercise": {"en": "unknown exercise {name!r}; `python -m minigan.exercises list` "
                               "shows the names",
                         "zh": "没有名为 {name!r} 的练习；`python -m minigan.exercises list` "
                               "列出全部名称"},
    "no_workspace": {"en": "no workspace at {workspace}; create it with "
                           "`python -m minigan.exercises init --dir {workspace}`",
                     "zh": "{workspace} 处没有练习目录；请先运行 `python -m minigan.exercises "
                           "init --dir {workspace}`"},
    "list_header": {"en": "The exercises (check one with `check NAME`, all with `check`):",
                    "zh": "全部练习（`check NAME` 检查一题，`check` 检查全部）："},
    "hints_header": {"en": "Hints for {number:02d} {name} -- {title}:",
                     "zh": "{number:02d} {name}：{title}——提示："},
    "more_hints": {"en": "(the next hint: python -m minigan.exercises hint {name} {level})",
                   "zh": "（下一条提示：python -m minigan.exercises hint {name} {level} --lang zh）"},
    "file_header": {"en": "Exercise {number} -- {title}\n\nWhere: {where}",
                    "zh": "练习 {number}：{title}\n\n出处：{where}"},
    "file_footer": {"en": "Check:  python -m minigan.exercises check {name} --dir {workspace}\n"
                          "Hints:  python -m minigan.exercises hint {name}\n"
                          "Inputs are float64 NumPy arrays; return what the docstrings say, real "
                          "numbers\nin float64 (plain NumPy, no minigan).",
                    "zh": "检查：python -m minigan.exercises check {name} --dir {workspace} "
                          "--lang zh\n提示：python -m minigan.exercises hint {name} --lang zh\n"
                          "输入是 float64 的 NumPy 数组；按函数文档返回结果，实数用 float64（只用 "
                          "NumPy，不用 minigan）。"},
}


# ---------------------------------------------------------------------------------------------
# Diagnoses: what a pattern in a wrong answer usually means

HINTS = {
    # general patterns, found by the checker on any exercise
    "not_finite": {"en": "NaN or Inf in the answer: a log of 0, a division by 0 or an overflow "
                         "of exp; use the stable forms (log1p, exp of -|x|, np.where).",
                   "zh": "结果中有 NaN 或 Inf：对 0 取了 log、除以 0，或 exp 溢出；请用稳定的写法"
                         "（log1p、exp(-|x|)、np.where）。"},
    "zero": {"en": "the answer is all zeros: a gradient that is never accumulated, or a result "
                   "that is computed and then not returned?",
             "zh": "结果全为 0：梯度没有累加上，或算出了结果却没有返回？"},
    "sign": {"en": "right size, opposite sign: check the sign of the derivative (d/dl of -log "
                   "is -1/...; descent moves against the gradient).",
             "zh": "大小对而符号反了：检查导数的符号（-log 的导数带负号；下降方向与梯度相反）。"},
    "missing_1_over_n": {"en": "your answer is {factor:g} times the expected one: a mean over "
                               "{n} values needs its 1/{n} (here the loss is a mean, so is its "
                               "gradient).",
                         "zh": "你的结果是正确值的 {factor:g} 倍：对 {n} 个值求平均要乘 1/{n}"
                               "（损失是平均值，它的梯度也带 1/{n}）。"},
    "extra_1_over_n": {"en": "your answer is 1/{n} of the expected one: this is a sum over the "
                             "batch, not a mean (a shared parameter collects every sample's "
                             "gradient).",
                       "zh": "你的结果是正确值的 1/{n}：这里应对整个批次求和，而不是求平均（共享的"
                             "参数收集每个样本的梯度）。"},
    "scaled": {"en": "your answer is the expected one times {factor:.6g}: a constant factor is "
                     "missing or extra.",
               "zh": "你的结果等于正确值乘以 {factor:.6g}：多了或少了一个常数因子。"},
    "transposed": {"en": "your answer is the transpose of the expected one: check the order of "
                         "the matrix product (dL/dW = x^T dL/dy has W's shape).",
                   "zh": "你的结果是正确值的转置：检查矩阵乘法的顺序（dL/dW = x^T dL/dy，与 W 同"
                         "形状）。"},
    "not_summed": {"en": "summing your answer over axes {axes} gives the expected one: a parameter "
                         "shared by every sample (and every position) gets the SUM of their "
                         "gradients -- per batch, not per sample.",
                   "zh": "把你的结果沿轴 {axes} 求和就是正确值：被所有样本（和所有位置）共享的参数，"
                         "其梯度是各处梯度之和——按整个批次，而不是按单个样本。"},
    "not_reduced": {"en": "the mean of your answer is the expected value: a loss is one number, "
                          "the mean over the batch.",
                    "zh": "你的结果取平均后才是正确值：损失是一个数，即对批次的平均。"},
    "wrong_layout": {"en": "the right number of entries in the wrong shape: check the reshape / "
                           "transpose that builds it.",
                     "zh": "元素个数对，但形状不对：检查构造它的 reshape / transpose。"},
    "wrong_shape": {"en": "a gradient has the shape of what it differentiates by (dL/dW has W's "
                          "shape); an output has the shape the docstring gives.",
                    "zh": "梯度与求导对象同形状（dL/dW 与 W 同形状）；输出形状见函数文档。"},
    "float32": {"en": "float32 somewhere (np.float32, astype): work in float64, or the finite-"
                      "difference check drowns in round-off.",
                "zh": "某处用了 float32（np.float32、astype）：请全程用 float64，否则差分检查会"
                      "被舍入误差淹没。"},
    "wrong_dtype": {"en": "return the kind of array the docstring asks for (float64 numbers, "
                          "integer counts, booleans).",
                    "zh": "按函数文档返回相应类型的数组（float64 数值、整数计数、布尔值）。"},
    "forgot_upstream": {"en": "you returned the local derivative dy/dx; the chain rule multiplies "
                              "it by the upstream gradient: grad_x = grad_y * dy/dx.",
                        "zh": "你返回的是局部导数 dy/dx；链式法则还要乘上游梯度："
                              "grad_x = grad_y * dy/dx。"},
    "fd_mismatch": {"en": "your backward is not the derivative of your forward: differentiate "
                          "the forward you wrote, step by step, and compare one entry by hand.",
                    "zh": "你的反向传播不是你的前向的导数：对你写的前向逐步求导，并手算一项对照。"},
    "unknown": {"en": "no classic mistake matches; compare the wrong entry with a derivation by "
                      "hand for that one entry (`hint NAME` for the steps).",
                "zh": "没有匹配到常见错误；请对那一项手工推导并比较（`hint NAME` 给出步骤）。"},
    # the classic mistakes of particular exercises
    "tanh_uses_x": {"en": "d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2, not 1 - x^2.",
                    "zh": "d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2，不是 1 - x^2。"},
    "leaky_is_relu": {"en": "for x <= 0 the slope is negative_slope, not 0: LeakyReLU lets a "
                            "little gradient through.",
                      "zh": "x <= 0 时斜率是 negative_slope 而不是 0：LeakyReLU 会放过一点梯度。"},
    "leaky_slopes_swapped": {"en": "the slopes are swapped: 1 where x > 0, negative_slope where "
                                   "x <= 0.",
                             "zh": "两段斜率反了：x > 0 处为 1，x <= 0 处为 negative_slope。"},
    "sigmoid_missing_one_minus_y": {"en": "d sigmoid/dx = y (1 - y); the factor (1 - y) is "
                                          "missing.",
                                    "zh": "d sigmoid/dx = y (1 - y)；缺了因子 (1 - y)。"},
    "sigmoid_uses_x": {"en": "d sigmoid/dx = y (1 - y) with y = sigmoid(x), not x (1 - x).",
                       "zh": "d sigmoid/dx = y (1 - y)，其中 y = sigmoid(x)，不是 x (1 - x)。"},
    "bn_unbiased_variance": {"en": "BatchNorm normalises with the biased variance (divide by m, "
                                   "np.var's default), not by m - 1.",
                             "zh": "BatchNorm 用有偏方差归一化（除以 m，即 np.var 的默认），"
                                   "不是除以 m - 1。"},
    "bn_per_sample_statistics": {"en": "mean and variance are per feature, over the batch (axis "
                                       "0), not per sample (axis 1).",
                                 "zh": "均值和方差是对每个特征、沿批次（axis 0）计算的，不是对每个"
                                       "样本（axis 1）。"},
    "bn_missing_mean_term": {"en": "BatchNorm's mean term is missing: mu depends on every x_i, "
                                   "which subtracts sum(grad_y)/m (= grad_beta/m) inside the "
                                   "bracket.",
                             "zh": "缺了 BatchNorm 的均值项：mu 依赖于每个 x_i，括号内要减去 "
                                   "sum(grad_y)/m（= grad_beta/m）。"},
    "bn_missing_variance_term": {"en": "BatchNorm's variance term is missing: var depends on "
                                       "every x_i, which subtracts xhat * grad_gamma / m.",
                                 "zh": "缺了方差项：var 依赖于每个 x_i，要减去 "
                                       "xhat * grad_gamma / m。"},
    "bn_statistics_as_constants": {"en": "you treated mu and var as constants (that is eval "
                                         "mode); in training mode both depend on x: "
                                         "grad_x = gamma/std (g - mean(g) - xhat mean(g xhat)).",
                                   "zh": "你把 mu 和 var 当成了常数（那是 eval 模式）；训练模式下"
                                         "两者都依赖 x：grad_x = gamma/std (g - mean(g) - "
                                         "xhat mean(g xhat))。"},
    "dropout_forgot_scale": {"en": "inverted dropout scales the kept values by 1/(1 - p), in "
                                   "forward and backward alike, so that E[y] = x.",
                             "zh": "反向 dropout（inverted dropout）在前向和反向都把保留的值乘以 "
                                   "1/(1 - p)，使 E[y] = x。"},
    "dropout_scale_by_p": {"en": "scale by 1/(1 - p) (p is the probability of DROPPING), not "
                                 "1/p.",
                           "zh": "应乘 1/(1 - p)（p 是丢弃的概率），不是 1/p。"},
    "dropout_mask_inverted": {"en": "mask is 1 where a value is KEPT; you used the dropped ones.",
                              "zh": "mask 为 1 的位置是保留的；你用了被丢弃的位置。"},
    "dropout_backward_without_mask": {"en": "the gradient flows only through the kept values: "
                                            "multiply by the same mask as the forward.",
                                      "zh": "梯度只流经保留的值：反向要乘以与前向相同的 mask。"},
    "conv_flipped_kernel": {"en": "deep-learning 'convolution' is a cross-correlation: W[o, c, u, "
                                  "v] meets x[.., s*i + u, s*j + v], no kernel flip.",
                            "zh": "深度学习里的“卷积”是互相关：W[o, c, u, v] 对应 "
                                  "x[.., s*i + u, s*j + v]，卷积核不翻转。"},
    "col2im_overwrites": {"en": "wrong only where windows overlap: col2im must ADD (+=) each "
                                "row back onto its pixels, not assign (=).",
                          "zh": "只在窗口重叠处出错：col2im 必须把每一行加回（+=）到对应像素，"
                                "而不是赋值（=）。"},
    "unstable_log": {"en": "log(sigmoid(l)) gives log(0) = -inf once sigmoid rounds to 0 or 1; "
                           "use the stable form max(l, 0) - l t + log1p(exp(-|l|)).",
                     "zh": "sigmoid 舍入成 0 或 1 后 log(sigmoid(l)) 会得到 log(0) = -inf；请用稳定"
                           "形式 max(l, 0) - l t + log1p(exp(-|l|))。"},
    "grad_wrt_probability": {"en": "that is the gradient with respect to the probability s; "
                                   "with respect to the logit, s (1 - s) cancels: "
                                   "(sigmoid(l) - t) / n.",
                             "zh": "这是对概率 s 的梯度；对 logit 求导时 s (1 - s) 会约掉："
                                   "(sigmoid(l) - t) / n。"},
    "saturating_loss": {"en": "that is the saturating (minimax) loss log(1 - D(G(z))); the "
                              "non-saturating one is -log D(G(z)) = softplus(-l).",
                        "zh": "这是饱和（minimax）损失 log(1 - D(G(z)))；非饱和损失是 "
                              "-log D(G(z)) = softplus(-l)。"},
    "adam_v_not_squared": {"en": "the second moment averages g^2, not g.",
                           "zh": "二阶矩是 g^2 的滑动平均，不是 g。"},
    "adam_no_bias_correction": {"en": "bias correction is missing: divide m by 1 - beta1^t and v "
                                      "by 1 - beta2^t (the moments start at 0).",
                                "zh": "缺少偏差修正：m 除以 1 - beta1^t，v 除以 1 - beta2^t"
                                      "（矩从 0 开始）。"},
    "adam_eps_inside_sqrt": {"en": "eps goes outside the square root: sqrt(v_hat) + eps.",
                             "zh": "eps 应加在开方之外：sqrt(v_hat) + eps。"},
    "adam_step_count_off_by_one": {"en": "t is already the number of this step (1 on the first "
                                         "step); use beta^t, not beta^(t+1).",
                                   "zh": "t 已经是本步的序号（第一步 t = 1）；用 beta^t，不是 "
                                         "beta^(t+1)。"},
    "adam_wrong_direction": {"en": "the step goes uphill: param - lr * m_hat / (...), minus.",
                             "zh": "这一步在往上走：应是 param - lr * m_hat / (...)，减号。"},
    "d_star_swapped": {"en": "D* is the probability of DATA: p_data / (p_data + p_g); you "
                             "computed 1 - D*.",
                       "zh": "D* 是判为真实数据的概率：p_data / (p_data + p_g)；你算的是 1 - D*。"},
    "gaussian_missing_normaliser": {"en": "the Gaussian density needs 1/(sigma sqrt(2 pi)); it "
                                          "only cancels when both sigmas are equal.",
                                    "zh": "高斯密度要乘 1/(sigma sqrt(2 pi))；只有两个 sigma 相等"
                                          "时它才会约掉。"},
    "gaussian_variance_as_std": {"en": "sigma is the standard deviation; the exponent is "
                                       "-(x - mu)^2 / (2 sigma^2).",
                                 "zh": "sigma 是标准差；指数是 -(x - mu)^2 / (2 sigma^2)。"},
    "zero_density_nan": {"en": "0 log 0 gave NaN where a density vanishes; its limit is 0 "
                               "(np.where(p > 0, p * log(...), 0)).",
                         "zh": "密度为 0 处 0 log 0 得到了 NaN；它的极限是 0"
                               "（np.where(p > 0, p * log(...), 0)）。"},
    "missing_dx": {"en": "an integral on a grid is sum(f) * dx; the dx is missing.",
                   "zh": "网格上的积分是 sum(f) * dx；缺了 dx。"},
    "log_base_2": {"en": "use the natural log: V(D*, G) = -log 4 + 2 JSD holds in nats.",
                   "zh": "请用自然对数：V(D*, G) = -log 4 + 2 JSD 以 nat 为单位成立。"},
    "jsd_missing_half": {"en": "JSD = 1/2 KL(p || m) + 1/2 KL(q || m); the 1/2 is missing.",
                         "zh": "JSD = 1/2 KL(p || m) + 1/2 KL(q || m)；缺了 1/2。"},
    "field_components_swapped": {"en": "v_theta is minus G's loss derivative by theta, v_psi "
                                       "minus D's by psi; yours are swapped.",
                                 "zh": "v_theta 是 G 的损失对 theta 导数的相反数，v_psi 是 D 的"
                                       "损失对 psi 导数的相反数；你把两者对调了。"},
    "field_wrong_generator_loss": {"en": "that is the other objective's generator term: minimax "
                                         "has sigmoid(theta psi) psi, non-saturating "
                                         "sigmoid(-theta psi) psi.",
                                   "zh": "这是另一种目标的生成器项：minimax 为 "
                                         "sigmoid(theta psi) psi，非饱和为 "
                                         "sigmoid(-theta psi) psi。"},
    "field_is_gradient": {"en": "the field is the direction of gradient DESCENT, minus the "
                                "gradient: v = (-dL_G/dtheta, -dL_D/dpsi).",
                          "zh": "向量场是梯度下降的方向，即负梯度：v = (-dL_G/dtheta, -dL_D/dpsi)。"},
    "frechet_product_of_square_roots": {"en": "Tr((S1 S2)^(1/2)) is not Tr(S1^(1/2) S2^(1/2)) "
                                              "unless S1 and S2 commute; take the eigenvalues "
                                              "of S1^(1/2) S2 S1^(1/2).",
                                        "zh": "除非 S1 与 S2 可交换，Tr((S1 S2)^(1/2)) 不等于 "
                                              "Tr(S1^(1/2) S2^(1/2))；请取 S1^(1/2) S2 S1^(1/2) "
                                              "的特征值。"},
    "frechet_elementwise_sqrt": {"en": "np.sqrt is elementwise; the formula needs the MATRIX "
                                       "square root of S1 S2 (through eigenvalues).",
                                 "zh": "np.sqrt 是逐元素的；公式要的是 S1 S2 的矩阵平方根"
                                       "（通过特征值计算）。"},
    "frechet_missing_factor_2": {"en": "the trace term is Tr(S1 + S2 - 2 (S1 S2)^(1/2)): the 2 "
                                       "is missing.",
                                 "zh": "迹项是 Tr(S1 + S2 - 2 (S1 S2)^(1/2))：缺了系数 2。"},
    "frechet_mean_not_squared": {"en": "the mean term is the SQUARED distance ||mu1 - mu2||^2.",
                                 "zh": "均值项是距离的平方 ||mu1 - mu2||^2。"},
    "squared_distance_threshold": {"en": "compare the distance with num_std * std, or its "
                                         "square with (num_std * std)^2 -- not a squared "
                                         "distance with num_std * std.",
                                   "zh": "距离与 num_std * std 比较，或距离平方与 "
                                         "(num_std * std)^2 比较——不要拿距离平方与 "
                                         "num_std * std 比。"},
    "variance_threshold": {"en": "the radius is num_std standard deviations, num_std * std, "
                                 "not num_std * std^2.",
                           "zh": "半径是 num_std 个标准差，即 num_std * std，不是 num_std * std^2。"},
    "counts_include_low_quality": {"en": "count only the HIGH-QUALITY samples per mode; far "
                                         "samples capture nothing.",
                                   "zh": "每个模式只计高质量样本；离得远的样本不算覆盖。"},
    "pack_strided_groups": {"en": "a pack is m CONSECUTIVE rows: x[p m], ..., x[p m + m - 1]; a "
                                  "plain x.reshape(N // m, m * F) does it.",
                            "zh": "一个包是 m 个相邻的行：x[p m], ..., x[p m + m - 1]；直接 "
                                  "x.reshape(N // m, m * F) 即可。"},
    "pack_interleaved_features": {"en": "the m samples are concatenated whole, not interleaved "
                                        "feature by feature.",
                                  "zh": "m 个样本是整体拼接的，而不是按特征交错排列。"},
}


# ---------------------------------------------------------------------------------------------
# The exercises: title, where in the chapters, the task (shapes, what to compute), the
# docstrings of the functions to write, and hints from gentle to explicit

_CH4 = "chapters/ch4_code_examples.py"
_CH5 = "chapters/ch5_challenges.py"
_MC = "chapters/ch5_mode_collapse.py"

EXERCISES = {
    "dense": {
        "en": {"title": "the backward pass of Dense",
               "where": f"Chapter 4, section 4.1 The dense GAN ({_CH4}); minigan/nn/dense.py",
               "task": "y = x W + b.  x: (N, in), W: (in, out), b: (out,) -> y: (N, out).\n"
                       "Given grad_y = dL/dy: (N, out), derive dL/dx, dL/dW and dL/db.",
               "forward": "x: (N, in), W: (in, out), b: (out,) -> y: (N, out)",
               "backward": "-> (grad_x: (N, in), grad_W: (in, out), grad_b: (out,))",
               "hints": ["Each gradient has the shape of what it differentiates by.",
                         "y[n, j] = sum_i x[n, i] W[i, j] + b[j]: differentiate one entry, then "
                         "write the sums as matrix products.",
                         "grad_x = grad_y W^T, grad_W = x^T grad_y, grad_b = grad_y summed over "
                         "the batch."]},
        "zh": {"title": "Dense 层的反向传播",
               "where": f"第 4 章 4.1 全连接 GAN（{_CH4}）；minigan/nn/dense.py",
               "task": "y = x W + b。x: (N, in)，W: (in, out)，b: (out,) -> y: (N, out)。\n"
                       "已知 grad_y = dL/dy: (N, out)，推导 dL/dx、dL/dW 和 dL/db。",
               "forward": "x: (N, in), W: (in, out), b: (out,) -> y: (N, out)",
               "backward": "-> (grad_x: (N, in), grad_W: (in, out), grad_b: (out,))",
               "hints": ["每个梯度都与其求导对象同形状。",
                         "y[n, j] = sum_i x[n, i] W[i, j] + b[j]：先对一项求导，再把求和写成矩阵乘法。",
                         "grad_x = grad_y W^T，grad_W = x^T grad_y，grad_b = grad_y 沿批次求和。"]},
    },
    "tanh": {
        "en": {"title": "the backward pass of Tanh",
               "where": f"Chapter 4, section 4.2 DCGAN, G's output layer ({_CH4}); "
                        f"minigan/nn/activations.py",
               "task": "y = tanh(x), elementwise.  x: (N, ...) -> y: same shape.\n"
                       "Given grad_y, return grad_x.",
               "forward": "x: (N, ...) -> y: (N, ...)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["Write the derivative in terms of the output y.",
                         "d tanh(x)/dx = 1 - tanh(x)^2; multiply by grad_y."]},
        "zh": {"title": "Tanh 的反向传播",
               "where": f"第 4 章 4.2 DCGAN，生成器的输出层（{_CH4}）；minigan/nn/activations.py",
               "task": "y = tanh(x)，逐元素。x: (N, ...) -> y: 同形状。\n已知 grad_y，返回 grad_x。",
               "forward": "x: (N, ...) -> y: (N, ...)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["用输出 y 来表示导数。", "d tanh(x)/dx = 1 - tanh(x)^2；再乘 grad_y。"]},
    },
    "leaky_relu": {
        "en": {"title": "the backward pass of LeakyReLU",
               "where": f"Chapter 4, section 4.2 DCGAN, D's activation ({_CH4}); "
                        f"minigan/nn/activations.py",
               "task": "y = x where x > 0, negative_slope * x elsewhere.  x: (N, ...) -> y.\n"
                       "Given grad_y, return grad_x (at x = 0 use the left slope).",
               "forward": "x: (N, ...), negative_slope: float -> y: (N, ...)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["The derivative is piecewise constant.",
                         "grad_x = grad_y * where(x > 0, 1, negative_slope)."]},
        "zh": {"title": "LeakyReLU 的反向传播",
               "where": f"第 4 章 4.2 DCGAN，判别器的激活函数（{_CH4}）；minigan/nn/activations.py",
               "task": "x > 0 处 y = x，其余处 y = negative_slope * x。x: (N, ...) -> y。\n"
                       "已知 grad_y，返回 grad_x（x = 0 处取左导数）。",
               "forward": "x: (N, ...), negative_slope: float -> y: (N, ...)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["导数是分段常数。", "grad_x = grad_y * where(x > 0, 1, negative_slope)。"]},
    },
    "sigmoid": {
        "en": {"title": "the backward pass of Sigmoid",
               "where": f"Chapter 4, section 4.1, document 003's sigmoid output ({_CH4}); "
                        f"minigan/nn/activations.py",
               "task": "y = 1 / (1 + exp(-x)), elementwise.  x: (N, ...) -> y.\n"
                       "Given grad_y, return grad_x.",
               "forward": "x: (N, ...) -> y: (N, ...) in (0, 1)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["Differentiate (1 + exp(-x))^-1 and write the result with y.",
                         "dy/dx = y (1 - y); multiply by grad_y."]},
        "zh": {"title": "Sigmoid 的反向传播",
               "where": f"第 4 章 4.1，文档 003 的 sigmoid 输出（{_CH4}）；minigan/nn/activations.py",
               "task": "y = 1 / (1 + exp(-x))，逐元素。x: (N, ...) -> y。\n已知 grad_y，返回 grad_x。",
               "forward": "x: (N, ...) -> y: (N, ...)，取值在 (0, 1)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["对 (1 + exp(-x))^-1 求导，并用 y 表示结果。", "dy/dx = y (1 - y)；再乘 grad_y。"]},
    },
    "batchnorm": {
        "en": {"title": "the backward pass of BatchNorm (training mode)",
               "where": f"Chapter 4, section 4.2 DCGAN, G's BatchNorm ({_CH4}); "
                        f"minigan/nn/norm.py",
               "task": "Per feature, over the batch of m = N rows:  mu = mean(x), var = mean((x - "
                       "mu)^2) (biased),\nxhat = (x - mu) / sqrt(var + 1e-5), y = gamma xhat + "
                       "beta.  x: (N, F), gamma, beta: (F,).\nIn training mode mu and var depend "
                       "on x: derive grad_x through them, and grad_gamma, grad_beta.",
               "forward": "x: (N, F), gamma: (F,), beta: (F,) -> y: (N, F); eps = 1e-5",
               "backward": "-> (grad_x: (N, F), grad_gamma: (F,), grad_beta: (F,))",
               "hints": ["grad_beta = sum of grad_y over the batch; grad_gamma = sum of "
                         "grad_y * xhat.",
                         "x_i reaches the loss three ways: through xhat_i directly, through mu "
                         "and through var.",
                         "Using sum(xhat) = 0 and sum(xhat^2) = m: grad_x = gamma / sqrt(var + "
                         "eps) * (grad_y - grad_beta / m - xhat * grad_gamma / m)."]},
        "zh": {"title": "BatchNorm 的反向传播（训练模式）",
               "where": f"第 4 章 4.2 DCGAN，生成器中的 BatchNorm（{_CH4}）；minigan/nn/norm.py",
               "task": "对每个特征、在 m = N 行的批次上：mu = mean(x)，var = mean((x - mu)^2)（有偏），"
                       "\nxhat = (x - mu) / sqrt(var + 1e-5)，y = gamma xhat + beta。x: (N, F)，"
                       "gamma、beta: (F,)。\n训练模式下 mu 和 var 依赖 x：推导经过它们的 grad_x，以及 "
                       "grad_gamma、grad_beta。",
               "forward": "x: (N, F), gamma: (F,), beta: (F,) -> y: (N, F)；eps = 1e-5",
               "backward": "-> (grad_x: (N, F), grad_gamma: (F,), grad_beta: (F,))",
               "hints": ["grad_beta = grad_y 沿批次求和；grad_gamma = grad_y * xhat 沿批次求和。",
                         "x_i 通过三条路径影响损失：直接经过 xhat_i，经过 mu，经过 var。",
                         "利用 sum(xhat) = 0 与 sum(xhat^2) = m：grad_x = gamma / sqrt(var + eps) * "
                         "(grad_y - grad_beta / m - xhat * grad_gamma / m)。"]},
    },
    "dropout": {
        "en": {"title": "the backward pass of Dropout (a fixed mask)",
               "where": f"Chapter 4, section 4.2 DCGAN, D's Dropout(0.3) ({_CH4}); "
                        f"minigan/nn/dropout.py",
               "task": "Inverted dropout: y = x * mask / (1 - p), mask[i] = 1 where x[i] is kept\n"
                       "(probability 1 - p), 0 where dropped. The mask is given (the one minigan "
                       "draws).\nReturn y, and grad_x from grad_y.",
               "forward": "x: (N, ...), mask: (N, ...) of 0.0 / 1.0, p: float -> y: (N, ...)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["For a fixed mask, y is linear in x.",
                         "grad_x = grad_y * mask / (1 - p)."]},
        "zh": {"title": "Dropout 的反向传播（固定 mask）",
               "where": f"第 4 章 4.2 DCGAN，判别器中的 Dropout(0.3)（{_CH4}）；minigan/nn/dropout.py",
               "task": "反向 dropout：y = x * mask / (1 - p)，x[i] 被保留（概率 1 - p）处 mask[i] = 1，"
                       "被丢弃处为 0。\nmask 已给定（即 minigan 抽到的那个）。返回 y，以及由 grad_y 得到的 "
                       "grad_x。",
               "forward": "x: (N, ...), mask: (N, ...) 取 0.0 / 1.0, p: float -> y: (N, ...)",
               "backward": "grad_y: (N, ...) -> grad_x: (N, ...)",
               "hints": ["mask 固定时，y 对 x 是线性的。", "grad_x = grad_y * mask / (1 - p)。"]},
    },
    "conv2d": {
        "en": {"title": "the backward pass of Conv2d, through im2col",
               "where": f"Chapter 4, section 4.2 DCGAN, D's convolutions ({_CH4}); "
                        f"minigan/nn/conv.py",
               "task": "y[n, o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] x_pad[n, c, s i + u, "
                       "s j + v]\n(a cross-correlation), x: (N, C_in, H, W), W: (C_out, C_in, "
                       "k, k), b: (C_out,),\nstride s, zero padding p -> y: (N, C_out, OH, OW), "
                       "OH = (H + 2p - k) // s + 1.\n"
                       "Suggested route: write im2col (one receptive field per row),\n"
                       "then y = cols @ W.reshape(C_out, -1).T; backward is two products and "
                       "col2im, im2col's adjoint.",
               "forward": "x: (N, C_in, H, W), W: (C_out, C_in, k, k), b: (C_out,), stride, "
                          "padding: int -> y: (N, C_out, OH, OW)",
               "backward": "grad_y: (N, C_out, OH, OW) -> (grad_x: x's shape, grad_W: W's shape, "
                           "grad_b: (C_out,))",
               "hints": ["With cols: (N*OH*OW, C_in*k*k) and dY = grad_y as (N*OH*OW, C_out) "
                         "rows, y = cols Wm^T is a Dense layer.",
                         "grad_Wm = dY^T cols; dcols = dY Wm; grad_b sums dY over every row.",
                         "col2im adds each row of dcols back onto the pixels it was copied from: "
                         "where windows overlap, the gradients ADD."]},
        "zh": {"title": "Conv2d 的反向传播（借助 im2col）",
               "where": f"第 4 章 4.2 DCGAN，判别器的卷积层（{_CH4}）；minigan/nn/conv.py",
               "task": "y[n, o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] x_pad[n, c, s i + u, "
                       "s j + v]（互相关），\n"
                       "x: (N, C_in, H, W)，W: (C_out, C_in, k, k)，b: (C_out,)，步长 s，零填充 p "
                       "-> y: (N, C_out, OH, OW)，\nOH = (H + 2p - k) // s + 1。建议路线："
                       "先写 im2col（每行一个感受野），\n再 y = cols @ W.reshape(C_out, -1).T；反向是两次"
                       "矩阵乘法加 col2im（im2col 的伴随）。",
               "forward": "x: (N, C_in, H, W), W: (C_out, C_in, k, k), b: (C_out,), stride, "
                          "padding: int -> y: (N, C_out, OH, OW)",
               "backward": "grad_y: (N, C_out, OH, OW) -> (grad_x: 同 x 形状, grad_W: 同 W 形状, "
                           "grad_b: (C_out,))",
               "hints": ["cols: (N*OH*OW, C_in*k*k)，dY 为 grad_y 排成的 (N*OH*OW, C_out)，"
                         "y = cols Wm^T 就是一个全连接层。",
                         "grad_Wm = dY^T cols；dcols = dY Wm；grad_b 是 dY 所有行之和。",
                         "col2im 把 dcols 的每一行加回到它来自的像素上：窗口重叠处梯度相加。"]},
    },
    "conv_transpose2d": {
        "en": {"title": "the forward and backward of ConvTranspose2d",
               "where": f"Chapter 4, section 4.2 DCGAN, G's transposed convolutions ({_CH4}); "
                        f"minigan/nn/conv.py",
               "task": "The transposed convolution is the adjoint of Conv2d: its forward is a "
                       "convolution's\ninput gradient. x: (N, C_in, H, W), W: (C_in, C_out, k, k) "
                       "(PyTorch's layout),\nb: (C_out,) -> y: (N, C_out, H_out, W_out), H_out = "
                       "(H - 1) s - 2 p + k.\nEach input pixel spreads x[n, c, i, j] W[c, o] over "
                       "the k x k patch at (s i - p, s j - p)\nof the output, overlaps adding up. "
                       "Return y, and the three gradients.",
               "forward": "x: (N, C_in, H, W), W: (C_in, C_out, k, k), b: (C_out,), stride, "
                          "padding: int -> y: (N, C_out, H_out, W_out)",
               "backward": "grad_y: (N, C_out, H_out, W_out) -> (grad_x, grad_W, grad_b)",
               "hints": ["Forward: rows of x (N*H*W, C_in) times W as (C_in, C_out*k*k), then "
                         "col2im onto the output.",
                         "Backward: im2col(grad_y) is (N*H*W, C_out*k*k); grad_x = that times "
                         "W^T, grad_W = x_rows^T times it.",
                         "The forward of one is the backward of the other: Conv2d's grad_x code "
                         "is this layer's forward."]},
        "zh": {"title": "ConvTranspose2d 的前向与反向",
               "where": f"第 4 章 4.2 DCGAN，生成器的转置卷积（{_CH4}）；minigan/nn/conv.py",
               "task": "转置卷积是 Conv2d 的伴随：它的前向就是卷积对输入的梯度。\nx: (N, C_in, H, W)，"
                       "W: (C_in, C_out, k, k)（PyTorch 的布局），b: (C_out,)\n-> y: (N, C_out, H_out, "
                       "W_out)，H_out = (H - 1) s - 2 p + k。每个输入像素把 x[n, c, i, j] W[c, o] "
                       "铺到输出中\n位于 (s i - p, s j - p) 的 k x k 区域，重叠处相加。返回 y 和三个梯度。",
               "forward": "x: (N, C_in, H, W), W: (C_in, C_out, k, k), b: (C_out,), stride, "
                          "padding: int -> y: (N, C_out, H_out, W_out)",
               "backward": "grad_y: (N, C_out, H_out, W_out) -> (grad_x, grad_W, grad_b)",
               "hints": ["前向：x 排成 (N*H*W, C_in) 的行，乘以排成 (C_in, C_out*k*k) 的 W，再 col2im "
                         "到输出上。",
                         "反向：im2col(grad_y) 为 (N*H*W, C_out*k*k)；grad_x = 它乘 W^T，"
                         "grad_W = x 的行的转置乘它。",
                         "一个层的前向就是另一个层的反向：Conv2d 的 grad_x 代码就是本层的前向。"]},
    },
    "bce_with_logits": {
        "en": {"title": "binary cross-entropy from logits, and its gradient",
               "where": f"Chapter 4, section 4.3 The train step: BCE from logits ({_CH4}); "
                        f"minigan/losses.py",
               "task": "loss = mean_i [ -t_i log s_i - (1 - t_i) log(1 - s_i) ], s = sigmoid(l), "
                       "over all n entries.\nlogits l and targets t in [0, 1]: same shape (N, 1).\n"
                       "Return (loss, dloss/dl), stable for |l| up to 60.",
               "bce_with_logits": "logits: (N, 1), targets: (N, 1) -> (value: float, "
                                  "grad_logits: (N, 1))",
               "hints": ["log s = -softplus(-l) and log(1 - s) = -softplus(l); softplus(l) = "
                         "max(l, 0) + log1p(exp(-|l|)).",
                         "loss = mean(max(l, 0) - l t + log1p(exp(-|l|))).",
                         "dloss/dl = (sigmoid(l) - t) / n."]},
        "zh": {"title": "由 logits 计算二元交叉熵及其梯度",
               "where": f"第 4 章 4.3 训练步：由 logits 计算 BCE（{_CH4}）；minigan/losses.py",
               "task": "loss = mean_i [ -t_i log s_i - (1 - t_i) log(1 - s_i) ]，s = sigmoid(l)，"
                       "对全部 n 项求平均。\nlogits l 与目标 t（取值 [0, 1]）同形状 (N, 1)。返回 "
                       "(loss, dloss/dl)，|l| 到 60 时仍须稳定。",
               "bce_with_logits": "logits: (N, 1), targets: (N, 1) -> (value: float, "
                                  "grad_logits: (N, 1))",
               "hints": ["log s = -softplus(-l)，log(1 - s) = -softplus(l)；softplus(l) = "
                         "max(l, 0) + log1p(exp(-|l|))。",
                         "loss = mean(max(l, 0) - l t + log1p(exp(-|l|)))。",
                         "dloss/dl = (sigmoid(l) - t) / n。"]},
    },
    "nonsaturating_g_loss": {
        "en": {"title": "the non-saturating generator loss, and its gradient",
               "where": f"Chapter 5, section 3 Saturating vs non-saturating ({_CH5}); "
                        f"minigan/losses.py",
               "task": "G minimises -mean log D(G(z)) with D = sigmoid(l), l: D's logits on the "
                       "fake batch, (N, 1).\nReturn (loss, dloss/dl), stable for |l| up to 60.",
               "g_loss": "fake_logits: (N, 1) -> (value: float, grad_fake: (N, 1))",
               "hints": ["-log sigmoid(l) = softplus(-l).",
                         "dloss/dl = (sigmoid(l) - 1) / n: largest when D rejects the fakes."]},
        "zh": {"title": "非饱和生成器损失及其梯度",
               "where": f"第 5 章第 3 节 饱和与非饱和损失（{_CH5}）；minigan/losses.py",
               "task": "G 最小化 -mean log D(G(z))，D = sigmoid(l)，l 为判别器对生成批次的 logits，"
                       "(N, 1)。\n返回 (loss, dloss/dl)，|l| 到 60 时仍须稳定。",
               "g_loss": "fake_logits: (N, 1) -> (value: float, grad_fake: (N, 1))",
               "hints": ["-log sigmoid(l) = softplus(-l)。",
                         "dloss/dl = (sigmoid(l) - 1) / n：判别器拒绝假样本时梯度最大。"]},
    },
    "adam_step": {
        "en": {"title": "one step of Adam",
               "where": f"Chapter 4, section 4.2 DCGAN, Adam(2e-4, betas (0.5, 0.999)) ({_CH4}); "
                        f"minigan/optim.py",
               "task": "m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;\nm_hat = m / (1 - b1^t), "
                       "v_hat = v / (1 - b2^t);\nparam = param - lr m_hat / (sqrt(v_hat) + eps).  "
                       "t is this step's number (1 on the first step).\nReturn the new (param, m, "
                       "v); do not change the inputs.",
               "adam_step": "param, grad, m, v: arrays of one shape; t: int >= 1; lr, beta1, "
                            "beta2, eps: float -> (param, m, v)",
               "hints": ["Update m and v first, then correct their bias, then step.",
                         "eps is added after the square root."]},
        "zh": {"title": "Adam 的一步更新",
               "where": f"第 4 章 4.2 DCGAN，Adam(2e-4, betas (0.5, 0.999))（{_CH4}）；"
                        f"minigan/optim.py",
               "task": "m = b1 m + (1 - b1) g；v = b2 v + (1 - b2) g^2；m_hat = m / (1 - b1^t)，"
                       "v_hat = v / (1 - b2^t)；\nparam = param - lr m_hat / (sqrt(v_hat) + eps)。"
                       "t 是本步序号（第一步为 1）。\n返回新的 (param, m, v)；不要修改输入。",
               "adam_step": "param, grad, m, v: 同形状数组；t: int >= 1；lr, beta1, beta2, eps: "
                            "float -> (param, m, v)",
               "hints": ["先更新 m 和 v，再做偏差修正，最后更新参数。", "eps 加在开方之后。"]},
    },
    "optimal_discriminator": {
        "en": {"title": "the optimal discriminator D* for two Gaussians",
               "where": "Chapter 2, Part 1: D against a fixed G reaches D* "
                        "(chapters/ch2_core_concepts.py); Chapter 3, Proposition 1; "
                        "minigan/densities.py",
               "task": "p_data = N(mu_data, sigma_data^2), p_g = N(mu_g, sigma_g^2) (sigma: "
                       "standard deviations).\nD*(x) = p_data(x) / (p_data(x) + p_g(x)) on the "
                       "points x: (K,).",
               "d_star": "x: (K,), mu_data, sigma_data, mu_g, sigma_g: float -> D*: (K,)",
               "hints": ["N(x; mu, sigma^2) = exp(-(x - mu)^2 / (2 sigma^2)) / (sigma "
                         "sqrt(2 pi)).",
                         "D* maximises p_data log D + p_g log(1 - D) pointwise."]},
        "zh": {"title": "两个高斯分布之间的最优判别器 D*",
               "where": "第 2 章第 1 部分：固定 G 训练 D 会趋于 D*（chapters/ch2_core_concepts.py）；"
                        "第 3 章命题 1；minigan/densities.py",
               "task": "p_data = N(mu_data, sigma_data^2)，p_g = N(mu_g, sigma_g^2)（sigma 为标准差）。"
                       "\n在点 x: (K,) 上计算 D*(x) = p_data(x) / (p_data(x) + p_g(x))。",
               "d_star": "x: (K,), mu_data, sigma_data, mu_g, sigma_g: float -> D*: (K,)",
               "hints": ["N(x; mu, sigma^2) = exp(-(x - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi))。",
                         "D* 逐点最大化 p_data log D + p_g log(1 - D)。"]},
    },
    "value_at_optimum": {
        "en": {"title": "V(D*, G) = -log 4 + 2 JSD, numerically",
               "where": "Chapter 3, Theorem 1 (chapters/ch3_algorithm.py); minigan/metrics.py",
               "task": "Densities p_data, p_g sampled at the centres of grid cells of width dx "
                       "(0 in places).\nCompute, each as a sum times dx,\n"
                       "    JSD(p_data || p_g) = 1/2 KL(p_data || m) + 1/2 KL(p_g || m), "
                       "m = (p_data + p_g) / 2 (nats),\n"
                       "    V(D*, G) = integral p_data log D* + p_g log(1 - D*) dx.\n"
                       "The check: V = -log 4 + 2 JSD.",
               "jensen_shannon": "p_data, p_g: (K,), dx: float -> JSD: float",
               "value_at_optimum": "p_data, p_g: (K,), dx: float -> V(D*, G): float",
               "hints": ["integral f dx ~= sum(f) * dx on the grid.",
                         "0 log 0 = 0: np.where(p > 0, p * np.log(...), 0) (guard the log's "
                         "argument too)."]},
        "zh": {"title": "数值验证 V(D*, G) = -log 4 + 2 JSD",
               "where": "第 3 章定理 1（chapters/ch3_algorithm.py）；minigan/metrics.py",
               "task": "密度 p_data、p_g 在宽度为 dx 的网格单元中心取样（某些地方可能为 0）。\n计算 "
                       "JSD(p_data || p_g) = 1/2 KL(p_data || m) + 1/2 KL(p_g || m)，m = (p_data + "
                       "p_g) / 2，单位 nat；\n以及 V(D*, G) = 积分 p_data log D* + p_g log(1 - D*) dx，"
                       "都用求和乘 dx。检验：V = -log 4 + 2 JSD。",
               "jensen_shannon": "p_data, p_g: (K,), dx: float -> JSD: float",
               "value_at_optimum": "p_data, p_g: (K,), dx: float -> V(D*, G): float",
               "hints": ["网格上 积分 f dx ~= sum(f) * dx。",
                         "0 log 0 = 0：np.where(p > 0, p * np.log(...), 0)（log 的参数也要保护）。"]},
    },
    "dirac_field": {
        "en": {"title": "the Dirac-GAN's vector field",
               "where": f"Chapter 5, section 1 Instability: the Dirac-GAN ({_CH5}); "
                        f"minigan/dirac.py",
               "task": "p_data = delta_0, G(z) = theta, D(x) = sigmoid(psi x).\nD minimises "
                       "softplus(-psi*0) + softplus(psi theta); G minimises\nlog(1 - "
                       "sigmoid(psi theta)) (\"minimax\") or -log sigmoid(psi theta) "
                       "(\"non-saturating\").\nReturn the gradient-descent field v = "
                       "(-dL_G/dtheta, -dL_D/dpsi), elementwise over theta, psi.",
               "vector_field": "theta, psi: (K,), objective: 'minimax' | 'non-saturating' -> "
                               "(v_theta: (K,), v_psi: (K,))",
               "hints": ["d softplus(u)/du = sigmoid(u).",
                         "v_psi = -sigmoid(theta psi) theta for both objectives; v_theta = "
                         "sigmoid(+-theta psi) psi."]},
        "zh": {"title": "Dirac-GAN 的向量场",
               "where": f"第 5 章第 1 节 不稳定性：Dirac-GAN（{_CH5}）；minigan/dirac.py",
               "task": "p_data = delta_0，G(z) = theta，D(x) = sigmoid(psi x)。\nD 最小化 "
                       "softplus(-psi*0) + softplus(psi theta)；\nG 最小化 log(1 - sigmoid(psi theta))"
                       "（\"minimax\"）或 -log sigmoid(psi theta)（\"non-saturating\"）。\n返回梯度下降"
                       "向量场 v = (-dL_G/dtheta, -dL_D/dpsi)，对数组 theta、psi 逐元素计算。",
               "vector_field": "theta, psi: (K,), objective: 'minimax' | 'non-saturating' -> "
                               "(v_theta: (K,), v_psi: (K,))",
               "hints": ["d softplus(u)/du = sigmoid(u)。",
                         "两种目标下都有 v_psi = -sigmoid(theta psi) theta；v_theta = "
                         "sigmoid(±theta psi) psi。"]},
    },
    "frechet_distance": {
        "en": {"title": "the Frechet distance of two Gaussians",
               "where": f"Chapter 5, section 4 Evaluation: FID ({_CH5}); minigan/metrics.py",
               "task": "d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for N(mu1, S1), "
                       "N(mu2, S2).\nmu: (D,), S: (D, D) symmetric positive definite; S1 S2 is "
                       "not symmetric.",
               "frechet_distance": "mu1: (D,), sigma1: (D, D), mu2: (D,), sigma2: (D, D) -> "
                                   "float",
               "hints": ["S1 S2 has the same eigenvalues as the symmetric S1^(1/2) S2 S1^(1/2).",
                         "Tr((S1 S2)^(1/2)) = sum of the square roots of those eigenvalues "
                         "(np.linalg.eigh, eigvalsh)."]},
        "zh": {"title": "两个高斯分布之间的 Fréchet 距离",
               "where": f"第 5 章第 4 节 评估：FID（{_CH5}）；minigan/metrics.py",
               "task": "对 N(mu1, S1)、N(mu2, S2)：\n"
                       "d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))。\n"
                       "mu: (D,)，S: (D, D) 对称正定；S1 S2 不是对称矩阵。",
               "frechet_distance": "mu1: (D,), sigma1: (D, D), mu2: (D,), sigma2: (D, D) -> "
                                   "float",
               "hints": ["S1 S2 与对称矩阵 S1^(1/2) S2 S1^(1/2) 特征值相同。",
                         "Tr((S1 S2)^(1/2)) = 这些特征值的平方根之和（np.linalg.eigh、eigvalsh）。"]},
    },
    "mode_coverage": {
        "en": {"title": "the high-quality test of mode coverage",
               "where": f"Chapter 5, study 2: The metric ({_MC}); minigan/metrics.py",
               "task": "A sample is high quality if it lies within num_std * std of its nearest "
                       "centre;\nit then counts for that centre. samples: (N, 2), centres: (M, 2)."
                       "\nReturn the (N,) boolean mask and the (M,) integer counts per centre.",
               "high_quality": "samples: (N, 2), centres: (M, 2), std, num_std: float -> "
                               "(high_quality: (N,) bool, counts: (M,) int)",
               "hints": ["Distances (N, M) by broadcasting: samples[:, None] - centres[None].",
                         "np.bincount(nearest[mask], minlength=M)."]},
        "zh": {"title": "模式覆盖的高质量样本检验",
               "where": f"第 5 章研究 2：度量（{_MC}）；minigan/metrics.py",
               "task": "样本到最近中心的距离不超过 num_std * std 即为高质量样本，并计入该中心。\n"
                       "samples: (N, 2)，centres: (M, 2)。返回 (N,) 布尔掩码和每个中心的 (M,) 整数计数。",
               "high_quality": "samples: (N, 2), centres: (M, 2), std, num_std: float -> "
                               "(high_quality: (N,) bool, counts: (M,) int)",
               "hints": ["用广播得到 (N, M) 距离：samples[:, None] - centres[None]。",
                         "np.bincount(nearest[mask], minlength=M)。"]},
    },
    "pack": {
        "en": {"title": "packing's reshape (PacGAN), forward and backward",
               "where": f"Chapter 5, study 2: Packing ({_MC}); minigan/nn/pack.py",
               "task": "D judges m samples at once: y[p] = [x[p m], x[p m + 1], ..., x[p m + m - "
                       "1]] concatenated.\nx: (N, F) -> y: (N / m, m F). Return y, and grad_x "
                       "from grad_y.",
               "forward": "x: (N, F), m: int -> y: (N // m, m * F)",
               "backward": "grad_y: (N // m, m * F) -> grad_x: (N, F)",
               "hints": ["In C order, consecutive rows are consecutive in memory.",
                         "A reshape moves no value: its backward is the inverse reshape."]},
        "zh": {"title": "打包（PacGAN）的 reshape：前向与反向",
               "where": f"第 5 章研究 2：打包（{_MC}）；minigan/nn/pack.py",
               "task": "判别器一次判断 m 个样本：y[p] = [x[p m], x[p m + 1], ..., x[p m + m - 1]] 拼接。"
                       "\nx: (N, F) -> y: (N / m, m F)。返回 y，以及由 grad_y 得到的 grad_x。",
               "forward": "x: (N, F), m: int -> y: (N // m, m * F)",
               "backward": "grad_y: (N // m, m * F) -> grad_x: (N, F)",
               "hints": ["按 C 顺序，相邻的行在内存中也相邻。", "reshape 不移动任何值：它的反向就是逆 reshape。"]},
    },
}
