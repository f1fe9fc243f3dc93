"""numba kernels of the basis evaluation over flat, compiled tables.

Notation (all arrays contiguous, int64 / float64):

one-particle functions v (sorted by neighbour species; ``sp_v_ptr[z]..sp_v_ptr[z+1]``
are those of species index z):  phi_v(r_ij) = R[p, v_rad[v]] * Y[p, v_lm[v]]
for a pair p = (i, j) whose neighbour has that species.

basis functions k: product terms ``term_ptr[k]..term_ptr[k+1]``, term t with
``term_order[t]`` factors, coefficient ``term_coef[t]`` and one-particle indices
``term_v[t, :term_order[t]]``, so B_k(i) = sum_t coef_t prod_f A_{term_v[t, f]}(i).
(A function's terms share one order, except the order-1 diagonal corrections of
pure2b bases.)
``centre_ptr[z]..centre_ptr[z+1]`` index ``centre_k``: the functions of centre species z.

Derivative pattern: D_kv = dB_k/dA_v has fixed sparsity, stored CSR by k with sorted
columns ``d_col`` (``d_ptr``); ``d_sptr[k, z]..d_sptr[k, z+1]`` are the entries whose
v has species z; ``term_dpos[t, f]`` is where term t's derivative by its factor f
goes.

Pairs are sorted by centre, then neighbour species;
``pair_ptr[i - i0]..pair_ptr[i - i0 + 1]`` are the pairs of site i of the chunk
starting at site i0.  Virial rows are sum over pairs of
sym(r_ij (x) dB/dr_ij) in Voigt order xx yy zz yz xz xy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["site_values_kernel", "design_kernel", "contracted_kernel",
           "multi_contracted_kernel"]


@njit(cache=True, nogil=True)
def _densities(A, i, pair_ptr, i0, pair_sp, R, Y, v_rad, v_lm, sp_v_ptr):
    A[:] = 0.0
    for p in range(pair_ptr[i - i0], pair_ptr[i - i0 + 1]):
        zj = pair_sp[p]
        for v in range(sp_v_ptr[zj], sp_v_ptr[zj + 1]):
            A[v] += R[p, v_rad[v]] * Y[p, v_lm[v]]


@njit(cache=True, nogil=True)
def _value(k, A, term_order, term_ptr, term_coef, term_v):
    s = 0.0
    for t in range(term_ptr[k], term_ptr[k + 1]):
        nu = term_order[t]
        prod = 1.0
        for f in range(nu):
            prod *= A[term_v[t, f]]
        s += term_coef[t] * prod    # same rounding as _value_and_derivative
    return s


@njit(cache=True, nogil=True)
def _value_and_derivative(k, A, term_order, term_ptr, term_coef, term_v, pos, out, weight,
                          prefix):
    """B_k; adds weight * dB_k/dA_v into out[pos[t, f]] for factor f of term t.

    With pos = term_dpos, out is the sparse row of D = dB/dA; with pos = term_v,
    out is the dense adjoint w_v of a contracted model. ``prefix`` is scratch of
    length max order + 1, allocated once by the caller.
    """
    s = 0.0
    for t in range(term_ptr[k], term_ptr[k + 1]):
        nu = term_order[t]
        c = term_coef[t]
        prefix[0] = 1.0
        for f in range(nu):
            prefix[f + 1] = prefix[f] * A[term_v[t, f]]
        s += c * prefix[nu]
        suffix = c * weight
        for f in range(nu - 1, -1, -1):
            out[pos[t, f]] += prefix[f] * suffix
            suffix *= A[term_v[t, f]]
    return s


@njit(cache=True, nogil=True)
def site_values_kernel(i0, i1, site_sp, pair_ptr, pair_sp, R, Y, v_rad, v_lm, sp_v_ptr,
                       centre_ptr, centre_k, term_order, term_ptr, term_coef, term_v, out):
    """out[i, k] = B_k(i) for sites i0 <= i < i1 (other entries untouched)."""
    A = np.zeros(len(v_rad))
    for i in range(i0, i1):
        _densities(A, i, pair_ptr, i0, pair_sp, R, Y, v_rad, v_lm, sp_v_ptr)
        zi = site_sp[i]
        for kk in range(centre_ptr[zi], centre_ptr[zi + 1]):
            k = centre_k[kk]
            out[i, k] = _value(k, A, term_order, term_ptr, term_coef, term_v)


@njit(cache=True, nogil=True, inline="always")
def _add_pair_gradient(forces, virial, i, j, rx, ry, rz, gx, gy, gz):
    """Add the pair (i, j) of vector r_ij = (rx, ry, rz), whose energy gradient with
    respect to r_ij is (gx, gy, gz), to ``forces`` (n_atoms, 3) and ``virial`` (6,)."""
    forces[j, 0] -= gx
    forces[j, 1] -= gy
    forces[j, 2] -= gz
    forces[i, 0] += gx
    forces[i, 1] += gy
    forces[i, 2] += gz
    virial[0] += rx * gx
    virial[1] += ry * gy
    virial[2] += rz * gz
    virial[3] += 0.5 * (ry * gz + rz * gy)
    virial[4] += 0.5 * (rx * gz + rz * gx)
    virial[5] += 0.5 * (rx * gy + ry * gx)


@njit(cache=True, nogil=True)
def _gradients(G, i, pair_ptr, i0, pair_sp, Dvec, dist, R, dR, Y, dY, v_rad, v_lm,
               sp_v_ptr):
    """G[v, :, jj] = d phi_v(r_ij) / d r_ij for the jj-th neighbour of site i, set
    only for the v of that neighbour's species."""
    start = pair_ptr[i - i0]
    nn = pair_ptr[i - i0 + 1] - start
    for p in range(start, start + nn):
        jj = p - start
        zj = pair_sp[p]
        inv = 1.0 / dist[p]
        ux, uy, uz = Dvec[p, 0] * inv, Dvec[p, 1] * inv, Dvec[p, 2] * inv
        for v in range(sp_v_ptr[zj], sp_v_ptr[zj + 1]):
            rv = R[p, v_rad[v]]
            drv = dR[p, v_rad[v]]
            lm = v_lm[v]
            y = Y[p, lm]
            G[v, 0, jj] = drv * ux * y + rv * dY[p, 0, lm]
            G[v, 1, jj] = drv * uy * y + rv * dY[p, 1, lm]
            G[v, 2, jj] = drv * uz * y + rv * dY[p, 2, lm]


