# SPDX-License-Identifier: MIT
# steerd — build, test, run. `make run` and `make test` install what is missing.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
INCDIR  ?= $(PREFIX)/include
LIBDIR  ?= $(PREFIX)/lib
PCDIR   ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/steerd
# The Python package: where Debian's python3 looks for this prefix
# (/usr/lib/python3/dist-packages for /usr, else PREFIX/lib/python3.X/dist-packages).
PYTHONDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages)
DESTDIR ?=
# One source for the version: the public header (steerd.h), read here for
# pkg-config and the library's soname.
VERSION := $(shell sed -n 's/^\#define STEERD_VERSION_STRING "\(.*\)"/\1/p' sim-adapter/steerd.h)
VERSION_MAJOR := $(firstword $(subst ., ,$(VERSION)))

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
BUILD   ?= build
PYTHON  ?= /usr/bin/python3

# Debian packages the build, the tests and the examples need.
DEB_PKGS := gcc make pkg-config libzmq3-dev libyaml-dev libhdf5-dev libreadline-dev \
            libjansson-dev libcmocka-dev libsystemd-dev python3 python3-zmq python3-h5py \
            python3-jsonschema python3-matplotlib python3-numpy python3-pandas python3-nbclient \
            python3-ipykernel \
            tmux bash-completion \
            clang libclang-rt-14-dev \
            groff-base man-db debhelper dpkg-dev fakeroot lintian \
            libopenmpi-dev openmpi-bin libhdf5-openmpi-dev

# hdf5-serial by name: installing libhdf5-openmpi-dev switches the plain
# `hdf5` alternative to the parallel build.
PKGS      := libzmq yaml-0.1 hdf5-serial jansson libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
# readline's .pc defines _XOPEN_SOURCE=600, which would hide GNU extensions
# everywhere; the console links it, and gets by with _GNU_SOURCE.
READLINE_LIBS = $(shell pkg-config --libs readline)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

WARN     := -Wall -Wextra -Werror
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ifeq ($(SAN),1)
  EXTRA_CFLAGS := $(SAN_FLAGS) -O1
  EXTRA_LDFLAGS := $(SAN_FLAGS)
endif

# -fPIC: the same objects make the daemon and libsteerd.so; hidden by default,
# the library exports only what steerd.h marks STEERD_EXPORT (and the map).
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -pthread -fPIC -fvisibility=hidden $(WARN) \
              -Isim-adapter -Isteerd $(addprefix -I,$(STEERD_DIRS)) -Iconsole \
              $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
ALL_LDFLAGS = -pthread $(LDFLAGS) $(EXTRA_LDFLAGS)
LIBS        = $(PKG_LIBS) -ldl -lm

