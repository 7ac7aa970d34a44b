"""
=================================================
Searching the margins and N with GridSearchCV
=================================================

The margins ``a1`` (between classes) and ``a2`` (within a class) and the number
of retrieved clusters ``N`` are the hyper-parameters the paper asks to search.
Here ``GridSearchCV`` searches them for a
``Pipeline([CLMLEEmbedder, KNearestClusterClassifier])`` on long-tailed digits,
with stratified folds and balanced accuracy, then scores the best pipeline on a
balanced test split.
"""

# %%
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier
from sklearn_clmle.datasets import make_long_tailed

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.4, stratify=y, random_state=0
)
X_train, y_train = make_long_tailed(X_train, y_train, imbalance_ratio=10, random_state=0)

pipe = Pipeline(
    [
        (
            "embed",
            CLMLEEmbedder(
                hidden_units=(128,), embedding_dim=32, cluster_size=20,
                n_clusters_per_batch=8, n_samples_per_cluster=10, scale=32.0,
                warmup_epochs=20, n_rounds=3, steps_per_round=40, random_state=0,
            ),
        ),
        (
            "clf",
            KNearestClusterClassifier(
                cluster_size=5, scale=16.0, prior_correction=1.0, random_state=0
            ),
        ),
    ]
)
grid = {
    "embed__margin_between": [0.05, 0.2],
    "embed__margin_within": [0.0, 0.02],
    "clf__n_neighbors": [5, 20],
}
search = GridSearchCV(
    pipe, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0),
    scoring="balanced_accuracy",
)
t0 = time.perf_counter()
search.fit(X_train, y_train)
print(f"searched {len(search.cv_results_['params'])} settings x 3 folds "
      f"in {time.perf_counter() - t0:.0f} s")

# %%
order = np.argsort(-search.cv_results_["mean_test_score"])
print("\n| a1 | a2 | N | balanced accuracy (CV) |")
print("| --- | --- | --- | --- |")
for i in order:
    p = search.cv_results_["params"][i]
    print(f"| {p['embed__margin_between']} | {p['embed__margin_within']} | "
          f"{p['clf__n_neighbors']} | {search.cv_results_['mean_test_score'][i]:.3f} "
          f"± {search.cv_results_['std_test_score'][i]:.3f} |")
test = balanced_accuracy_score(y_test, search.predict(X_test))
print(f"\nbest {search.best_params_}: balanced accuracy on the test split {test:.3f}")
