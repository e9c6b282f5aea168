// The manifest dialect of `cr3rig test`: kvm-unit-tests' unittests.cfg (docs/suite.md).
#include <catch2/catch.hpp>

#include "common/errors.hpp"
#include "suite/duration.hpp"
#include "suite/manifest.hpp"
#include "suite/selection.hpp"
#include "suite/shell_words.hpp"

using namespace cr3rig;
using namespace cr3rig::suite;

namespace {

// Written for these tests in the style of kvm-unit-tests' x86/unittests.cfg.
constexpr const char* kKvmUnitTestsStyle = R"(##############################################################################
# unittest configuration
#
# [unittest_name]
# file = <name>.flat            # Name of the flat file to be used.
##############################################################################

[smoke]
file = smoke.elf
groups = basic quick

[vmexit_cpuid]
file = vmexit.flat
test_args = 'cpuid'
groups = vmexit

[args_quoted]
file = vmexit.flat
test_args = "-skip_this one_more"

[append_only]
file = builtin:hello
extra_params = -append 'a b  c'

[lapic_smp]
file = apic.flat
smp = 2
qemu_params = -cpu qemu64,+x2apic
arch = x86_64
timeout = 30

[max_smp]
file = apic.flat
smp = $MAX_SMP

[tcg_only]
file = emulator.flat
accel = tcg
timeout = 1.5m

[kvm_only]
file = emulator.flat
accel = kvm
timeout = 90s

[i386_only]
file = taskswitch.flat
arch = i386
groups = tasks

[memory]
file = memory.flat
extra_params = -m 2048

[clock]
file = kvmclock_test.flat
test_args = "10000000 `date +%s`"

[manual]
file = access.flat
groups = nodefault vmx
timeout = 240

[q35]
file = iommu.flat
machine = q35

[pmu]
file = pmu.flat
check = /sys/module/kvm/parameters/enable_pmu=Y /proc/sys/kernel/nmi_watchdog=0
accel = kvm

[migrate]
file = migration.flat
groups = migration

[multiline]
file = builtin:hello
qemu_params = """
  -append 'x y'   # a shell comment, as in kvm-unit-tests' eval of the block
"""

[kvmtool]
file = builtin:hello
kvmtool_params = --mem 256
disabled_if = [[ "$TARGET" != qemu ]]

[iommu]
file = intel-iommu.flat
smp = 4
qemu_params = -M q35,kernel-irqchip=split -device intel-iommu,intremap=on,eim=off -device edu

[no_pit]
file = vmexit.flat
smp = 2
test_args = 'ipi'
qemu_params = -machine pit=off

[cet]
file = cet.flat
qemu_params = -enable-kvm -m 2048 -cpu host

[svm_pause]
file = svm.flat
qemu_params = -cpu max,+svm -overcommit cpu-pm=on -m 4g

[vmport]
file = vmware_backdoors.flat
qemu_params = -machine vmport=on -cpu max

[too_big]
file = svm.flat
qemu_params = -m 4g
)";

const ManifestEntry& entry(const Manifest& m, const std::string& name)
{
    for (const auto& e : m.entries)
        if (e.name == name)
            return e;
    FAIL("no entry " << name);
    throw;
}

// Parses `text` and expects BadInput with this text (including file:line).
void check_bad(const std::string& text, const std::string& expected)
{
    INFO(text);
    CHECK_THROWS_WITH(parse_manifest(text, "bad.cfg"), Catch::Contains(expected));
}

}  // namespace

