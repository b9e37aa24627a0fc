// Lets host headers name cudaStream_t without including the CUDA runtime, so the same
// declarations compile in builds with and without the CUDA backend. (The typedef is
// identical to the one in the toolkit's driver_types.h; repeating a typedef is allowed.)
#pragma once

typedef struct CUstream_st* cudaStream_t;
