/* SPDX-License-Identifier: MIT */
/* locked_page.c — allocate a locked page, check it, wipe and free it. */
#include <rampart.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    bool locked = false;
    char *key = rp_pages_allocate_locked(rp_pages_os(), 32, &locked);
    if (key == NULL) return fprintf(stderr, "%s\n", rp_last_error()->message), 1;
    memcpy(key, "correct horse battery staple", 29);
    printf("rampart %s: %zu-byte page at %p, locked: %s\n", rp_version(), rp_page_size(), (void *)key, locked ? "yes" : "no");
    /* A remedy comes with limit and permission failures only; other lock errors have none. */
    const rp_error_t *e = rp_last_error();
    if (!locked) printf("why: %s\nfix: %s\n", e->message, e->remedy ? e->remedy : "(none known)");
    return rp_pages_free_locked(rp_pages_os(), key, 32) == RP_OK ? 0 : 1;
}
