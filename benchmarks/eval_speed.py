"""Time of the whole evaluation panel of one model against disentanglement_lib's recipes, at equal values.

Measures in one run, on the same latents (float32, ``--latents`` columns, the first six informative about one
factor each) and factors (Shapes3D's sizes 10, 10, 10, 8, 4, 15), ``--n-train`` training and ``--n-test`` test
samples, each metric of the panel a `paper` job computes:

* ``ours``: the ``metrics`` functions with their defaults, as the suite calls them (``--dci-estimator`` and
  ``--sap-solver`` choose others);
* ``recipe``: disentanglement_lib's recipe for the same metric, re-implemented as it does it (MIG, DCI, SAP,
  modularity/explicitness: Locatello et al. 2019, ``evaluation/metrics/*.py``), and for InfoMEC the authors'
  standalone ``compute_infomec`` (Hsu et al. 2023): scikit-learn estimators called the way those files call them.

It prints the seconds of each, their ratio, the largest absolute difference of the values, the CPU (model and
vector instruction sets) and the threads used, and the totals. The recipes' DCI (scikit-learn's
``GradientBoostingClassifier``, 100 stages per factor) takes minutes at the default sizes. ``--threads 1 4 16``
times ours at each numba thread count (the recipes once); ``--no-recipes`` times ours only.

    python benchmarks/eval_speed.py                                # 10,000 train / 5,000 test, 12 latents
    python benchmarks/eval_speed.py --n-train 2000 --n-test 1000   # a short look
    python benchmarks/eval_speed.py --no-recipes --threads 1 4 16  # how ours scales with the cores

``--suite-profile quick`` instead times the disentanglement suite's evaluation of one model as that profile runs it
(its evaluation settings and sample size, the factor sizes of its first dataset, 10 latents, continuous and then
quantised), per metric family, next to DCI by random forests on a 2,000-image subset and SAP by liblinear.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numba
import numpy as np

import metrics

FACTOR_SIZES = (10, 10, 10, 8, 4, 15)


def make_data(n: int, n_latents: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sources = np.stack([rng.integers(0, k, n) for k in FACTOR_SIZES], axis=1).astype(np.int64)
    latents = rng.normal(size=(n, n_latents))
    for j in range(min(6, n_latents)):
        latents[:, j] += 2.0 * sources[:, j] / FACTOR_SIZES[j]
    return sources, latents.astype(np.float32)


# -- disentanglement_lib's recipes (and the authors' InfoMEC), as those files compute them ------------------
def _discretize(z: np.ndarray, bins: int = 20) -> np.ndarray:
    """``utils._histogram_discretize``: equal-width bins per latent, ``np.digitize`` on the left edges."""
    return np.stack([np.digitize(col, np.histogram(col, bins)[1][:-1]) for col in z.T], axis=1)


def _discrete_mi(codes: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``utils.discrete_mutual_info``: (L, K) ``mutual_info_score`` of every pair."""
    from sklearn.metrics import mutual_info_score

    return np.array([[mutual_info_score(s[:, k], codes[:, j]) for k in range(s.shape[1])]
                     for j in range(codes.shape[1])])


def recipe_mig(s, z):
    from sklearn.metrics import mutual_info_score

    m = _discrete_mi(_discretize(z), s)
    h = np.array([mutual_info_score(c, c) for c in s.T])
    top = np.sort(m, axis=0)[::-1]
    return {"mig": float(np.mean((top[0] - top[1]) / h))}


def recipe_dci(s, z, s_te, z_te):
    from sklearn.ensemble import GradientBoostingClassifier

    n_latents, n_factors = z.shape[1], s.shape[1]
    importance = np.zeros((n_latents, n_factors))
    acc = []
    for k in range(n_factors):
        clf = GradientBoostingClassifier().fit(z, s[:, k])
        importance[:, k] = np.abs(clf.feature_importances_)
        acc.append(np.mean(clf.predict(z_te) == s_te[:, k]))
    r = importance + 1e-11

    def entropy_rows(p, base):
        p = p / p.sum(axis=1, keepdims=True)
        return -(p * np.log(p)).sum(axis=1) / np.log(base)

    d = 1.0 - entropy_rows(r, n_factors)
    c = 1.0 - entropy_rows(r.T, n_latents)
    return {"dci_disentanglement": float(np.sum(d * r.sum(axis=1) / r.sum())),
            "dci_completeness": float(np.sum(c * r.sum(axis=0) / r.sum())),
            "dci_informativeness": float(np.mean(acc))}


def recipe_sap(s, z, s_te, z_te):
    from sklearn.svm import LinearSVC

    matrix = np.zeros((z.shape[1], s.shape[1]))
    for j in range(z.shape[1]):
        for k in range(s.shape[1]):
            clf = LinearSVC(C=0.01, class_weight="balanced").fit(z[:, j:j + 1], s[:, k])
            matrix[j, k] = np.mean(clf.predict(z_te[:, j:j + 1]) == s_te[:, k])
    top = np.sort(matrix, axis=0)
    return {"sap": float(np.mean(top[-1] - top[-2]))}


