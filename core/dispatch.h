#pragma once
// ICL_DISPATCH(g, fn, args...): the op's kernel on the device of Graph g -- cuda::fn(ctx, args...)
// for a GPU step, kern::fn(args...) on the CPU. Builds without CUDA never name cuda::fn, so they
// link without the .cu files.
//
// ICL_DISPATCH_GRAD(g, fn, (args...), (cpu_args...)): the same for a backward that writes
// gradients from Graph::grad_out; the CPU kernel also gets cpu_args (whether each of those
// gradients is added to or, fresh, assigned), the CUDA kernels never do: they always add, into the
// zeroed buffers grad_out gives them on a GPU.
#include "core/graph.h"

#define ICL_UNPAREN(...) __VA_ARGS__
#ifdef ICL_WITH_CUDA
#define ICL_DISPATCH(g, fn, ...) \
  ((g).on_cuda() ? ::icl::cuda::fn((g).cuda(), __VA_ARGS__) : ::icl::kern::fn(__VA_ARGS__))
#define ICL_DISPATCH_GRAD(g, fn, args, cpu_args)                 \
  ((g).on_cuda() ? ::icl::cuda::fn((g).cuda(), ICL_UNPAREN args) \
                 : ::icl::kern::fn(ICL_UNPAREN args, ICL_UNPAREN cpu_args))
#else
#define ICL_DISPATCH(g, fn, ...) ::icl::kern::fn(__VA_ARGS__)
#define ICL_DISPATCH_GRAD(g, fn, args, cpu_args) \
  ::icl::kern::fn(ICL_UNPAREN args, ICL_UNPAREN cpu_args)
#endif
