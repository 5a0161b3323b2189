# Thin wrapper around CMake and the test runners. `make run` and `make test` work on a fresh
# Debian 12 machine: they install what is missing first (as root), or say what to install.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 60
APP        ?= apps/hello
JOBS       ?= $(shell nproc)

# RUN_DEPS build and run lunaserve and its bundled apps (`make build`, `make run`);
# TEST_DEPS add what the specs, the fuzzer and the services they start need (`make test`).
RUN_DEPS   = gcc make cmake pkg-config liblua5.4-dev libuv1-dev node-llhttp libpq-dev \
             libssl-dev lua-cjson zlib1g-dev
TEST_DEPS  = $(RUN_DEPS) lua5.4 lua-busted lua-socket wrk clang libclang-rt-14-dev \
             redis-server lua-nginx-redis python3 iproute2 procps \
             postgresql util-linux curl chromium python3-websockets media-types \
             python3-prometheus-client haproxy nodejs node-ws node-undici
BENCH_DEPS = wrk python3 util-linux procps nginx libnginx-mod-http-lua lua-http lua5.2 \
             lua-luv nodejs node-ws redis-server redis-tools lua-nginx-redis postgresql libpq-dev

.PHONY: all deps test-deps build asan fuzz-build fuzz run test bench bench-api clean

all: build

deps:
	@sh bench/deps.sh $(RUN_DEPS)

test-deps:
	@sh bench/deps.sh $(TEST_DEPS)

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

asan: test-deps $(ASAN_BUILD)/Makefile
	cmake --build $(ASAN_BUILD) -j $(JOBS)

$(FUZZ_BUILD)/Makefile: CMakeLists.txt
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLS_FUZZ=ON \
	  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"

fuzz-build: test-deps $(FUZZ_BUILD)/Makefile
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_conn

# Fuzzes the connection's input path for FUZZ_TIME seconds; new inputs go to build-fuzz/corpus.
fuzz: fuzz-build
	mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/fuzz_conn -max_total_time=$(FUZZ_TIME) -max_len=4096 \
	  -dict=core/fuzz/http.dict -print_final_stats=1 $(FUZZ_BUILD)/corpus core/fuzz/corpus

run: build
	$(BUILD)/lunaserve --host 127.0.0.1 --port $${PORT:-8080} $(APP)

# C unit tests, then the busted specs against the release build and the ASan+UBSan build.
test: test-deps build asan fuzz-build
	sh spec/run.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

bench: build
	@sh bench/deps.sh $(BENCH_DEPS)
	sh bench/run.sh

# The Lua-facing API through the real engine: 1000000 handler calls per app over an
# in-process socketpair (requests pipelined 64 at a time), no network.
bench-api: build
	$(BUILD)/api_bench -a bench/api/apps.lua bench/app.lua 1000000

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
