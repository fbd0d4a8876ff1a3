/* SPDX-License-Identifier: MIT */
/* os/inject_unsupported.c — system calls made by another process, on platforms without Linux's
 * ptrace (issue 15): every function says unsupported, so `rampart lock PID` refuses clearly. */
#include "os/os.h"

int rp__os_inject_syscall(int pid, long nr, const unsigned long args[6], long *result, rp__os_inject_info_t *info) {
    (void)pid; (void)nr; (void)args; (void)result;
    if (info != NULL) {
        info->step = "check the platform";
        info->threads = info->restarted = 0;
    }
    return rp__os_err_unsupported();
}
int rp__os_run_traced(char *const argv[], bool follow, long nr, const unsigned long args[6], rp__os_traced_fn on_call,
                      void *ctx, int *exec_error, int *wait_status) {
    (void)argv; (void)follow; (void)nr; (void)args; (void)on_call; (void)ctx; (void)wait_status;
    *exec_error = 0;
    return rp__os_err_unsupported();
}
long rp__os_inject_nr_mlockall(void) { return -1; }
long rp__os_inject_nr_munlockall(void) { return -1; }
int rp__os_set_lock_limit(int pid, size_t soft, size_t hard) {
    (void)pid; (void)soft; (void)hard;
    return rp__os_err_unsupported();
}
int rp__os_trace_check(int pid, int *yama_scope, int *tracer, bool *other_user) {
    (void)pid;
    *yama_scope = -1;
    *tracer = 0;
    *other_user = false;
    return rp__os_err_unsupported();
}
