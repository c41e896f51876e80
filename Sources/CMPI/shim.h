// Open MPI (Debian's libopenmpi-dev) for Swift. MPI's handles — MPI_COMM_WORLD, MPI_FLOAT,
// MPI_SUM, MPI_IN_PLACE — are macros that cast the address of a library global, which Swift
// cannot import; each is re-exposed here as a static inline function.
#ifndef JAM_CMPI_SHIM_H
#define JAM_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm jam_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype jam_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype jam_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype jam_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype jam_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op jam_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op jam_mpi_max(void) { return MPI_MAX; }
static inline void *jam_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int jam_mpi_success(void) { return MPI_SUCCESS; }
static inline int jam_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int jam_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
