/*
 * Look-alike scoring (spec §5) over a KernelTable (see src/table.ts): per candidate,
 * 2k+1 contiguous rows [P_0..P_{k-1}, E_0..E_{k-1}, ĝ] of length h, a k×k Gram and a
 * k-byte mask. One OpenBLAS product per block of candidates gives every user's 2k+1 dot
 * products per candidate contiguously; the attention tail runs on that block while it is
 * still in cache. The table's typed arrays are read in place, never copied.
 */
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Declared here too: the cblas.h that Debian's alternatives select may not be OpenBLAS's. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);

/* Scratch for the product of one block, about 256 KiB: large enough that OpenBLAS runs at
 * full speed on it, small enough that the tail reads it back from L2. */
#define SCRATCH_FLOATS 65536
#define MAX_BLOCK 256

/* The tails compute LANES values at once through GCC/Clang vector extensions: one AVX2
 * register (half an AVX-512 one, two SSE ones), so the vectorisation does not depend on the
 * auto-vectoriser, which at k = 20 ran part of the k-long loops scalar. Not 16: a vector of
 * two AVX2 registers made GCC 12 keep the Gram loop's accumulators in memory and move them
 * through general registers, and the batched tail ran ~5× slower on AVX2 machines (it was only
 * measured on AVX-512 ones, where 16 floats fill one register; docs/BENCHMARKS.md). */
#define LANES 8
typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(LANES * sizeof(int32_t))));
#define INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

typedef struct {
  float *buf; /* 64-byte aligned */
  size_t cap;
} Scratch;

/* n floats, zeroed when (re)allocated: lanes past the data are read but never written, and
 * must not hold NaNs or denormals that would slow the arithmetic. */
static float *scratch(Scratch *s, size_t n) {
  if (n > s->cap) {
    free(s->buf);
    n = (n + LANES - 1) / LANES * LANES;
    s->buf = aligned_alloc(64, n * sizeof(float));
    s->cap = s->buf ? n : 0;
    if (s->buf) memset(s->buf, 0, n * sizeof(float));
  }
  return s->buf;
}

static void free_scratch(napi_env env, void *data, void *hint) {
  Scratch *s = data;
  free(s->buf);
  free(s);
}

INLINE vf vload(const float *p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}

INLINE vf splat(float x) { return (vf){0} + x; }

INLINE vf vselect(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }

/* expf to ~2 ulp (Cephes' polynomial). The rounding uses the 1.5·2^23 trick, which
 * -ffast-math would fold away: not enabled. */
INLINE vf vexp(vf x) {
  x = vselect(x < -87.0f, splat(-87.0f), x);
  x = vselect(x > 88.0f, splat(88.0f), x);
  vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  vf r = x - n * 0.693359375f - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  vf y = p * r * r + r + 1.0f;
  return y * (vf)((__builtin_convertvector(n, vi) + 127) << 23);
}

/* The unnormalised attention weight exp(tanh z), with tanh z = 1 − 2/(e^{2z} + 1). Softmax
 * is shift-invariant and tanh ∈ [-1, 1], so no max needs subtracting. */
INLINE vf weight(vf z) { return vexp(1.0f - 2.0f / (vexp(2.0f * z) + 1.0f)); }

/*
 * The rest of the score, per (user, candidate), from the 2k+1 dot products y = [z, q, ĝ·e_u].
 * With unnormalised weights w and s = Σw,
 *   (w/s)·q / (|e_u| √((w/s)ᵀG(w/s) + ε s²/s²)) = w·q / (|e_u| √(wᵀGw + ε s²)).
 * w is zero where the mask is, and a masked cluster's Gram row and column are zero (writeSlot),
 * so masked clusters drop out of every sum. A candidate with no real cluster gets cos_loc = 0,
 * as the reference does.
 */
typedef float vf4 __attribute__((vector_size(4 * sizeof(float))));

INLINE vf4 vload4(const float *p) {
  vf4 v;
  memcpy(&v, p, sizeof v);
  return v;
}

INLINE float hsum(vf v) {
  float s = 0.0f;
  for (int l = 0; l < LANES; l++) s += v[l];
  return s;
}

/* wᵀGw for one k × k G, w zero-padded to a multiple of LANES. u = Gᵀw is built row by row
 * (u += w_i·G_i, whole vectors along the row), then w·u; G's rows are read only within
 * bounds (vectors of 8, then of 4, then scalars), so the last candidate's last row never reads
 * past the array. */
INLINE float quadratic(const float *restrict G, const float *restrict w, int k) {
  float total = 0.0f;
  int j0 = 0;
  for (; j0 + LANES <= k; j0 += LANES) {
    vf u0 = {0}, u1 = {0};
    int i = 0;
    for (; i + 2 <= k; i += 2) {
      u0 += w[i] * vload(G + i * k + j0);
      u1 += w[i + 1] * vload(G + (i + 1) * k + j0);
    }
    if (i < k) u0 += w[i] * vload(G + i * k + j0);
    total += hsum((u0 + u1) * vload(w + j0));
  }
  if (j0 + 4 <= k) {
    vf4 u = {0};
    for (int i = 0; i < k; i++) u += w[i] * vload4(G + i * k + j0);
    const vf4 p = u * vload4(w + j0);
    total += (p[0] + p[1]) + (p[2] + p[3]);
    j0 += 4;
  }
  for (; j0 < k; j0++) {
    float u = 0.0f;
    for (int i = 0; i < k; i++) u += w[i] * G[i * k + j0];
    total += u * w[j0];
  }
  return total;
}

/* Users × rows: user b's products for candidate c at Y[b·ldy + c·(2k+1)], ldy = nb·(2k+1).
 * For few users: per pair, the k weights as whole vectors (the lanes past k read q and are
 * zeroed), then wᵀGw along G's rows. Y holds B·ldy + LANES floats (the last weights' vector
 * reads past the last candidate's z). w: k rounded up to LANES floats. */
CLONES static void tail_pairs(const float *restrict Y, size_t ldy, int B, int nb, int k, const float *restrict gram,
                              const uint8_t *restrict mask, const float *restrict inv, float alpha, float beta,
                              float *restrict out, size_t ldo, float *restrict w) {
  const int stride = 2 * k + 1, kp = (k + LANES - 1) / LANES * LANES;
  for (int b = 0; b < B; b++) {
    for (int c = 0; c < nb; c++) {
      const float *G = gram + (size_t)c * k * k, *y = Y + b * ldy + (size_t)c * stride;
      const uint8_t *m = mask + (size_t)c * k;
      for (int j = 0; j < kp; j += LANES) {
        const vf e = weight(vload(y + j));
        memcpy(w + j, &e, sizeof e);
      }
      float s = 0.0f, wq = 0.0f;
      for (int j = 0; j < k; j++) {
        w[j] = m[j] ? w[j] : 0.0f;
        s += w[j];
        wq += w[j] * y[k + j];
      }
      for (int j = k; j < kp; j++) w[j] = 0.0f;
      const float local = s > 0.0f ? wq * inv[b] / sqrtf(quadratic(G, w, k) + 1e-12f * s * s) : 0.0f;
      out[b * ldo + c] = alpha * y[2 * k] * inv[b] + beta * local;
    }
  }
}

