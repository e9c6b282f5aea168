// How `cr3rig test` maps kvm-unit-tests' QEMU parameters and host checks onto `cr3rig
// run` (suite/qemu_params.hpp, suite/hostability.hpp, docs/suite.md).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "common/errors.hpp"
#include "suite/hostability.hpp"
#include "suite/manifest.hpp"
#include "suite/qemu_params.hpp"
#include "suite/selection.hpp"
#include "suite/suite_runner.hpp"

using namespace cr3rig;
using namespace cr3rig::suite;

TEST_CASE("the size of -m is in QEMU's syntax, MiB by default", "[suite]")
{
    constexpr uint64_t MiB = 1 << 20;
    CHECK(qemu_size_bytes("2048") == 2048 * MiB);
    CHECK(qemu_size_bytes("4g") == 4096 * MiB);
    CHECK(qemu_size_bytes("4G") == 4096 * MiB);
    CHECK(qemu_size_bytes("2560M") == 2560 * MiB);
    CHECK(qemu_size_bytes("1.5G") == 1536 * MiB);
    CHECK(qemu_size_bytes("65536k") == 64 * MiB);
    CHECK(qemu_size_bytes("1048576B") == MiB);
    CHECK(qemu_size_bytes("1T") == 1024 * 1024 * MiB);
    for (const char* bad : {"", "g", "1x", "1gb", ".5", "5.", "1..2", "-1", "1 g", "99999999999999999999T"})
        CHECK_FALSE(qemu_size_bytes(bad));

    auto mib = [](std::vector<std::string> words) { return map_qemu_params(words).memory_mib; };
    CHECK(mib({"-m", "size=256"}) == 256u);
    CHECK(mib({"-m", "1.0001"}) == 2u);  // rounded up to whole MiB
    CHECK(mib({"-m", "128", "-m", "512"}) == 512u);  // the last wins, as in QEMU
    CHECK(map_qemu_params({"-m", "1g,slots=2,maxmem=4g"}).unsupported == "-m 1g,slots=2,maxmem=4g");
    CHECK(map_qemu_params({"-m", "lots"}).unsupported_why == "not a size in QEMU's syntax");
    CHECK(map_qemu_params({"-m", "1"}).unsupported_why == "1 MiB, cr3rig gives a guest 2 to 3072 MiB");
}

TEST_CASE("QEMU options map to cr3rig run's or are named as what it cannot give", "[suite]")
{
    QemuParams p = map_qemu_params({"-enable-kvm", "-accel", "kvm", "-machine", "pit=off,hpet=off", "-cpu",
                                    "qemu64,+x2apic,+tsc-deadline", "-append", "a b"});
    CHECK(p.unsupported.empty());
    CHECK(p.cpu == "qemu64,+x2apic,+tsc-deadline");
    CHECK(p.append == "a b");
    CHECK_FALSE(p.memory_mib);

    CHECK(map_qemu_params({"-cpu", "a", "-cpu", "b"}).cpu == "b");
    CHECK(map_qemu_params({"-machine", "accel=kvm,kernel-irqchip=on,vmport=off"}).unsupported.empty());
    CHECK(map_qemu_params({"-machine", "kernel-irqchip=split"}).unsupported == "-machine kernel-irqchip=split");
    CHECK(map_qemu_params({"-M", "type=q35"}).unsupported_why == "cr3rig emulates no QEMU machine type");
    CHECK(map_qemu_params({"-accel", "tcg"}).unsupported == "-accel tcg");
    auto device = map_qemu_params({"-device", "hyperv-testdev", "-device", "edu"});
    CHECK(device.unsupported == "-device hyperv-testdev");  // the first one
    CHECK(device.unsupported_why == "cr3rig adds no QEMU devices");
    CHECK(map_qemu_params({"-no-hpet", "-cpu", "max"}).unsupported == "-no-hpet");  // a flag, no value
    CHECK(map_qemu_params({"-overcommit", "cpu-pm=on", "-cpu", "max"}).cpu == "max");  // mapping goes on
    CHECK_THROWS_AS(map_qemu_params({"-cpu"}), BadInput);
    CHECK_THROWS_AS(map_qemu_params({"-append"}), BadInput);
}

