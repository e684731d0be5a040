// What the op harness (tests/op_harness.h) cannot express about the CUDA twins of the
// input/output ops, the losses and the optimizer; the embeddings, take_positions, interleave, RoPE
// and the three losses are cases in tests/test_op_io_losses.cpp and tests/test_op_rope.cpp.
//
//   - The gradient norm and AdamW with clipping: not an op of given inputs and one output, but a
//     step over a whole ParameterStore's flat device arrays, with its scalars in device memory as
//     the captured training step sees them, and a guard that changes nothing on a non-finite loss
//     or norm. The norm sums in fp64 in another order: 1e-12. AdamW matches the CPU's roundings
//     except where the device's fp64 pow differs in the last bit: 1e-6.
//   - Optional outputs: cross-entropy's forward without lse (no backward follows) gives the same
//     loss bits.
#ifdef ICL_WITH_CUDA

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/parameter.h"
#include "core/rng.h"
#include "kernels/loss.h"
#include "tests/cuda_harness.h"
#include "train/adamw.h"

namespace icl {
namespace {

using test::ctx;
using test::DeviceArray;
using test::DeviceBuffer;
using test::expect_close;
using test::random_vector;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<int32_t> random_tokens(int64_t N, int64_t V, const std::string& label) {
  Rng r({7, stream_id(label)}, 0);
  std::vector<int32_t> t(static_cast<size_t>(N));
  for (auto& x : t) x = int32_t(r.below(uint64_t(V)));
  return t;
}

template <class T>
void expect_bitwise(const std::vector<T>& a, const std::vector<T>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)), 0) << what << " differs";
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy without lse

TEST(CudaMisc, CrossEntropyWithoutLseGivesTheSameLoss) {
  ICL_REQUIRE_GPU();
  for (int64_t V : {1, 7, 1000})
    for (int64_t N : {1, 37, 530})
      for (bool masked : {false, true}) {
        const std::string tag =
            "ce N=" + std::to_string(N) + " V=" + std::to_string(V) + (masked ? " mask" : "");
        SCOPED_TRACE(tag);
        std::vector<float> mask;
        if (masked)
          for (int64_t i = 0; i < N; ++i) mask.push_back(i % 3 == 1 ? 0.f : 1.f);
        const DeviceBuffer z(random_vector(size_t(N * V), tag + " z", 3.0)), loss(1), loss2(1),
            lse(static_cast<size_t>(N));
        const DeviceArray<int32_t> t(random_tokens(N, V, tag + " t"));
        const std::unique_ptr<DeviceBuffer> m =
            masked ? std::make_unique<DeviceBuffer>(mask) : nullptr;
        const float* mp = m ? m->get() : nullptr;
        cuda::cross_entropy_forward(ctx(), loss.get(), lse.get(), z.get(), t.get(), mp, N, V);
        cuda::cross_entropy_forward(ctx(), loss2.get(), nullptr, z.get(), t.get(), mp, N, V);
        ctx().synchronize();
        expect_bitwise(loss2.download(), loss.download(), "loss without lse");
      }
}

// ---------------------------------------------------------------------------------------------
// Gradient norm and AdamW

TEST(CudaMisc, GradNormMatchesFp64HostSum) {
  ICL_REQUIRE_GPU();
  // Below, at and above one element per block, and a size that leaves the last chunk short.
  for (int64_t n : {0, 1, 37, 511, 512, 513, 5248, 1000003}) {
    const std::string tag = "grad_norm n=" + std::to_string(n);
    const auto g = random_vector(size_t(n), tag, 0.01);
    double sum = 0;
    for (float x : g) sum += double(x) * double(x);
    const double want = std::sqrt(sum);

    DeviceBuffer d_g(g);
    DeviceArray<double> norm(std::vector<double>{std::nan("")}),
        partials(std::vector<double>(size_t(cuda::kNormBlocks), std::nan("")));
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d_g.get(), n);
    ctx().synchronize();
    const double got = norm.download()[0];
    if (n == 0)
      EXPECT_EQ(got, 0.0) << tag;
    else
      EXPECT_LE(std::abs(got - want), 1e-12 * want) << tag << ": gpu " << got << " host " << want;
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d_g.get(), n);
    ctx().synchronize();
    const double again = norm.download()[0];
    EXPECT_EQ(std::memcmp(&got, &again, sizeof got), 0) << tag << " rerun";
  }
}

