# obsbpf: `make` builds build/obsbpf; `make test` installs what it needs, builds and runs every test;
# `make demo` runs the agent on a demo pod; `make bench` measures. See README.md.

CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
BUILD    := build
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

PKGS     := libbpf libelf zlib libmicrohttpd libcurl json-c msgpack nettle libprotobuf-c libnghttp2 openssl
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Iuser -I$(BUILD) -I$(BUILD)/gen
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -lelf -lz -lmicrohttpd -lcurl -ljson-c -lmsgpackc -lnettle -lprotobuf-c -lnghttp2 -lssl -lcrypto) -lhttp_parser -lm
# The release (obsbpf --version, the User-Agent, obsbpf_build_info) and the commit it was built
# from ("unknown" outside a git checkout, "-dirty" with uncommitted changes).
VERSION  ?= 0.1.0
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet HEAD -- 2>/dev/null && echo -dirty)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.bpf.h include/obsbpf/*.h)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Ivmlinux -Iinclude

# protobuf-c code generated from our .proto schemas (user/**/proto/*.proto) into build/gen/.
PROTOS    := $(shell find user -path '*/proto/*.proto' | sort)
GEN_SRCS  := $(patsubst %.proto,$(BUILD)/gen/%.pb-c.c,$(notdir $(PROTOS)))
GEN_HDRS  := $(GEN_SRCS:.c=.h)
USER_SRCS := $(shell find user -name '*.c' | sort) $(GEN_SRCS)
USER_HDRS := $(shell find user include -name '*.h') $(GEN_HDRS)
LIB_SRCS  := $(filter-out user/main.c,$(USER_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
UNIT_ASAN := $(patsubst tests/unit/%.c,$(BUILD)/unit-asan/%,$(UNIT_SRCS))
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.DELETE_ON_ERROR: # a failed step leaves no half-written output behind
.PHONY: FORCE all deps format format-check test unit bpf-unit verifier-budget integration test-kernels kernel-smoke soak soak-smoke demo bench vmlinux docs clean
all: $(BUILD)/obsbpf

deps:
	@deploy/install-deps.sh

# --- BPF: one object linked from every bpf/*.bpf.c, one skeleton -----------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) vmlinux/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/obsbpf.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(BUILD)/obsbpf.skel.h: $(BUILD)/obsbpf.bpf.o
	$(BPFTOOL) gen skeleton $< name obsbpf_bpf > $@

# Feature probes (user/bpf/variant.c): small programs loaded one by one to learn what the
# kernel's verifier allows each program type.
$(BUILD)/bpf/features.bpf.o: bpf/features/helpers.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/features.skel.h: $(BUILD)/bpf/features.bpf.o
	$(BPFTOOL) gen skeleton $< name obsbpf_features > $@

SKELS := $(BUILD)/obsbpf.skel.h $(BUILD)/features.skel.h

# --- user space ------------------------------------------------------------------------------
# build/gen/version_gen.h is rewritten only when the version or commit changed, so that only
# user/util/version.c is rebuilt then.
$(BUILD)/gen/version_gen.h: FORCE
	@mkdir -p $(@D)
	@printf '#define OBSBPF_VERSION "%s"\n#define OBSBPF_COMMIT "%s"\n' '$(VERSION)' '$(COMMIT)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:
GEN_HDRS  += $(BUILD)/gen/version_gen.h

vpath %.proto $(sort $(dir $(PROTOS)))
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto
	@mkdir -p $(@D)
	protoc-c --c_out=$(@D) -I$(<D) $<

# Each source compiled once per tree (build/obj, and build/obj-asan for ASan/UBSan), with
# dependency files (-MMD -MP): a header change rebuilds exactly what includes it. Everything but
# main.c goes into a static library that the agent, the unit tests, the drivers and the
# benchmarks link. Generated headers (skeletons, protobuf-c) come first: before the first
# build no .d file knows who includes them.
OBJ        := $(BUILD)/obj
OBJ_ASAN   := $(BUILD)/obj-asan
DEPFLAGS    = -MMD -MP
obj_of      = $(patsubst %.c,$(1)/%.o,$(patsubst $(BUILD)/%,%,$(2)))
LIB_OBJS   := $(call obj_of,$(OBJ),$(LIB_SRCS))
LIB_OBJS_ASAN := $(call obj_of,$(OBJ_ASAN),$(LIB_SRCS))
LIB        := $(BUILD)/libobsbpf.a
LIB_ASAN   := $(BUILD)/libobsbpf-asan.a

$(OBJ)/gen/%.o: $(BUILD)/gen/%.c | $(SKELS) $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@
$(OBJ_ASAN)/gen/%.o: $(BUILD)/gen/%.c | $(SKELS) $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(DEPFLAGS) -c $< -o $@
# Tests and drivers reach the agent's headers as "area/file.h" (-Iuser), like the agent itself.
$(OBJ)/tests/%.o: tests/%.c | $(SKELS) $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@
$(OBJ_ASAN)/tests/%.o: tests/%.c | $(SKELS) $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(DEPFLAGS) -c $< -o $@
$(OBJ)/%.o: %.c | $(SKELS) $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@
$(OBJ_ASAN)/%.o: %.c | $(SKELS) $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(LIB_ASAN): $(LIB_OBJS_ASAN)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obsbpf: $(OBJ)/user/main.o $(LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lpthread

$(BUILD)/asan/obsbpf: $(OBJ_ASAN)/user/main.o $(LIB_ASAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS) -lpthread

# --- tests ----------------------------------------------------------------------------------
$(BUILD)/unit/%: $(OBJ)/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcmocka -lpthread

$(BUILD)/unit-asan/%: $(OBJ_ASAN)/tests/unit/%.o $(LIB_ASAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS) -lcmocka -lpthread

# Test drivers: programs the integration tests run against parts of the agent (ASan/UBSan).
DRIVER_SRCS := $(wildcard tests/drivers/*.c)
DRIVER_BINS := $(patsubst tests/drivers/%.c,$(BUILD)/drivers/%,$(DRIVER_SRCS))
$(BUILD)/drivers/%: $(OBJ_ASAN)/tests/drivers/%.o $(LIB_ASAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS) -lpthread

# The binaries' objects stay (make would delete them as intermediates and rebuild them).
.PRECIOUS: $(OBJ)/%.o $(OBJ_ASAN)/%.o $(OBJ)/tests/%.o $(OBJ_ASAN)/tests/%.o
-include $(shell find $(BUILD)/obj $(BUILD)/obj-asan -name '*.d' 2>/dev/null)

unit: $(UNIT_BINS) $(UNIT_ASAN)
	@tests/run-unit.sh $(UNIT_BINS) $(UNIT_ASAN)

# BPF unit tests (tests/bpf): the real object's tc programs under BPF_PROG_RUN with crafted
# frames, and sk_msg on crafted sends, on loopback connections made in a scratch cgroup. Root
# only: skipped otherwise.
BPF_UNIT_SRCS := $(wildcard tests/bpf/test_*.c)
BPF_UNIT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/bpf-unit/%,$(BPF_UNIT_SRCS))
$(BUILD)/bpf-unit/%: $(OBJ)/tests/bpf/%.o $(OBJ)/tests/bpf/fixture.o $(OBJ)/tests/bpf/cases.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcmocka -lpthread

bpf-unit: $(BPF_UNIT_BINS)
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "bpf-unit: skipped: needs root (BPF_PROG_RUN, a scratch cgroup, TCP_REPAIR)"; \
	else \
		UNIT_NAME=bpf-unit tests/run-unit.sh $(BPF_UNIT_BINS); \
	fi

integration: $(BUILD)/obsbpf $(BUILD)/asan/obsbpf $(DRIVER_BINS)
	@tests/integration/run.sh

# Debian's own 6.1 and 6.12 kernels under qemu (tests/kernels/, packages: install-deps.sh
# --kernels): the kernel x test table (the whole suite with KVM, a subset under TCG), and the
# smoke run of probe + two tests on both kernels.
test-kernels: deps
	@$(MAKE) --no-print-directory $(BUILD)/obsbpf $(BUILD)/asan/obsbpf $(DRIVER_BINS)
	@tests/kernels/matrix.sh

kernel-smoke: deps
	@$(MAKE) --no-print-directory $(BUILD)/obsbpf $(BUILD)/asan/obsbpf $(DRIVER_BINS)
	@tests/kernels/smoke.sh

# Every BPF program within 150k verified instructions, built by clang 14, 16 and 19.
verifier-budget: $(BUILD)/obsbpf
	@tests/verifier_budget.sh

test: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory bpf-unit
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory verifier-budget
	@$(MAKE) --no-print-directory kernel-smoke
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory soak-smoke

# Mixed traffic through two attached pods for SOAK_MINUTES (default 10), every stream checked,
# RSS, fds and map fill sampled: the report (build/soak/report.txt) gives each one's slope.
# make test runs 40 s of it.
soak: deps
	@$(MAKE) --no-print-directory all
	@tests/soak/soak.sh

soak-smoke: $(BUILD)/obsbpf
	@echo "== soak (smoke: 40 s)"
	@SOAK_MINUTES=0.67 SOAK_SAMPLE=5 tests/soak/soak.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh

$(BUILD)/bench/%: $(OBJ)/tests/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lpthread

# The sk_msg hook by itself, without obsbpf: the floor under injection's cost (trace.sh).
$(BUILD)/bench/skmsg_floor.bpf.o: tests/bench/skmsg_floor.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/skmsg_floor.skel.h: $(BUILD)/bench/skmsg_floor.bpf.o
	$(BPFTOOL) gen skeleton $< name skmsg_floor_bpf > $@

$(BUILD)/bench/skmsg_floor: tests/bench/skmsg_floor.c $(BUILD)/bench/skmsg_floor.skel.h
	$(CC) $(CFLAGS) -I$(BUILD)/bench $< -o $@ -lbpf -lelf -lz

# The uprobes by themselves, without obsbpf: the floor under reading TLS at the library (tls.sh).
$(BUILD)/bench/uprobe_floor.bpf.o: tests/bench/uprobe_floor.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/uprobe_floor.skel.h: $(BUILD)/bench/uprobe_floor.bpf.o
	$(BPFTOOL) gen skeleton $< name uprobe_floor_bpf > $@

$(BUILD)/bench/uprobe_floor: tests/bench/uprobe_floor.c $(BUILD)/bench/uprobe_floor.skel.h
	$(CC) $(CFLAGS) -I$(BUILD)/bench $< -o $@ -lbpf -lelf -lz

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS) $(BUILD)/bench/skmsg_floor $(BUILD)/bench/uprobe_floor
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	@tests/bench/run.sh

# The C sources in .clang-format's style (kernel/libbpf: tabs, Linux braces); vmlinux.h is
# generated and left alone. format-check runs in make test.
CLANG_FORMAT ?= clang-format-14
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^vmlinux/')
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: $(words $(FORMAT_SRCS)) files formatted"

# Regenerates the committed vmlinux.h from this kernel's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

docs: $(BUILD)/obsbpf
	$(BUILD)/obsbpf options-markdown > docs/options.md

clean:
	rm -rf $(BUILD)
# libFuzzer targets (make fuzz, make fuzz-smoke)
include tests/fuzz/fuzz.mk
