// HDF5 macros that Swift cannot import (they expand to H5open() calls or casts), as functions.
#ifndef JAM_CHDF5_SHIM_H
#define JAM_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t jam_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t jam_H5S_ALL(void) { return H5S_ALL; }
static inline unsigned jam_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned jam_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned jam_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned jam_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline hid_t jam_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t jam_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t jam_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t jam_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t jam_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline size_t jam_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hsize_t jam_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }

static inline hid_t jam_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t jam_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t jam_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t jam_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t jam_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t jam_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t jam_H5T_C_S1(void) { return H5T_C_S1; }

/// Silences HDF5's own error-stack printing; JAM turns return codes into Swift errors instead.
static inline void jam_H5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
