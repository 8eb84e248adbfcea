"""The result of a batch of GLM fits (:class:`PoissonGLMFit`): coefficients, weights,
covariance, dispersion, and what R computes from them (hat values, predictions,
p-values of coefficients)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from tocsin.detect.glm.linalg import EPS, nonzero_pairs

FIT_FIELDS = (
    "coefficients", "aliased", "eta", "mu", "y", "used", "converged", "failed", "iterations",
    "deviance", "working_weights", "cov_unscaled", "rank", "df_residual", "dispersion",
)  # fmt: skip


@dataclass
class PoissonGLMFit:
    """The result of :func:`fit_poisson_glm`; leading dimensions are ``y.shape[:-1]``.

    Attributes:
        coefficients: ``(..., p)``; 0 for aliased columns.
        aliased: ``(..., p)`` bool.
        eta, mu: ``(..., n_obs)`` linear predictor (with offset) and fitted means.
        y: ``(..., n_obs)`` the responses (0 on unused rows).
        used: ``(..., n_obs)`` bool: rows in the fit (prior weight > 0, count present).
        converged: ``(...)`` bool, R's ``converged``.
        failed: ``(...)`` bool: R would have stopped with an error (or was never run).
        iterations: ``(...)`` number of IRLS iterations done.
        deviance: ``(...)``.
        working_weights: ``(..., n_obs)`` R's ``weights`` (0 on unused rows).
        cov_unscaled: ``(..., p, p)`` ``(X' W X)^-1`` (zero rows/columns where aliased).
        rank, df_residual: ``(...)`` integers as floats.
        dispersion: ``(...)`` Pearson chi-squared / df.residual (NaN when df is 0).
        X: the design ``(G, n_obs, p)``.
    """

    coefficients: np.ndarray
    aliased: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    y: np.ndarray
    used: np.ndarray
    converged: np.ndarray
    failed: np.ndarray
    iterations: np.ndarray
    deviance: np.ndarray
    working_weights: np.ndarray
    cov_unscaled: np.ndarray
    rank: np.ndarray
    df_residual: np.ndarray
    dispersion: np.ndarray
    X: np.ndarray

    def where(self, mask: np.ndarray, other: PoissonGLMFit) -> PoissonGLMFit:
        """A fit taking each field from ``self`` where ``mask`` and from ``other``
        elsewhere (both fits of the same design)."""
        mask = np.asarray(mask, bool)
        fields = {}
        for name in FIT_FIELDS:
            a, b = getattr(self, name), getattr(other, name)
            m = mask.reshape(mask.shape + (1,) * (a.ndim - mask.ndim))
            fields[name] = np.where(m, a, b)
        return PoissonGLMFit(**fields, X=self.X)

    def hat_values(self) -> np.ndarray:
        """Diagonal of the hat matrix of the last weighted least-squares problem, set to 1
        above ``1 - 10 eps`` (R's ``lm.influence``); 0 on unused rows."""
        return self.hat_values_at(tuple(np.indices(self.y.shape).reshape(self.y.ndim, -1))).reshape(
            self.y.shape
        )

    def hat_values_at(self, index: tuple[np.ndarray, ...], chunk: int = 1 << 17) -> np.ndarray:
        """:meth:`hat_values` at the entries ``index`` of the ``(..., n_obs)`` arrays only
        (e.g. those with a positive count): ``w_i x_i' (X'WX)^-1 x_i`` from the products
        of the column pairs that are not identically zero, in chunks of ``chunk`` entries."""
        X = self.X  # (G, n, p)
        p = X.shape[-1]
        pi, pj = nonzero_pairs(X)
        twice = np.where(pi == pj, 1.0, 2.0)
        lead = self.coefficients.shape[:-1]
        cov = self.cov_unscaled.reshape(-1, p, p)[:, pi, pj] * twice  # (fits, q)
        fit_of = np.ravel_multi_index(index[:-1], lead) if len(lead) else np.zeros(0, int)
        group_of = index[0]
        row_of = index[-1]
        out = np.empty(row_of.size)
        for lo in range(0, row_of.size, chunk):
            sl = slice(lo, lo + chunk)
            g, i, f = group_of[sl], row_of[sl], fit_of[sl]
            pairs = X[g, i][:, pi] * X[g, i][:, pj]  # (m, q)
            out[sl] = np.einsum("mq,mq->m", pairs, cov[f])
        hat = self.working_weights[index] * out
        hat[hat > 1.0 - 10.0 * EPS] = 1.0
        return hat

    def predict(
        self, x0: np.ndarray, offset0: np.ndarray | float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Linear predictor at new rows ``x0`` (``(..., p)``, broadcast against the fits)
        and its unscaled standard error ``sqrt(x0' (X'WX)^-1 x0)`` (R's ``predict.lm``
        with ``scale = 1``). Aliased coefficients count as 0."""
        x0 = np.broadcast_to(x0, self.coefficients.shape)
        x0 = np.where(self.aliased, 0.0, x0)
        eta0 = np.einsum("...p,...p->...", x0, self.coefficients) + offset0
        var = np.einsum("...p,...pq,...q->...", x0, self.cov_unscaled, x0)
        return eta0, np.sqrt(np.maximum(var, 0.0))

    def coefficient_pvalue(self, j: int, dispersion: np.ndarray | None = None) -> np.ndarray:
        """Two-sided p-value of coefficient ``j`` as ``summary.glm`` for a quasi family:
        ``2 * pt(-|t|, df.residual)`` with ``t = beta / sqrt(dispersion * cov_jj)``."""
        disp = self.dispersion if dispersion is None else dispersion
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(disp * self.cov_unscaled[..., j, j])
            t = self.coefficients[..., j] / se
            p = 2.0 * stats.t.sf(np.abs(t), self.df_residual)
        return np.where(self.aliased[..., j] | (self.df_residual <= 0), np.nan, p)