# Sources: new files are picked up without editing this Makefile.
ADAPTER_SRC := $(wildcard sim-adapter/*.c sim-adapter/*/*.c)
# steerd/: one folder a part (control, run, search, stream, storage, security,
# config), shared/ what the console uses too; lib.c, startup.c and main.c on top.
STEERD_DIRS := $(sort $(dir $(wildcard steerd/*/*.c)))
# (steerd/mpi/ and *_mpi.c need mpi.h: the MPI build only, below)
STEERD_MPI_ONLY_SRC := $(wildcard steerd/mpi/*.c steerd/*/*_mpi.c)
STEERD_SRC  := $(filter-out steerd/main.c $(STEERD_MPI_ONLY_SRC),$(wildcard steerd/*.c steerd/*/*.c))
CONSOLE_SRC := $(filter-out console/main.c,$(wildcard console/*.c))
SIM_OBJ     := $(patsubst %.c,$(BUILD)/%.o,$(ADAPTER_SRC))
CORE_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(STEERD_SRC))
CONSOLE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CONSOLE_SRC))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# bench_util.c is the benches' shared helpers (bench_util.h), linked into each, not a bench.
BENCH_SRC   := $(filter-out tests/bench/bench_util.c,$(wildcard tests/bench/bench_*.c))
BENCH_BIN   := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BENCH_UTIL_OBJ := $(BUILD)/tests/bench/bench_util.o
# Adapters only the benchmarks use (e.g. one whose step takes 100 ms).
BENCH_SO    := $(patsubst tests/bench/adapter_%.c,$(BUILD)/bench/lib%.so,$(wildcard tests/bench/adapter_*.c))
EXAMPLE_SO  := $(BUILD)/examples/liboscillator.so

PROGRAMS := $(BUILD)/bin/steerd $(if $(wildcard console/main.c),$(BUILD)/bin/steer-console)
# libsteerd: what a code that keeps its own main() links (sim-adapter/steerd.h).
LIBSTEERD := $(BUILD)/lib/libsteerd.so.$(VERSION)
LIBSTEERD_LINKS := $(BUILD)/lib/libsteerd.so.$(VERSION_MAJOR) $(BUILD)/lib/libsteerd.so
# steer-web (console/web/, MIT): the live page for browsers; libwebsockets, no readline.
PROGRAMS += $(BUILD)/bin/steer-web
DEB_PKGS += libwebsockets-dev libjs-chart.js chromium chromium-driver python3-selenium \
            python3-websocket
# Man pages: doc/NAME.SECTION.in, completed by doc/gen-man.py from the programs' tables.
MAN_PAGES := $(patsubst doc/%.in,$(BUILD)/man/%,$(wildcard doc/*.[1-8].in))

.PHONY: all deps build run test check tests-build bench install install-python uninstall clean fuzz man

all: build

# Installs the missing Debian packages; quick and silent when all are there.
# NO_DEPS=1 makes it a no-op (debian/rules: a package build installs nothing).
ifeq ($(NO_DEPS),1)
deps:
	@:
else
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "make deps: installing" $$missing; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endif

build: $(PROGRAMS) $(EXAMPLE_SO) $(LIBSTEERD_LINKS)

man: $(MAN_PAGES)

$(BUILD)/man/%: doc/%.in doc/gen-man.py doc/steerd.yaml.keys $(PROGRAMS)
	@mkdir -p $(@D)
	$(PYTHON) doc/gen-man.py --steerd $(BUILD)/bin/steerd --console $(BUILD)/bin/steer-console \
	  --keys doc/steerd.yaml.keys --version $(VERSION) $< $@

# libsim: the adapter host and the built-in adapters. libsteerd-core: the daemon
# minus main(). Tests of the simulation alone (tests/unit/test_sim_*.c) link
# only libsim.
# (rm first: a moved or deleted source must not leave its old member behind)
$(BUILD)/libsim.a: $(SIM_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libsteerd-core.a: $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

CORE_LIBS = $(BUILD)/libsteerd-core.a $(BUILD)/libsim.a

# No -rdynamic: adapters need nothing from the host (it hands them function
# pointers), and an exported daemon symbol would replace an adapter's own
# function of the same name.
$(BUILD)/bin/steerd: $(BUILD)/steerd/main.o $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

# The console links only what it shares with the daemon (steerd/shared/).
SHARED_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard steerd/shared/*.c))
$(BUILD)/bin/steer-console: $(BUILD)/console/main.o $(CONSOLE_OBJ) $(SHARED_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) $(READLINE_LIBS) -o $@

$(LIBSTEERD): $(CORE_LIBS) steerd/libsteerd.map
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -Wl,-soname,libsteerd.so.$(VERSION_MAJOR) \
	  -Wl,--version-script=steerd/libsteerd.map -Wl,--no-undefined \
	  -Wl,--whole-archive $(CORE_LIBS) -Wl,--no-whole-archive $(LIBS) -o $@

$(LIBSTEERD_LINKS): $(LIBSTEERD)
	ln -sf $(notdir $(LIBSTEERD)) $@

# The example external adapter: one small file, built as any user would build theirs.
$(EXAMPLE_SO): examples/oscillator/oscillator.c sim-adapter/steerd_adapter.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -shared -fPIC $(WARN) -Isim-adapter $(CFLAGS) $(EXTRA_CFLAGS) $< \
	  $(ALL_LDFLAGS) -lm -o $@

# ---- Codes that embed libsteerd (examples/embed-*, tests/embed/): each built
# as a user builds theirs, against the shared library and the public headers
# only (`pkg-config --cflags --libs steerd` gives the same flags once
# installed); under SAN=1 with the sanitizers, against build/asan/lib.
DEB_PKGS += gfortran g++
ifeq ($(origin FC),default)
  FC := gfortran
endif
FFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
EMBED_LIBS = -L$(BUILD)/lib -lsteerd -Wl,-rpath,$(abspath $(BUILD)/lib) $(ALL_LDFLAGS)
EMBED_BIN := $(BUILD)/examples/embed-fortran/heat $(BUILD)/examples/embed-cpp/nbody
FORTRAN_MODULE_OBJ := $(BUILD)/examples/embed-fortran/steerd.o

build: $(EMBED_BIN)
tests-build: $(BUILD)/tests/embed/nosave

# The Fortran module is compiled by each code with its own compiler (a .mod
# file is specific to one compiler version): shipped as source.
$(FORTRAN_MODULE_OBJ): sim-adapter/steerd.f90
	@mkdir -p $(@D)
	$(FC) -std=f2008 -Wall -Wextra -Werror -fimplicit-none $(FFLAGS) $(EXTRA_CFLAGS) -J$(@D) \
	  -c $< -o $@

$(BUILD)/examples/embed-fortran/heat: examples/embed-fortran/heat.f90 $(FORTRAN_MODULE_OBJ) \
                                      $(LIBSTEERD_LINKS)
	$(FC) -std=f2008 -Wall -Wextra -Werror -fimplicit-none $(FFLAGS) $(EXTRA_CFLAGS) -I$(@D) \
	  $< $(FORTRAN_MODULE_OBJ) $(EMBED_LIBS) -o $@

$(BUILD)/examples/embed-cpp/nbody: examples/embed-cpp/nbody.cpp sim-adapter/steerd.h \
                                   sim-adapter/steerd_adapter.h $(LIBSTEERD_LINKS)
	@mkdir -p $(@D)
	$(CXX) -std=c++20 $(WARN) -Isim-adapter $(CXXFLAGS) $(EXTRA_CFLAGS) $< $(EMBED_LIBS) -o $@

$(BUILD)/tests/embed/%: tests/embed/%.c sim-adapter/steerd.h $(LIBSTEERD_LINKS)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) -Isim-adapter $(CFLAGS) $(EXTRA_CFLAGS) $< $(EMBED_LIBS) -o $@

.PHONY: install-fortran-module uninstall-fortran-module
install: install-fortran-module
uninstall: uninstall-fortran-module
install-fortran-module:
	install -d $(DESTDIR)$(INCDIR)
	install -m 0644 sim-adapter/steerd.f90 $(DESTDIR)$(INCDIR)/
uninstall-fortran-module:
	rm -f $(DESTDIR)$(INCDIR)/steerd.f90
# ---- end of the embedding codes

$(BUILD)/tests/test_sim_%: tests/unit/test_sim_%.c $(BUILD)/libsim.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< $(BUILD)/libsim.a $(ALL_LDFLAGS) $(LIBS) $(CMOCKA_LIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< $(CORE_LIBS) $(ALL_LDFLAGS) $(LIBS) $(CMOCKA_LIBS) -o $@

$(BUILD)/bench/lib%.so: tests/bench/adapter_%.c sim-adapter/steerd_adapter.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -shared -fPIC $(WARN) -Isim-adapter $(CFLAGS) $(EXTRA_CFLAGS) $< \
	  $(ALL_LDFLAGS) -lm -o $@

# Named as a target, or make would delete it after each link as an intermediate file.
$(BENCH_UTIL_OBJ): tests/bench/bench_util.h

$(BUILD)/bench/bench_sim_%: tests/bench/bench_sim_%.c $(BENCH_UTIL_OBJ) $(BUILD)/libsim.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< $(BENCH_UTIL_OBJ) $(BUILD)/libsim.a $(ALL_LDFLAGS) $(LIBS) -o $@

$(BUILD)/bench/%: tests/bench/%.c $(BENCH_UTIL_OBJ) $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< $(BENCH_UTIL_OBJ) $(CORE_LIBS) $(ALL_LDFLAGS) $(LIBS) -o $@

tests-build: build man $(UNIT_BIN) $(BENCH_SO) mpi

# ---- MPI build (issue 16): pic1d with -DSTEERD_MPI, compiled by mpicc under
# $(BUILD)/mpi/, beside the serial build, which needs no mpi.h and does not
# change. tests/mpi/pic1d_mpi is the MPI test and bench driver.
# The steering layer (steerd/mpi/, sim-adapter/steerd_mpi.h): libsteerd-mpi,
# steerd-mpi and their pkg-config file, linking parallel HDF5 by name
# (hdf5-openmpi), as the serial build links hdf5-serial; parallel checkpoint
# files are storage/checkpoint_mpi.c.
MPICC       ?= mpicc
MPI_BUILD   := $(BUILD)/mpi
MPI_SIM_OBJ := $(patsubst %.c,$(MPI_BUILD)/%.o,$(ADAPTER_SRC))
MPI_DRIVER  := $(MPI_BUILD)/bin/pic1d_mpi
MPI_PKGS    := libzmq yaml-0.1 hdf5-openmpi jansson libsystemd
MPI_LIBS     = $(shell pkg-config --libs $(MPI_PKGS)) -ldl -lm
MPI_CORE_OBJ := $(patsubst %.c,$(MPI_BUILD)/%.o,$(STEERD_SRC) $(STEERD_MPI_ONLY_SRC))
MPI_CORE_LIBS = $(MPI_BUILD)/libsteerd-core.a $(MPI_BUILD)/libsim.a
LIBSTEERD_MPI := $(MPI_BUILD)/lib/libsteerd-mpi.so.$(VERSION)
LIBSTEERD_MPI_LINKS := $(MPI_BUILD)/lib/libsteerd-mpi.so.$(VERSION_MAJOR) $(MPI_BUILD)/lib/libsteerd-mpi.so
STEERD_MPI  := $(MPI_BUILD)/bin/steerd-mpi
MPI_PC      := $(MPI_BUILD)/lib/pkgconfig/steerd-mpi.pc
MPI_EMBED   := $(MPI_BUILD)/tests/mpi/embed_mpi
.PHONY: mpi install-mpi uninstall-mpi
mpi: $(MPI_DRIVER) $(STEERD_MPI) $(BUILD)/bin/steerd-mpi $(LIBSTEERD_MPI_LINKS) $(MPI_PC) $(MPI_EMBED)

$(MPI_BUILD)/%.o: PKG_CFLAGS = $(shell pkg-config --cflags $(MPI_PKGS))
$(MPI_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) -DSTEERD_MPI -c $< -o $@

$(MPI_BUILD)/libsteerd-core.a: $(MPI_CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(STEERD_MPI): $(MPI_BUILD)/steerd/main.o $(MPI_CORE_LIBS)
	@mkdir -p $(@D)
	$(MPICC) $(ALL_LDFLAGS) $^ $(MPI_LIBS) -o $@

# `mpirun -np N build/bin/steerd-mpi` works too
$(BUILD)/bin/steerd-mpi: $(STEERD_MPI)
	@mkdir -p $(@D)
	ln -sf ../mpi/bin/steerd-mpi $@

# libsteerd's exports (its map, so the two cannot drift) and steerd_open_mpi.
$(MPI_BUILD)/libsteerd-mpi.map: steerd/libsteerd.map
	@mkdir -p $(@D)
	sed 's/^\([[:space:]]*\)steerd_open;/&\n\1steerd_open_mpi;/' $< > $@

$(LIBSTEERD_MPI): $(MPI_CORE_LIBS) $(MPI_BUILD)/libsteerd-mpi.map
	@mkdir -p $(@D)
	$(MPICC) -shared $(ALL_LDFLAGS) -Wl,-soname,libsteerd-mpi.so.$(VERSION_MAJOR) \
	  -Wl,--version-script=$(MPI_BUILD)/libsteerd-mpi.map -Wl,--no-undefined \
	  -Wl,--whole-archive $(MPI_CORE_LIBS) -Wl,--no-whole-archive $(MPI_LIBS) -o $@

$(LIBSTEERD_MPI_LINKS): $(LIBSTEERD_MPI)
	ln -sf $(notdir $(LIBSTEERD_MPI)) $@

# For the tests: the build tree's headers and library.
$(MPI_PC): sim-adapter/steerd-mpi.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(abspath .)|g' -e 's|@INCDIR@|$(abspath sim-adapter)|g' \
	  -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBDIR@|$(abspath $(MPI_BUILD)/lib)|g' $< > $@

# An MPI code embedding steerd, built as a user builds theirs.
$(MPI_EMBED): tests/mpi/embed_mpi.c sim-adapter/steerd_mpi.h $(LIBSTEERD_MPI_LINKS)
	@mkdir -p $(@D)
	$(MPICC) -std=c11 -D_GNU_SOURCE $(WARN) -Isim-adapter $(CFLAGS) $(EXTRA_CFLAGS) $< \
	  -L$(MPI_BUILD)/lib -lsteerd-mpi -Wl,-rpath,$(abspath $(MPI_BUILD)/lib) $(ALL_LDFLAGS) -o $@

# make bench: what steering costs a 2-rank run (steerd-mpi's path and an embedded code's).
MPI_BENCH := $(MPI_BUILD)/bench/bench_steerd_mpi
MPIRUN_FLAGS := --oversubscribe --mca mpi_yield_when_idle 1 $(if $(filter 0,$(shell id -u)),--allow-run-as-root)
$(MPI_BENCH): $(MPI_BUILD)/tests/mpi/bench_steerd_mpi.o $(MPI_BUILD)/tests/bench/bench_util.o $(MPI_CORE_LIBS)
	@mkdir -p $(@D)
	$(MPICC) $(ALL_LDFLAGS) $^ $(MPI_LIBS) -o $@
.PHONY: bench-mpi
bench: bench-mpi
bench-mpi: deps
	@$(MAKE) --no-print-directory $(MPI_BENCH)
	mpirun -np 2 $(MPIRUN_FLAGS) $(MPI_BENCH)

# Apart from `make install` (and the Debian packages, which list what they
# ship): `make install-mpi` installs the MPI build with the same PREFIX/DESTDIR.
install-mpi: mpi
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(LIBDIR)
	install -m 0755 $(STEERD_MPI) $(DESTDIR)$(BINDIR)/
	install -m 0644 sim-adapter/steerd_mpi.h $(DESTDIR)$(INCDIR)/
	install -m 0644 $(LIBSTEERD_MPI) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBSTEERD_MPI)) $(DESTDIR)$(LIBDIR)/libsteerd-mpi.so.$(VERSION_MAJOR)
	ln -sf libsteerd-mpi.so.$(VERSION_MAJOR) $(DESTDIR)$(LIBDIR)/libsteerd-mpi.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCDIR@|$(INCDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	  -e 's|@LIBDIR@|$(LIBDIR)|g' sim-adapter/steerd-mpi.pc.in > $(DESTDIR)$(PCDIR)/steerd-mpi.pc
	chmod 0644 $(DESTDIR)$(PCDIR)/steerd-mpi.pc
uninstall-mpi:
	rm -f $(DESTDIR)$(BINDIR)/steerd-mpi $(DESTDIR)$(INCDIR)/steerd_mpi.h \
	      $(DESTDIR)$(LIBDIR)/$(notdir $(LIBSTEERD_MPI)) \
	      $(DESTDIR)$(LIBDIR)/libsteerd-mpi.so.$(VERSION_MAJOR) $(DESTDIR)$(LIBDIR)/libsteerd-mpi.so \
	      $(DESTDIR)$(PCDIR)/steerd-mpi.pc

$(MPI_BUILD)/libsim.a: $(MPI_SIM_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

# The test driver of parallel pic1d, its checkpoints and their bench (no steerd threads).
$(MPI_DRIVER): $(MPI_BUILD)/tests/mpi/pic1d_mpi.o $(MPI_CORE_LIBS)
	@mkdir -p $(@D)
	$(MPICC) $(ALL_LDFLAGS) $^ $(MPI_LIBS) -o $@

# `make test`: everything, then everything again under AddressSanitizer + UBSan.
test check: deps
	@$(MAKE) --no-print-directory tests-build
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 tests-build
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TEST_SECONDS=$(FUZZ_TEST_SECONDS) tests/run-all.sh build build/asan

bench: deps
	@$(MAKE) --no-print-directory build $(BENCH_BIN) $(BENCH_SO)
	@for b in $(BENCH_BIN); do STEERD_BUILD=$(BUILD) $$b || exit 1; done
	@$(MAKE) --no-print-directory mpi
	@$(PYTHON) tests/mpi/bench_pic1d_mpi.py --build $(BUILD)
	@$(PYTHON) tests/mpi/bench_checkpoint_mpi.py --build $(BUILD)
	@$(PYTHON) tests/soak/load.py --bench --build $(BUILD)
	@$(PYTHON) tests/bench/web_load.py --build $(BUILD)

# The brute-force references of tests/integration/test_search.py (minutes;
# run once, the figures are kept in the test): fresh runs at fine spacing.
.PHONY: search-reference
$(BUILD)/reference/search_reference: tests/reference/search_reference.c $(BUILD)/libsim.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< $(BUILD)/libsim.a $(ALL_LDFLAGS) $(LIBS) -o $@

search-reference: deps
	@$(MAKE) --no-print-directory build $(BUILD)/reference/search_reference
	@$(PYTHON) tests/integration/test_search.py --reference $(BUILD)/reference/search_reference

# The long soak (about 12 minutes; not part of `make test`): >= 10^6 steps with
# consoles, ramps, checkpoints and history queries (a history store small enough
# to be full early), flat RSS, then a stretch under ASan/LSan.
# `make load`: the load measurement alone (also reported by `make bench`).
.PHONY: soak load
soak: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 build
	@$(PYTHON) tests/soak/soak.py --build $(BUILD) --asan-build build/asan

load: deps
	@$(MAKE) --no-print-directory build
	@$(PYTHON) tests/soak/load.py --build $(BUILD)

# The default run's checkpoints: checkpoint.directory of configs/diode.yaml
# ($XDG_STATE_HOME/steerd/diode). `make resume` continues from the newest.
RUN_STATE = $${XDG_STATE_HOME:-$$HOME/.local/state}/steerd/diode
RUN_ARGS = -c configs/diode.yaml --connection-file $(BUILD)/diode.json
.PHONY: resume
run: deps
	@$(MAKE) --no-print-directory build
	@echo "steerd runs in the foreground (Ctrl-C stops it after a last checkpoint). Attach from another terminal:"
	@echo "    $(BUILD)/bin/steer-console -C $(BUILD)/diode.json"
	@echo "Checkpoints go to $(RUN_STATE); after a stop, continue the run with \`make resume\`, i.e."
	@echo "    $(BUILD)/bin/steerd --restart $(RUN_STATE) $(RUN_ARGS)"
	@exec $(BUILD)/bin/steerd $(RUN_ARGS)

resume: deps
	@$(MAKE) --no-print-directory build
	@echo "steerd continues the run saved last in $(RUN_STATE). Attach from another terminal:"
	@echo "    $(BUILD)/bin/steer-console -C $(BUILD)/diode.json"
	@exec $(BUILD)/bin/steerd --restart "$(RUN_STATE)" $(RUN_ARGS)

install: build man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(LIBDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 0644 sim-adapter/steerd_adapter.h sim-adapter/steerd.h $(DESTDIR)$(INCDIR)/
	install -m 0644 $(LIBSTEERD) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBSTEERD)) $(DESTDIR)$(LIBDIR)/libsteerd.so.$(VERSION_MAJOR)
	ln -sf libsteerd.so.$(VERSION_MAJOR) $(DESTDIR)$(LIBDIR)/libsteerd.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCDIR@|$(INCDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	  -e 's|@LIBDIR@|$(LIBDIR)|g' sim-adapter/steerd.pc.in > $(DESTDIR)$(PCDIR)/steerd.pc
	chmod 0644 $(DESTDIR)$(PCDIR)/steerd.pc
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' configs/systemd/steerd@.service.in > $(DESTDIR)$(UNITDIR)/steerd@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/steerd@.service
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 configs/bash-completion/steerd configs/bash-completion/steer-console \
	  $(DESTDIR)$(BASHCOMPDIR)/
	for p in $(MAN_PAGES); do \
	  d=$(DESTDIR)$(MANDIR)/man$${p##*.}; install -d $$d && install -m 0644 $$p $$d/ || exit 1; \
	done
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 PROTOCOL.md doc/protocol.schema.json $(DESTDIR)$(DOCDIR)/
	@$(MAKE) --no-print-directory install-python

install-python:
	install -d $(DESTDIR)$(PYTHONDIR)/steerd
	install -m 0644 console/python/steerd/*.py $(DESTDIR)$(PYTHONDIR)/steerd/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/steerd $(DESTDIR)$(BINDIR)/steer-console $(DESTDIR)$(BINDIR)/steer-web \
	      $(DESTDIR)$(INCDIR)/steerd_adapter.h $(DESTDIR)$(INCDIR)/steerd.h \
	      $(DESTDIR)$(LIBDIR)/$(notdir $(LIBSTEERD)) $(DESTDIR)$(LIBDIR)/libsteerd.so.$(VERSION_MAJOR) \
	      $(DESTDIR)$(LIBDIR)/libsteerd.so $(DESTDIR)$(PCDIR)/steerd.pc \
	      $(DESTDIR)$(BASHCOMPDIR)/steerd $(DESTDIR)$(BASHCOMPDIR)/steer-console \
	      $(DESTDIR)$(UNITDIR)/steerd@.service \
	      $(DESTDIR)$(DOCDIR)/PROTOCOL.md $(DESTDIR)$(DOCDIR)/protocol.schema.json
	for p in $(notdir $(MAN_PAGES)); do rm -f $(DESTDIR)$(MANDIR)/man$${p##*.}/$$p; done
	rm -rf $(DESTDIR)$(PYTHONDIR)/steerd

clean:
	rm -rf build

# steer-web: its C files, the page's files built in (embed.py), Debian's Chart.js at run time.
WEB_SRC    := $(wildcard console/web/*.c)
WEB_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(WEB_SRC)) $(BUILD)/console/web/assets.o
WEB_ASSETS := /index.html=console/web/www/index.html=text/html \
              /app.js=console/web/www/app.js=text/javascript /app.css=console/web/www/app.css=text/css
LWS_CFLAGS  = $(shell pkg-config --cflags libwebsockets)
LWS_LIBS    = $(shell pkg-config --libs libwebsockets)
$(BUILD)/console/web/%.o: ALL_CFLAGS += $(LWS_CFLAGS) -Iconsole/web

$(BUILD)/console/web/assets.c: console/web/embed.py $(foreach a,$(WEB_ASSETS),$(word 2,$(subst =, ,$(a))))
	@mkdir -p $(@D)
	$(PYTHON) console/web/embed.py $@ $(WEB_ASSETS)

$(BUILD)/console/web/assets.o: $(BUILD)/console/web/assets.c console/web/assets.h
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# steer-web's checks alone (tests/unit/test_web_*.c): its objects but main and the servers.
$(BUILD)/tests/test_web_%: tests/unit/test_web_%.c $(filter-out %/main.o %/server.o %/upstream.o %/assets.o,$(WEB_OBJ)) $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iconsole/web $< $(filter %.o,$^) $(CORE_LIBS) $(ALL_LDFLAGS) $(LIBS) $(CMOCKA_LIBS) -o $@

$(BUILD)/bin/steer-web: $(WEB_OBJ) $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) $(LWS_LIBS) -o $@

# The README's picture of steer-web, taken again from a live run in headless Chromium.
.PHONY: screenshot
screenshot: deps build
	$(PYTHON) doc/screenshot-web.py --build $(BUILD) doc/steer-web.png

# libFuzzer harnesses: fuzz-build, fuzz (FUZZ_SECONDS per target), fuzz-seeds.
include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