TEST_CASE("a kvm-unit-tests-style manifest parses, in order, with every key", "[suite]")
{
    Manifest m = parse_manifest(kKvmUnitTestsStyle, "/suite/x86/unittests.cfg");
    REQUIRE(m.entries.size() == 23);
    CHECK(m.entries.front().name == "smoke");
    CHECK(m.entries.back().name == "too_big");
    CHECK(m.suite_name() == "unittests");
    CHECK(m.directory() == "/suite/x86");

    const auto& smoke = entry(m, "smoke");
    CHECK(smoke.file == "smoke.elf");
    CHECK(smoke.groups == std::vector<std::string>{"basic", "quick"});
    CHECK(smoke.line == 8);
    CHECK(smoke.skip_reason.empty());
    CHECK(smoke.unhostable.empty());
    CHECK_FALSE(smoke.timeout_s);
    CHECK(smoke.cmdline.empty());
    CHECK(smoke.vcpus == 1);
    CHECK(smoke.cpu.empty());
    CHECK_FALSE(smoke.memory_mib);

    CHECK(entry(m, "vmexit_cpuid").cmdline == "cpuid");
    CHECK(entry(m, "args_quoted").cmdline == "-skip_this one_more");
    CHECK(entry(m, "append_only").cmdline == "a b  c");
    CHECK(entry(m, "append_only").skip_reason.empty());
    CHECK(entry(m, "multiline").cmdline == "x y");
    CHECK(entry(m, "multiline").skip_reason.empty());

    CHECK(*entry(m, "lapic_smp").timeout_s == 30);
    CHECK(*entry(m, "tcg_only").timeout_s == 90);
    CHECK(*entry(m, "kvm_only").timeout_s == 90);
    CHECK(*entry(m, "manual").timeout_s == 240);
    CHECK(entry(m, "pmu").checks ==
          std::vector<std::string>{"/sys/module/kvm/parameters/enable_pmu=Y", "/proc/sys/kernel/nmi_watchdog=0"});
    CHECK(entry(m, "pmu").skip_reason.empty());  // checked when the run starts
    CHECK(entry(m, "kvm_only").skip_reason.empty());
}

TEST_CASE("smp, -cpu, -m and harmless -machine options become cr3rig run's options", "[suite]")
{
    Manifest m = parse_manifest(kKvmUnitTestsStyle, "unittests.cfg");
    const auto& lapic = entry(m, "lapic_smp");
    CHECK(lapic.unhostable.empty());
    CHECK(lapic.vcpus == 2);
    CHECK(lapic.cpu == "qemu64,+x2apic");  // verbatim: `cr3rig run --cpu` reads QEMU's syntax
    CHECK(entry(m, "memory").unhostable.empty());
    CHECK(entry(m, "memory").memory_mib == 2048u);
    const auto& no_pit = entry(m, "no_pit");  // cr3rig has no PIT to turn off
    CHECK(no_pit.unhostable.empty());
    CHECK(no_pit.cmdline == "ipi");
    const auto& cet = entry(m, "cet");  // -enable-kvm: cr3rig always runs on KVM
    CHECK(cet.unhostable.empty());
    CHECK(cet.cpu == "host");
    CHECK(cet.memory_mib == 2048u);
}

TEST_CASE("entries the rig cannot host are kept, each with its reason", "[suite]")
{
    Manifest m = parse_manifest(kKvmUnitTestsStyle, "unittests.cfg");
    // run_tests.sh's own reasons, in its words where it has them.
    CHECK(entry(m, "tcg_only").skip_reason == "tcg only (cr3rig runs guests on KVM)");
    CHECK(entry(m, "i386_only").skip_reason == "i386 only");
    CHECK_THAT(entry(m, "q35").skip_reason, Catch::StartsWith("machine q35 only"));
    CHECK_THAT(entry(m, "kvmtool").skip_reason, Catch::StartsWith("disabled_if is a shell condition"));
    // What cr3rig cannot give, naming the option.
    CHECK_THAT(entry(m, "max_smp").unhostable, Catch::StartsWith("smp = $MAX_SMP (cr3rig does not evaluate"));
    CHECK_THAT(entry(m, "clock").unhostable, Catch::StartsWith("shell expansion"));
    CHECK_THAT(entry(m, "migrate").unhostable, Catch::StartsWith("migration test"));
    CHECK(entry(m, "iommu").unhostable ==
          "QEMU parameter -M q35,kernel-irqchip=split (cr3rig emulates no QEMU machine type)");
    CHECK(entry(m, "svm_pause").unhostable == "QEMU parameter -overcommit cpu-pm=on (cr3rig maps only -append, "
                                              "-cpu, -m, -machine pit=off and -enable-kvm)");
    CHECK_THAT(entry(m, "vmport").unhostable, Catch::StartsWith("QEMU parameter -machine vmport=on (cr3rig takes only"));
    CHECK(entry(m, "too_big").unhostable == "QEMU parameter -m 4g (4096 MiB, cr3rig gives a guest 2 to 3072 MiB)");
    for (const char* name : {"tcg_only", "i386_only", "q35", "kvmtool"})
        CHECK(entry(m, name).unhostable.empty());
}

