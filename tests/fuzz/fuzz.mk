# SPDX-License-Identifier: MIT
# tests/fuzz/fuzz.mk — the libFuzzer harnesses; included by the Makefile.
#
#   make fuzz-build     build them (clang, -fsanitize=fuzzer,address,undefined)
#   make fuzz           run each for FUZZ_SECONDS (default 600); crashes are
#                       saved into tests/fuzz/regressions/<target>/
#   make fuzz-seeds     rewrite the checkpoint seed corpus
# `make test` runs each for FUZZ_TEST_SECONDS (default 20) through
# tests/run-all.sh, after replaying every regression and seed once.

FUZZ_BUILD        ?= build/fuzz
FUZZ_CC           ?= clang
FUZZ_SECONDS      ?= 600
FUZZ_TEST_SECONDS ?= 20
FUZZ_TARGETS      := $(patsubst tests/fuzz/fuzz_%.c,%,$(filter-out tests/fuzz/fuzz_hooks.c,$(wildcard tests/fuzz/fuzz_*.c)))

# The project's sources are compiled again with clang, instrumented for
# coverage (fuzzer-no-link) and sanitized; FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
# turns on the fuzzing-only hooks (h5io.h: checksums are not enforced).
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -pthread $(WARN) \
               -Isim-adapter -Isteerd $(addprefix -I,$(STEERD_DIRS)) -Itests/fuzz $(PKG_CFLAGS) -g -O1 $(FUZZ_SAN) -MMD -MP
FUZZ_OBJ    := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(ADAPTER_SRC) $(STEERD_SRC))
FUZZ_LIB    := $(FUZZ_BUILD)/libfuzz-core.a
FUZZ_BIN    := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_ENV     = FUZZ_BUILD=$(FUZZ_BUILD)

.PHONY: fuzz fuzz-build fuzz-seeds

fuzz-build: $(FUZZ_BIN)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_hooks.c tests/fuzz/fuzz_common.h $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< tests/fuzz/fuzz_hooks.c $(FUZZ_LIB) \
	  -pthread $(LIBS) -o $@

$(FUZZ_BUILD)/make_checkpoint_seeds: tests/fuzz/make_checkpoint_seeds.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $< $(FUZZ_LIB) -pthread $(LIBS) -o $@

fuzz-seeds: deps $(FUZZ_BUILD)/make_checkpoint_seeds
	@rm -f tests/fuzz/corpus/checkpoint/*.h5
	$(FUZZ_BUILD)/make_checkpoint_seeds tests/fuzz/corpus/checkpoint

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@$(FUZZ_ENV) tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

-include $(wildcard $(FUZZ_OBJ:.o=.d))
