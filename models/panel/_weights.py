"""Spatial weights prepared once for many model fits: spectrum, log-determinants, traces.

A :class:`PreparedWeights` holds the N×N weights matrix a model uses and
caches what every fit needs from it: the eigenvalues (for log|I − ρW| and the
effects traces; with eigenvectors for refits up to EIGENVECTOR_MAX_N units), the
stable interval of ρ, and, beyond EIGEN_MAX_N units, the seeded Hutchinson
moments tr(W^k) behind the Barry–Pace log-determinant and the traces. A W
handed in row-standardised is traced back to the symmetric matrix it came
from when there is one, so it takes the same symmetric route as its binary form.
Build it once per weights matrix with :func:`prepare_weights` and pass it to
every fit: a distance-band sweep or a placebo run then never decomposes the
same W twice. Passing a libpysal ``Graph`` instead reuses a prepared object
from a small cache keyed by the weights' fingerprint.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse import csgraph

from spillmap.errors import WeightsError

__all__ = ["LogdetMethod", "PreparedWeights", "prepare_weights"]

LogdetMethod = Literal["auto", "eigen", "lu", "barry-pace"]

#: Above this many units, ``logdet="auto"`` uses the Barry–Pace series (rows summing to ≤ 1)
#: or a sparse LU per evaluation instead of a dense eigen-decomposition.
EIGEN_MAX_N = 5000
#: Up to this many units, tr(G'G) for the information matrix is exact (one
#: dense solve per fit); above it, a seeded Hutchinson estimate is used.
DENSE_TRACE_MAX_N = 5000
#: Up to this many units of a W similar to a symmetric matrix, eigenvectors are cached
#: with the eigenvalues so refits compute tr(G'G) in O(N²) instead of an N×N solve
#: (two N×N float arrays kept: 400 MB at 5,000 units).
EIGENVECTOR_MAX_N = 5000
#: Up to this many units the dense symmetric S is kept once built (8 MB at 1,000 units).
SYMMETRIC_TEMPLATE_MAX_N = 1000
#: Fits of the same weights that use the Cholesky route before the eigenvectors are computed:
#: one up to 2,000 units; above, three (a full eigen-decomposition costs about three to four
#: Cholesky inverses, so a W fitted a few times never pays more than about twice the old cost).
EIGENVECTOR_AFTER_USES = (1, 2000, 3)
#: Probes for the Hutchinson estimates of tr(W^k) and tr(G'G): PROBE_BUDGET / N, within
#: [HUTCHINSON_PROBES, HUTCHINSON_MAX_PROBES] (a relative Monte Carlo error that does not grow
#: as N falls; 50 probes from 20,000 units).
HUTCHINSON_PROBES = 50
HUTCHINSON_MAX_PROBES = 200
PROBE_BUDGET = 1_000_000
#: Bound on the truncation error (nats) of the Barry–Pace log-determinant series.
LOGDET_TAIL_TOL = 1e-6
#: Most series terms the Barry–Pace route computes; a ρ needing more uses the exact LU.
MAX_SERIES_TERMS = 1000
#: Relative asymmetry allowed in diag(d)·W when recognising a W similar to a symmetric matrix.
_SIMILAR_TOL = 1e-8
#: Relative tolerance for "rows sum to one" and "matrix is symmetric".
_TOL = 1e-10
#: Terms of the power series for traces beyond EIGEN_MAX_N units (ρ^k of the last is
#: below 1e-9 for |ρ| ≤ 0.9).
POWER_TERMS = 200
#: Prepared weights kept for reuse when fits receive a Graph, not a PreparedWeights.
_CACHE_SIZE = 16


@dataclass(frozen=True, eq=False)
class PreparedWeights:
    """An N×N spatial weights matrix with its cached decomposition.

    Attributes
    ----------
    ids
        Unit ids in row order.
    matrix
        The weights used by the models (CSR), e.g. row-standardised.
    transformation
        ``"R"`` when spillmap row-standardised it, else the graph's own code.
    symmetric_base
        ``(C, d)`` with ``matrix = diag(1/d) @ C`` and ``C`` symmetric, when
        known (a symmetric input, or a row-stochastic one with d_i W_ij = d_j W_ji
        on every link, found by :func:`_symmetric_similar`): the eigenvalues are then computed from the symmetric matrix
        ``D^-1/2 C D^-1/2`` (real, fast). ``None`` otherwise.
    logdet_method
        ``"eigen"``: Σ log|1 − ρω| over cached eigenvalues; ``"lu"``: the
        diagonal of a sparse LU of (I − ρW) per evaluation; ``"barry-pace"``:
        the moment series −Σ_k ρ^k tr(W^k)/k (rows summing to ≤ 1, see :meth:`logdet`).
    """

    ids: np.ndarray
    matrix: sp.csr_array
    transformation: str
    symmetric_base: tuple[sp.csr_array, np.ndarray] | None = field(default=None, repr=False)
    logdet_method: Literal["eigen", "lu", "barry-pace"] = "eigen"
    _uses: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        """Number of units."""
        return self.matrix.shape[0]

    @cached_property
    def fingerprint(self) -> str:
        """Hash of ids, sparsity pattern and values (identifies cached results)."""
        return _fingerprint(self.ids, self.matrix)

    @cached_property
    def row_sums(self) -> np.ndarray:
        return np.asarray(self.matrix.sum(axis=1)).ravel()

    @cached_property
    def islands(self) -> np.ndarray:
        """Ids of units whose row is all zero."""
        return self.ids[self.row_sums == 0]

    @cached_property
    def row_stochastic(self) -> bool:
        """True when every row sums to one (W·1 = 1)."""
        return bool(np.allclose(self.row_sums, 1.0, rtol=0, atol=1e-9))

    @cached_property
    def substochastic(self) -> bool:
        """True when no row sums above one (‖W‖∞ ≤ 1, so every |ω| ≤ 1), e.g. row-standardised with islands."""
        return bool(self.row_sums.max(initial=0.0) <= 1.0 + 1e-9)

    @cached_property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of W: real when W is similar to a symmetric matrix, else complex."""
        if self.symmetric_base is not None:
            return self._symmetric_spectrum
        dense = self.matrix.toarray()
        if np.allclose(dense, dense.T, rtol=0, atol=_TOL):
            return sla.eigh(dense, eigvals_only=True, driver="evr")
        values = sla.eigvals(dense)
        if np.abs(values.imag).max(initial=0.0) < 1e-10:
            return np.sort(values.real)
        return values

    @cached_property
    def _symmetric_spectrum(self) -> np.ndarray:
        """Eigenvalues of W from the symmetric S = D^-1/2 C D^-1/2 (islands add zeros)."""
        sym, linked = self._symmetric_dense()
        values = sla.eigh(sym, eigvals_only=True, driver="evr", overwrite_a=True, check_finite=False)
        return np.sort(np.concatenate([values, np.zeros(int((~linked).sum()))]))

    def _symmetric_dense(self) -> tuple[np.ndarray, np.ndarray]:
        """A fresh dense S over the linked units (callers may overwrite it) and the linked mask.

        Up to SYMMETRIC_TEMPLATE_MAX_N units S is built once (~1.2 ms at N=370) and copied after that
        (~0.1 ms): the first fit needs it for the eigenvalues and again for the information matrix.
        Above, a kept copy would hold N² floats for as long as the weights stay cached, so S is rebuilt.
        """
        if self.n <= SYMMETRIC_TEMPLATE_MAX_N:
            template, linked = self._symmetric_template
            return template.copy(), linked
        return self._build_symmetric_dense()

    @cached_property
    def _symmetric_template(self) -> tuple[np.ndarray, np.ndarray]:
        dense, linked = self._build_symmetric_dense()
        dense.flags.writeable = False
        return dense, linked

    def _build_symmetric_dense(self) -> tuple[np.ndarray, np.ndarray]:
        c, d = self.symmetric_base  # type: ignore[misc]
        linked = d > 0
        scale = 1.0 / np.sqrt(d[linked])
        sub = sp.csr_array(c) if linked.all() else sp.csr_array(c)[linked][:, linked]
        dense = sub.toarray()  # dense scaling: sparse diag products cost more than the N² multiply below 5,000
        dense *= scale[:, None]
        dense *= scale[None, :]
        return dense, linked

    @cached_property
    def _frobenius_mix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Eigenvalues λ of S, M with tr(G'G) = f'Mf, f = λ/(1 − ρλ), and the eigenvectors Q.

        W = D^-1/2 S D^1/2, so G = D^-1/2 Q F Q' D^1/2 and
        tr(G'G) = Σ_kl f_k f_l (Q'D⁻¹Q)_kl (Q'DQ)_kl. Islands (d = 0) have zero rows and
        columns in W and add nothing.
        """
        sym, linked = self._symmetric_dense()
        # divide and conquer: MRRR ("evr") is several times slower on the clustered spectra of graphs
        values, vectors = sla.eigh(sym, driver="evd", overwrite_a=True, check_finite=False)
        d = self.symmetric_base[1][linked]  # type: ignore[index]
        root = np.sqrt(d)[:, None]
        # Q'D⁻¹Q and Q'DQ as symmetric rank-N updates (upper triangles, half the flops of GEMMs)
        mix = sla.blas.dsyrk(1.0, np.asfortranarray(vectors / root), trans=1)
        mix *= sla.blas.dsyrk(1.0, np.asfortranarray(vectors * root), trans=1)
        mix = np.triu(mix)
        mix += np.triu(mix, 1).T
        return values, mix, vectors

    @cached_property
    def rho_bounds(self) -> tuple[float, float]:
        """Open interval of ρ where I − ρW is invertible: (1/ω_min, 1/ω_max) over real eigenvalues."""
        if self.logdet_method == "eigen":
            values = self.eigenvalues
            real = values.real[np.abs(values.imag) < 1e-10] if np.iscomplexobj(values) else values
            lo, hi = float(real.min()), float(real.max())
        else:
            hi = 1.0 if self.row_stochastic else _extreme_eigenvalue(self.matrix, "LR")
            lo = _extreme_eigenvalue(self.matrix, "SR")
        if hi <= 0 or lo >= 0:
            raise WeightsError(
                "The weights matrix has no positive and negative eigenvalue (is it all zero?); "
                "spatial models need a matrix with neighbours."
            )
        return 1.0 / lo, 1.0 / hi

    def logdet(self, rho: float) -> float:
        """log|I − ρW|.

        ``"eigen"`` and ``"lu"`` are exact. ``"barry-pace"`` (Barry & Pace 1999)
        sums −Σ_{k=1}^{m} ρ^k tr(W^k)/k with tr(W), tr(W²) exact (also tr(W³),
        tr(W⁴) when W² has at most EXACT_MOMENT_MAX_NNZ entries) and the higher
        moments from seeded Rademacher probes (HUTCHINSON_PROBES to HUTCHINSON_MAX_PROBES). For a
        W whose rows sum to at most one (|ω| ≤ 1, so |tr(W^k)| ≤ N) the terms m are the fewest
        with truncation bound N·|ρ|^(m+1)/((m+1)(1 − |ρ|)) ≤ LOGDET_TAIL_TOL;
        the Monte Carlo standard error of the sum is :meth:`logdet_error`. A ρ
        needing more than MAX_SERIES_TERMS terms (|ρ| close to or above 1) is
        evaluated by the exact sparse LU.
        """
        if self.logdet_method == "eigen":
            values = self.eigenvalues
            if np.iscomplexobj(values):
                return float(np.sum(np.log(np.abs(1.0 - rho * values))))
            return float(np.sum(np.log1p(-rho * values)))
        if self.logdet_method == "barry-pace":
            m = self.series_terms(rho)
            if m is not None:
                t = self._moments(m)
                k = np.arange(1, m + 1)
                return float(-np.sum(rho**k * t[1:m + 1] / k))
        return self.logdet_lu(rho)

    def logdet_lu(self, rho: float) -> float:
        """log|I − ρW| from the diagonal of a sparse LU of I − ρW (exact)."""
        lu = spla.splu((sp.identity(self.n, format="csc") - rho * self.matrix).tocsc())
        return float(np.sum(np.log(np.abs(lu.U.diagonal()))))

    def series_terms(self, rho: float) -> int | None:
        """Fewest terms m with N·|ρ|^(m+1)/((m+1)(1 − |ρ|)) ≤ LOGDET_TAIL_TOL, or None.

        None when |ρ| ≥ 1, a row of W sums above one (the bound needs |ω| ≤ 1) or
        more than MAX_SERIES_TERMS terms would be needed.
        """
        a = abs(float(rho))
        if a >= 1.0 or not self.substochastic:
            return None
        if a == 0.0:
            return 1
        k = np.arange(1, MAX_SERIES_TERMS + 1)
        bound = self.n * np.exp((k + 1) * math.log(a)) / ((k + 1) * (1.0 - a))
        ok = np.flatnonzero(bound <= LOGDET_TAIL_TOL)
        return int(k[ok[0]]) if len(ok) else None

    def logdet_error(self, rho: float) -> tuple[float, float]:
        """(truncation bound, Monte Carlo standard error) of the ``"barry-pace"`` log|I − ρW|.

        The standard error is that of Σ_k ρ^k t̂_k/k over the probes (the exact
        low moments add none). Both are 0 for the exact routes.
        """
        m = self.series_terms(rho) if self.logdet_method == "barry-pace" else None
        if m is None:
            return 0.0, 0.0
        self._moments(m)
        per_probe = self._probe_moments[:, 1:m + 1]  # (probes, m)
        k = np.arange(1, m + 1)
        sums = per_probe @ (rho**k / k)
        a = abs(float(rho))
        tail = self.n * a ** (m + 1) / ((m + 1) * (1.0 - a))
        return float(tail), float(np.std(sums, ddof=1) / math.sqrt(len(sums)))

    @property
    def exact_traces(self) -> bool:
        """True when traces come from eigenvalues (N ≤ EIGEN_MAX_N), False for the power series."""
        return self.logdet_method == "eigen" or self.n <= EIGEN_MAX_N

    def traces(self, rho: float) -> tuple[float, float]:
        """tr(G) and tr(G²) for G = W(I − ρW)⁻¹.

        Exact from the eigenvalues up to EIGEN_MAX_N units (also when the
        log-determinant uses the LU); beyond, the power series
        Σ_k ρ^k tr(W^(k+1)) and Σ_k (k+1) ρ^k tr(W^(k+2)) with the moments
        tr(W^k) of :attr:`power_traces`.
        """
        if self.exact_traces:
            values = self.eigenvalues
            f = values / (1.0 - rho * values)
            return float(np.sum(f).real), float(np.sum(f * f).real)
        t = self._series_moments(rho, 2)
        k = np.arange(len(t) - 2)
        powers = rho**k
        return float(powers @ t[1:-1]), float((powers * (k + 1)) @ t[2:])

    def trace_sums(self, rho: float) -> tuple[float, float]:
        """tr((I − ρW)⁻¹) = Σ 1/(1 − ρω) and tr(G) = Σ ω/(1 − ρω) (effects traces)."""
        if self.exact_traces:
            values = self.eigenvalues
            inv = 1.0 / (1.0 - rho * values)
            return float(np.sum(inv).real), float(np.sum(values * inv).real)
        t = self._series_moments(rho, 1)
        powers = rho ** np.arange(len(t) - 1)
        return float(powers @ t[:-1]), float(powers @ t[1:])

    @property
    def power_traces(self) -> np.ndarray:
        """tr(W^k), k = 0..POWER_TERMS: exact for k ≤ 2 (≤ 4 for a sparse W²), seeded Hutchinson estimates beyond
        (LeSage & Pace 2009, §4.2), for weights too large for eigenvalues."""
        return self._moments(POWER_TERMS)[: POWER_TERMS + 1]

    def _series_moments(self, rho: float, extra: int) -> np.ndarray:
        """Moments tr(W^k), k = 0..m + extra, with m from :meth:`series_terms` (POWER_TERMS if None)."""
        m = self.series_terms(rho)
        m = POWER_TERMS if m is None else m
        return self._moments(m + extra)[: m + extra + 1]

    def _moments(self, m: int) -> np.ndarray:
        """tr(W^k), k = 0..(at least) m, extending the seeded probe iteration as needed."""
        state = self.__dict__.setdefault("_moment_state", {})
        if "traces" not in state:
            w = self.matrix
            z = self._probes()
            state.update(z=z, v=z, k=0, per_probe=np.zeros((z.shape[1], 1)))
            state["traces"] = np.array([float(self.n)])
            state["exact"] = _exact_moments(w)
        k0 = state["k"]
        if m > k0:
            z, v = state["z"], state["v"]
            new = np.empty((z.shape[1], m - k0))
            for j in range(m - k0):
                v = self.matrix @ v
                new[:, j] = np.einsum("ij,ij->j", z, v)
            per_probe = np.concatenate([state["per_probe"], new], axis=1)
            for k, value in enumerate(state["exact"][: per_probe.shape[1] - 1], start=1):
                per_probe[:, k] = value
            state.update(v=v, k=m, per_probe=per_probe, traces=per_probe.mean(axis=0))
            state["traces"][0] = self.n
        return state["traces"]

    @property
    def _probe_moments(self) -> np.ndarray:
        """(probes, k) single-probe estimates z'W^k z behind :meth:`_moments`."""
        return self.__dict__["_moment_state"]["per_probe"]

    def _probes(self) -> np.ndarray:
        rng = np.random.default_rng(int(self.fingerprint[:8], 16))
        probes = min(HUTCHINSON_MAX_PROBES, max(HUTCHINSON_PROBES, -(-PROBE_BUDGET // self.n)))
        return rng.choice([-1.0, 1.0], size=(self.n, probes))

    def _solve_transposed(self, rho: float, rhs: np.ndarray) -> np.ndarray:
        wt = self.matrix.T.tocsc()
        return spla.splu((sp.identity(self.n, format="csc") - rho * wt).tocsc()).solve(np.asarray(rhs, dtype=float))

    def solve(self, rho: float, rhs: np.ndarray) -> np.ndarray:
        """(I − ρW)⁻¹ @ rhs for an (N,) or (N, m) array, via a sparse LU."""
        lu = spla.splu((sp.identity(self.n, format="csc") - rho * self.matrix).tocsc())
        return lu.solve(np.asarray(rhs, dtype=float))

    def lag(self, values: np.ndarray) -> np.ndarray:
        """W applied per period to a (T, N) or (T, N, K) array."""
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 2:
            return (self.matrix @ arr.T).T
        t, n, k = arr.shape
        flat = arr.transpose(1, 0, 2).reshape(n, t * k)
        return (self.matrix @ flat).reshape(n, t, k).transpose(1, 0, 2)

    def information_terms(
        self, rho: float, zb: np.ndarray | None = None
    ) -> tuple[float, np.ndarray | None, float]:
        """tr(G'G), G·zb per period (for a (T, N) ``zb``) and ‖G'1‖², G = W(I − ρW)⁻¹.

        Paths, fastest first:

        - W similar to a symmetric matrix, at most EIGENVECTOR_MAX_N units, and
          these weights used before (EIGENVECTOR_AFTER_USES): cached
          eigenvectors, tr(G'G), G·zb and ‖G'1‖² in O(N²);
        - W similar to a symmetric matrix: one Cholesky inverse of the SPD
          matrix I − ρS (S = D^-1/2 C D^-1/2), about N³ flops;
        - otherwise one dense LU solve G = (I − ρW)⁻¹W (N ≤ DENSE_TRACE_MAX_N);
        - above that, a seeded Hutchinson estimate of tr(G'G) = E‖Gz‖² over
          the seeded Rademacher probes (its standard error is kept in
          :attr:`gtg_standard_error`), with (I − ρW)⁻¹ applied by the Neumann
          series Σ ρ^k W^k to 1e-13 (``"barry-pace"``, rows summing to ≤ 1, |ρ| < 1)
          or by a sparse LU.
        """
        if self.symmetric_base is not None and self.logdet_method == "eigen" and self.n <= EIGENVECTOR_MAX_N:
            self._uses["information"] = self._uses.get("information", 0) + 1
            small, limit, large = EIGENVECTOR_AFTER_USES
            if self._uses["information"] > (small if self.n <= limit else large):
                return self._eigenvector_terms(rho, zb)
        if self.symmetric_base is not None and self.n <= DENSE_TRACE_MAX_N:
            return self._symmetric_dense_terms(rho, zb)
        if self.n <= DENSE_TRACE_MAX_N:
            g = self.dense_g(rho)
            gzb = None if zb is None else (g @ zb.T).T
            colsum = g.sum(axis=0)
            return float(np.sum(g * g)), gzb, float(colsum @ colsum)
        probes = self._probes()
        rhs = self.matrix @ (probes if zb is None else np.concatenate([probes, zb.T], axis=1))
        solved = self._apply_inverse(rho, rhs)
        g = solved[:, : probes.shape[1]]
        gzb = None if zb is None else solved[:, probes.shape[1]:].T
        per_probe = np.sum(g * g, axis=0)
        self.__dict__["_gtg_se"] = float(np.std(per_probe, ddof=1) / math.sqrt(len(per_probe)))
        return float(np.mean(per_probe)), gzb, self._colsum_g_sq_sparse(rho)

    @property
    def gtg_standard_error(self) -> float:
        """Monte Carlo standard error of the last stochastic tr(G'G) (0.0 when it was exact)."""
        return float(self.__dict__.get("_gtg_se", 0.0))

    def _neumann(self, rho: float) -> bool:
        return self.logdet_method == "barry-pace" and self.substochastic and abs(rho) < 1.0

    def _apply_inverse(self, rho: float, rhs: np.ndarray, transposed: bool = False) -> np.ndarray:
        """(I − ρW)⁻¹ rhs (or (I − ρW')⁻¹ rhs): Neumann series on the Barry–Pace route, else sparse LU."""
        rhs = np.asarray(rhs, dtype=float)
        if not self._neumann(rho):
            return self._solve_transposed(rho, rhs) if transposed else self.solve(rho, rhs)
        w = sp.csr_array(self.matrix.T) if transposed else self.matrix
        out = rhs.copy()
        term = rhs
        scale = max(float(np.abs(rhs).max(initial=0.0)), 1e-300)
        for _ in range(100_000):  # ‖ρW‖∞ = |ρ| (‖ρW'‖₁ = |ρ|): the terms shrink geometrically
            term = rho * (w @ term)
            out += term
            if float(np.abs(term).max(initial=0.0)) <= 1e-13 * scale:
                break
        return out

    def _eigenvector_terms(self, rho: float, zb: np.ndarray | None) -> tuple[float, np.ndarray | None, float]:
        """The information terms in O(N²) from the cached eigenvectors: G = D^-1/2 Q F Q' D^1/2."""
        values, mix, q = self._frobenius_mix
        d = self.symmetric_base[1]  # type: ignore[index]
        linked = d > 0
        root = np.sqrt(d[linked])
        f = values / (1.0 - rho * values)
        # one pass over Q each way for G'1 = D^1/2 Q F Q' D^-1/2 1 and every period's G·zb
        rows = (1.0 / root)[None, :] if zb is None else np.vstack([1.0 / root, zb[:, linked] * root])
        coords = (rows @ q) * f
        back = coords @ q.T
        colsum = root * back[0]
        gzb = None
        if zb is not None:
            gzb = np.zeros_like(zb, dtype=float)
            gzb[:, linked] = back[1:] / root
        return float(f @ mix @ f), gzb, float(colsum @ colsum)

    def _symmetric_dense_terms(self, rho: float, zb: np.ndarray | None) -> tuple[float, np.ndarray | None, float]:
        """The information terms from one Cholesky inverse of I − ρS (in place, N² memory)."""
        inv, linked = self._symmetric_g(rho)
        tr_gtg = float(np.vdot(inv, inv))
        colsum = np.zeros(self.n)
        colsum[linked] = inv.sum(axis=0)
        gzb = None
        if zb is not None:
            gzb = np.zeros_like(zb, dtype=float)
            gzb[:, linked] = zb[:, linked] @ inv.T
        return tr_gtg, gzb, float(colsum @ colsum)

    def _symmetric_g(self, rho: float) -> tuple[np.ndarray, np.ndarray]:
        """G = W(I − ρW)⁻¹ over the linked units, from one Cholesky inverse of I − ρS, and the linked mask."""
        work, linked = self._symmetric_dense()
        d = self.symmetric_base[1][linked]  # type: ignore[index]
        m = len(d)
        diag = np.diag_indices(m)
        work *= -rho
        work[diag] += 1.0
        chol, info = sla.lapack.dpotrf(work, lower=0, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("I − ρS is not positive definite")
        inv, info = sla.lapack.dpotri(chol, lower=0, overwrite_c=1)
        inv = np.triu(inv)
        inv += inv.T
        inv[diag] *= 0.5
        if abs(rho) >= 1e-2:  # S(I − ρS)⁻¹ = ((I − ρS)⁻¹ − I)/ρ
            inv[diag] -= 1.0
            inv /= rho
        else:
            inv = self._symmetric_dense()[0] @ inv
        root = np.sqrt(d)
        inv *= root[None, :]
        inv /= root[:, None]  # now G restricted to the linked units
        return inv, linked

    def _colsum_g_sq_sparse(self, rho: float) -> float:
        """‖G'1‖² (squared column sums of G), via one sparse solve with W'."""
        c = self._apply_inverse(rho, np.asarray(self.matrix.T @ np.ones(self.n), dtype=float), transposed=True)
        return float(c @ c)

    def g_matrix(self, rho: float) -> np.ndarray:
        """G = W(I − ρW)⁻¹ as a dense N×N array, the cheapest exact way.

        One Cholesky inverse of I − ρS when W is similar to a symmetric S
        (islands give zero rows and columns), else one LU solve
        (:meth:`dense_g`). About N³ flops and N² memory; callers bound N.
        """
        if self.symmetric_base is None:
            return self.dense_g(rho)
        inv, linked = self._symmetric_g(rho)
        if linked.all():
            return inv
        g = np.zeros((self.n, self.n))
        g[np.ix_(linked, linked)] = inv
        return g

    def dense_g(self, rho: float) -> np.ndarray:
        """G = (I − ρW)⁻¹W as a dense N×N array (one LU; for traces and maps)."""
        dense = self.matrix.toarray()
        return sla.solve(np.eye(self.n) - rho * dense, dense, check_finite=False)

    def multiplier(self, rho: float, beta: float, theta: float = 0.0) -> np.ndarray:
        """S = (I − ρW)⁻¹(βI + θW), dense N×N: the effect on unit i of a unit change at j."""
        dense = self.matrix.toarray()
        return sla.solve(np.eye(self.n) - rho * dense, beta * np.eye(self.n) + theta * dense, check_finite=False)


_PREPARED: OrderedDict[tuple[str, bool, str], PreparedWeights] = OrderedDict()


def prepare_weights(
    weights: object,
    *,
    row_standardize: bool = True,
    logdet: LogdetMethod = "auto",
) -> PreparedWeights:
    """Prepare weights for model fitting (decomposed once, reused by every fit).

    Parameters
    ----------
    weights
        A :class:`libpysal.graph.Graph` (ids in its order), a legacy
        ``libpysal.weights.W``, or an existing :class:`PreparedWeights`
        (returned as is).
    row_standardize
        Divide each row by its sum (islands stay zero rows), as spatial
        panel models usually assume. ``False`` uses the weights as given.
    logdet
        ``"eigen"`` (eigenvalues once, then Σ log|1 − ρω|), ``"lu"`` (exact
        sparse LU per evaluation), ``"barry-pace"`` (stochastic moment series
        with a stated error bound, for W whose rows sum to at most one; see
        :meth:`PreparedWeights.logdet`) or ``"auto"`` (eigen up to 5,000 units,
        then barry-pace when rows sum to at most one, else lu).

    Raises
    ------
    WeightsError
        Negative or non-finite weights, a non-square matrix, or no neighbours.
    """
    if isinstance(weights, PreparedWeights):
        return weights
    if logdet not in ("auto", "eigen", "lu", "barry-pace"):
        raise WeightsError(f"logdet must be 'auto', 'eigen', 'lu' or 'barry-pace', not {logdet!r}.")
    ids, raw, transformation = _as_sparse(weights)
    key = (_fingerprint(ids, raw), row_standardize, logdet)
    if key in _PREPARED:
        _PREPARED.move_to_end(key)
        return _PREPARED[key]
    prepared = _build(ids, raw, transformation, row_standardize, logdet)
    _PREPARED[key] = prepared
    while len(_PREPARED) > _CACHE_SIZE:
        _PREPARED.popitem(last=False)
    return prepared


def _build(
    ids: np.ndarray, raw: sp.csr_array, transformation: str, row_standardize: bool, logdet: LogdetMethod
) -> PreparedWeights:
    if raw.shape[0] != raw.shape[1]:
        raise WeightsError(f"The weights matrix must be square, not {raw.shape[0]}×{raw.shape[1]}.")
    if raw.nnz and (not np.all(np.isfinite(raw.data)) or raw.data.min() < 0):
        raise WeightsError("Weights must be finite and non-negative.")
    raw = sp.csr_array(raw)
    raw.eliminate_zeros()
    if raw.diagonal().any():
        warnings.warn(
            "The weights matrix has non-zero diagonal entries (units neighbouring themselves); "
            "they are kept.",
            stacklevel=3,
        )
    symmetric = _is_symmetric(raw)
    d = np.asarray(raw.sum(axis=1)).ravel()
    if row_standardize:
        inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
        # row i's entries times 1/d_i (diag(1/d) @ raw without the sparse product)
        matrix = sp.csr_array((raw.data * np.repeat(inv, np.diff(raw.indptr)), raw.indices.copy(),
                               raw.indptr.copy()), shape=raw.shape)
        base = (raw, d) if symmetric else None
        transformation = "R"
    else:
        matrix = raw
        base = (raw, np.ones(len(d))) if symmetric else None
    if base is None and np.allclose(d[d > 0], 1.0, rtol=0, atol=1e-9):
        # a W row-standardised before it reached us: find the symmetric matrix it came from
        base = _symmetric_similar(matrix)
    if logdet == "auto":
        bounded = float(np.asarray(matrix.sum(axis=1)).max(initial=0.0)) <= 1.0 + 1e-9
        method = "eigen" if len(ids) <= EIGEN_MAX_N else ("barry-pace" if bounded else "lu")
    else:
        method = logdet
    return PreparedWeights(
        ids=ids, matrix=matrix, transformation=transformation, symmetric_base=base, logdet_method=method
    )


def _as_sparse(weights: object) -> tuple[np.ndarray, sp.csr_array, str]:
    import sys

    # a Graph or W exists only once libpysal is imported: do not import it (and geopandas) here
    graph_module, weights_module = sys.modules.get("libpysal.graph"), sys.modules.get("libpysal.weights")
    Graph = getattr(graph_module, "Graph", ())

    # copies: libpysal caches Graph.sparse, and sorting or dropping explicit zeros (islands are zero
    # self-loops) in shared arrays would change the caller's Graph and its fingerprint
    if isinstance(weights, Graph):
        ids = np.asarray(weights.unique_ids)
        return ids, sp.csr_array(weights.sparse, copy=True), str(weights.transformation)
    W = getattr(weights_module, "W", ())
    if isinstance(weights, W):
        return np.asarray(weights.id_order), sp.csr_array(weights.sparse, copy=True), str(weights.transform).upper()
    raise WeightsError(
        f"weights must be a libpysal Graph (e.g. from spillmap.weights.build_ring), a libpysal W "
        f"or PreparedWeights, not {type(weights).__name__}."
    )


def _symmetric_similar(matrix: sp.csr_array) -> tuple[sp.csr_array, np.ndarray] | None:
    """``(C, d)`` with ``matrix = diag(1/d) @ C`` and C symmetric, or None when there is none.

    diag(d)·W is symmetric iff d_i W_ij = d_j W_ji for every link, so d follows
    from one root per connected component along a breadth-first tree
    (d_j = d_i W_ij / W_ji) and is then checked on every link. Zero rows get
    d = 0. d is fixed up to one factor per component (irrelevant to W's
    eigenvalues, eigenvectors and the traces).
    """
    w = sp.csr_array(matrix, copy=True)
    w.sum_duplicates()
    w.sort_indices()
    n = w.shape[0]
    pattern = sp.csr_array((np.ones(w.nnz), w.indices, w.indptr), shape=w.shape)
    if abs(pattern - pattern.T).nnz:
        return None  # i → j without j → i
    _, labels = csgraph.connected_components(pattern, directed=False)
    log_d = np.zeros(n)
    _, roots, sizes = np.unique(labels, return_index=True, return_counts=True)
    for root in roots[sizes > 1]:
        order, pred = csgraph.breadth_first_order(pattern, int(root), directed=False)
        child = order[1:]
        parent = pred[child]
        ratio = np.log(np.asarray(w[parent, child]).ravel()) - np.log(np.asarray(w[child, parent]).ravel())
        step = dict(zip(child.tolist(), ratio.tolist()))
        parent_of = dict(zip(child.tolist(), parent.tolist()))
        for node in child.tolist():  # parents come first in breadth-first order
            log_d[node] = log_d[parent_of[node]] + step[node]
    d = np.exp(log_d)
    d[np.diff(w.indptr) == 0] = 0.0
    c = sp.csr_array(sp.diags(d) @ w)
    ct = sp.csr_array(c.T)
    ct.sort_indices()
    c.sort_indices()
    if not np.array_equal(c.indices, ct.indices):
        return None
    if np.any(np.abs(c.data - ct.data) > _SIMILAR_TOL * np.maximum(np.abs(c.data), np.abs(ct.data))):
        return None
    return sp.csr_array((0.5 * (c.data + ct.data), c.indices, c.indptr), shape=c.shape), d


#: tr(W³) and tr(W⁴) are computed exactly (from W²) when W² has at most this many entries.
EXACT_MOMENT_MAX_NNZ = 30_000_000


def _exact_moments(w: sp.csr_array) -> tuple[float, ...]:
    """tr(W), tr(W²) and, when W² is sparse enough, tr(W³) = Σ W²∘W' and tr(W⁴) = Σ W²∘(W²)'."""
    out = (float(w.diagonal().sum()), float(w.multiply(w.T).sum()))
    pattern = sp.csr_array((np.ones(w.nnz), w.indices, w.indptr), shape=w.shape)
    if float((pattern @ np.diff(w.indptr).astype(float)).sum()) > EXACT_MOMENT_MAX_NNZ:
        return out  # upper bound on nnz(W²)
    w2 = sp.csr_array(w @ w)
    return (*out, float(w2.multiply(w.T).sum()), float(w2.multiply(w2.T).sum()))


def _is_symmetric(matrix: sp.csr_array) -> bool:
    diff = abs(matrix - matrix.T)
    scale = abs(matrix).max() if matrix.nnz else 1.0
    return bool(diff.nnz == 0 or diff.max() <= _TOL * scale)


def _fingerprint(ids: np.ndarray, matrix: sp.csr_array) -> str:
    m = sp.csr_array(matrix, copy=True)  # sorting in place would reorder a caller's arrays
    m.sort_indices()
    h = hashlib.sha1()
    h.update("\x1f".join(map(str, ids)).encode())
    for arr in (m.indptr, m.indices, m.data):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _extreme_eigenvalue(matrix: sp.csr_array, which: str) -> float:
    value = spla.eigs(sp.csr_matrix(matrix), k=1, which=which, return_eigenvectors=False, maxiter=10_000)
    return float(np.real(value[0]))