@njit(cache=True, nogil=True)
def design_kernel(i0, i1, site_sp, pair_ptr, pair_j, pair_sp, Dvec, dist, R, dR, Y, dY,
                  v_rad, v_lm, sp_v_ptr, centre_ptr, centre_k, term_order, term_ptr,
                  term_coef, term_v, term_dpos, d_ptr, d_col, d_sptr, max_neigh,
                  values, forces_t, virial_t):
    """Site values, force rows and virial rows of sites i0 <= i < i1.

    ``values[i, k] = B_k(i)``; ``forces_t[k, a, :] += -d B_k(i) / d r_a`` and
    ``virial_t[k, :] += sum_j sym(r_ij (x) dB_k(i)/dr_ij)`` (accumulated, so chunks
    add).  Function-major output keeps the scatter of one function's rows local;
    the inner loop over neighbours is contiguous (SIMD).  The pairs of a site must
    be sorted by neighbour species: entries of D for species z then meet only the
    neighbours of species z.
    """
    n_sp = len(sp_v_ptr) - 1
    nb_ptr = np.zeros(n_sp + 1, dtype=np.int64)
    n_v = len(v_rad)
    A = np.zeros(n_v)
    nbuf = max(max_neigh, 1)
    G = np.zeros((n_v, 3, nbuf))
    g = np.zeros((3, nbuf))
    Dval = np.zeros(len(d_col))
    prefix = np.empty(5)  # scratch for _value_and_derivative (max order 4, plus one)
    for i in range(i0, i1):
        _densities(A, i, pair_ptr, i0, pair_sp, R, Y, v_rad, v_lm, sp_v_ptr)
        _gradients(G, i, pair_ptr, i0, pair_sp, Dvec, dist, R, dR, Y, dY, v_rad, v_lm,
                   sp_v_ptr)
        start = pair_ptr[i - i0]
        nn = pair_ptr[i - i0 + 1] - start
        # neighbours of species z are jj in nb_ptr[z]..nb_ptr[z+1]
        nb_ptr[:] = 0
        for p in range(start, start + nn):
            nb_ptr[pair_sp[p] + 1] += 1
        for z in range(n_sp):
            nb_ptr[z + 1] += nb_ptr[z]
        zi = site_sp[i]
        for kk in range(centre_ptr[zi], centre_ptr[zi + 1]):
            k = centre_k[kk]
            for q in range(d_ptr[k], d_ptr[k + 1]):
                Dval[q] = 0.0
            values[i, k] = _value_and_derivative(k, A, term_order, term_ptr, term_coef,
                                                 term_v, term_dpos, Dval, 1.0, prefix)
            g[:, :nn] = 0.0
            for z in range(n_sp):
                j_lo, j_hi = nb_ptr[z], nb_ptr[z + 1]
                if j_lo == j_hi:
                    continue
                cnt = j_hi - j_lo
                for q in range(d_sptr[k, z], d_sptr[k, z + 1]):
                    dv = Dval[q]
                    Gv = G[d_col[q]]
                    for c in range(3):
                        gc = g[c, j_lo:j_hi]
                        Gc = Gv[c, j_lo:j_hi]
                        for jj in range(cnt):
                            gc[jj] += dv * Gc[jj]
            sx = 0.0
            sy = 0.0
            sz = 0.0
            w0 = 0.0
            w1 = 0.0
            w2 = 0.0
            w3 = 0.0
            w4 = 0.0
            w5 = 0.0
            for jj in range(nn):
                p = start + jj
                j = pair_j[p]
                gx, gy, gz = g[0, jj], g[1, jj], g[2, jj]
                forces_t[k, j, 0] -= gx
                forces_t[k, j, 1] -= gy
                forces_t[k, j, 2] -= gz
                sx += gx
                sy += gy
                sz += gz
                rx, ry, rz = Dvec[p, 0], Dvec[p, 1], Dvec[p, 2]
                w0 += rx * gx
                w1 += ry * gy
                w2 += rz * gz
                w3 += 0.5 * (ry * gz + rz * gy)
                w4 += 0.5 * (rx * gz + rz * gx)
                w5 += 0.5 * (rx * gy + ry * gx)
            forces_t[k, i, 0] += sx
            forces_t[k, i, 1] += sy
            forces_t[k, i, 2] += sz
            virial_t[k, 0] += w0
            virial_t[k, 1] += w1
            virial_t[k, 2] += w2
            virial_t[k, 3] += w3
            virial_t[k, 4] += w4
            virial_t[k, 5] += w5