def recipe_modularity_explicitness(s, z, s_te, z_te):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import MultiLabelBinarizer

    mi = _discrete_mi(_discretize(z), s)  # (L, K)
    squared = mi ** 2
    max_sq = np.max(squared, axis=1)
    numerator = np.sum(squared, axis=1) - max_sq
    denominator = max_sq * (s.shape[1] - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_latent = np.where(denominator > 0, 1.0 - numerator / denominator, 0.0)
    mean, std = z.mean(axis=0), z.std(axis=0)
    zt, zte = (z - mean) / std, (z_te - mean) / std
    test_auc = []
    for k in range(s.shape[1]):
        clf = LogisticRegression().fit(zt, s[:, k])
        mlb = MultiLabelBinarizer().fit([[c] for c in np.unique(s[:, k])])
        y = mlb.transform(s_te[:, k][:, None])
        test_auc.append(roc_auc_score(y, clf.predict_proba(zte)))
    return {"modularity": float(np.mean(per_latent)), "explicitness": float(np.mean(test_auc))}


def recipe_infomec(s, z):
    """The authors' standalone ``compute_infomec`` for continuous latents (kNN MI, k = 10; InfoE probes)."""
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, mutual_info_score
    from sklearn.preprocessing import StandardScaler

    zs = StandardScaler().fit_transform(z)
    n_factors, n_latents = s.shape[1], z.shape[1]
    nmi = np.zeros((n_factors, n_latents))
    for i in range(n_factors):
        h = mutual_info_score(s[:, i], s[:, i])
        for j in range(n_latents):
            nmi[i, j] = mutual_info_classif(zs[:, j:j + 1], s[:, i], discrete_features=False, n_neighbors=10,
                                            random_state=0)[0] / h
    ranges = z.max(axis=0) - z.min(axis=0)
    p = nmi[:, ranges > ranges.max() / 20]
    infom = (np.mean(p.max(axis=0) / p.sum(axis=0)) - 1 / n_factors) / (1 - 1 / n_factors)
    infoc = (np.mean(p.max(axis=1) / p.sum(axis=1)) - 1 / p.shape[1]) / (1 - 1 / p.shape[1])
    infoe = []
    for i in range(n_factors):
        def ce(x):
            clf = LogisticRegression(penalty=None, class_weight="balanced", max_iter=100).fit(x, s[:, i])
            return log_loss(s[:, i], clf.predict_proba(x))
        null = ce(np.zeros_like(zs))
        infoe.append((null - ce(zs)) / null)
    return {"infom": float(infom), "infoc": float(infoc), "infoe": float(np.mean(infoe))}


# -- ours: the metrics package with the suite's paper settings -----------------------------------------------
def ours(family: str, s, z, s_te, z_te, dci_estimator: str = "gbt", sap_solver: str = "exact") -> dict[str, float]:
    if family == "infomec":
        r = metrics.infomec(s, z, random_state=0)
        return {"infom": r.infom, "infoc": r.infoc, "infoe": r.infoe}
    if family == "mig":
        return {"mig": metrics.mig(s, z, num_bins=20).score}
    if family == "dci":
        r = metrics.dci(s, z, sources_test=s_te, latents_test=z_te, estimator=dci_estimator, random_state=0,
                        n_jobs=numba.get_num_threads(), progress=False)
        return {"dci_disentanglement": r.disentanglement, "dci_completeness": r.completeness,
                "dci_informativeness": r.informativeness}
    if family == "sap":
        return {"sap": metrics.sap(s, z, sources_test=s_te, latents_test=z_te, solver=sap_solver).score}
    r = metrics.modularity_explicitness(s, z, sources_test=s_te, latents_test=z_te, num_bins=20)
    return {"modularity": r.modularity, "explicitness": r.explicitness}


def suite_evaluation(profile_name: str) -> None:
    """Seconds per metric family of the suite's evaluation of one model under ``profile_name``."""
    import dataclasses

    import datasets
    from benchmark.suites import get_suite
    from benchmark.suites.disentanglement.evaluation import evaluate_representation, warm_up

    profile = get_suite("disentanglement").profile(profile_name)
    name = profile.datasets[0]
    sizes = datasets.dataset_class(datasets.split_resolution(name)[0]).factor_sizes
    rng = np.random.default_rng(0)
    n, n_latents = profile.eval_samples, 10
    s = np.stack([rng.integers(0, k, n) for k in sizes], axis=1)
    signal = s[:, np.arange(n_latents) % len(sizes)] / np.asarray(sizes)[np.arange(n_latents) % len(sizes)]
    print(f"profile {profile_name}: {n} images shaped like {name} (factor sizes {sizes}), {n_latents} latents, "
          f"numba threads {numba.get_num_threads()}")
    for discrete in (False, True):
        z = (rng.normal(size=(n, n_latents)) + 2.0 * signal).astype(np.float32)
        if discrete:
            z = np.round(z * 3).astype(np.float32) / 3
        settings = profile.eval
        warm_up(settings, discrete=discrete)
        t0 = time.perf_counter()
        outcomes = evaluate_representation(s, z, discrete=discrete, settings=settings, seed=0)
        total = time.perf_counter() - t0
        seconds = {o.metric: o.seconds for o in outcomes}
        rf = dataclasses.replace(settings, families=("dci",), dci_estimator="random_forest", dci_samples=2000)
        t_rf = evaluate_representation(s, z, discrete=discrete, settings=rf, seed=0)[0].seconds
        t0 = time.perf_counter()
        metrics.sap(s, z, test_size=settings.test_size, random_state=0, solver="liblinear")
        t_liblinear = time.perf_counter() - t0
        kind = "quantised" if discrete else "continuous"
        print(f"  {kind:<11} all {total:5.2f} s | InfoMEC {seconds['infom']:.2f} s, MIG {seconds['mig']:.3f} s, "
              f"DCI {seconds['dci_disentanglement']:.2f} s (random forests on {min(n, 2000):,} images: {t_rf:.2f} s), "
              f"SAP {seconds['sap']:.3f} s (liblinear: {t_liblinear:.2f} s), "
              f"modularity/explicitness {seconds['modularity']:.2f} s")


RECIPES = {
    "infomec": lambda s, z, s_te, z_te: recipe_infomec(s, z),
    "mig": lambda s, z, s_te, z_te: recipe_mig(s, z),
    "dci": recipe_dci,
    "sap": recipe_sap,
    "modularity_explicitness": recipe_modularity_explicitness,
}


def main() -> None:
    from benchmark.environment import cpu_info

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=5_000)
    p.add_argument("--latents", type=int, default=12)
    p.add_argument("--dci-estimator", default="gbt", choices=("gbt", "gbt_sklearn", "random_forest"),
                   help="the estimator of our DCI (default gbt, the metric's default)")
    p.add_argument("--sap-solver", default="exact", choices=("exact", "liblinear"),
                   help="the solver of our SAP's LinearSVC problems (default exact, the metric's default)")
    p.add_argument("--families", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--threads", nargs="+", type=int, default=[numba.get_num_threads()],
                   help="numba thread counts to time ours at (default: numba's current count)")
    p.add_argument("--no-recipes", action="store_true", help="time ours only (no ratios)")
    p.add_argument("--suite-profile", help="time the suite's evaluation of one model under this profile instead")
    args = p.parse_args()
    if args.suite_profile:
        suite_evaluation(args.suite_profile)
        return
    if max(args.threads) > numba.config.NUMBA_NUM_THREADS or min(args.threads) < 1:
        p.error(f"--threads must be between 1 and {numba.config.NUMBA_NUM_THREADS} (this machine's numba threads)")
    warnings.filterwarnings("ignore", category=FutureWarning)  # sklearn's notice on penalty=None (the authors' call)
    cpu = cpu_info()
    print(f"CPU: {cpu['model']}; {', '.join(cpu['isa'])}; {numba.config.NUMBA_NUM_THREADS} cores for numba")
    s_all, z_all = make_data(args.n_train + args.n_test, args.latents, seed=0)
    s, z, s_te, z_te = s_all[:args.n_train], z_all[:args.n_train], s_all[args.n_train:], z_all[args.n_train:]
    print(f"{args.n_train} train / {args.n_test} test samples, {args.latents} latents, factors {FACTOR_SIZES}")
    expected, t_recipe = {}, {}
    if not args.no_recipes:
        for family in args.families:
            t0 = time.perf_counter()
            expected[family] = RECIPES[family](s, z, s_te, z_te)
            t_recipe[family] = time.perf_counter() - t0
    for threads in args.threads:
        numba.set_num_threads(threads)
        for family in args.families:  # compile (or load) the kernels outside the timings
            ours(family, s[:500], z[:500], s_te[:200], z_te[:200], args.dci_estimator, args.sap_solver)
        print(f"\nnumba threads {threads}")
        if args.no_recipes:
            print(f"{'family':<26}{'ours':>10}")
        else:
            print(f"{'family':<26}{'recipe':>10}{'ours':>10}{'ratio':>9}  largest |difference|")
        total_recipe = total_ours = 0.0
        for family in args.families:
            t0 = time.perf_counter()
            got = ours(family, s, z, s_te, z_te, args.dci_estimator, args.sap_solver)
            t_ours = time.perf_counter() - t0
            total_ours += t_ours
            if args.no_recipes:
                print(f"{family:<26}{t_ours:>9.2f}s")
                continue
            total_recipe += t_recipe[family]
            diff = max(abs(got[m] - expected[family][m]) for m in expected[family])
            print(f"{family:<26}{t_recipe[family]:>9.2f}s{t_ours:>9.2f}s{t_recipe[family] / t_ours:>8.1f}x  {diff:.2e}")
        if args.no_recipes:
            print(f"{'panel':<26}{total_ours:>9.2f}s")
        else:
            print(f"{'panel':<26}{total_recipe:>9.2f}s{total_ours:>9.2f}s{total_recipe / total_ours:>8.1f}x")


if __name__ == "__main__":
    main()
