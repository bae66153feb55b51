"""Spatial weights prepared once for many model fits: spectrum, log-determinants, traces.

A :class:`PreparedWeights` holds the N×N weights matrix a model uses and
caches what every fit needs from it: the eigenvalues (for log|I − ρW| and the
effects traces), the stable interval of ρ, and a sparse LU for large N.
Build it once per weights matrix with :func:`prepare_weights` and pass it to
every fit: a distance-band sweep or a placebo run then never decomposes the
same W twice. Passing a libpysal ``Graph`` instead reuses a prepared object
from a small cache keyed by the weights' fingerprint.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from spillmap.errors import WeightsError

__all__ = ["PreparedWeights", "prepare_weights", "LogdetMethod"]

LogdetMethod = Literal["auto", "eigen", "lu"]

#: Above this many units, ``logdet="auto"`` uses a sparse LU per evaluation
#: instead of a dense eigen-decomposition.
EIGEN_MAX_N = 5000
#: Up to this many units, tr(G'G) for the information matrix is exact (one
#: dense solve per fit); above it, a seeded Hutchinson estimate is used.
DENSE_TRACE_MAX_N = 5000
#: Up to this many units of a W similar to a symmetric matrix, eigenvectors are cached
#: with the eigenvalues so refits compute tr(G'G) in O(N²) instead of an N×N solve.
EIGENVECTOR_MAX_N = 2000
#: Probes for the Hutchinson estimate of tr(G'G) beyond DENSE_TRACE_MAX_N.
HUTCHINSON_PROBES = 200
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
        known: the eigenvalues are then computed from the symmetric matrix
        ``D^-1/2 C D^-1/2`` (real, fast). ``None`` otherwise.
    logdet_method
        ``"eigen"``: Σ log|1 − ρω| over cached eigenvalues; ``"lu"``: the
        diagonal of a sparse LU of (I − ρW) per evaluation.
    """

    ids: np.ndarray
    matrix: sp.csr_array
    transformation: str
    symmetric_base: tuple[sp.csr_array, np.ndarray] | None = field(default=None, repr=False)
    logdet_method: Literal["eigen", "lu"] = "eigen"
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
        """A fresh dense S over the linked units (callers may overwrite it) and the linked mask."""
        c, d = self.symmetric_base  # type: ignore[misc]
        linked = d > 0
        scale = 1.0 / np.sqrt(d[linked])
        sub = sp.csr_array(c)[linked][:, linked]
        return (sp.diags(scale) @ sub @ sp.diags(scale)).toarray(), linked

    @cached_property
    def _frobenius_mix(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues λ of S and M with tr(G'G) = f'Mf, f = λ/(1 − ρλ).

        W = D^-1/2 S D^1/2, so G = D^-1/2 Q F Q' D^1/2 and
        tr(G'G) = Σ_kl f_k f_l (Q'D⁻¹Q)_kl (Q'DQ)_kl. Islands (d = 0) have zero rows and
        columns in W and add nothing.
        """
        sym, linked = self._symmetric_dense()
        values, vectors = sla.eigh(sym, driver="evr", overwrite_a=True, check_finite=False)
        d = self.symmetric_base[1][linked]  # type: ignore[index]
        mix = (vectors.T @ (vectors / d[:, None])) * (vectors.T @ (vectors * d[:, None]))
        return values, mix

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
        """log|I − ρW|."""
        if self.logdet_method == "eigen":
            values = self.eigenvalues
            if np.iscomplexobj(values):
                return float(np.sum(np.log(np.abs(1.0 - rho * values))))
            return float(np.sum(np.log1p(-rho * values)))
        lu = spla.splu((sp.identity(self.n, format="csc") - rho * self.matrix).tocsc())
        return float(np.sum(np.log(np.abs(lu.U.diagonal()))))

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
        t = self.power_traces
        k = np.arange(len(t) - 2)
        powers = rho**k
        return float(powers @ t[1:-1]), float((powers * (k + 1)) @ t[2:])

    def trace_sums(self, rho: float) -> tuple[float, float]:
        """tr((I − ρW)⁻¹) = Σ 1/(1 − ρω) and tr(G) = Σ ω/(1 − ρω) (effects traces)."""
        if self.exact_traces:
            values = self.eigenvalues
            inv = 1.0 / (1.0 - rho * values)
            return float(np.sum(inv).real), float(np.sum(values * inv).real)
        t = self.power_traces
        powers = rho ** np.arange(len(t) - 1)
        return float(powers @ t[:-1]), float(powers @ t[1:])

    @cached_property
    def power_traces(self) -> np.ndarray:
        """tr(W^k), k = 0..POWER_TERMS: exact for k ≤ 2, seeded Hutchinson estimates beyond
        (LeSage & Pace 2009, §4.2), for weights too large for eigenvalues."""
        m = self.matrix
        out = np.empty(POWER_TERMS + 1)
        out[0] = self.n
        out[1] = float(m.diagonal().sum())
        out[2] = float(m.multiply(m.T).sum())
        z = self._probes()
        v = z
        for k in range(1, POWER_TERMS + 1):
            v = m @ v
            if k > 2:
                out[k] = float(np.mean(np.sum(z * v, axis=0)))
        return out

    def _probes(self) -> np.ndarray:
        rng = np.random.default_rng(int(self.fingerprint[:8], 16))
        return rng.choice([-1.0, 1.0], size=(self.n, HUTCHINSON_PROBES))

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
          these weights used before: cached eigenvectors, tr(G'G) in O(N²);
        - W similar to a symmetric matrix: one Cholesky inverse of the SPD
          matrix I − ρS (S = D^-1/2 C D^-1/2), about N³ flops;
        - otherwise one dense LU solve G = (I − ρW)⁻¹W (N ≤ DENSE_TRACE_MAX_N);
        - above that, a seeded Hutchinson estimate of tr(G'G) and sparse solves.
        """
        if self.symmetric_base is not None and self.logdet_method == "eigen" and self.n <= EIGENVECTOR_MAX_N:
            self._uses["information"] = self._uses.get("information", 0) + 1
            if self._uses["information"] > 1:
                values, mix = self._frobenius_mix
                f = values / (1.0 - rho * values)
                gzb = None if zb is None else self.solve(rho, self.matrix @ zb.T).T
                return float(f @ mix @ f), gzb, self._colsum_g_sq_sparse(rho)
        if self.symmetric_base is not None and self.n <= DENSE_TRACE_MAX_N:
            return self._symmetric_dense_terms(rho, zb)
        if self.n <= DENSE_TRACE_MAX_N:
            g = self.dense_g(rho)
            gzb = None if zb is None else (g @ zb.T).T
            colsum = g.sum(axis=0)
            return float(np.sum(g * g)), gzb, float(colsum @ colsum)
        g = self.solve(rho, self.matrix @ self._probes())
        gzb = None if zb is None else self.solve(rho, self.matrix @ zb.T).T
        return float(np.mean(np.sum(g * g, axis=0))), gzb, self._colsum_g_sq_sparse(rho)

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
        c = self._solve_transposed(rho, np.asarray(self.matrix.T @ np.ones(self.n), dtype=float))
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
        ``"eigen"`` (eigenvalues once, then Σ log|1 − ρω|), ``"lu"`` (sparse
        LU per evaluation, for very large N) or ``"auto"`` (eigen up to
        5,000 units).

    Raises
    ------
    WeightsError
        Negative or non-finite weights, a non-square matrix, or no neighbours.
    """
    if isinstance(weights, PreparedWeights):
        return weights
    if logdet not in ("auto", "eigen", "lu"):
        raise WeightsError(f"logdet must be 'auto', 'eigen' or 'lu', not {logdet!r}.")
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
        matrix = sp.csr_array(sp.diags(inv) @ raw)
        base = (raw, d) if symmetric else None
        transformation = "R"
    else:
        matrix = raw
        base = (raw, np.ones(len(d))) if symmetric else None
    method: Literal["eigen", "lu"] = (
        ("eigen" if len(ids) <= EIGEN_MAX_N else "lu") if logdet == "auto" else logdet  # type: ignore[assignment]
    )
    return PreparedWeights(
        ids=ids, matrix=matrix, transformation=transformation, symmetric_base=base, logdet_method=method
    )


def _as_sparse(weights: object) -> tuple[np.ndarray, sp.csr_array, str]:
    from libpysal.graph import Graph

    # copies: libpysal caches Graph.sparse, and sorting or dropping explicit zeros (islands are zero
    # self-loops) in shared arrays would change the caller's Graph and its fingerprint
    if isinstance(weights, Graph):
        ids = np.asarray(weights.unique_ids)
        return ids, sp.csr_array(weights.sparse, copy=True), str(weights.transformation)
    try:
        from libpysal.weights import W
    except ImportError:  # pragma: no cover
        W = ()  # type: ignore[assignment]
    if isinstance(weights, W):
        return np.asarray(weights.id_order), sp.csr_array(weights.sparse, copy=True), str(weights.transform).upper()
    raise WeightsError(
        f"weights must be a libpysal Graph (e.g. from spillmap.weights.build_ring), a libpysal W "
        f"or PreparedWeights, not {type(weights).__name__}."
    )


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