// A small store with odd shapes, decay and no-decay parameters, and random state of every kind.
void fill_store(ParameterStore& store, uint64_t seed, double grad_scale) {
  store.add("w1", {7, 13}, true);
  store.add("b1", {13}, false);
  store.add("w2", {129, 5}, true);
  store.add("scale", {1}, false);
  store.add("w3", {1000}, true);
  for (auto& p : store.all()) {
    const size_t n = p->value.size();
    const auto val = random_vector(n, p->name + " value", 1.0, seed);
    const auto grad = random_vector(n, p->name + " grad", grad_scale, seed);
    const auto m = random_vector(n, p->name + " m", 0.1, seed);
    const auto v = random_vector(n, p->name + " v", 0.1, seed);
    for (size_t i = 0; i < n; ++i) {
      p->value[i] = val[i];
      p->grad[i] = grad[i];
      p->m[i] = m[i];
      p->v[i] = v[i] * v[i];  // second moments are >= 0
    }
  }
}

// to_device copies values and moments; the gradients are uploaded here, as backward would leave
// them.
void store_to_device(ParameterStore& store) {
  store.to_device(ctx());
  for (auto& p : store.all())
    copy_to_device(p->dgrad, p->grad.data(), p->grad.size() * sizeof(float), ctx().stream());
  ctx().synchronize();
}

std::vector<float> host_vector(const AlignedFloats& a) { return {a.begin(), a.end()}; }

std::vector<float> download_slice(const float* d, size_t n) {
  std::vector<float> h(n);
  copy_to_host(h.data(), d, n * sizeof(float), ctx().stream());
  ctx().synchronize();
  return h;
}

// The device's four flat arrays, padding included.
std::vector<float> device_state(const ParameterStore& store) {
  const DeviceParameters& d = store.device();
  std::vector<float> all;
  for (const float* a : {d.value, d.grad, d.m, d.v}) {
    const auto h = download_slice(a, size_t(d.n));
    all.insert(all.end(), h.begin(), h.end());
  }
  return all;
}

// The step scalars in device memory, as the trainer's captured graph would see them.
class DeviceStep {
 public:
  explicit DeviceStep(const cuda::StepScalars& h)
      : p_(static_cast<cuda::StepScalars*>(device_alloc(sizeof h))) {
    copy_to_device(p_, &h, sizeof h, ctx().stream());
    ctx().synchronize();
  }
  ~DeviceStep() { device_free(p_); }
  DeviceStep(const DeviceStep&) = delete;
  DeviceStep& operator=(const DeviceStep&) = delete;
  const cuda::StepScalars* get() const { return p_; }

 private:
  cuda::StepScalars* p_;
};

