"""The chapter's two functions, with its names and defaults, on modelsteward's registry.

``train_and_register`` trains a GradientBoostingClassifier on the chapter's generated churn
data (10,000 rows, 20 features, 30 % positives) and logs it with :func:`log_training_run`;
``load_production_model`` loads what holds Production (the ``production`` alias).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelsteward.registry.cards import ModelCard
from modelsteward.registry.loading import load_model
from modelsteward.registry.training import log_training_run

# scikit-learn is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["CHURN_CARD", "churn_data", "load_production_model", "train_and_register"]

CHURN_CARD = ModelCard(
    intended_use=(
        "Rank existing customers by their risk of churning so that a retention team can "
        "prioritise outreach. Decision support only."
    ),
    limitations=(
        "Trained on generated data (sklearn make_classification); features are anonymous. "
        "Not validated for any other population, market or period; not for credit, lending, "
        "pricing or employment decisions."
    ),
    fairness_considerations=(
        "No protected attributes are present in the generated data; with real data, check "
        "performance per customer segment before promotion (set subgroup_column)."
    ),
    owners=("modelsteward",),
)


def churn_data(
    n_samples: int = 10_000, random_state: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """The chapter's churn data, split 80/20 stratified: X_train, X_test, y_train, y_test."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=n_samples, n_features=20, n_informative=12, n_redundant=3,
        weights=[0.7, 0.3], random_state=random_state,
    )
    frame = pd.DataFrame(X, columns=[f"feature_{i}" for i in range(X.shape[1])])
    target = pd.Series(np.asarray(y), name="churned")
    X_train, X_test, y_train, y_test = train_test_split(
        frame, target, test_size=0.2, stratify=target, random_state=random_state,
    )
    return X_train, X_test, y_train, y_test


def train_and_register(
    n_estimators: int = 200,
    max_depth: int = 5,
    learning_rate: float = 0.1,
    experiment_name: str = "churn_prediction",
    model_name: str = "churn_model",
    *,
    tracking_uri: str | None = None,
    card: ModelCard | None = CHURN_CARD,
) -> str:
    """Train the chapter's churn model, log everything, register a new version; return the
    run id.

    >>> # run_id = train_and_register(n_estimators=300, max_depth=4)
    """
    from sklearn.ensemble import GradientBoostingClassifier

    X_train, X_test, y_train, y_test = churn_data()
    model = GradientBoostingClassifier(
        n_estimators=n_estimators, max_depth=max_depth, learning_rate=learning_rate,
        random_state=42,
    )
    model.fit(X_train, y_train)
    record = log_training_run(
        model, X_train, y_train, X_test, y_test,
        model_name=model_name, experiment=experiment_name, card=card,
        data_source="sklearn.datasets.make_classification(n_samples=10000, n_features=20, "
                    "n_informative=12, n_redundant=3, weights=[0.7, 0.3], random_state=42)",
        tracking_uri=tracking_uri,
    )
    return record.run_id


def load_production_model(model_name: str = "churn_model", *,
                          tracking_uri: str | None = None,
                          allow_unverified: bool = False) -> Any:
    """The scikit-learn model holding Production (``models:/<name>@production``), its files
    checked against the SHA-256 recorded at registration (IntegrityError on a mismatch
    unless ``allow_unverified=True``).

    >>> # model = load_production_model(); model.predict_proba(X)[:, 1]
    """
    return load_model(model_name, "production", native=True, tracking_uri=tracking_uri,
                      allow_unverified=allow_unverified)
