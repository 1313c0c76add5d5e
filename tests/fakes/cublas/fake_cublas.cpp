// A fake cuBLAS on host memory: see README.md.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "compute/kernels/hep/mlp.cuh"  // binary16 and bfloat16 conversions

namespace {

constexpr int success = 0, invalid_value = 7, not_supported = 15;
constexpr int op_n = 0, op_t = 1;
constexpr int r_32f = 0, r_16f = 2, r_16bf = 14, compute_32f = 68;

struct Handle {
  void* stream = nullptr;
};

float load(const void* p, int type, std::uint64_t i) {
  switch (type) {
    case r_32f: return static_cast<const float*>(p)[i];
    case r_16f: return gpukit::hep::half_bits_to_float(static_cast<const std::uint16_t*>(p)[i]);
    default: return gpukit::hep::bf16_bits_to_float(static_cast<const std::uint16_t*>(p)[i]);
  }
}

bool known_type(int t) { return t == r_32f || t == r_16f || t == r_16bf; }

}  // namespace

extern "C" {

// Marks this library as the fake: the fake GPU plugin uses no other.
__attribute__((visibility("default"))) int gpukit_fake_cublas = 1;

__attribute__((visibility("default"))) int cublasCreate_v2(void** handle) {
  if (!handle) return invalid_value;
  *handle = new Handle;
  return success;
}

__attribute__((visibility("default"))) int cublasDestroy_v2(void* handle) {
  delete static_cast<Handle*>(handle);
  return success;
}

__attribute__((visibility("default"))) int cublasSetStream_v2(void* handle, void* stream) {
  if (!handle) return invalid_value;
  static_cast<Handle*>(handle)->stream = stream;
  return success;
}

// libraryPropertyType: MAJOR_VERSION 0, MINOR_VERSION 1, PATCH_LEVEL 2.
__attribute__((visibility("default"))) int cublasGetProperty(int type, int* value) {
  if (!value || type < 0 || type > 2) return invalid_value;
  *value = type == 0 ? 13 : 0;
  return success;
}

// C = alpha op(A) op(B) + beta C, column-major; op(A) is m x k, op(B) k x n.
__attribute__((visibility("default"))) int cublasGemmEx(void* handle, int transa, int transb, int m, int n, int k,
                                                        const void* alpha, const void* a, int a_type, int lda,
                                                        const void* b, int b_type, int ldb, const void* beta, void* c,
                                                        int c_type, int ldc, int compute_type, int /*algo*/) {
  if (!handle || !alpha || !beta || !a || !b || !c) return invalid_value;
  if (m < 0 || n < 0 || k < 0 || (transa != op_n && transa != op_t) || (transb != op_n && transb != op_t))
    return invalid_value;
  // Stored rows: A is m x k (N) or k x m (T); B is k x n (N) or n x k (T).
  if (lda < std::max(1, transa == op_n ? m : k) || ldb < std::max(1, transb == op_n ? k : n) || ldc < std::max(1, m))
    return invalid_value;
  if (!known_type(a_type) || b_type != a_type || c_type != r_32f || compute_type != compute_32f) return not_supported;
  if (const char* log = std::getenv("GPUKIT_FAKE_CUBLAS_CALLS"))
    if (FILE* f = std::fopen(log, "a")) {
      std::fprintf(f, "%d %d %d %d %d %d %d\n", m, n, k, lda, ldb, ldc, a_type);
      std::fclose(f);
    }
  const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
  auto* cf = static_cast<float*>(c);
  // op(A) widened to FP32 once, column-major m x k.
  std::vector<float> af(std::size_t(m) * std::size_t(k));
  for (int l = 0; l < k; ++l)
    for (int i = 0; i < m; ++i)
      af[std::size_t(i) + std::size_t(l) * std::size_t(m)] =
          transa == op_n ? load(a, a_type, std::uint64_t(i) + std::uint64_t(l) * lda)
                         : load(a, a_type, std::uint64_t(l) + std::uint64_t(i) * lda);
  auto column = [&](int j) {
    std::vector<float> acc(std::size_t(m), 0.0f);
    for (int l = 0; l < k; ++l) {
      const float bv = transb == op_n ? load(b, b_type, std::uint64_t(l) + std::uint64_t(j) * ldb)
                                      : load(b, b_type, std::uint64_t(j) + std::uint64_t(l) * ldb);
      const float* __restrict__ col = af.data() + std::size_t(l) * std::size_t(m);
      float* __restrict__ out = acc.data();
      for (int i = 0; i < m; ++i) out[i] += col[i] * bv;
    }
    for (int i = 0; i < m; ++i) {
      float& out = cf[std::uint64_t(i) + std::uint64_t(j) * ldc];
      out = al * acc[std::size_t(i)] + (be == 0.0f ? 0.0f : be * out);  // beta 0: C is not read (may be NaN)
    }
  };
  const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int j = t; j < n; j += threads) column(j);
    });
  for (auto& th : pool) th.join();
  return success;
}

}  // extern "C"
