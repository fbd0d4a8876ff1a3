/* SPDX-License-Identifier: MIT */
/* core/lines.c — a line sink that writes to a stream, shared by the stats printers.
 *
 * The printers build each line and hand it to an rp_line_fn; printing to a FILE* is that same
 * function with this sink, so both forms say exactly the same thing. A stream error is kept
 * (the first one) and the remaining lines are skipped, so a full disk gives one clear status.
 */
#include <errno.h>

#include "internal.h"

void rp__line_to_file(const char *line, void *ctx) {
    rp__file_sink_t *sink = ctx;
    if (sink->error != 0) return;
    if (fputs(line, sink->out) == EOF || fputc('\n', sink->out) == EOF || fflush(sink->out) == EOF)
        sink->error = errno != 0 ? errno : EIO;
}

rp_status_t rp__file_sink_status(const rp__file_sink_t *sink, const char *what) {
    if (sink->error == 0) return RP_OK;
    return rp__fail_os(sink->error, "%s: cannot write to the stream", what);
}
