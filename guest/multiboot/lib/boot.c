/* From the 64-bit entry to main(): check the boot magic, split the command line into
 * argv and the first module into environment lines, run main, exit with its value. */
#include "mb.h"

#define MAX_ARGS 32
#define CMDLINE_MAX 1024
#define ENV_MAX 4096
#define MAX_ENV 64

static const struct cr3rig_mb_info *boot_info;
static char cmdline[CMDLINE_MAX];
static char *argv[MAX_ARGS + 1];
static char env[ENV_MAX];
static const char *environ[MAX_ENV + 1];

const struct cr3rig_mb_info *mb_info(void) { return boot_info; }

/* Copies at most max - 1 bytes of a string in guest memory, NUL-terminated. */
static void copy_string(char *dst, const char *src, size_t max)
{
    size_t i = 0;
    for (; src[i] && i < max - 1; i++)
        dst[i] = src[i];
    dst[i] = 0;
}

/* Splits cmdline in place at spaces; kvm-unit-tests does no quoting either. */
static int split_args(void)
{
    int argc = 0;
    char *p = cmdline;
    while (*p && argc < MAX_ARGS) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p)
            break;
        argv[argc++] = p;
        while (*p && *p != ' ')
            p++;
    }
    argv[argc] = 0;
    return argc;
}

/* The first module, copied and split into lines; a line without '=' is not a variable. */
static void load_env(void)
{
    if (!(boot_info->flags & CR3RIG_MBI_MODULES) || boot_info->mods_count == 0)
        return;
    const struct cr3rig_mb_module *mod = (const struct cr3rig_mb_module *)(uintptr_t)boot_info->mods_addr;
    size_t size = mod->mod_end - mod->mod_start;
    if (size > ENV_MAX - 1)
        size = ENV_MAX - 1;
    const char *src = (const char *)(uintptr_t)mod->mod_start;
    for (size_t i = 0; i < size; i++)
        env[i] = src[i];
    env[size] = 0;
    int n = 0;
    for (char *line = env; *line && n < MAX_ENV;) {
        char *end = line;
        int has_equals = 0;
        while (*end && *end != '\n')
            has_equals |= *end++ == '=';
        char *next = *end ? end + 1 : end;
        *end = 0;
        if (has_equals && *line != '=')
            environ[n++] = line;
        line = next;
    }
    environ[n] = 0;
}

const char *mb_environ(int index) { return index >= 0 && index < MAX_ENV ? environ[index] : 0; }

const char *mb_getenv(const char *key)
{
    size_t len = guest_strlen(key);
    for (int i = 0; environ[i]; i++) {
        const char *e = environ[i];
        size_t k = 0;
        while (k < len && e[k] == key[k])
            k++;
        if (k == len && e[k] == '=')
            return e + k + 1;
    }
    return 0;
}

__attribute__((noreturn)) void mb_start(uint32_t magic, uint32_t info);

void mb_start(uint32_t magic, uint32_t info)
{
    if (magic != CR3RIG_MB_BOOT_MAGIC) {
        console_puts("FAIL: not started by a multiboot loader (EAX is not 0x2BADB002)\n");
        guest_exit(1);
    }
    boot_info = (const struct cr3rig_mb_info *)(uintptr_t)info;
    if (boot_info->flags & CR3RIG_MBI_CMDLINE)
        copy_string(cmdline, (const char *)(uintptr_t)boot_info->cmdline, sizeof cmdline);
    int argc = split_args();
    load_env();
    guest_exit(main(argc, argv));
}
