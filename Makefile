# gazette: a Gemini + Gopher capsule server.
#
#   make            build build/gazette
#   make run        serve content/ on gemini://localhost:1965/ and gopher://localhost:7070/
#   make test       build and run every test (unit, integration, fuzz corpora)
#   make check-asan the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each (clang)
#   make bench      the benchmark (tests/bench/)
#   make install    PREFIX=/usr/local DESTDIR=

CC       ?= cc
PKGS     := openssl libevent libmagic libidn2
# Debian packages that provide $(PKGS) and the tools the build and tests use.
DEB_PKGS := pkg-config libssl-dev libevent-dev libmagic-dev libidn2-dev

BUILD    ?= build
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -std=c17 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
# Recursive (=) so that pkg-config runs after `deps` has installed what it needs.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) $(CFLAGS) $(SAN)
ALL_LDFLAGS = $(LDFLAGS) $(SAN)

SRCS      := $(wildcard src/*.c)
LIB_OBJS  := $(patsubst src/%.c,$(BUILD)/%.o,$(filter-out src/main.c,$(SRCS)))
TEST_SRCS := $(wildcard tests/*.c tests/unit/*.c tests/integration/*.c tests/fuzz/fuzz_*.c)
TEST_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

PREFIX   ?= /usr/local
TEST_ARGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps run test check-asan fuzz bench clean install uninstall
all: $(BUILD)/gazette

# A fresh Debian machine has a compiler and make, not the libraries: install them.
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists $(PKGS); then \
	  echo "gazette: installing build dependencies: $(DEB_PKGS)"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -q && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); \
	fi

$(BUILD)/gazette: $(BUILD)/main.o $(LIB_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -c -o $@ $<

$(BUILD)/gazette-test: $(TEST_OBJS) $(LIB_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

run: $(BUILD)/gazette
	@echo "gazette: serving content/ on gemini://localhost:1965/ and gopher://localhost:7070/"
	./$(BUILD)/gazette -f -c server/gazette.conf -o gopher_port=7070

test: $(BUILD)/gazette $(BUILD)/gazette-test
	GAZETTE=$(BUILD)/gazette ./$(BUILD)/gazette-test $(TEST_ARGS)

# The sanitizer build lives in its own folder so it never mixes with the normal one.
check-asan:
	$(MAKE) BUILD=$(BUILD)-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# libFuzzer needs clang; each target runs under ASan and UBSan for FUZZ_SECONDS.
FUZZ_BUILD := build-fuzz
fuzz: | deps
	@mkdir -p $(FUZZ_BUILD)
	@set -e; for f in $(FUZZ_SRCS); do \
	  t=$$(basename $$f .c); t=$${t#fuzz_}; \
	  clang $(WARN) -D_GNU_SOURCE -DFUZZ_LIBFUZZER -Isrc -Itests $(PKG_CFLAGS) -O1 -g \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $(FUZZ_BUILD)/fuzz-$$t $$f $(filter-out src/main.c,$(SRCS)) $(PKG_LIBS); \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
	    $(FUZZ_BUILD)/corpus-$$t tests/fuzz/corpus/$$t; \
	done

$(BUILD)/archive-bench: $(BUILD)/tests/bench/archive_bench.o $(LIB_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

clean:
	rm -rf build build-*

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d $(BUILD)/tests/*/*.d)
