# Thin wrapper around CMake and the test runners. `make run` and `make test` work on a fresh
# Debian 12 machine: they install what is missing first (as root), or say what to install.

BUILD      ?= build
ASAN_BUILD ?= build-asan
APP        ?= apps/hello
JOBS       ?= $(shell nproc)

DEPS       = gcc make cmake pkg-config liblua5.4-dev lua5.4 libuv1-dev node-llhttp \
             lua-busted lua-socket lua-cjson wrk
BENCH_DEPS = wrk python3 util-linux procps nginx libnginx-mod-http-lua lua-http lua5.2 \
             lua-luv nodejs

.PHONY: all deps build asan run test bench clean

all: build

deps:
	@sh bench/deps.sh $(DEPS)

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

asan: deps $(ASAN_BUILD)/Makefile
	cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	$(BUILD)/lunaserve --host 127.0.0.1 --port $${PORT:-8080} $(APP)

# C unit tests, then the busted specs against the release build and the ASan+UBSan build.
test: build asan
	sh spec/run.sh $(BUILD) $(ASAN_BUILD)

bench: build
	@sh bench/deps.sh $(BENCH_DEPS)
	sh bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