TEST_CASE("a later -append wins over test_args, as on QEMU's command line", "[suite]")
{
    Manifest m = parse_manifest("[t]\nfile = x\ntest_args = one\nextra_params = -append two -append 'three four'\n", "t.cfg");
    CHECK(m.entries[0].cmdline == "three four");
}

TEST_CASE("comments, blank lines, CRLF and spacing around '=' are accepted", "[suite]")
{
    Manifest m = parse_manifest("# top\r\n\r\n  [a]   # trailing\r\nfile=builtin:hello\r\n   groups   =   g1\tg2  # c\r\n", "c.cfg");
    REQUIRE(m.entries.size() == 1);
    CHECK(m.entries[0].name == "a");
    CHECK(m.entries[0].file == "builtin:hello");
    CHECK(m.entries[0].groups == std::vector<std::string>{"g1", "g2"});
}

TEST_CASE("malformed manifests are BadInput naming file and line", "[suite]")
{
    check_bad("file = x\n", "bad.cfg:1: 'file' outside a [section]");
    check_bad("[a]\nfile = x\n[a]\nfile = y\n", "bad.cfg:3: duplicate section [a]");
    check_bad("[a]\ngroups = g\n[b]\nfile = y\n", "bad.cfg:1: [a] has no file");
    check_bad("[a]\nfile = x\n\n[b]\n", "bad.cfg:4: [b] has no file");
    check_bad("[a]\nfile =\n", "bad.cfg:2: empty file");
    check_bad("[a]\nfile = x\ntimeout = soon\n", "bad.cfg:3: bad timeout 'soon'");
    check_bad("[a]\nfile = x\ntimeout = 0\n", "bad.cfg:3: bad timeout '0'");
    check_bad("[a]\nfile = x\ntimeout = 10x\n", "bad.cfg:3: bad timeout '10x'");
    check_bad("[a]\nfile = x\njust words\n", "bad.cfg:3: expected 'key = value'");
    check_bad("[a]\nfile = x\nfile = y\n", "bad.cfg:3: duplicate key 'file'");
    check_bad("[a]\nfile = x\nextra_params = -append a\nqemu_params = -append b\n", "bad.cfg:4: duplicate key");
    check_bad("[a]\nfile = x\ntimeuot = 5\n", "bad.cfg:3: unknown key 'timeuot'");
    check_bad("[a]\nfile = x\nsmp = 0\n", "bad.cfg:3: smp must be");
    check_bad("[a]\nfile = x\ntest_args = 'open\n", "bad.cfg:3: unterminated ' quote");
    check_bad("[a]\nfile = x\nextra_params = -append\n", "bad.cfg:3: -append needs a value");
    check_bad("[a]\nfile = x\nextra_params = \"\"\"\n-append y\n", "bad.cfg:3: unterminated \"\"\" block");
    check_bad("[a]\nfile = x\ncheck = /proc/x\n", "bad.cfg:3: check wants PATH=VALUE");
    check_bad("[a\nfile = x\n", "bad.cfg:1: a section header must end with ']'");
    check_bad("[../evil]\nfile = x\n", "bad.cfg:1: bad test name '../evil'");
    check_bad("[]\nfile = x\n", "bad.cfg:1: bad test name ''");
    check_bad("# only comments\n\n", "bad.cfg: no tests in the manifest");
}