@njit(cache=True, nogil=True)
def contracted_kernel(i0, i1, site_sp, pair_ptr, pair_j, pair_sp, Dvec, dist, R, dR, Y,
                      dY, v_rad, v_lm, sp_v_ptr, centre_ptr, centre_k, term_order, term_ptr,
                      term_coef, term_v, coef, energies, forces, virial, site_sum):
    """Energy sum_k c_k B_k(i), forces and virial of the contracted model (adjoint).

    A non-empty ``site_sum`` (n_functions,) gains sum_i B_k(i) for every k with c_k != 0:
    the energy of any other coefficients on those functions, at no extra pass.
    """
    sums = site_sum.size > 0
    n_v = len(v_rad)
    A = np.zeros(n_v)
    W = np.zeros(n_v)
    prefix = np.empty(5)  # scratch for _value_and_derivative (max order 4, plus one)
    for i in range(i0, i1):
        _densities(A, i, pair_ptr, i0, pair_sp, R, Y, v_rad, v_lm, sp_v_ptr)
        zi = site_sp[i]
        e = 0.0
        W[:] = 0.0  # w_v = sum_k c_k dB_k/dA_v
        for kk in range(centre_ptr[zi], centre_ptr[zi + 1]):
            k = centre_k[kk]
            c = coef[k]
            if c == 0.0:
                continue
            b = _value_and_derivative(k, A, term_order, term_ptr, term_coef, term_v, term_v,
                                      W, c, prefix)
            e += c * b
            if sums:
                site_sum[k] += b
        energies[i] += e
        for p in range(pair_ptr[i - i0], pair_ptr[i - i0 + 1]):
            j = pair_j[p]
            zj = pair_sp[p]
            inv = 1.0 / dist[p]
            rx, ry, rz = Dvec[p, 0], Dvec[p, 1], Dvec[p, 2]
            ux, uy, uz = rx * inv, ry * inv, rz * inv
            gx = 0.0
            gy = 0.0
            gz = 0.0
            for v in range(sp_v_ptr[zj], sp_v_ptr[zj + 1]):
                w = W[v]
                if w == 0.0:
                    continue
                rv = R[p, v_rad[v]]
                lm = v_lm[v]
                radial = w * dR[p, v_rad[v]] * Y[p, lm]
                ang = w * rv
                gx += radial * ux + ang * dY[p, 0, lm]
                gy += radial * uy + ang * dY[p, 1, lm]
                gz += radial * uz + ang * dY[p, 2, lm]
            _add_pair_gradient(forces, virial, i, j, rx, ry, rz, gx, gy, gz)


