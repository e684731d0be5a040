#pragma once
// ICL_DISPATCH(g, fn, args...): the op's kernel on the device of Graph g -- cuda::fn(ctx, args...)
// for a GPU step, kern::fn(args...) on the CPU. Builds without CUDA never name cuda::fn, so they
// link without the .cu files.
#include "core/graph.h"

#ifdef ICL_WITH_CUDA
#define ICL_DISPATCH(g, fn, ...) \
  ((g).on_cuda() ? ::icl::cuda::fn((g).cuda(), __VA_ARGS__) : ::icl::kern::fn(__VA_ARGS__))
#else
#define ICL_DISPATCH(g, fn, ...) ::icl::kern::fn(__VA_ARGS__)
#endif
