# gazette: a Gemini + Gopher capsule server.
#
#   make            build build/gazette
#   make run        serve content/ on gemini://localhost:1965/ and gopher://localhost:7070/
#   make test       build and run every test (unit, integration, fuzz corpora)
#   make check-asan the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each (clang)
#   make analyze    clang's static analyzer and cppcheck; fails on any finding
#   make bench      the benchmark (tests/bench/)
#   make install    PREFIX=/usr/local DESTDIR=

CC       ?= cc
PKGS     := openssl libevent libmagic libidn2 sqlite3
# Debian packages that provide $(PKGS) and the tools the build and tests use.
DEB_PKGS := pkg-config libssl-dev libevent-dev libmagic-dev libidn2-dev libsqlite3-dev

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
# make install / uninstall. DESTDIR is a staging root (packages, tests); the
# paths below are where the files end up on the running system.
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The capsule of an installed gazette: content/ (the root) and certs/ (keys).
GAZETTEDIR  ?= /var/gazette
INSTALL     ?= install
# The binary's default configuration file (gazette -c); main.c's own default
# is /etc/gazette.conf, which this repeats unless SYSCONFDIR changes.
GAZETTE_CPPFLAGS = -DGAZETTE_CONF='"$(SYSCONFDIR)/gazette.conf"'
ALL_CFLAGS += $(GAZETTE_CPPFLAGS)
# server/ names the default paths; the installed copies name the chosen ones.
INSTALL_SED = sed -e 's|/usr/local/sbin/gazette|$(BINDIR)/gazette|g' \
  -e 's|/etc/gazette\.conf|$(SYSCONFDIR)/gazette.conf|g' -e 's|/var/gazette|$(GAZETTEDIR)|g'
TEST_ARGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps test-deps run test check-asan fuzz bench clean install uninstall
all: $(BUILD)/gazette

# A fresh Debian machine has a compiler and make, not the libraries: install them.
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists $(PKGS); then \
	  echo "gazette: installing build dependencies: $(DEB_PKGS)"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -q && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); \
	fi

# Programs some tests run, as program:package. make test installs the missing
# ones when it can (as root or through sudo; INSTALL_TEST_TOOLS=no to never);
# a test whose program is still missing is counted as skipped, with the reason.
TEST_TOOLS := xmllint:libxml2-utils curl:curl lynx:lynx mandoc:mandoc \
  systemd-analyze:systemd kill:procps haproxy:haproxy
INSTALL_TEST_TOOLS ?= yes
test-deps:
	@missing=; for t in $(TEST_TOOLS); do \
	  PATH="$$PATH:/usr/sbin:/sbin" command -v $${t%%:*} >/dev/null 2>&1 || \
	    missing="$$missing $${t#*:}"; \
	done; \
	if [ -n "$$missing" ] && [ "$(INSTALL_TEST_TOOLS)" = yes ]; then \
	  echo "gazette: installing test tools:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  { $$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -q --no-install-recommends $$missing; } || \
	    echo "gazette: could not install$$missing: the tests that need them are skipped"; \
	elif [ -n "$$missing" ]; then \
	  echo "gazette: not installed:$$missing: the tests that need them are skipped"; \
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