TEST_CASE("skip reasons come in run_tests.sh's order: nodefault, arch, check, then what cr3rig lacks", "[suite]")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-suite-checks";
    std::filesystem::create_directories(dir);
    std::string yes = (dir / "yes").string(), no = (dir / "no").string(), missing = (dir / "missing").string();
    std::ofstream(yes) << "Y\n\n";  // $(cat PATH) drops trailing newlines
    std::ofstream(no) << "N\n";
    std::string text = "[holds]\nfile = a.flat\ncheck = " + yes + "=Y\n" +
                       "[differs]\nfile = a.flat\ncheck = " + yes + "=Y " + no + "=Y\n" +
                       "[absent]\nfile = a.flat\ncheck = " + missing + "=Y\n" +
                       "[dir]\nfile = a.flat\ncheck = " + dir.string() + "=Y\n" +
                       "[check_before_device]\nfile = a.flat\nqemu_params = -device edu\ncheck = " + no + "=Y\n" +
                       "[device]\nfile = a.flat\nqemu_params = -device edu\ncheck = " + yes + "=Y\n" +
                       "[arch_before_check]\nfile = a.flat\narch = i386\ncheck = " + no + "=Y\n" +
                       "[manual]\nfile = a.flat\narch = i386\ngroups = nodefault\n";
    Manifest m = parse_manifest(text, dir / "unittests.cfg");
    auto reasons = [](const std::vector<PlannedTest>& planned) {
        std::vector<std::string> out;
        for (const auto& p : planned)
            out.push_back(p.skip_reason);
        return out;
    };
    CHECK(reasons(select_tests(m, {})) == std::vector<std::string>{
                                             "",
                                             no + " not equal to Y",
                                             missing + " not equal to Y",
                                             dir.string() + " not equal to Y",
                                             no + " not equal to Y",
                                             "QEMU parameter -device edu (cr3rig adds no QEMU devices)",
                                             "i386 only",
                                             "test marked as manual run only",
                                         });
    // Selected by name, a nodefault entry gets the reasons that follow.
    CHECK(reasons(select_tests(m, {.groups = {}, .only = {"manual"}})) == std::vector<std::string>{"i386 only"});
}

TEST_CASE("the child's command line carries smp, -cpu and -m, and RAM is QEMU's 128 MiB by default", "[suite]")
{
    Manifest m = parse_manifest("[plain]\nfile = a.flat\n"
                                "[x2apic]\nfile = apic.flat\nsmp = 2\nqemu_params = -cpu qemu64,+x2apic -m 2g\n"
                                "test_args = 'x y'\ntimeout = 30\n",
                                "/k/unittests.cfg");
    RunnerOptions options;
    options.cr3rig = "/bin/cr3rig";
    options.manifest_dir = "/k";
    options.log_dir = "/l";
    CHECK(child_command(options, m.entries[0], 90) == std::vector<std::string>{"/bin/cr3rig", "run", "--timeout=90",
                                                                               "--memory=128", "--json=/l/plain.json",
                                                                               "--", "/k/a.flat"});
    CHECK(child_command(options, m.entries[1], 30) ==
          std::vector<std::string>{"/bin/cr3rig", "run", "--timeout=30", "--memory=2048", "--smp=2",
                                   "--cpu=qemu64,+x2apic", "--cmdline=x y", "--json=/l/x2apic.json", "--",
                                   "/k/apic.flat"});
}

TEST_CASE("the cap of --max-timeout applies to every entry's timeout, its own included, and says what it lowered", "[suite]")
{
    Manifest m = parse_manifest("[own]\nfile = a\ntimeout = 180\n[short]\nfile = a\ntimeout = 5\n[default]\nfile = a\n",
                                "t.cfg");
    RunnerOptions options;
    CHECK(entry_timeout(options, m.entries[0]).seconds == 180);
    CHECK_FALSE(entry_timeout(options, m.entries[0]).capped_from);
    CHECK(entry_timeout(options, m.entries[2]).seconds == kDefaultTimeoutS);
    options.max_timeout_s = 20;
    CHECK(entry_timeout(options, m.entries[0]).seconds == 20);
    CHECK(entry_timeout(options, m.entries[0]).capped_from == 180);
    CHECK(entry_timeout(options, m.entries[1]).seconds == 5);
    CHECK_FALSE(entry_timeout(options, m.entries[1]).capped_from);
    CHECK(entry_timeout(options, m.entries[2]).capped_from == kDefaultTimeoutS);
}
