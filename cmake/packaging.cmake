# The Debian package of cr3rig (CPack DEB): build/cr3rig_<version>_<arch>.deb with
# /usr/bin/cr3rig (the guests are embedded in it), its man page (cmake/man_page.cmake,
# from `cr3rig --help` and each subcommand's --help) and the docs (README.md, docs/*.md,
# a copyright file) under /usr/share/doc/cr3rig/. Depends is computed by dpkg-shlibdeps
# from the libraries the binary links, not written by hand. Target cr3rig-package-deb
# makes it; ci/package.sh runs that target; the package tests (tests/package) depend
# on it, so a full build makes the package too. docs/packaging.md says more.
# Included from the top-level CMakeLists.txt after cli/ (the cr3rig target) and before
# tests/ (the package tests use the target and CR3RIG_PACKAGE_DEB).

# `cpack` first builds the "preinstall" target, which by default depends on "all".
# cr3rig-package-deb runs cpack inside a build, and "all" holds the package tests,
# which depend on cr3rig-package-deb: that would build the package inside its own
# build. Without the dependency, cpack installs what is already built, and the
# package's own target depends on exactly what goes into the package. (The cost:
# `make install` / `make package` no longer build everything first; build the
# targets they install, or use ci/package.sh.)
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

include(GNUInstallDirs)
set(CR3RIG_DOC_DIR "${CMAKE_INSTALL_DATAROOTDIR}/doc/cr3rig")

# Homepage: the project has no public address in its sources yet; set it when it does
# (-D CR3RIG_HOMEPAGE=https://...). Empty leaves the Homepage field out.
set(CR3RIG_HOMEPAGE "" CACHE STRING "Homepage field of the Debian package (empty: none)")

# What packaging needs from the host, checked once here: without any of it the
# package target is not defined and the package tests skip, naming what is missing.
find_program(CR3RIG_HELP2MAN help2man)
find_program(CR3RIG_DPKG dpkg)
find_program(CR3RIG_DPKG_SHLIBDEPS dpkg-shlibdeps)
set(CR3RIG_PACKAGE_MISSING "")
foreach(tool CR3RIG_HELP2MAN CR3RIG_DPKG CR3RIG_DPKG_SHLIBDEPS)
  if(NOT ${tool})
    string(TOLOWER "${tool}" name)
    string(REPLACE "cr3rig_" "" name "${name}")
    string(REPLACE "_" "-" name "${name}")
    list(APPEND CR3RIG_PACKAGE_MISSING "${name}")
  endif()
endforeach()
if(CR3RIG_PACKAGE_MISSING)
  list(JOIN CR3RIG_PACKAGE_MISSING ", " missing)
  set(CR3RIG_PACKAGE_MISSING "no ${missing} at configure time (ci/install-deps.sh installs what is missing, then re-run cmake)")
  message(STATUS "cr3rig package: not made: ${CR3RIG_PACKAGE_MISSING}")
  return()
endif()

execute_process(COMMAND ${CR3RIG_DPKG} --print-architecture OUTPUT_VARIABLE CR3RIG_DEB_ARCH
  OUTPUT_STRIP_TRAILING_WHITESPACE)
set(CR3RIG_PACKAGE_DEB "${CMAKE_BINARY_DIR}/cr3rig_${PROJECT_VERSION}_${CR3RIG_DEB_ARCH}.deb")

# The man page, made from the built binary's --help.
set(man_page "${CMAKE_BINARY_DIR}/man/cr3rig.1.gz")
add_custom_command(OUTPUT "${man_page}"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/man"
  COMMAND ${CMAKE_COMMAND} -D CR3RIG=$<TARGET_FILE:cr3rig> -D HELP2MAN=${CR3RIG_HELP2MAN}
    -D VERSION=${PROJECT_VERSION} -D OUT=${man_page} -P "${CMAKE_CURRENT_LIST_DIR}/man_page.cmake"
  DEPENDS cr3rig "${CMAKE_CURRENT_LIST_DIR}/man_page.cmake"
  COMMENT "Generating the man page cr3rig.1.gz (help2man)"
  VERBATIM)

install(FILES "${man_page}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
install(FILES "${CMAKE_SOURCE_DIR}/README.md" "${CMAKE_CURRENT_LIST_DIR}/copyright" DESTINATION "${CR3RIG_DOC_DIR}")
# docs/ keeps its name: the README's links (docs/traps.md...) hold in the installed tree.
install(DIRECTORY "${CMAKE_SOURCE_DIR}/docs/" DESTINATION "${CR3RIG_DOC_DIR}/docs" FILES_MATCHING PATTERN "*.md")
file(GLOB doc_files CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/docs/*.md")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cr3rig)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "cr3rig maintainers <maintainers@users.noreply.r-seed-a8643eb7.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "KVM test rig for CR3 preemption races, and host for guest test binaries")
# No double quotes or semicolons in it: CPack writes it into CPackConfig.cmake unescaped.
set(CPACK_PACKAGE_DESCRIPTION
  "cr3rig is a minimal VMM on the Linux KVM API. Its trap engine finds every CR3
read and write in a guest's code, forces a timer interrupt right after a CR3
read, records the CR3 history and reports stale page-table-root writes (the
Linux race fixed by 'x86/mm: disable preemption during CR3 read+write').
Campaigns explore every injection point. cr3rig also runs kvm-unit-tests-style
suites of guest test binaries (ELF64 or Multiboot) and reports them as TAP13
and JUnit XML. Its test guests, among them a small preemptible kernel with the
race, are built into the binary.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # cr3rig_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${CR3RIG_DEB_ARCH}")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${CR3RIG_HOMEPAGE}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_STRIP_FILES ON)  # RelWithDebInfo's debug info and symbols: 95% of the binary
include(CPack)

add_custom_command(OUTPUT "${CR3RIG_PACKAGE_DEB}"
  # No MAKEFLAGS: cpack's own (empty, see above) preinstall build is no part of this make's jobs.
  COMMAND ${CMAKE_COMMAND} -E env --unset=MAKEFLAGS ${CMAKE_CPACK_COMMAND} -G DEB
    --config "${CMAKE_BINARY_DIR}/CPackConfig.cmake"
  DEPENDS cr3rig "${man_page}" "${CMAKE_SOURCE_DIR}/README.md" "${CMAKE_CURRENT_LIST_DIR}/copyright" ${doc_files}
    "${CMAKE_CURRENT_LIST_FILE}"
  WORKING_DIRECTORY "${CMAKE_BINARY_DIR}"
  COMMENT "Making the Debian package ${CR3RIG_PACKAGE_DEB} (cpack)"
  VERBATIM)
add_custom_target(cr3rig-package-deb DEPENDS "${CR3RIG_PACKAGE_DEB}")