@njit(cache=True, nogil=True)
def multi_contracted_kernel(i0, i1, site_sp, pair_ptr, pair_j, pair_sp, Dvec, dist, R, dR,
                            Y, dY, v_rad, v_lm, sp_v_ptr, centre_ptr, centre_k, term_order,
                            term_ptr, term_coef, term_v, term_dpos, d_ptr, d_col, coef_t,
                            energy, forces, virial):
    """:func:`contracted_kernel` of K models at once: ``coef_t`` (n, K) holds their
    coefficients by column; adds to ``energy`` (K,), ``forces`` (K, n_atoms, 3) and
    ``virial`` (K, 6).

    Each function's value and sparse row of dB_k/dA_v are computed once per site (as in
    :func:`design_kernel`) and scattered into the K adjoints W[v, m]; each pair's
    d phi_v / d r_ij once, contracted with the K adjoints.
    """
    n_v = len(v_rad)
    n_models = coef_t.shape[1]
    A = np.zeros(n_v)
    W = np.zeros((n_v, n_models))
    Dval = np.zeros(len(d_col))
    g = np.zeros((n_models, 3))
    prefix = np.empty(5)  # scratch for _value_and_derivative (max order 4, plus one)
    for i in range(i0, i1):
        _densities(A, i, pair_ptr, i0, pair_sp, R, Y, v_rad, v_lm, sp_v_ptr)
        zi = site_sp[i]
        W[:, :] = 0.0  # W[v, m] = sum_k c_mk dB_k/dA_v
        for kk in range(centre_ptr[zi], centre_ptr[zi + 1]):
            k = centre_k[kk]
            for q in range(d_ptr[k], d_ptr[k + 1]):
                Dval[q] = 0.0
            b = _value_and_derivative(k, A, term_order, term_ptr, term_coef, term_v,
                                      term_dpos, Dval, 1.0, prefix)
            ck = coef_t[k]
            for m in range(n_models):
                energy[m] += ck[m] * b
            for q in range(d_ptr[k], d_ptr[k + 1]):
                dv = Dval[q]
                Wv = W[d_col[q]]
                for m in range(n_models):
                    Wv[m] += ck[m] * dv
        for p in range(pair_ptr[i - i0], pair_ptr[i - i0 + 1]):
            j = pair_j[p]
            zj = pair_sp[p]
            inv = 1.0 / dist[p]
            rx, ry, rz = Dvec[p, 0], Dvec[p, 1], Dvec[p, 2]
            ux, uy, uz = rx * inv, ry * inv, rz * inv
            g[:, :] = 0.0
            for v in range(sp_v_ptr[zj], sp_v_ptr[zj + 1]):
                rv = R[p, v_rad[v]]
                lm = v_lm[v]
                radial = dR[p, v_rad[v]] * Y[p, lm]
                px = radial * ux + rv * dY[p, 0, lm]
                py = radial * uy + rv * dY[p, 1, lm]
                pz = radial * uz + rv * dY[p, 2, lm]
                Wv = W[v]
                for m in range(n_models):
                    w = Wv[m]
                    g[m, 0] += w * px
                    g[m, 1] += w * py
                    g[m, 2] += w * pz
            for m in range(n_models):
                gx, gy, gz = g[m, 0], g[m, 1], g[m, 2]
                _add_pair_gradient(forces[m], virial[m], i, j, rx, ry, rz, gx, gy, gz)
