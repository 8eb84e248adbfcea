"""A batched fitter for many small Poisson / quasi-Poisson GLMs with log link.

It replicates R's ``stats::glm.fit`` (iteratively reweighted least squares) step by step,
so that each fit stops at exactly the iteration where R's would and gives the same
coefficients, working weights, dispersion and standard errors to rounding:

* starting values ``mustart = y + 0.1`` (the ``poisson``/``quasipoisson`` family's
  ``initialize``), ``eta = log(mustart)`` (without the offset);
* ``mu = linkinv(eta) = max(exp(eta), eps)`` and ``mu.eta`` the same;
* convergence when ``|dev - devold| / (|dev| + 0.1) < epsilon`` (1e-8), at most
  ``maxit`` (25) iterations; non-finite coefficients end a fit as *not converged*;
  a non-finite deviance halves the step as R does (at the first iteration R stops with
  an error: the fit is marked *failed*);
* the working weights, the covariance ``(X' W X)^-1`` and hat values belong to the last
  iteration's weighted least-squares problem (the weights computed from the ``mu`` of the
  iteration before), exactly as ``glm.fit`` stores ``weights`` and ``qr``;
* dispersion as ``summary.glm`` for a quasi family: Pearson's chi-squared (working
  weights times squared working residuals) over ``df.residual = n_ok - rank``.

Fits are stacked: a design ``X`` of shape ``(G, n_obs, p)`` is shared by ``S`` responses
``y`` of shape ``(G, S, n_obs)`` (pass ``(G, n_obs)`` for one response per design). Windows
of different sizes are padded with rows of prior weight zero, which count for nothing, as
R's dropping of those rows. All fits iterate in lockstep with per-fit convergence masks
(a converged fit keeps its coefficients; groups whose fits have all stopped are dropped;
when few fits of a batch are to be run, each gets its own copy of its design). Per
iteration, ``X' W X`` of every fit is one batched matrix product of the weights with the
products of the design's column pairs that are not identically zero, ``X' W z`` another,
and the systems are solved by a Cholesky factorisation vectorised over all fits (``p``
steps of array operations). The deviance uses ``sum w y log mu = beta . X'(w y)`` so that
each iteration makes only a few passes over the ``(fits, n_obs)`` arrays. A column that
is zero on every row used by a fit is *aliased* (R: coefficient ``NA`` after pivoting in
the QR): its coefficient is 0 and it does not count in the rank.

Modules: :mod:`~tocsin.detect.glm.batch` (:func:`fit_poisson_glm`: few fits, threads,
parts), :mod:`~tocsin.detect.glm.irls` (the iterations and the final state),
:mod:`~tocsin.detect.glm.linalg` (column pairs, batched Cholesky solves and inverses),
:mod:`~tocsin.detect.glm.result` (:class:`PoissonGLMFit`: hat values, predictions,
p-values), :mod:`~tocsin.detect.glm.threads` (the BLAS held to one thread, the threads of
a large batch).

Reference: R Core Team, ``stats::glm.fit`` (R 4.2); McCullagh and Nelder (1989),
*Generalized Linear Models*, 2nd ed., section 2.5 (IRLS).
"""

from tocsin.detect.glm.batch import fit_poisson_glm
from tocsin.detect.glm.linalg import EPS
from tocsin.detect.glm.result import PoissonGLMFit
from tocsin.detect.glm.threads import blas_one_thread, one_thread

__all__ = ["EPS", "PoissonGLMFit", "blas_one_thread", "fit_poisson_glm", "one_thread"]
