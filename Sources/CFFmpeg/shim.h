// FFmpeg macros that Swift cannot import, as functions.
#ifndef JAM_CFFMPEG_SHIM_H
#define JAM_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
#include <errno.h>

static inline int jam_AVERROR(int e) { return AVERROR(e); }
static inline int jam_AVERROR_EOF(void) { return AVERROR_EOF; }
static inline int jam_AVERROR_EAGAIN(void) { return AVERROR(EAGAIN); }
static inline int jam_AVERROR_INVALIDDATA(void) { return AVERROR_INVALIDDATA; }
static inline int64_t jam_AV_NOPTS_VALUE(void) { return AV_NOPTS_VALUE; }
static inline int jam_AVERROR_DECODER_NOT_FOUND(void) { return AVERROR_DECODER_NOT_FOUND; }
#endif
