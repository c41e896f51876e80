// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, header in the openblas-pthread folder).
#ifndef JAM_CBLAS_SHIM_H
#define JAM_CBLAS_SHIM_H
#include <cblas.h>
#endif