/* Rows × users: candidate c's row r for users b0.. at Y[(c·(2k+1) + r)·ldy + b0], ldy a
 * multiple of LANES (columns past B zero). For batches: LANES users at once, so every
 * operation, the Gram products included, is a full vector. Per candidate, once for all its
 * users: the real clusters' indices and the lower triangle of G + Gᵀ over them (wᵀGw =
 * Σ_i w_i (G_ii w_i + Σ_{j<i} (G_ij + G_ji) w_j): half the products). W: k vectors; S:
 * k(k+1)/2 floats; idx: k ints. */
CLONES static void tail_lanes(const float *restrict Y, size_t ldy, int B, int nb, int k, const float *restrict gram,
                              const uint8_t *restrict mask, const float *restrict inv, float alpha, float beta,
                              float *restrict out, size_t ldo, vf *restrict W, float *restrict S, int *restrict idx) {
  const int stride = 2 * k + 1;
  for (int c = 0; c < nb; c++) {
    const float *G = gram + (size_t)c * k * k;
    const uint8_t *m = mask + (size_t)c * k;
    int kr = 0;
    for (int j = 0; j < k; j++)
      if (m[j]) idx[kr++] = j;
    for (int i = 0, p = 0; i < kr; i++) {
      const int a = idx[i];
      for (int j = 0; j < i; j++) S[p++] = G[a * k + idx[j]] + G[idx[j] * k + a];
      S[p++] = G[a * k + a];
    }
    for (int b0 = 0; b0 < B; b0 += LANES) {
      const float *Z = Y + (size_t)c * stride * ldy + b0;
      vf s = {0}, wq = {0}, wgw = {0};
      for (int j = 0; j < kr; j++) {
        W[j] = weight(vload(Z + idx[j] * ldy));
        s += W[j];
        wq += W[j] * vload(Z + (k + idx[j]) * ldy);
      }
      /* Four rows at a time: one chain of dependent FMAs per row kept the FMA units waiting
       * on their own latency; four share each W[j] and run side by side. Row i starts at
       * S + i(i+1)/2. */
      int i = 0;
      for (; i + 4 <= kr; i += 4) {
        const float *r0 = S + i * (i + 1) / 2, *r1 = r0 + i + 1, *r2 = r1 + i + 2, *r3 = r2 + i + 3;
        vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int j = 0; j < i; j++) {
          const vf x = W[j];
          a0 += r0[j] * x;
          a1 += r1[j] * x;
          a2 += r2[j] * x;
          a3 += r3[j] * x;
        }
        a0 += r0[i] * W[i];
        a1 += r1[i] * W[i] + r1[i + 1] * W[i + 1];
        a2 += r2[i] * W[i] + r2[i + 1] * W[i + 1] + r2[i + 2] * W[i + 2];
        a3 += r3[i] * W[i] + r3[i + 1] * W[i + 1] + r3[i + 2] * W[i + 2] + r3[i + 3] * W[i + 3];
        wgw += (W[i] * a0 + W[i + 1] * a1) + (W[i + 2] * a2 + W[i + 3] * a3);
      }
      for (; i < kr; i++) {
        const float *r = S + i * (i + 1) / 2;
        vf a = r[i] * W[i];
        for (int j = 0; j < i; j++) a += r[j] * W[j];
        wgw += W[i] * a;
      }
      const vf g = vload(Z + 2 * k * ldy);
      const int n = B - b0 < LANES ? B - b0 : LANES;
      for (int l = 0; l < n; l++) {
        const float local = s[l] > 0.0f ? wq[l] * inv[b0 + l] / sqrtf(wgw[l] + 1e-12f * s[l] * s[l]) : 0.0f;
        out[(b0 + l) * ldo + c] = alpha * g[l] * inv[b0 + l] + beta * local;
      }
    }
  }
}

/* 1 / sqrt(Σe² + 1e-12) per user, accumulated in double as the reference does. */
static void inverse_norms(const float *eu, int B, int h, float *inv) {
  for (int b = 0; b < B; b++) {
    double s = 0;
    for (int t = 0; t < h; t++) s += (double)eu[b * h + t] * eu[b * h + t];
    inv[b] = (float)(1.0 / sqrt(s + 1e-12));
  }
}

/* Y (B × n) = users · rowsᵀ for n rows of length h spaced lda apart. */
static void users_by_rows(const float *rows, size_t lda, int n, int h, const float *eu, int B, float *Y) {
  if (B == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, h, 1.0f, rows, (int)lda, eu, 1, 0.0f, Y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n, h, 1.0f, eu, h, rows, (int)lda, 0.0f, Y, n);
}

/* ---- int8 tables: row r's value t is scale[r]·codes[r·h + t] + offset[r] (src/table.ts) ---- */

/*
 * Two loops read the codes: decode_rows (a block into floats, for the products OpenBLAS runs) and
 * dots_codes (one user's dot products straight from the codes: reading them is the whole cost of
 * scoring one user, so each byte is touched once). Widening int8 to float is what the generic
 * vectors above cannot say (GCC 12 scalarises it), so each loop exists per instruction set,
 * picked once at load from the CPU's features (cpuid) and reported by config():
 *   avx512  16 codes per instruction (AVX-512F)
 *   avx2    8 codes per instruction (AVX2 + FMA)
 *   generic plain C, whatever the compiler makes of it (any CPU)
 * useIsa() forces a lower one, so the tests compare every one the machine has.
 */
typedef void (*decode_fn)(const int8_t *codes, const float *scale, const float *offset, size_t n, int h, float *D);
typedef void (*dots_fn)(const int8_t *codes, const float *scale, const float *offset, size_t n, int h, const float *eu, float usum,
                        float *Y);

/* n rows of h codes decoded into D (n × h floats). */
static void decode_generic(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n, int h,
                           float *restrict D) {
  for (size_t r = 0; r < n; r++)
    for (int t = 0; t < h; t++) D[r * h + t] = scale[r] * codes[r * h + t] + offset[r];
}

