/*
 * rhythm_harness.c - host driver for the C rhythm stage (tests only).
 *
 * stdin:  int32 n, then n beats of int32 r, cls, pre
 * stdout: int32 m, then m events of int32 kind, t, a, b, c, d, e, f
 * With the argument "report": each beat's class goes through
 * ecg_rhythm_reported_class before it is pushed (as the firmware does), and
 * the n reported classes (int32) follow the events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecg_rhythm.h"

int main(int argc, char **argv)
{
    const int report = argc > 1 && strcmp(argv[1], "report") == 0;
    int32_t n;
    if (fread(&n, 4, 1, stdin) != 1 || n < 0) return 5;
    int32_t *b = malloc((size_t)n * 12 + 12);
    ecg_rhythm_event_t *ev = malloc(sizeof(ecg_rhythm_event_t) * ((size_t)n * ECG_RH_MAX_EVENTS + 1));
    int32_t *cls = malloc((size_t)n * 4 + 4);
    if (!b || !ev || !cls) return 3;
    if (fread(b, 12, (size_t)n, stdin) != (size_t)n) return 5;
    static ecg_rhythm_t rh;
    ecg_rhythm_init(&rh);
    int32_t m = 0;
    for (int32_t k = 0; k < n; ++k) {
        cls[k] = report ? ecg_rhythm_reported_class(&rh, b[3 * k + 1]) : b[3 * k + 1];
        m += ecg_rhythm_push(&rh, b[3 * k], cls[k], b[3 * k + 2], &ev[m]);
    }
    if (fwrite(&m, 4, 1, stdout) != 1 || fwrite(ev, sizeof *ev, (size_t)m, stdout) != (size_t)m) return 4;
    if (report && fwrite(cls, 4, (size_t)n, stdout) != (size_t)n) return 4;
    free(cls);
    free(ev);
    free(b);
    return 0;
}
