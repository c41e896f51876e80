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
#include <stdarg.h>

static inline int jam_AVERROR(int e) { return AVERROR(e); }
static inline int jam_AVERROR_EOF(void) { return AVERROR_EOF; }
static inline int jam_AVERROR_EAGAIN(void) { return AVERROR(EAGAIN); }
static inline int jam_AVERROR_INVALIDDATA(void) { return AVERROR_INVALIDDATA; }
static inline int64_t jam_AV_NOPTS_VALUE(void) { return AV_NOPTS_VALUE; }
static inline int jam_AVERROR_DECODER_NOT_FOUND(void) { return AVERROR_DECODER_NOT_FOUND; }

// FFmpeg's log lines, routed to JAM instead of standard error (Sources/JAMVideo/FFmpegLog.swift).
// av_log's callback takes a va_list, which Swift cannot receive; this forwarder formats the line
// (with its "[avi @ 0x…]" prefix) and hands it to jam_av_log_line, which JAMVideo defines
// (@_cdecl). No state here: statics in this header are not emitted for Swift.
void jam_av_log_line(int level, const char *line);
static inline void jam_av_log_forward(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > AV_LOG_WARNING) return;
    char line[1024];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, (int)sizeof line, &print_prefix);
    jam_av_log_line(level, line);
}
static inline void jam_av_log_route(void) { av_log_set_callback(jam_av_log_forward); }
#endif