/* Y[r] = scale·(codes_r·e_u) + offset·Σe_u for n rows. */
static void dots_generic(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n, int h,
                         const float *restrict eu, float usum, float *restrict Y) {
  for (size_t r = 0; r < n; r++) {
    const int8_t *q = codes + r * h;
    float a[4] = {0, 0, 0, 0};
    int t = 0;
    for (; t + 4 <= h; t += 4)
      for (int l = 0; l < 4; l++) a[l] += q[t + l] * eu[t + l];
    for (; t < h; t++) a[0] += q[t] * eu[t];
    Y[r] = scale[r] * ((a[0] + a[1]) + (a[2] + a[3])) + offset[r] * usum;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

/* The integer loops sum h code × int16 user products in int32: exact while h ≤ 512
 * (|acc| ≤ h·128·32767 < 2³¹); longer rows take the float loops. */
#define ROWS_USERS_MAX_H 512

AVX2 static inline __m256 codes8(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }

AVX2 static void decode_avx2(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n, int h,
                             float *restrict D) {
  for (size_t r = 0; r < n; r++) {
    const int8_t *q = codes + r * h;
    float *d = D + r * h;
    const __m256 a = _mm256_set1_ps(scale[r]), b = _mm256_set1_ps(offset[r]);
    int t = 0;
    for (; t + 8 <= h; t += 8) _mm256_storeu_ps(d + t, _mm256_fmadd_ps(codes8(q + t), a, b));
    for (; t < h; t++) d[t] = scale[r] * q[t] + offset[r];
  }
}

AVX2 static void dots_avx2_float(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n, int h,
                           const float *restrict eu, float usum, float *restrict Y) {
  for (size_t r = 0; r < n; r++) {
    const int8_t *q = codes + r * h;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int t = 0;
    for (; t + 32 <= h; t += 32) {
      a0 = _mm256_fmadd_ps(codes8(q + t), _mm256_loadu_ps(eu + t), a0);
      a1 = _mm256_fmadd_ps(codes8(q + t + 8), _mm256_loadu_ps(eu + t + 8), a1);
      a2 = _mm256_fmadd_ps(codes8(q + t + 16), _mm256_loadu_ps(eu + t + 16), a2);
      a3 = _mm256_fmadd_ps(codes8(q + t + 24), _mm256_loadu_ps(eu + t + 24), a3);
    }
    for (; t + 8 <= h; t += 8) a0 = _mm256_fmadd_ps(codes8(q + t), _mm256_loadu_ps(eu + t), a0);
    __m256 v = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    float acc = _mm_cvtss_f32(x);
    for (; t < h; t++) acc += q[t] * eu[t];
    Y[r] = scale[r] * acc + offset[r] * usum;
  }
}

/* One user's dot products straight from the codes, in integers as rows_users does (the user
 * rounded to int16 with scale max|e_u|/32767): 16 codes per vpmaddwd, against 8 per FMA after
 * widening them to float, and one user's score is what reading the codes costs. */
AVX2 static void dots_avx2(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n, int h,
                           const float *restrict eu, float usum, float *restrict Y) {
  if (h > ROWS_USERS_MAX_H) {
    dots_avx2_float(codes, scale, offset, n, h, eu, usum, Y);
    return;
  }
  int16_t q[ROWS_USERS_MAX_H] __attribute__((aligned(32)));
  float top = 0.0f;
  for (int t = 0; t < h; t++) top = fmaxf(top, fabsf(eu[t]));
  const float qs = top > 0.0f ? top / 32767.0f : 1.0f;
  for (int t = 0; t < h; t++) q[t] = (int16_t)lrintf(eu[t] / qs);
  const int h16 = h & ~15;
  for (size_t r = 0; r < n; r++) {
    const int8_t *c = codes + r * h;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0;
    int t = 0;
    for (; t + 32 <= h16; t += 32) {
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(c + t))), _mm256_load_si256((const __m256i *)(q + t))));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(c + t + 16))), _mm256_load_si256((const __m256i *)(q + t + 16))));
    }
    if (t < h16) {
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(c + t))), _mm256_load_si256((const __m256i *)(q + t))));
      t += 16;
    }
    __m256i v = _mm256_add_epi32(a0, a1);
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    int32_t acc = _mm_cvtsi128_si32(x);
    for (; t < h; t++) acc += c[t] * q[t];
    Y[r] = scale[r] * (qs * (float)acc) + offset[r] * usum;
  }
}

/*
 * A batch against an int8 table without decoding it: the users are rounded to int16 (per-user
 * scale max|e_u|/32767, a relative error of 1.5e-5, far below the codes' own), and the products
 * run in integers, vpmaddwd multiplying 16 code × user pairs and summing them to int32 per
 * instruction: twice the multiply-adds of a float FMA, no decoded copy of the rows, no OpenBLAS
 * packing. Exact in int32 while h ≤ 512 (|acc| ≤ h·128·32767 < 2³¹).
 *   Y[r·ldy + b] = scale_r · qs_b · (codes_r · ê_b) + offset_r · Σe_b
 * Users go along the vector lanes (the layout tail_lanes reads): each pair of a row's codes,
 * widened to int16, is broadcast and multiplied with the same pair of 8 users' values. E16
 * holds the users as pairs: int32 slot (p·ldy + b) = (ê_b[2p], ê_b[2p+1]).
 */

/* row's h codes as int16 into wide (h rounded up to even, the spare one zero). */
AVX2 static inline void widen_avx2(const int8_t *restrict q, int h, int16_t *restrict wide) {
  int t = 0;
  for (; t + 16 <= h; t += 16) _mm256_storeu_si256((__m256i *)(wide + t), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + t))));
  for (; t < h; t++) wide[t] = q[t];
  if (h & 1) wide[h] = 0;
}

/* R rows (widened in wide, hp apart) × V vectors of users from b0, accumulated over the np pairs. */
#define TILE(R, V)                                                                                                     \
  do {                                                                                                                 \
    __m256i acc[R][V];                                                                                                 \
    for (int r_ = 0; r_ < R; r_++)                                                                                     \
      for (int v_ = 0; v_ < V; v_++) acc[r_][v_] = _mm256_setzero_si256();                                             \
    for (int p = 0; p < np; p++) {                                                                                     \
      __m256i e[V];                                                                                                    \
      for (int v_ = 0; v_ < V; v_++) e[v_] = _mm256_loadu_si256((const __m256i *)(E16 + 2 * ((size_t)p * ldy + b0 + 8 * v_))); \
      for (int r_ = 0; r_ < R; r_++) {                                                                                 \
        int32_t pair;                                                                                                  \
        memcpy(&pair, wide + r_ * hp + 2 * p, sizeof pair);                                                            \
        const __m256i a = _mm256_set1_epi32(pair);                                                                     \
        for (int v_ = 0; v_ < V; v_++) acc[r_][v_] = _mm256_add_epi32(acc[r_][v_], _mm256_madd_epi16(a, e[v_]));       \
      }                                                                                                                \
    }                                                                                                                  \
    for (int r_ = 0; r_ < R; r_++) {                                                                                   \
      const __m256 sc = _mm256_set1_ps(scale[r + r_]), of = _mm256_set1_ps(offset[r + r_]);                            \
      for (int v_ = 0; v_ < V; v_++) {                                                                                 \
        const size_t u = b0 + 8 * v_;                                                                                  \
        const __m256 y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r_][v_]), _mm256_mul_ps(sc, _mm256_loadu_ps(qs + u)), \
                                         _mm256_mul_ps(of, _mm256_loadu_ps(usum + u)));                                \
        _mm256_storeu_ps(Y + (r + r_) * (size_t)ldy + u, y);                                                           \
      }                                                                                                                \
    }                                                                                                                  \
  } while (0)