TEST_CASE("a manifest that cannot be read is BadInput", "[suite]")
{
    CHECK_THROWS_AS(load_manifest("/nonexistent/unittests.cfg"), BadInput);
    CHECK_THROWS_WITH(load_manifest("/"), Catch::Contains("is a directory"));
}

TEST_CASE("durations take timeout(1)'s units", "[suite]")
{
    CHECK(parse_duration("90") == 90);
    CHECK(parse_duration("90s") == 90);
    CHECK(parse_duration("1.5m") == 90);
    CHECK(parse_duration("2h") == 7200);
    CHECK(parse_duration("1d") == 86400);
    CHECK(parse_duration("0.25") == 0.25);
    for (const char* bad : {"", "s", "-1", "0", "0s", "2d", "1e3", "inf", "nan", "5 s", " 5", "5ms", "0x10"})
        CHECK_THROWS_AS(parse_duration(bad), BadInput);
}

TEST_CASE("values split into words as the shell would", "[suite]")
{
    auto w = split_shell_words(R"(  a 'b c' "d \"e\" \$f" g\ h "" 'it''s')");
    CHECK(w.words == std::vector<std::string>{"a", "b c", "d \"e\" $f", "g h", "", "its"});
    CHECK_FALSE(w.has_expansion);
    CHECK(split_shell_words("x $HOME").has_expansion);
    CHECK(split_shell_words("\"`date`\"").has_expansion);
    CHECK_FALSE(split_shell_words("'$HOME'").has_expansion);
    CHECK(split_shell_words("a \\\n b").words == std::vector<std::string>{"a", "b"});
    CHECK(split_shell_words("").words.empty());
    CHECK(split_shell_words("a # b c\n d x#y").words == std::vector<std::string>{"a", "d", "x#y"});
    CHECK_THROWS_AS(split_shell_words("\"open"), BadInput);
    CHECK_THROWS_AS(split_shell_words("trailing\\"), BadInput);
}

TEST_CASE("filters --group and --only select entries, nodefault runs only when selected", "[suite]")
{
    Manifest m = parse_manifest(kKvmUnitTestsStyle, "unittests.cfg");
    auto names = [](const std::vector<PlannedTest>& planned) {
        std::vector<std::string> out;
        for (const auto& p : planned)
            out.push_back(p.entry->name + (p.skip_reason.empty() ? "" : " (skip)"));
        return out;
    };
    auto all = select_tests(m, {});
    CHECK(all.size() == m.entries.size());
    CHECK(names(select_tests(m, {.groups = {"vmx"}, .only = {}})) == std::vector<std::string>{"manual"});
    CHECK(names(select_tests(m, {.groups = {"vmexit", "tasks"}, .only = {}})) ==
          std::vector<std::string>{"vmexit_cpuid", "i386_only (skip)"});
    CHECK(names(select_tests(m, {.groups = {}, .only = {"manual", "smoke"}})) == std::vector<std::string>{"smoke", "manual"});
    CHECK(names(select_tests(m, {.groups = {"basic"}, .only = {"smoke", "manual"}})) == std::vector<std::string>{"smoke"});
    for (const auto& p : all)
        if (p.entry->name == "manual")
            CHECK(p.skip_reason == "test marked as manual run only");  // run_tests.sh's words
    CHECK_THROWS_WITH(select_tests(m, {.groups = {}, .only = {"nope"}}), Catch::Contains("--only nope"));
    CHECK_THROWS_WITH(select_tests(m, {.groups = {"nope"}, .only = {}}), Catch::Contains("group nope"));
}
