# uvfio: a thin front for meson + ninja.
#   make demo   - the main job: examples/vfio-dma under `uvfio run` on the built-in default host
#   make test   - every test, in a normal build and under ASan+UBSan
#   make bench  - the benchmarks
# Both demo and test install missing Debian build dependencies first (as root).

BUILD      ?= build
BUILD_SAN  ?= build-san
NINJA      ?= ninja
JOBS       ?= $(shell nproc)

DEB_PACKAGES = gcc pkg-config meson ninja-build libjson-c-dev libcmocka-dev dpdk dpdk-dev \
               libfuse3-dev fuse3 qemu-system-x86

.PHONY: all deps build build-san demo test bench clean

all: build

deps:
	@tools/install-deps.sh $(DEB_PACKAGES)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(BUILD_SAN)/build.ninja:
	meson setup $(BUILD_SAN) -Db_sanitize=address,undefined -Db_lundef=false

build: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD) -j $(JOBS)

build-san: $(BUILD_SAN)/build.ninja
	$(NINJA) -C $(BUILD_SAN) -j $(JOBS)

demo: deps build
	$(BUILD)/src/cli/uvfio run -- $(BUILD)/examples/vfio-dma

test: deps build build-san
	tools/run-tests.sh $(BUILD) $(BUILD_SAN)

bench: deps build
	tools/run-bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