/* TILE(2, 4) written out: as a macro over arrays GCC shuffled the accumulators between
 * registers on every pair. */
AVX2 static inline __attribute__((always_inline)) void tile_2x4(const int16_t *restrict wide, int hp, int np, const int16_t *restrict E,
                                                                int ldy, const float *restrict scale, const float *restrict offset,
                                                                const float *restrict qs, const float *restrict usum, float *restrict Y) {
  __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  const int16_t *w0 = wide, *w1 = wide + hp;
  /* The empty asm after each sum keeps GCC from hoisting all eight products ahead of the sums,
   * which needed eight more registers than AVX2 has and cost a move per accumulator. */
  for (int p = 0; p < np; p++) {
    const __m256i *e = (const __m256i *)(E + 2 * (size_t)p * ldy);
    const __m256i e0 = _mm256_loadu_si256(e), e1 = _mm256_loadu_si256(e + 1), e2 = _mm256_loadu_si256(e + 2), e3 = _mm256_loadu_si256(e + 3);
    int32_t x0, x1;
    memcpy(&x0, w0 + 2 * p, 4);
    memcpy(&x1, w1 + 2 * p, 4);
    const __m256i b0 = _mm256_set1_epi32(x0), b1 = _mm256_set1_epi32(x1);
    a00 = _mm256_add_epi32(_mm256_madd_epi16(b0, e0), a00);
    __asm__ volatile("" : "+x"(a00));
    a01 = _mm256_add_epi32(_mm256_madd_epi16(b0, e1), a01);
    __asm__ volatile("" : "+x"(a01));
    a02 = _mm256_add_epi32(_mm256_madd_epi16(b0, e2), a02);
    __asm__ volatile("" : "+x"(a02));
    a03 = _mm256_add_epi32(_mm256_madd_epi16(b0, e3), a03);
    __asm__ volatile("" : "+x"(a03));
    a10 = _mm256_add_epi32(_mm256_madd_epi16(b1, e0), a10);
    __asm__ volatile("" : "+x"(a10));
    a11 = _mm256_add_epi32(_mm256_madd_epi16(b1, e1), a11);
    __asm__ volatile("" : "+x"(a11));
    a12 = _mm256_add_epi32(_mm256_madd_epi16(b1, e2), a12);
    __asm__ volatile("" : "+x"(a12));
    a13 = _mm256_add_epi32(_mm256_madd_epi16(b1, e3), a13);
    __asm__ volatile("" : "+x"(a13));
  }
  const __m256i acc[2][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}};
  for (int r = 0; r < 2; r++) {
    const __m256 sc = _mm256_set1_ps(scale[r]), of = _mm256_set1_ps(offset[r]);
    for (int v = 0; v < 4; v++) {
      const __m256 y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][v]), _mm256_mul_ps(sc, _mm256_loadu_ps(qs + 8 * v)),
                                       _mm256_mul_ps(of, _mm256_loadu_ps(usum + 8 * v)));
      _mm256_storeu_ps(Y + (size_t)r * ldy + 8 * v, y);
    }
  }
}

/* n rows from codes (scale, offset per row) against the users in E16, ldy (a multiple of 8)
 * lanes; qs and usum hold ldy floats (zero past the batch). wide: 2 × (h + 1) int16. */
AVX2 static void rows_users_avx2(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n,
                                 int h, const int16_t *restrict E16, const float *restrict qs, const float *restrict usum, int ldy,
                                 float *restrict Y, int16_t *restrict wide) {
  const int hp = (h + 1) & ~1, np = hp / 2;
  size_t r = 0;
  for (; r + 2 <= n; r += 2) {
    widen_avx2(codes + r * h, h, wide);
    widen_avx2(codes + (r + 1) * h, h, wide + hp);
    int b0 = 0;
    for (; b0 + 32 <= ldy; b0 += 32) tile_2x4(wide, hp, np, E16 + 2 * (size_t)b0, ldy, scale + r, offset + r, qs + b0, usum + b0, Y + r * (size_t)ldy + b0);
    for (; b0 < ldy; b0 += 8) TILE(2, 1);
  }
  for (; r < n; r++) {
    widen_avx2(codes + r * h, h, wide);
    int b0 = 0;
    for (; b0 + 32 <= ldy; b0 += 32) TILE(1, 4);
    for (; b0 < ldy; b0 += 8) TILE(1, 1);
  }
}

AVX512 static inline __m512 codes16(const int8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p))); }

AVX512 static void decode_avx512(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n, int h,
                                 float *restrict D) {
  for (size_t r = 0; r < n; r++) {
    const int8_t *q = codes + r * h;
    float *d = D + r * h;
    const __m512 a = _mm512_set1_ps(scale[r]), b = _mm512_set1_ps(offset[r]);
    int t = 0;
    for (; t + 16 <= h; t += 16) _mm512_storeu_ps(d + t, _mm512_fmadd_ps(codes16(q + t), a, b));
    for (; t < h; t++) d[t] = scale[r] * q[t] + offset[r];
  }
}

AVX512 static void dots_avx512(const int8_t *restrict codes, const float *restrict scale, const float *restrict offset, size_t n, int h,
                               const float *restrict eu, float usum, float *restrict Y) {
  for (size_t r = 0; r < n; r++) {
    const int8_t *q = codes + r * h;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int t = 0;
    for (; t + 32 <= h; t += 32) {
      a0 = _mm512_fmadd_ps(codes16(q + t), _mm512_loadu_ps(eu + t), a0);
      a1 = _mm512_fmadd_ps(codes16(q + t + 16), _mm512_loadu_ps(eu + t + 16), a1);
    }
    for (; t + 16 <= h; t += 16) a0 = _mm512_fmadd_ps(codes16(q + t), _mm512_loadu_ps(eu + t), a0);
    float acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; t < h; t++) acc += q[t] * eu[t];
    Y[r] = scale[r] * acc + offset[r] * usum;
  }
}
#endif

typedef void (*rows_users_fn)(const int8_t *codes, const float *scale, const float *offset, size_t n, int h, const int16_t *E16,
                              const float *qs, const float *usum, int ldy, float *Y, int16_t *wide);

