# uvfio: a thin front for meson + ninja.
#   make demo   - the main job: examples/vfio-dma under `uvfio run` on the built-in default host
#   make test   - every test, in a normal build and under ASan+UBSan; the
#                 concurrency tests again under ThreadSanitizer
#   make bench  - the benchmarks
# Both demo and test install missing Debian build dependencies first (as root).

BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_TSAN ?= build-tsan
NINJA      ?= ninja
JOBS       ?= $(shell nproc)

DEB_PACKAGES = gcc pkg-config meson ninja-build libjson-c-dev libcmocka-dev dpdk dpdk-dev \
               libfuse3-dev fuse3 qemu-system-x86 libgmp-dev mdevctl

.PHONY: all deps build build-san build-tsan demo test bench clean

# The tests whose point is concurrency, run again under ThreadSanitizer.
# test_ioat is not among them: its device threads poll the shared BAR page
# that the driver stores to, as hardware does, which TSan reports by design.
TSAN_TESTS = test_group test_irqs test_scenario test_vfio_pci test_sysfs test_mdev test_kvm_vfio \
	test_vfio_ap test_vfio_ap_guest test_vfio_ap_stress

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

$(BUILD_TSAN)/build.ninja:
	meson setup $(BUILD_TSAN) -Db_sanitize=thread -Db_lundef=false -Dc_args=-Wno-error=tsan

build-tsan: $(BUILD_TSAN)/build.ninja
	$(NINJA) -C $(BUILD_TSAN) -j $(JOBS) $(addprefix tests/unit/,$(TSAN_TESTS))

demo: deps build
	$(BUILD)/src/cli/uvfio run -- $(BUILD)/examples/vfio-dma

test: deps build build-san build-tsan
	tools/run-tests.sh $(BUILD) $(BUILD_SAN) $(BUILD_TSAN)

bench: deps build
	tools/run-bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_TSAN)
