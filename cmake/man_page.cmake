# Writes cr3rig's man page, gzipped (cmake -P; cmake/packaging.cmake runs it at build
# time). help2man makes the page from `cr3rig --help`; each subcommand's own --help goes
# into a COMMANDS section through help2man's --include file, which this script writes
# first. The subcommands are read from the "Subcommands:" list of `cr3rig --help`, so a
# new one appears in the page without an edit here.
#   -D CR3RIG=path/to/cr3rig -D HELP2MAN=path -D VERSION=x.y.z -D OUT=path/cr3rig.1.gz
foreach(var CR3RIG HELP2MAN VERSION OUT)
  if(NOT ${var})
    message(FATAL_ERROR "man_page.cmake: -D ${var}=... is required")
  endif()
endforeach()

# Run as plain `cr3rig` (its directory first on PATH), so the usage lines read
# "Usage: cr3rig ...", not the build directory's path.
get_filename_component(bin_dir "${CR3RIG}" DIRECTORY)
set(ENV{PATH} "${bin_dir}:$ENV{PATH}")

function(help_of out_var)
  execute_process(COMMAND cr3rig ${ARGN} --help OUTPUT_VARIABLE text RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "man_page.cmake: `cr3rig ${ARGN} --help` exited ${status}")
  endif()
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

help_of(top_help)
string(REGEX MATCH "\nSubcommands:\n.*" subcommand_list "${top_help}")
string(REGEX MATCHALL "\n  [a-z][a-z0-9-]*" subcommands "${subcommand_list}")
list(TRANSFORM subcommands STRIP)
if(NOT subcommands)
  message(FATAL_ERROR "man_page.cmake: no \"Subcommands:\" list in `cr3rig --help`")
endif()

# roff: a backslash is \e; a line starting with . or ' would be a request, \& defuses it.
set(commands_section "[COMMANDS]\n")
foreach(sub IN LISTS subcommands)
  help_of(sub_help ${sub})
  string(REPLACE "\\" "\\e" sub_help "${sub_help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" sub_help "${sub_help}")
  string(APPEND commands_section ".SS \"cr3rig ${sub}\"\n.nf\n${sub_help}.fi\n")
endforeach()
string(APPEND commands_section
  "[SEE ALSO]\nREADME.md and docs/*.md in /usr/share/doc/cr3rig/ (docs/packaging.md: this package).\n")

string(REGEX REPLACE "\\.gz$" "" page "${OUT}")
set(include_file "${page}.h2m")
file(WRITE "${include_file}" "${commands_section}")
execute_process(
  COMMAND "${HELP2MAN}" --no-info --section=1 --version-string=${VERSION}
    "--name=KVM test rig for CR3 preemption races and host for guest test binaries"
    --include=${include_file} --output=${page} cr3rig
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "man_page.cmake: help2man exited ${status}")
endif()
# -n: no file name or time stamp in the gzip header, so the same page gives the same bytes.
execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "man_page.cmake: gzip exited ${status}")
endif()