typedef struct {
  const char *name;
  decode_fn decode;
  dots_fn dots;
  rows_users_fn rows_users; /* NULL: batches decode and run sgemm */
  int (*supported)(void);
} Isa;

static int always(void) { return 1; }
#if defined(__x86_64__) && defined(__GNUC__)
static int has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static int has_avx512(void) { return has_avx2() && __builtin_cpu_supports("avx512f"); }
#endif

/* Best first. */
static const Isa ISAS[] = {
#if defined(__x86_64__) && defined(__GNUC__)
    /* No AVX-512 integer product: vpmaddwd on zmm needs AVX512BW, and the AVX2 one serves. */
    {"avx512", decode_avx512, dots_avx512, rows_users_avx2, has_avx512},
    {"avx2", decode_avx2, dots_avx2, rows_users_avx2, has_avx2},
#endif
    {"generic", decode_generic, dots_generic, NULL, always},
};
#define NISAS (sizeof ISAS / sizeof *ISAS)

/* The loops in use: the best the CPU has, unless useIsa() chose another. One per process, as
 * OpenBLAS's own choice is. */
static const Isa *isa = &ISAS[NISAS - 1];

static void pick_isa(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
#endif
  for (size_t i = 0; i < NISAS; i++)
    if (ISAS[i].supported()) {
      isa = &ISAS[i];
      return;
    }
}

#define decode_rows(...) isa->decode(__VA_ARGS__)
#define dots_codes(...) isa->dots(__VA_ARGS__)

/* Σe_u, the sum an int8 row's offset multiplies. */
static float user_sum(const float *eu, int h) {
  double s = 0;
  for (int t = 0; t < h; t++) s += eu[t];
  return (float)s;
}

/* The users as int16 pairs for rows_users (see there): slot (p·ldy + b) holds ê_b[2p], ê_b[2p+1];
 * users past B, and the odd h's spare value, are zero. qs_b = max|e_b|/32767; usum_b = Σe_b. */
static void quantize_users(const float *eu, int B, int h, int ldy, int16_t *E16, float *qs, float *usum) {
  const int hp = (h + 1) & ~1;
  memset(E16, 0, (size_t)hp * ldy * sizeof *E16);
  for (int b = 0; b < ldy; b++) qs[b] = usum[b] = 0.0f;
  for (int b = 0; b < B; b++) {
    const float *e = eu + (size_t)b * h;
    float top = 0.0f;
    for (int t = 0; t < h; t++) top = fmaxf(top, fabsf(e[t]));
    qs[b] = top > 0.0f ? top / 32767.0f : 1.0f;
    usum[b] = user_sum(e, h);
    for (int t = 0; t < h; t++) E16[2 * ((size_t)(t / 2) * ldy + b) + (t & 1)] = (int16_t)lrintf(e[t] / qs[b]);
  }
}

/* Decoded floats per block of an int8 table (256 KiB: stays in L2 while OpenBLAS reads it). */
#define DECODE_FLOATS 65536

/* At and above this batch the users go along vector lanes (tail_lanes); below it a lane
 * vector would be mostly padding, and OpenBLAS is also faster with users × rows (float32 tables,
 * and int8 ones on CPUs without the integer product). */
#define LANE_BATCH 8

static size_t clamp_block(size_t nb) { return nb < 1 ? 1 : nb > MAX_BLOCK ? MAX_BLOCK : nb; }

