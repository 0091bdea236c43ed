# libFuzzer targets for the parsers of untrusted input (tests/fuzz/fuzz_<name>.c), included from
# the main Makefile. `make fuzz` runs each for FUZZ_SECONDS (or until FUZZ_RUNS executions, when
# given and reached first: `make fuzz FUZZ_SECONDS=3600 FUZZ_RUNS=10000000`), `make fuzz-smoke`
# for FUZZ_SMOKE_SECONDS, one at a time, on a copy of tests/fuzz/corpus/<name>/ in
# build/fuzz/corpus (the tree is never written to); crashes land in build/fuzz/artifacts/<name>/.
# clang 14 is the one whose compiler-rt (libclang-rt-14-dev, install-deps.sh) has libFuzzer.

FUZZ_CC            ?= clang-14
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_RUNS          ?= -1
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Iinclude -I$(BUILD) \
	-I$(BUILD)/gen -Iuser -Itests/fuzz

FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS  := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
# The agent's user-space code, instrumented once and archived: a target links what it uses.
# A target that #includes a .c (to reach its static parser) defines that file's symbols
# itself, so the archive's copy is never pulled in.
FUZZ_OBJS  := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_LIB   := $(BUILD)/fuzz/libobsbpf-fuzz.a

# -max_len per target: a bound near what the parser sees in one call (a 128-byte head buffer, a
# scrape or log line of a few KiB); longer inputs only slow the search down.
FUZZ_MAX_LEN := http_parse:160 trace_parse:160 expo:4096 logs:2048 config:4096 forward:1024 \
	otlp_http:2048 grpc:4096 ctl_server:1024 ctl_client:4096 accept:512 h2:4096 tls:4096

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS)

$(BUILD)/fuzz/obj/%.o: %.c $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB) $(USER_SRCS) $(USER_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_LIB) -o $@ $(LDLIBS) -lpthread

fuzz: $(FUZZ_BINS)
	@FUZZ_MAX_LEN="$(FUZZ_MAX_LEN)" FUZZ_RUNS="$(FUZZ_RUNS)" \
		tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_MAX_LEN="$(FUZZ_MAX_LEN)" FUZZ_RUNS=-1 \
		tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)
