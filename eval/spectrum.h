#pragma once
// The inductive-bias measurement of Panwar et al. 2024 (arXiv 2306.04891, the Fourier-series
// experiments): what a predictor's function looks like in frequency space. For each of the set's
// first `prompts` prompts, the predictor sees the prompt's first `context` examples and predicts at
// `points` grid points x_j = lo + j·(hi − lo)/points; the amplitude spectrum of those predictions
// is averaged over prompts. Bin m is the frequency with m periods over [lo, hi): for [−L, L) it is
// the n of cos(nπx/L), so a predictor that outputs A·cos(nπx/L) scores A at bin n.
#include <vector>

#include "core/rng.h"
#include "eval/evaluate.h"
#include "tasks/predictor.h"
#include "tasks/task.h"

namespace icl {

// One-sided amplitude spectrum of g sampled at M equally spaced points: bins 0..M/2, |G_0|/M for
// the mean, 2|G_m|/M in between, |G_{M/2}|/M at the Nyquist bin of even M.
std::vector<double> amplitude_spectrum(const std::vector<double>& g);

// [predictor][points/2 + 1]: the mean amplitude spectrum of each predictor's outputs. Prompts come
// from stream `key` (the evaluation set's), so the contexts are those its curves were scored on.
std::vector<std::vector<double>> prediction_spectra(const Task& task,
                                                    const std::vector<const Predictor*>& predictors,
                                                    const RngKey& key, const SpectrumConfig& cfg,
                                                    int64_t batch_size);

}  // namespace icl
