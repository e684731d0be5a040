#pragma once
// Data parallelism over MPI ranks: the process's place in the job, and the one reduction training
// needs.
//
// A process is a rank of a job when an MPI launcher started it (Open MPI's OMPI_COMM_WORLD_SIZE,
// or PMI_SIZE, greater than 1): world() then initialises MPI once and returns its rank and size,
// and MPI is finalised at exit. Started otherwise it is {0, 1} and MPI is never touched, so a
// build with MPI runs alone exactly as one without. A build without MPI (ICL_MPI=OFF, or no
// libopenmpi-dev) started by a launcher is an icl::Error saying what to install.
//
// sum_in_rank_order: every rank's n floats gathered to rank 0, added there in rank order,
//   s = ((x_0 + x_1) + x_2) + ...,
// and s sent back to every rank. The order is fixed, so R ranks give the same bits as one process
// adding the same R parts in turn (train/accumulate.h), whatever the network did.
#include <cstdint>
#include <string>

namespace icl::mpi {

struct World {
  int rank = 0, size = 1;
  std::string backend = "none";  // "mpi" when size > 1
};

bool built();  // this build has MPI
const World& world();

// s = x_0 + x_1 + ... in rank order, on every rank (in place). size 1: nothing.
void sum_in_rank_order(float* data, int64_t n);
void sum_in_rank_order(double* data, int64_t n);

}  // namespace icl::mpi
