/* SPDX-License-Identifier: MIT */
/* core/lines.c — line sinks shared by the stats printers: to a stream, and to stderr raw.
 *
 * The printers build each line and hand it to an rp_line_fn; printing to a FILE* is that same
 * function with this sink, so both forms say exactly the same thing. A stream error is kept
 * (the first one) and the remaining lines are skipped, so a full disk gives one clear status.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

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

/* Writes through the platform's raw stderr write, with no stdio and no allocation: for reports
 * made inside malloc under the preload and from destructors at exit (RAMPART_SHOW_STATS). */
void rp__line_to_stderr(const char *line, void *ctx) {
    (void)ctx;
    rp__os_write_stderr(line, strlen(line));
    rp__os_write_stderr("\n", 1);
}