TEST(CudaMisc, AdamWMatchesCpuWithAndWithoutClipping) {
  ICL_REQUIRE_GPU();
  AdamW cfg;
  cfg.beta1 = 0.9;
  cfg.beta2 = 0.98;
  cfg.eps = 1e-6;
  cfg.weight_decay = 0.1;  // large enough (with lr) that decay on the wrong parameters shows
  const double lr = 0.05;
  struct Case {
    const char* what;
    double max_norm_factor;  // max_norm = factor · norm; 0: no clipping
    int64_t step;
  };
  for (const Case k :
       {Case{"clipping", 0.5, 1}, Case{"clipping", 0.25, 7},
        Case{"no clipping (above the norm)", 10.0, 3}, Case{"no clipping (max_norm 0)", 0.0, 2}}) {
    const std::string tag = std::string(k.what) + ", step " + std::to_string(k.step);
    SCOPED_TRACE(tag);
    ParameterStore store;
    fill_store(store, 11 + uint64_t(k.step), 0.3);
    store_to_device(store);
    const double host_norm = global_grad_norm(store);
    const double max_norm = k.max_norm_factor * host_norm;

    const DeviceStep s({lr, double(k.step), max_norm});
    DeviceArray<double> norm(1), partials(size_t(cuda::kNormBlocks));
    DeviceBuffer loss(std::vector<float>{1.5f});
    const DeviceParameters& d = store.device();
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d.grad, d.n);
    cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), cfg.beta1, cfg.beta2, cfg.eps,
                       cfg.weight_decay);
    ctx().synchronize();

    // The CPU step on the host copies (to_device left them as they were).
    EXPECT_DOUBLE_EQ(clip_grad_norm(store, max_norm), host_norm);
    adamw_step(store, cfg, lr, k.step);

    const double got_norm = norm.download()[0];
    EXPECT_LE(std::abs(got_norm - host_norm), 1e-12 * host_norm) << "norm";
    for (auto& p : store.all()) {
      const size_t n = p->value.size();
      const int64_t off = p->dvalue - d.value;
      expect_close(download_slice(p->dvalue, n), host_vector(p->value), 1e-6, p->name + " value");
      expect_close(download_slice(p->dgrad, n), host_vector(p->grad), 1e-6, p->name + " grad");
      expect_close(download_slice(d.m + off, n), host_vector(p->m), 1e-6, p->name + " m");
      expect_close(download_slice(d.v + off, n), host_vector(p->v), 1e-6, p->name + " v");
    }

    // The same step on a fresh copy of the same state: bit-identical.
    const auto first = device_state(store);
    ParameterStore again;
    fill_store(again, 11 + uint64_t(k.step), 0.3);
    store_to_device(again);
    const DeviceParameters& d2 = again.device();
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d2.grad, d2.n);
    cuda::adamw_update(ctx(), d2, s.get(), norm.get(), loss.get(), cfg.beta1, cfg.beta2, cfg.eps,
                       cfg.weight_decay);
    ctx().synchronize();
    expect_bitwise(device_state(again), first, "rerun");
  }
}

TEST(CudaMisc, AdamWChangesNothingWhenLossOrNormIsNotFinite) {
  ICL_REQUIRE_GPU();
  ParameterStore store;
  fill_store(store, 5, 0.3);
  store_to_device(store);
  const DeviceParameters& d = store.device();
  const auto before = device_state(store);
  // Clipping would be active, so the gradients would be rewritten too if the guard failed.
  const DeviceStep s({0.05, 1.0, 1e-3});
  DeviceArray<double> norm(1), partials(size_t(cuda::kNormBlocks));
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad_loss : {kNaN, inf, -inf}) {
    DeviceBuffer loss(std::vector<float>{bad_loss});
    cuda::grad_norm(ctx(), norm.get(), partials.get(), d.grad, d.n);
    cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), 0.9, 0.999, 1e-8, 0.1);
    ctx().synchronize();
    expect_bitwise(device_state(store), before, "loss " + std::to_string(bad_loss));
  }
  DeviceBuffer loss(std::vector<float>{1.f});
  for (double bad_norm : {std::nan(""), double(inf)}) {
    norm.upload({bad_norm});
    cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), 0.9, 0.999, 1e-8, 0.1);
    ctx().synchronize();
    expect_bitwise(device_state(store), before, "norm " + std::to_string(bad_norm));
  }
  // And a finite step does change them (the guard is not always on).
  cuda::grad_norm(ctx(), norm.get(), partials.get(), d.grad, d.n);
  cuda::adamw_update(ctx(), d, s.get(), norm.get(), loss.get(), 0.9, 0.999, 1e-8, 0.1);
  ctx().synchronize();
  EXPECT_NE(std::memcmp(device_state(store).data(), before.data(), before.size() * sizeof(float)),
            0);
}

}  // namespace
}  // namespace icl

#else

#include <gtest/gtest.h>

TEST(CudaMisc, NotBuilt) { GTEST_SKIP() << "CUDA backend not built"; }

#endif