# gazette with the test hooks (tests/hooks/attempt.h): a worker tries, on a
# test's request, what its confinement must refuse. For the tests only: never
# installed. Only the files that hold a hook are compiled again.
HOOKS_CFLAGS = -DGAZETTE_TEST_HOOKS -Itests
$(BUILD)/hooks/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(HOOKS_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/hooks/attempt.o: tests/hooks/attempt.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(HOOKS_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/gazette-hooks: $(BUILD)/main.o $(filter-out $(BUILD)/gemini.o,$(LIB_OBJS)) \
    $(BUILD)/hooks/gemini.o $(BUILD)/hooks/attempt.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# gazette says where it serves once it listens ("gazette started: ..."); Ctrl-C
# stops it. RUN_ARGS adds options: make run RUN_ARGS="-o gemini_port=1966".
# server/run.sh adds the guestbook example where fcgiwrap is installed.
RUN_ARGS ?=
run: $(BUILD)/gazette
	sh server/run.sh ./$(BUILD)/gazette -o gopher_port=7070 -o state_dir=state $(RUN_ARGS)

test: $(BUILD)/gazette $(BUILD)/gazette-hooks $(BUILD)/gazette-test test-deps
	GAZETTE=$(BUILD)/gazette GAZETTE_HOOKS=$(BUILD)/gazette-hooks \
	  ./$(BUILD)/gazette-test $(TEST_ARGS)

# The sanitizer build lives in its own folder so it never mixes with the normal one.
check-asan:
	$(MAKE) BUILD=$(BUILD)-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# libFuzzer needs clang; each target runs under ASan and UBSan for FUZZ_SECONDS.
# FUZZ_TARGETS picks some (make fuzz FUZZ_TARGETS="url config"); FUZZ_FLAGS
# adds libFuzzer options. src/ is compiled once, then linked to each target.
# Kept in FUZZ_BUILD: corpus-NAME/ (what a run learnt; the next run goes on
# from it), fuzz-NAME.log, and crash-NAME-* (each one a fix, and a file in
# tests/fuzz/corpus/NAME/ that make test replays). Fails if any target crashed.
FUZZ_BUILD ?= $(BUILD)-fuzz
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_FLAGS ?=
FUZZ_CFLAGS = $(WARN) -D_GNU_SOURCE -DFUZZ_LIBFUZZER -Isrc -Itests $(PKG_CFLAGS) -O1 -g \
  -fno-omit-frame-pointer -fno-sanitize-recover=all
fuzz: | deps
	@rm -rf $(FUZZ_BUILD)/obj && mkdir -p $(FUZZ_BUILD)/obj
	@echo "fuzz: compiling src/ with clang, ASan, UBSan"
	@set -e; for f in $(filter-out src/main.c,$(SRCS)); do \
	  clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -c -o $(FUZZ_BUILD)/obj/$$(basename $$f .c).o $$f; \
	done
	@failed=; for t in $(FUZZ_TARGETS); do \
	  b=$(FUZZ_BUILD)/fuzz-$$t; \
	  clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $$b \
	    tests/fuzz/fuzz_$$t.c $(FUZZ_BUILD)/obj/*.o $(PKG_LIBS) || exit 1; \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	  seeds=; [ -d tests/fuzz/corpus/$$t ] && seeds=tests/fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  if $$b -max_total_time=$(FUZZ_SECONDS) -timeout=25 -print_final_stats=1 \
	      -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_FLAGS) \
	      $(FUZZ_BUILD)/corpus-$$t $$seeds >$$b.log 2>&1; then \
	    sed -n 's/^#\([0-9]*\).*DONE.* corp: \([^ ]*\) .*/  \1 runs, corpus \2 (inputs\/bytes), no crash/p' $$b.log; \
	    grep '^stat::' $$b.log | sed 's/^/  /'; \
	  else \
	    tail -n 40 $$b.log; echo "fuzz: $$t FAILED (log $$b.log)"; failed="$$failed $$t"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi

# Static analysis of src/: clang's analyzer (scan-build) over a fresh build,
# then cppcheck; fails on any finding (Debian: clang-tools, cppcheck). A false
# positive is suppressed where it is, saying why: "cppcheck-suppress" comments,
# and code hidden from scan-build with __clang_analyzer__ or made plain by an
# assert(). scan-build's HTML report is kept in ANALYZE_BUILD/report/.
ANALYZE_BUILD ?= $(BUILD)-analyze
SCAN_BUILD ?= scan-build
.PHONY: analyze
analyze: | deps
	@command -v $(SCAN_BUILD) >/dev/null && command -v cppcheck >/dev/null || { \
	  echo "make analyze needs $(SCAN_BUILD) and cppcheck (Debian: clang-tools cppcheck)" >&2; \
	  exit 1; }
	@rm -rf $(ANALYZE_BUILD)
	@status=0; \
	echo "analyze: clang static analyzer ($(SCAN_BUILD))"; \
	$(SCAN_BUILD) --status-bugs --use-cc=clang -o $(ANALYZE_BUILD)/report \
	  -enable-checker optin.portability.UnixAPI,security.FloatLoopCounter \
	  $(MAKE) --no-print-directory -s BUILD=$(ANALYZE_BUILD)/obj $(ANALYZE_BUILD)/obj/gazette || \
	  status=1; \
	echo "analyze: cppcheck"; \
	cppcheck --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
	  --quiet --std=c11 --platform=unix64 --library=posix,gnu,openssl --force \
	  -D_GNU_SOURCE -Isrc $(filter -I%,$(PKG_CFLAGS)) --suppress=missingIncludeSystem \
	  src/ || status=1; \
	if [ $$status = 0 ]; then echo "analyze: no findings"; else echo "analyze: FAILED" >&2; fi; \
	exit $$status

$(BUILD)/archive-bench: $(BUILD)/tests/bench/archive_bench.o $(LIB_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# The load generator: one file, OpenSSL only, never built with sanitizers.
$(BUILD)/loadgen: tests/bench/loadgen.c | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) -D_GNU_SOURCE $$(pkg-config --cflags openssl) $(CFLAGS) $(LDFLAGS) \
	  -o $@ $< $$(pkg-config --libs openssl)

# tests/bench/README.md: BENCH_QUICK=1 for a one-minute run.
bench: $(BUILD)/gazette $(BUILD)/loadgen $(BUILD)/archive-bench
	BUILD=$(BUILD) bash tests/bench/bench.sh

# Never overwrites an existing configuration, content or certificates. Only
# root (or fakeroot) sets owners; as root without DESTDIR it also creates the
# gazette user. Tests install the binary they built: make -o BUILD/gazette.
install: $(BUILD)/gazette
	@$(BUILD)/gazette -h | grep -qF '(default $(SYSCONFDIR)/gazette.conf)' || { \
	  echo "gazette: $(BUILD)/gazette was built for another SYSCONFDIR;" \
	    "run make clean, then make install SYSCONFDIR=$(SYSCONFDIR)" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 755 $(BUILD)/gazette $(DESTDIR)$(BINDIR)/gazette
	$(INSTALL_SED) server/gazette.8 >$(DESTDIR)$(MANDIR)/man8/gazette.8
	$(INSTALL_SED) server/gazette.conf.5 >$(DESTDIR)$(MANDIR)/man5/gazette.conf.5
	$(INSTALL_SED) server/gazette.service >$(DESTDIR)$(UNITDIR)/gazette.service
	$(INSTALL) -m 644 server/gazette.sysusers $(DESTDIR)$(SYSUSERSDIR)/gazette.conf
	chmod 644 $(DESTDIR)$(MANDIR)/man8/gazette.8 $(DESTDIR)$(MANDIR)/man5/gazette.conf.5 \
	  $(DESTDIR)$(UNITDIR)/gazette.service
	@if [ "$$(id -u)" = 0 ]; then own="-o root -g root"; else own=; fi; \
	conf="$(DESTDIR)$(SYSCONFDIR)/gazette.conf"; \
	if [ -e "$$conf" ]; then \
	  echo "gazette: keeping the existing $$conf"; \
	else \
	  echo "gazette: installing $$conf"; \
	  $(INSTALL_SED) -e 's|^root = content$$|root = $(GAZETTEDIR)/content|' \
	    -e '1a # Installed by make install. gazette.service starts gazette in\n# $(GAZETTEDIR): a host'"'"'s default cert and key are in $(GAZETTEDIR)/certs/.' \
	    server/gazette.conf >"$$conf.new" && \
	  $(INSTALL) -m 644 $$own "$$conf.new" "$$conf" && rm -f "$$conf.new" || exit 1; \
	fi; \
	for d in $(GAZETTEDIR) $(GAZETTEDIR)/content $(GAZETTEDIR)/content/posts; do \
	  [ -d "$(DESTDIR)$$d" ] || $(INSTALL) -d -m 755 $$own "$(DESTDIR)$$d" || exit 1; \
	done; \
	[ -d "$(DESTDIR)$(GAZETTEDIR)/certs" ] || \
	  $(INSTALL) -d -m 700 $$own "$(DESTDIR)$(GAZETTEDIR)/certs" || exit 1; \
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! getent passwd gazette >/dev/null; then \
	  if command -v systemd-sysusers >/dev/null 2>&1; then \
	    systemd-sysusers $(SYSUSERSDIR)/gazette.conf; \
	  else \
	    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin gazette; \
	  fi || echo "gazette: could not create the gazette user; workers will run as nobody" >&2; \
	fi
	@echo "gazette: installed; next: systemctl daemon-reload && systemctl enable --now gazette"

# Leaves the configuration, the content, the certificates and the user alone.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gazette $(DESTDIR)$(MANDIR)/man8/gazette.8 \
	  $(DESTDIR)$(MANDIR)/man5/gazette.conf.5 $(DESTDIR)$(UNITDIR)/gazette.service \
	  $(DESTDIR)$(SYSUSERSDIR)/gazette.conf
	@echo "gazette: kept $(DESTDIR)$(SYSCONFDIR)/gazette.conf and $(DESTDIR)$(GAZETTEDIR)"

clean:
	rm -rf build build-*

-include $(wildcard $(BUILD)/*.d $(BUILD)/hooks/*.d $(BUILD)/tests/*.d $(BUILD)/tests/*/*.d)