/* ---- N-API glue ---- */

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "ralm_kernel: N-API call failed");  \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length, const char *what) {
  bool is;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    char msg[96];
    snprintf(msg, sizeof msg, "ralm_kernel: %s has the wrong type", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

typedef struct {
  const float *rows; /* float32 tables; NULL for int8 ones */
  const int8_t *codes;
  const float *scale, *offset;
  const float *gram;
  const uint8_t *mask;
  size_t count;
  int k, h;
  bool average;
} Table;

/* The table's arguments: rows (float32) or codes, scale, offset (int8); then gram, mask, k, h,
 * average. Checks every length against count = mask/k; returns how many arguments it read, 0
 * after throwing. */
static int read_table(napi_env env, napi_value *args, bool int8, Table *t) {
  size_t nrows = 0, nscale = 0, noffset = 0, ngram, nmask;
  int32_t k, h;
  void *rows, *scale = NULL, *offset = NULL, *gram, *mask;
  memset(t, 0, sizeof *t);
  if (int8) {
    if (!typed(env, args[0], napi_int8_array, &rows, &nrows, "codes") || !typed(env, args[1], napi_float32_array, &scale, &nscale, "scale") ||
        !typed(env, args[2], napi_float32_array, &offset, &noffset, "offset"))
      return 0;
  } else if (!typed(env, args[0], napi_float32_array, &rows, &nrows, "rows"))
    return 0;
  const int at = int8 ? 3 : 1;
  if (!typed(env, args[at], napi_float32_array, &gram, &ngram, "gram") || !typed(env, args[at + 1], napi_uint8_array, &mask, &nmask, "mask")) return 0;
  if (napi_get_value_int32(env, args[at + 2], &k) != napi_ok || napi_get_value_int32(env, args[at + 3], &h) != napi_ok ||
      napi_get_value_bool(env, args[at + 4], &t->average) != napi_ok || k < 1 || h < 1 || k > 4096 ||
      (size_t)(2 * k + 1) * h * MAX_BLOCK > INT32_MAX) {
    napi_throw_range_error(env, NULL, "ralm_kernel: bad k, h or average");
    return 0;
  }
  t->count = nmask / k;
  const size_t nr = t->count * (2 * k + 1);
  if (nmask % k || nrows != nr * h || ngram != t->count * k * k || (int8 && (nscale != nr || noffset != nr))) {
    napi_throw_range_error(env, NULL, "ralm_kernel: table arrays disagree with k and h");
    return 0;
  }
  if (int8) {
    t->codes = rows;
    t->scale = scale;
    t->offset = offset;
  } else
    t->rows = rows;
  t->gram = gram;
  t->mask = mask;
  t->k = k;
  t->h = h;
  return at + 5;
}

/* Candidates [c0, c0 + n)'s rows as float32: the table's own memory, or decoded into D. */
static const float *block_rows(const Table *t, size_t c0, int n, float *D) {
  const size_t r0 = c0 * (2 * t->k + 1), nr = (size_t)n * (2 * t->k + 1);
  if (t->rows) return t->rows + r0 * t->h;
  decode_rows(t->codes + r0 * t->h, t->scale + r0, t->offset + r0, nr, t->h, D);
  return D;
}

/* score(<table>, eu, batch, alpha, beta, out): out is batch × count; <table> as read_table
 * reads it. Float32 rows are read in place; int8 codes are decoded a block at a time, or
 * straight into the dot products for one user. */
static napi_value score_table(napi_env env, napi_callback_info info, bool int8) {
  size_t argc = 13;
  napi_value args[13];
  Scratch *s;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, (void **)&s));
  Table t;
  const size_t want = int8 ? 13 : 11;
  if (argc != want) {
    napi_throw_type_error(env, NULL, "ralm_kernel: score takes the table's arguments, eu, batch, alpha, beta, out");
    return NULL;
  }
  const int a = read_table(env, args, int8, &t);
  if (!a) return NULL;
  void *eu_, *out_;
  size_t neu, nout;
  int32_t B;
  double alpha, beta;
  if (!typed(env, args[a], napi_float32_array, &eu_, &neu, "eu") || !typed(env, args[a + 4], napi_float32_array, &out_, &nout, "out"))
    return NULL;
  CHECK(napi_get_value_int32(env, args[a + 1], &B));
  CHECK(napi_get_value_double(env, args[a + 2], &alpha));
  CHECK(napi_get_value_double(env, args[a + 3], &beta));
  if (B < 1 || neu != (size_t)B * t.h || nout != (size_t)B * t.count) {
    napi_throw_range_error(env, NULL, "ralm_kernel: eu or out has the wrong length");
    return NULL;
  }
  const float *eu = eu_;
  float *out = out_;
  const int k = t.k, h = t.h, stride = 2 * k + 1;
  const size_t invlen = LANES * (((size_t)B + LANES - 1) / LANES), kpad = ((size_t)k + LANES - 1) / LANES * LANES;
  /* Candidates per block of an int8 table, so that its decoded rows fit DECODE_FLOATS. */
  const size_t decoded = clamp_block(DECODE_FLOATS / ((size_t)stride * h));
  if (t.average) {
    /* Only the ĝ rows matter: one strided product over all candidates, in blocks. */
    size_t nb = SCRATCH_FLOATS / B > 0 ? SCRATCH_FLOATS / B : 1;
    if (int8 && nb > DECODE_FLOATS / (size_t)h) nb = DECODE_FLOATS / h > 0 ? DECODE_FLOATS / h : 1;
    float *inv = scratch(s, invlen + (size_t)B * nb + (int8 ? nb * h : 0));
    if (!inv) goto oom;
    float *Y = inv + invlen, *D = Y + (size_t)B * nb;
    inverse_norms(eu, B, h, inv);
    const float ab = (float)(alpha + beta);
    for (size_t c0 = 0; c0 < t.count; c0 += nb) {
      const int n = (int)(t.count - c0 < nb ? t.count - c0 : nb);
      if (int8) {
        for (int c = 0; c < n; c++) {
          const size_t r = (c0 + c) * stride + 2 * k;
          decode_rows(t.codes + r * h, t.scale + r, t.offset + r, 1, h, D + (size_t)c * h);
        }
        users_by_rows(D, h, n, h, eu, B, Y);
      } else
        users_by_rows(t.rows + (c0 * stride + 2 * k) * h, (size_t)stride * h, n, h, eu, B, Y);
      for (int b = 0; b < B; b++)
        for (int c = 0; c < n; c++) out[b * t.count + c0 + c] = ab * Y[(size_t)b * n + c] * inv[b];
    }
    return NULL;
  }
  /* int8 batches go through the integer product when this CPU's loops have one: at any batch
   * above one it beats decoding (7 users, 10,000 candidates: 52 → 24 ms, one run). */
  const bool integer = int8 && B > 1 && isa->rows_users && h <= ROWS_USERS_MAX_H;
  if (B < LANE_BATCH && !integer) {
    size_t nb = clamp_block(SCRATCH_FLOATS / ((size_t)B * stride));
    /* One user of an int8 table: dots straight from the codes, no decoded copy. */
    const bool direct = int8 && B == 1;
    if (int8 && !direct && nb > decoded) nb = decoded;
    const size_t block = ((size_t)B * nb * stride + LANES - 1) / LANES * LANES + LANES;
    float *inv = scratch(s, invlen + block + kpad + (int8 && !direct ? nb * stride * h : 0));
    if (!inv) goto oom;
    float *Y = inv + invlen, *w = Y + block, *D = w + kpad;
    inverse_norms(eu, B, h, inv);
    const float usum = direct ? user_sum(eu, h) : 0.0f;
    for (size_t c0 = 0; c0 < t.count; c0 += nb) {
      const int n = (int)(t.count - c0 < nb ? t.count - c0 : nb);
      if (direct)
        dots_codes(t.codes + c0 * stride * h, t.scale + c0 * stride, t.offset + c0 * stride, (size_t)n * stride, h, eu, usum, Y);
      else
        users_by_rows(block_rows(&t, c0, n, D), h, n * stride, h, eu, B, Y);
      tail_pairs(Y, (size_t)n * stride, B, n, k, t.gram + c0 * k * k, t.mask + c0 * k, inv, (float)alpha, (float)beta,
                 out + c0, t.count, w);
    }
    return NULL;
  }
  const size_t ldy = invlen;
  size_t nb = clamp_block(SCRATCH_FLOATS / (ldy * stride));
  if (int8 && !integer && nb > decoded) nb = decoded;
  const size_t hp = ((size_t)h + 1) & ~(size_t)1;
  const size_t wlen = (size_t)k * LANES, slen = ((size_t)k * (k + 1) / 2 + k + LANES - 1) / LANES * LANES;
  /* Per block: the decoded rows (D), or for the integer product the users as int16 pairs
   * (E16, hp·ldy halves), their scales and sums (ldy each) and two widened rows. */
  const size_t extra = !int8 ? 0 : integer ? hp * ldy / 2 + 2 * ldy + hp + LANES : nb * stride * h;
  float *W = scratch(s, wlen + slen + invlen + ldy * nb * stride + extra);
  if (!W) goto oom;
  float *S = W + wlen, *inv = S + slen, *Y = inv + invlen, *D = Y + ldy * nb * stride;
  int *idx = (int *)(S + (size_t)k * (k + 1) / 2);
  inverse_norms(eu, B, h, inv);
  if (integer) {
    float *qs = D, *usum = qs + ldy;
    int16_t *E16 = (int16_t *)(usum + ldy), *wide = E16 + hp * ldy;
    quantize_users(eu, B, h, (int)ldy, E16, qs, usum);
    for (size_t c0 = 0; c0 < t.count; c0 += nb) {
      const int n = (int)(t.count - c0 < nb ? t.count - c0 : nb);
      const size_t r0 = c0 * stride;
      isa->rows_users(t.codes + r0 * h, t.scale + r0, t.offset + r0, (size_t)n * stride, h, E16, qs, usum, (int)ldy, Y, wide);
      tail_lanes(Y, ldy, B, n, k, t.gram + c0 * k * k, t.mask + c0 * k, inv, (float)alpha, (float)beta, out + c0, t.count,
                 (vf *)W, S, idx);
    }
    return NULL;
  }
  /* Rows × users with ldc = ldy ≥ B: sgemm never writes the padding columns; zero them once
   * so that earlier calls' values (a denormal would be slow) do not sit in the spare lanes. */
  if ((size_t)B != ldy) memset(Y, 0, ldy * (t.count < nb ? t.count : nb) * stride * sizeof(float));
  for (size_t c0 = 0; c0 < t.count; c0 += nb) {
    const int n = (int)(t.count - c0 < nb ? t.count - c0 : nb);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n * stride, B, h, 1.0f, block_rows(&t, c0, n, D), h, eu, h, 0.0f, Y,
                (int)ldy);
    tail_lanes(Y, ldy, B, n, k, t.gram + c0 * k * k, t.mask + c0 * k, inv, (float)alpha, (float)beta, out + c0, t.count,
               (vf *)W, S, idx);
  }
  return NULL;
