// ci/lint-workflows.sh: the repository's workflow and action files pass, and each
// broken file in tests/data/lint fails it (exit 1) with the finding it was broken for,
// as FILE:LINE:COLUMN: MESSAGE [KIND]. Bad arguments are one line and exit 2.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "tests/lint/lint_tools.hpp"
#include "tests/support/line_match.hpp"

using cr3rig::testing::has_line_matching;
using cr3rig::testing::lint_workflows;

namespace {

// The linter on one broken file: it fails, and prints this finding (a whole line,
// regex-escaped by the caller where needed) among its lines.
void check_finds(const std::string& file, const std::string& finding_regex)
{
    auto r = lint_workflows(file);
    INFO(file << "\n" << r.output);
    CHECK(r.exit_code == 1);
    CHECK(has_line_matching(r.output, finding_regex));
    CHECK(has_line_matching(r.output, "lint-workflows: 1 files checked, [1-9][0-9]* findings"));
}

}  // namespace

TEST_CASE("the repository's workflows, its users' template, action.yml and the action's scripts pass")
{
    auto r = lint_workflows("");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    // .github/workflows/ci.yml, ci/github-actions.yml, action.yml, ci/action/*.sh: at
    // least 4 (a glob that matched nothing would check fewer).
    CHECK(has_line_matching(r.output, "lint-workflows: ([4-9]|[1-9][0-9]+) files checked, 0 findings"));
}

TEST_CASE("the workflows, the template and action.yml named one by one pass")
{
    auto r = lint_workflows(".github/workflows/ci.yml ci/github-actions.yml action.yml");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(has_line_matching(r.output, "lint-workflows: 3 files checked, 0 findings"));
}

TEST_CASE("a workflow with a key GitHub does not know fails (actionlint)")
{
    check_finds("tests/data/lint/unknown-key.yml",
                R"(tests/data/lint/unknown-key.yml:8:5: unexpected key "timeout" for "job" section\. .* \[syntax-check\])");
}

TEST_CASE("a workflow with an expression that does not parse fails (actionlint)")
{
    check_finds("tests/data/lint/bad-expression.yml",
                R"(tests/data/lint/bad-expression.yml:8:52: unexpected end of input while parsing .* \[expression\])");
}

TEST_CASE("a workflow whose job needs a missing job fails (actionlint)")
{
    check_finds("tests/data/lint/missing-needs.yml",
                R"(tests/data/lint/missing-needs.yml:9:3: job "publish" needs job "build" which does not exist in this workflow \[job-needs\])");
}

TEST_CASE("a workflow's run: script with an unquoted variable fails, on its line in the file (ShellCheck)")
{
    check_finds("tests/data/lint/unquoted-variable.yml",
                R"(tests/data/lint/unquoted-variable.yml:13:14: shellcheck info SC2086: Double quote .* \[shellcheck\])");
}

TEST_CASE("a workflow giving the repository's action an input it lacks, and not one it requires, fails")
{
    const std::string file = "tests/data/lint/local-action-inputs.yml";
    check_finds(file, file + R"(:12:11: input "manfest" is not defined in action "\./"; its inputs: manifest, .* \[local-action\])");
    check_finds(file, file + R"(:10:15: missing input "manifest", which action "\./" requires \[local-action\])");
}

TEST_CASE("an action.yml with a composite run step without shell: fails (the action schema)")
{
    check_finds("tests/data/lint/action-no-shell/action.yml",
                R"(tests/data/lint/action-no-shell/action\.yml:8:7: /runs/steps/0/shell: This property is required.* \[action-schema\])");
}

TEST_CASE("an action.yml whose composite run: script has an unquoted variable fails (ShellCheck)")
{
    check_finds("tests/data/lint/action-unquoted/action.yml",
                R"(tests/data/lint/action-unquoted/action\.yml:17:12: shellcheck info SC2086: .* \[shellcheck\])");
}

TEST_CASE("a file that is not there, or an option, is one line and exit 2")
{
    for (const char* args : {"tests/data/lint/no-such-file.yml", "--fix"}) {
        auto r = lint_workflows(args);
        INFO(args << "\n" << r.output);
        CHECK(r.exit_code == 2);
        CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    }
}
