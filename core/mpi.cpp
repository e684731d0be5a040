#include "core/mpi.h"

#include <charconv>
#include <cstdlib>
#include <vector>

#include "core/error.h"

#ifdef ICL_HAVE_MPI
// The C API only: mpi.h in a C++ file otherwise pulls in the deprecated C++ bindings, whose
// library (libmpi_cxx) is not linked.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace icl::mpi {

namespace {

// The job's size from the launcher's environment (1 when not started by one).
int launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* s = std::getenv(v);
    if (!s) continue;
    int n = 0;
    const std::string t = s;
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (ec != std::errc() || p != t.data() + t.size() || n < 1)
      fail("{}: expected a positive integer from the MPI launcher, got '{}'", v, t);
    return n;
  }
  return 1;
}

#ifdef ICL_HAVE_MPI
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) fail("MPI: {} failed (error {})", what, rc);
}

template <class T>
void sum_ordered(T* data, int64_t n, MPI_Datatype type) {
  const World& w = world();
  if (w.size == 1 || n == 0) return;
  if (n > INT32_MAX / w.size) fail("MPI: {} values are too many to reduce in one call", n);
  std::vector<T> all(w.rank == 0 ? size_t(n) * size_t(w.size) : 0);
  check(MPI_Gather(data, int(n), type, all.data(), int(n), type, 0, MPI_COMM_WORLD), "gather");
  if (w.rank == 0)
    for (int r = 1; r < w.size; ++r) {
      const T* x = all.data() + size_t(r) * size_t(n);
      for (int64_t j = 0; j < n; ++j) data[j] += x[j];
    }
  check(MPI_Bcast(data, int(n), type, 0, MPI_COMM_WORLD), "broadcast");
}
#endif

}  // namespace

bool built() {
#ifdef ICL_HAVE_MPI
  return true;
#else
  return false;
#endif
}

const World& world() {
  static const World w = [] {
    World out;
    if (launcher_size() == 1) return out;
#ifdef ICL_HAVE_MPI
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) check(MPI_Init(nullptr, nullptr), "MPI_Init");
    std::atexit([] {
      int done = 0;
      MPI_Finalized(&done);
      if (!done) MPI_Finalize();
    });
    check(MPI_Comm_rank(MPI_COMM_WORLD, &out.rank), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &out.size), "MPI_Comm_size");
    out.backend = out.size > 1 ? "mpi" : "none";
    return out;
#else
    fail(
        "started by an MPI launcher ({} ranks), but this build has no MPI: install "
        "libopenmpi-dev (scripts/install-deps.sh) and rebuild",
        launcher_size());
#endif
  }();
  return w;
}

void sum_in_rank_order(float* data, int64_t n) {
#ifdef ICL_HAVE_MPI
  sum_ordered(data, n, MPI_FLOAT);
#else
  (void)data, (void)n;
#endif
}

void sum_in_rank_order(double* data, int64_t n) {
#ifdef ICL_HAVE_MPI
  sum_ordered(data, n, MPI_DOUBLE);
#else
  (void)data, (void)n;
#endif
}

}  // namespace icl::mpi
