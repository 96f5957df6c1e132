"""The fitted Track 1 chain as a file: save it, load it safely, score new households.

``results/models/segmentation.json`` holds everything :func:`assign_segments` needs, as
plain numbers and strings: the input columns, the imputation / winsorising / log / min-max
parameters, the NMF loadings, the K-means centres, the map from K-means label to segment id,
the segment names and the value-tier edges. JSON is read without executing anything (a
pickle or joblib file can run arbitrary code when loaded), Python writes floats in their
shortest round-trip form so the numbers come back bit for bit, and a SHA-256 of the content
is stored in the file, so a truncated or edited model is refused with a one-line error
instead of scoring households wrongly.

The segment stage labels its own households through :meth:`SegmentModel.predict` too, so
assigning the training households with the saved model reproduces ``segments.csv`` exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError
from segtarget.data.columns import HOUSEHOLD
from segtarget.track1.nmf import factor_columns, nnls_scores
from segtarget.track1.preprocess import FeatureTransformer, check_feature_table
from segtarget.track1.value_tiers import ValueTiers

FORMAT = "segtarget.segmentation"
VERSION = 1


@dataclass
class SegmentModel:
    """Parameters of the fitted chain (transform -> NMF scores -> nearest centre -> segment)."""

    features: list
    transform: str
    log_features: list
    impute: str
    fill: list
    clip_low: list
    clip_high: list
    minimum: list
    scale: list
    components: list
    centers: list
    label_to_segment: list
    segment_names: dict
    segment_names_ko: dict
    tier_features: list
    tier_bins: int
    tier_high_min: int
    tier_medium_min: int
    tier_edges: list

    @classmethod
    def from_fitted(cls, transformer: FeatureTransformer, components, centers, label_to_segment: dict,
                    names: pd.DataFrame, features, tiers: ValueTiers) -> "SegmentModel":
        def floats(a):
            return [None if not math.isfinite(v) else float(v) for v in np.asarray(a, dtype=float).ravel()]

        k = np.asarray(centers).shape[0]
        n = names.set_index("segment")
        return cls(
            features=list(features), transform=transformer.method, log_features=[int(i) for i in transformer.log_features],
            impute=transformer.impute, fill=floats(transformer.fill_), clip_low=floats(transformer.clip_low_),
            clip_high=floats(transformer.clip_high_), minimum=floats(transformer.min_), scale=floats(transformer.scale_),
            components=np.asarray(components, dtype=float).tolist(), centers=np.asarray(centers, dtype=float).tolist(),
            label_to_segment=[int(label_to_segment[c]) for c in range(k)],
            segment_names={str(s): str(n.loc[s, "segment_name"]) for s in n.index},
            segment_names_ko={str(s): str(n.loc[s, "segment_name_ko"]) for s in n.index},
            tier_features=list(tiers.features), tier_bins=int(tiers.bins), tier_high_min=int(tiers.high_min),
            tier_medium_min=int(tiers.medium_min), tier_edges=np.asarray(tiers.edges_, dtype=float).tolist(),
        )

    # -- the fitted objects, rebuilt from the stored numbers --------------------------------
    def transformer(self) -> FeatureTransformer:
        t = FeatureTransformer(self.transform, self.log_features, self.impute)
        t.fill_ = np.asarray(self.fill, dtype=float)
        t.clip_low_ = np.array([-np.inf if v is None else v for v in self.clip_low], dtype=float)
        t.clip_high_ = np.array([np.inf if v is None else v for v in self.clip_high], dtype=float)
        t.min_ = np.asarray(self.minimum, dtype=float)
        t.scale_ = np.asarray(self.scale, dtype=float)
        t.n_features_in_ = len(self.features)
        return t

    def tiers(self) -> ValueTiers:
        v = ValueTiers(tuple(self.tier_features), self.tier_bins, self.tier_high_min, self.tier_medium_min)
        v.edges_ = np.asarray(self.tier_edges, dtype=float)
        return v

    def scores(self, features: pd.DataFrame) -> np.ndarray:
        """NMF factor scores (F1..Fr) of each row, loadings held fixed."""
        X = features[self.features].to_numpy(dtype=float)
        return nnls_scores(self.transformer().transform(X), np.asarray(self.components, dtype=float))

    def predict(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(segment id, factor scores) of each row: nearest K-means centre of its scores."""
        W = self.scores(features)
        C = np.asarray(self.centers, dtype=float)
        d2 = ((W[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
        labels = np.argmin(d2, axis=1)
        return np.asarray(self.label_to_segment, dtype=int)[labels], W

    # -- file ------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the model as JSON with its checksum (atomically: a temp file, then rename)."""
        payload = {"format": FORMAT, "version": VERSION, "model": asdict(self)}
        payload["sha256"] = _digest(payload)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


def _digest(payload: dict) -> str:
    body = {k: v for k, v in payload.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode("utf-8")).hexdigest()


def load_model(path) -> SegmentModel:
    """Read and verify a saved segment model; any problem is a one-line :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: segment model not found; expected the file the segment stage writes "
                         "(run `snakemake results/models/segmentation.json`)")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: segment model is truncated or not JSON ({e.__class__.__name__} at "
                         f"{getattr(e, 'pos', '?')}); rerun the segment stage to rewrite it") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path}: not a segtarget segment model (format {payload.get('format') if isinstance(payload, dict) else None!r}); "
                         f"expected {FORMAT!r}")
    if payload.get("version") != VERSION:
        raise InputError(f"{path}: segment model version {payload.get('version')!r}; expected {VERSION}")
    if payload.get("sha256") != _digest(payload):
        raise InputError(f"{path}: segment model content does not match its sha256 (edited or damaged after it was "
                         "written); rerun the segment stage to rewrite it")
    try:
        model = SegmentModel(**payload["model"])
        k, r, p = len(model.centers), len(model.components), len(model.features)
        ok = (all(len(row) == p for row in model.components) and all(len(c) == r for c in model.centers)
              and len(model.label_to_segment) == k and len(model.scale) == p)
    except (TypeError, KeyError):
        ok = False
    if not ok:
        raise InputError(f"{path}: segment model is inconsistent (fields or array shapes); rerun the segment stage")
    return model


def assign_segments(features: pd.DataFrame, model, origin: str = "feature table") -> pd.DataFrame:
    """Segment, names, value tier and factor scores of each household in ``features``.

    ``model`` is a :class:`SegmentModel` or the path of a saved one. The columns are those of
    ``segments.csv`` (household_id, segment, segment_name, segment_name_ko, value_tier,
    rfm_score, F1..Fr), sorted by household.

    Examples
    --------
    >>> from segtarget.track1.planted import planted_feature_table
    >>> from segtarget.track1.segmentation import SegmentationConfig, run_segmentation
    >>> df, _ = planted_feature_table(300, n_segments=3, seed=1)
    >>> cfg = SegmentationConfig(rank_max=4, k_max=4, stability_resamples=5, k_stability_resamples=3,
    ...                          consensus_restarts=2, k_bootstrap_pairs=2)
    >>> res = run_segmentation(df, cfg)
    >>> assign_segments(df, res.model).equals(res.segments)
    True
    """
    if not isinstance(model, SegmentModel):
        model = load_model(model)
    needed = list(dict.fromkeys(model.features + model.tier_features))
    check_feature_table(features, needed, origin)
    df = features.sort_values(HOUSEHOLD, kind="mergesort").reset_index(drop=True)
    seg, W = model.predict(df)
    tiers = model.tiers().transform(df)
    out = pd.DataFrame({HOUSEHOLD: df[HOUSEHOLD].to_numpy(), "segment": seg})
    out["segment_name"] = [model.segment_names[str(s)] for s in seg]
    out["segment_name_ko"] = [model.segment_names_ko[str(s)] for s in seg]
    out["value_tier"] = tiers["value_tier"].to_numpy()
    out["rfm_score"] = tiers["rfm_score"].to_numpy()
    for j, c in enumerate(factor_columns(W.shape[1])):
        out[c] = W[:, j]
    return out