oom:
  napi_throw_error(env, NULL, "ralm_kernel: out of memory");
  return NULL;
}

static napi_value score(napi_env env, napi_callback_info info) { return score_table(env, info, false); }
static napi_value score_int8(napi_env env, napi_callback_info info) { return score_table(env, info, true); }

/* scoreSubset(<table>, eu, candidates, alpha, beta, out): one user against listed candidates. */
static napi_value subset_table(napi_env env, napi_callback_info info, bool int8) {
  size_t argc = 13;
  napi_value args[13];
  Scratch *s;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, (void **)&s));
  Table t;
  if (argc != (int8 ? 13u : 11u)) {
    napi_throw_type_error(env, NULL, "ralm_kernel: scoreSubset takes the table's arguments, eu, candidates, alpha, beta, out");
    return NULL;
  }
  const int a = read_table(env, args, int8, &t);
  if (!a) return NULL;
  void *eu_, *cand_, *out_;
  size_t neu, ncand, nout;
  double alpha, beta;
  if (!typed(env, args[a], napi_float32_array, &eu_, &neu, "eu") || !typed(env, args[a + 1], napi_int32_array, &cand_, &ncand, "candidates") ||
      !typed(env, args[a + 4], napi_float32_array, &out_, &nout, "out"))
    return NULL;
  CHECK(napi_get_value_double(env, args[a + 2], &alpha));
  CHECK(napi_get_value_double(env, args[a + 3], &beta));
  if (neu != (size_t)t.h || nout != ncand) {
    napi_throw_range_error(env, NULL, "ralm_kernel: eu or out has the wrong length");
    return NULL;
  }
  const int32_t *cand = cand_;
  for (size_t i = 0; i < ncand; i++)
    if (cand[i] < 0 || (size_t)cand[i] >= t.count) {
      napi_throw_range_error(env, NULL, "ralm_kernel: candidate index out of range");
      return NULL;
    }
  const float *eu = eu_;
  float *out = out_;
  const int k = t.k, h = t.h, stride = 2 * k + 1;
  const size_t block = ((size_t)stride + LANES - 1) / LANES * LANES + LANES, kpad = ((size_t)k + LANES - 1) / LANES * LANES;
  float *inv = scratch(s, LANES + block + kpad);
  if (!inv) {
    napi_throw_error(env, NULL, "ralm_kernel: out of memory");
    return NULL;
  }
  float *Y = inv + LANES, *w = Y + block;
  inverse_norms(eu, 1, h, inv);
  const float usum = user_sum(eu, h);
  for (size_t i = 0; i < ncand; i++) {
    const size_t c = (size_t)cand[i], r0 = c * stride;
    /* Under average pooling only ĝ (the last row) is read. */
    const size_t from = t.average ? 2 * k : 0, n = t.average ? 1 : stride;
    if (int8)
      dots_codes(t.codes + (r0 + from) * h, t.scale + r0 + from, t.offset + r0 + from, n, h, eu, usum, Y + from);
    else
      users_by_rows(t.rows + (r0 + from) * h, h, (int)n, h, eu, 1, Y + from);
    if (t.average)
      out[i] = (float)(alpha + beta) * Y[2 * k] * inv[0];
    else
      tail_pairs(Y, stride, 1, 1, k, t.gram + c * k * k, t.mask + c * k, inv, (float)alpha, (float)beta, out + i, 1, w);
  }
  return NULL;
}

static napi_value score_subset(napi_env env, napi_callback_info info) { return subset_table(env, info, false); }
static napi_value score_subset_int8(napi_env env, napi_callback_info info) { return subset_table(env, info, true); }

/* ‖x‖² in double over 8 independent partial sums: one running sum is a chain of dim
 * dependent additions, which strict IEEE order keeps scalar: at dim 128 it made 3,000,000
 * points take 0.91–1.02 s in nearest(), against 0.62–0.74 s with these sums. */
CLONES static double norm2_double(const float *x, int dim) {
  double a[8] = {0};
  int t = 0;
  for (; t + 8 <= dim; t += 8)
    for (int j = 0; j < 8; j++) a[j] += (double)x[t + j] * x[t + j];
  double s = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
  for (; t < dim; t++) s += (double)x[t] * x[t];
  return s;
}

/* Points per sgemm in nearest(): 2,048 × k floats of dot products stay in cache. */
#define NEAREST_BLOCK 2048

/* nearest(points, n, dim, centroids, k, assignments, distances): for each of n points
 * (row-major, dim wide) the nearest of k centroids (the lowest index on a tie) and its
 * squared distance ‖x‖² − 2x·c + ‖c‖² (clamped at 0), the dot products by sgemm over
 * blocks of points, the norms in double. distances is a Float64Array or a Float32Array. */
