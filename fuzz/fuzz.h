/*
 * fuzz.h - the entry point every fuzz target defines (libFuzzer's)
 *
 * Built with clang and -DBOOTD_FUZZ=ON, each target is a libFuzzer
 * program; otherwise it is linked with replay.c, which feeds it the files
 * of its corpus so that the seeds run as a regression test under ctest.
 */
#ifndef BOOTD_FUZZ_H
#define BOOTD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: the fuzzer reports it as a crash. */
void	fuzz_fail(const char *what) __attribute__((noreturn));

#endif /* BOOTD_FUZZ_H */
