#pragma once
// The 2-layer ReLU network of the `mlp_gd` baseline (baselines/mlp_gd.cpp): f(x) = w2·ReLU(W1ᵀx +
// b1) + b2, its loss and gradient, and its training loop, exposed so tests can check the gradient
// against finite differences and the training against a known dataset.
//
// Parameters live in one flat vector θ = [W1 (d×h, column-major), b1 (h), w2 (h), b2].
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>

#include "core/rng.h"

namespace icl::mlp_gd {

template <class S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;

struct Options {
  int64_t hidden = 100, steps = 100, batch = 100;
  double lr = 5e-3;
  bool adam = true;       // else plain (minibatch) gradient descent
  bool logistic = false;  // log(1 + exp(−y f(x))) with ±1 labels; else (f(x) − y)²
};

inline int64_t n_params(int64_t d, int64_t h) { return d * h + 2 * h + 1; }

// PyTorch's nn.Linear initialisation: weights and biases U(−1/√fan_in, 1/√fan_in).
template <class S>
Vec<S> init(int64_t d, int64_t h, Rng& rng) {
  Vec<S> theta(n_params(d, h));
  const double b1 = 1.0 / std::sqrt(double(d)), b2 = 1.0 / std::sqrt(double(h));
  for (int64_t i = 0; i < d * h + h; ++i) theta(i) = S(rng.uniform(-b1, b1));
  for (int64_t i = d * h + h; i < theta.size(); ++i) theta(i) = S(rng.uniform(-b2, b2));
  return theta;
}

// Network outputs for the rows of x [m, d].
template <class S>
Vec<S> forward(const Vec<S>& theta, int64_t d, int64_t h, const Mat<S>& x, Mat<S>* hidden_out) {
  const Eigen::Map<const Mat<S>> w1(theta.data(), d, h);
  const Eigen::Map<const Vec<S>> b1(theta.data() + d * h, h), w2(theta.data() + d * h + h, h);
  Mat<S> hid = x * w1;
  hid.rowwise() += b1.transpose();
  hid = hid.cwiseMax(S(0));
  Vec<S> out = hid * w2;
  out.array() += theta(d * h + 2 * h);
  if (hidden_out) *hidden_out = std::move(hid);
  return out;
}

// Mean loss over the rows of x [m, d] with labels y [m]; fills grad (size n_params) when given.
template <class S>
S loss_and_grad(const Vec<S>& theta, int64_t d, int64_t h, const Mat<S>& x, const Vec<S>& y,
                bool logistic, Vec<S>* grad) {
  Mat<S> hid;
  const Vec<S> out = forward(theta, d, h, x, &hid);
  const int64_t m = x.rows();
  Vec<S> dout(m);
  S loss = S(0);
  for (int64_t i = 0; i < m; ++i) {
    if (logistic) {
      const S z = -y(i) * out(i);  // log(1 + e^z), stably; derivative σ(z)·(−y)
      loss += z > S(0) ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
      dout(i) = -y(i) / (S(1) + std::exp(-z)) / S(m);
    } else {
      const S r = out(i) - y(i);
      loss += r * r;
      dout(i) = S(2) * r / S(m);
    }
  }
  loss /= S(m);
  if (grad) {
    grad->resize(n_params(d, h));
    const Eigen::Map<const Vec<S>> w2(theta.data() + d * h + h, h);
    Mat<S> dh = dout * w2.transpose();
    dh.array() *= (hid.array() > S(0)).template cast<S>();
    Eigen::Map<Mat<S>>(grad->data(), d, h).noalias() = x.transpose() * dh;
    grad->segment(d * h, h) = dh.colwise().sum().transpose();
    grad->segment(d * h + h, h).noalias() = hid.transpose() * dout;
    (*grad)(d * h + 2 * h) = dout.sum();
  }
  return loss;
}

// Trains a freshly initialised network on the rows of x [n, d] (n >= 1): `steps` updates, each on
// a uniformly random subset of min(batch, n) rows, with Adam (PyTorch's defaults β = (0.9, 0.999),
// ε = 1e-8) or plain gradient steps. Returns θ.
Vec<float> train(const Mat<float>& x, const Vec<float>& y, const Options& opt, Rng& rng);

}  // namespace icl::mlp_gd