static napi_value nearest(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  Scratch *s;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, (void **)&s));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "ralm_kernel: nearest takes 7 arguments");
    return NULL;
  }
  void *points, *centroids, *assign, *dist;
  size_t np, nc, na, nd;
  int32_t n, dim, k;
  napi_typedarray_type dtype;
  bool is;
  if (!typed(env, args[0], napi_float32_array, &points, &np, "points") || !typed(env, args[3], napi_float32_array, &centroids, &nc, "centroids") ||
      !typed(env, args[5], napi_int32_array, &assign, &na, "assignments"))
    return NULL;
  if (napi_is_typedarray(env, args[6], &is) != napi_ok || !is || napi_get_typedarray_info(env, args[6], &dtype, &nd, &dist, NULL, NULL) != napi_ok ||
      (dtype != napi_float64_array && dtype != napi_float32_array)) {
    napi_throw_type_error(env, NULL, "ralm_kernel: distances must be a Float64Array or a Float32Array");
    return NULL;
  }
  if (napi_get_value_int32(env, args[1], &n) != napi_ok || napi_get_value_int32(env, args[2], &dim) != napi_ok || napi_get_value_int32(env, args[4], &k) != napi_ok ||
      n < 0 || dim < 1 || k < 1 || k > 65536 || (size_t)NEAREST_BLOCK * k > INT32_MAX || np < (size_t)n * dim || nc < (size_t)k * dim || na < (size_t)n || nd < (size_t)n) {
    napi_throw_range_error(env, NULL, "ralm_kernel: nearest: bad n, dim or k, or arrays shorter than they say");
    return NULL;
  }
  const float *X = points, *C = centroids;
  int32_t *A = assign;
  double *cn = malloc((size_t)k * sizeof(double));
  float *G = scratch(s, (size_t)NEAREST_BLOCK * k);
  if (!cn || !G) {
    free(cn);
    napi_throw_error(env, NULL, "ralm_kernel: out of memory");
    return NULL;
  }
  for (int j = 0; j < k; j++) {
    double q = 0;
    for (int t = 0; t < dim; t++) q += (double)C[(size_t)j * dim + t] * C[(size_t)j * dim + t];
    cn[j] = q;
  }
  for (int i0 = 0; i0 < n; i0 += NEAREST_BLOCK) {
    int b = n - i0 < NEAREST_BLOCK ? n - i0 : NEAREST_BLOCK;
    const float *Xb = X + (size_t)i0 * dim;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, k, dim, 1.0f, Xb, dim, C, dim, 0.0f, G, k);
    for (int r = 0; r < b; r++) {
      const float *x = Xb + (size_t)r * dim;
      const double xn = norm2_double(x, dim);
      const float *g = G + (size_t)r * k;
      int best = 0;
      double bd = xn - 2.0 * g[0] + cn[0];
      for (int j = 1; j < k; j++) {
        double d = xn - 2.0 * g[j] + cn[j];
        if (d < bd) {
          bd = d;
          best = j;
        }
      }
      if (bd < 0) bd = 0;
      A[i0 + r] = best;
      if (dtype == napi_float64_array) ((double *)dist)[i0 + r] = bd;
      else ((float *)dist)[i0 + r] = (float)bd;
    }
  }
  free(cn);
  return NULL;
}

CLONES static void add_rows_loop(const float *R, int32_t n, int32_t width, const int32_t *G, double *S) {
  for (int32_t i = 0; i < n; i++) {
    const float *r = R + (size_t)i * width;
    double *s = S + (size_t)G[i] * width;
    for (int32_t t = 0; t < width; t++) s[t] += r[t];
  }
}

/* addRows(rows, n, width, groups, sums): adds each of n rows (width floats) into row
 * groups[i] of sums (a Float64Array of whole rows), in double: the member sums of a k-means
 * update. Every group is checked before any sum moves, so a bad one leaves sums untouched. */
static napi_value add_rows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "ralm_kernel: addRows takes 5 arguments");
    return NULL;
  }
  void *rows, *groups, *sums;
  size_t nr, ng, ns;
  int32_t n, width;
  if (!typed(env, args[0], napi_float32_array, &rows, &nr, "rows") || !typed(env, args[3], napi_int32_array, &groups, &ng, "groups") ||
      !typed(env, args[4], napi_float64_array, &sums, &ns, "sums"))
    return NULL;
  if (napi_get_value_int32(env, args[1], &n) != napi_ok || napi_get_value_int32(env, args[2], &width) != napi_ok || n < 0 || width < 1 ||
      nr < (size_t)n * width || ng < (size_t)n || ns % (size_t)width != 0) {
    napi_throw_range_error(env, NULL, "ralm_kernel: addRows: bad n or width, or arrays shorter than they say");
    return NULL;
  }
  const float *R = rows;
  const int32_t *G = groups;
  double *S = sums;
  const size_t k = ns / (size_t)width;
  for (int32_t i = 0; i < n; i++)
    if (G[i] < 0 || (size_t)G[i] >= k) {
      napi_throw_range_error(env, NULL, "ralm_kernel: addRows: a group is outside sums");
      return NULL;
    }
  add_rows_loop(R, n, width, G, S);
  return NULL;
}

/* isas(): the names of the int8 loops this CPU can run, best first. */
static napi_value isas(napi_env env, napi_callback_info info) {
  napi_value list, name;
  CHECK(napi_create_array(env, &list));
  uint32_t n = 0;
  for (size_t i = 0; i < NISAS; i++)
    if (ISAS[i].supported()) {
      CHECK(napi_create_string_utf8(env, ISAS[i].name, NAPI_AUTO_LENGTH, &name));
      CHECK(napi_set_element(env, list, n++, name));
    }
  return list;
}

/* useIsa(name): runs the int8 loops of `name` from now on; throws unless the CPU has it. */
static napi_value use_isa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  char name[32];
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (argc != 1 || napi_get_value_string_utf8(env, arg, name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "ralm_kernel: useIsa takes a name");
    return NULL;
  }
  for (size_t i = 0; i < NISAS; i++)
    if (!strcmp(ISAS[i].name, name) && ISAS[i].supported()) {
      isa = &ISAS[i];
      return NULL;
    }
  napi_throw_range_error(env, NULL, "ralm_kernel: useIsa: this CPU cannot run that instruction set");
  return NULL;
}

static napi_value config(napi_env env, napi_callback_info info) {
  char text[512];
  snprintf(text, sizeof text, "%s (%s core); int8 loops: %s", openblas_get_config(), openblas_get_corename(), isa->name);
  napi_value v;
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v));
  return v;
}

NAPI_MODULE_INIT() {
  /* One thread: the service scores requests concurrently on its own event loop and cores,
   * and the hardware reference (bench/score.ts) is single-threaded OpenBLAS. */
  openblas_set_num_threads(1);
  pick_isa();
  Scratch *s = calloc(1, sizeof *s);
  if (!s || napi_set_instance_data(env, s, free_scratch, NULL) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
      {"score", NULL, score, NULL, NULL, NULL, napi_default, s},
      {"scoreSubset", NULL, score_subset, NULL, NULL, NULL, napi_default, s},
      {"scoreInt8", NULL, score_int8, NULL, NULL, NULL, napi_default, s},
      {"scoreSubsetInt8", NULL, score_subset_int8, NULL, NULL, NULL, napi_default, s},
      {"nearest", NULL, nearest, NULL, NULL, NULL, napi_default, s},
      {"addRows", NULL, add_rows, NULL, NULL, NULL, napi_default, s},
      {"config", NULL, config, NULL, NULL, NULL, napi_default, s},
      {"isas", NULL, isas, NULL, NULL, NULL, napi_default, s},
      {"useIsa", NULL, use_isa, NULL, NULL, NULL, napi_default, s},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof *props, props) != napi_ok) return NULL;
  return exports;
}
