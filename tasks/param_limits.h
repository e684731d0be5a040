#pragma once
// Upper bound of the scale-like real task parameters: standard deviations (w_std, noise_std,
// centre_std), input and label scales (x_scale, y_scale), means (centre), the Fourier half-period
// L, mixture weights and the bandit experts' λ and α.
//
// Why 1e20: prompts are stored in fp32, whose largest finite value is 3.4e38. With the other
// parameters at their defaults, one scale at 1e20 keeps every prompt value below about 1e24 even
// at d = 4096 (a dot product of 4096 terms of a few σ each is a few hundred σ), so no single
// setting in range can overflow a prompt. Several large scales together can (w_std = x_scale =
// 1e20 gives labels past 1e40): tasks/check_finite.h catches those and names the parameters.
// Published configs use at most 3; the training tests use y_scale = 1e20 (finite labels whose fp32
// loss overflows, which must stop training, not be refused here).
namespace icl {

inline constexpr double kMaxScale = 1e20;

}  // namespace icl
